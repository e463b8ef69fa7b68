//! The alarms a provisioned or onboarded cluster gets.

use super::*;
use crate::events::ComparisonOperator;
use crate::model::Statistic;

pub fn high_alarm_name(cluster_id: &str, recipe: bool) -> String {
    if recipe {
        format!("Aurora-{cluster_id}-High-ACU")
    } else {
        format!("acu-pilot-{cluster_id}-high")
    }
}

pub fn low_alarm_name(cluster_id: &str) -> String {
    format!("Aurora-{cluster_id}-Low-ACU")
}

/// Every alarm name acu-pilot may have given this cluster, for teardown.
pub fn alarm_names(cluster_id: &str) -> [String; 3] {
    [
        high_alarm_name(cluster_id, false),
        high_alarm_name(cluster_id, true),
        low_alarm_name(cluster_id),
    ]
}

pub(super) fn alarm_tags(cluster_id: &str, role: &str) -> Vec<(String, String)> {
    vec![
        (ALARM_CLUSTER.to_owned(), cluster_id.to_owned()),
        (ALARM_ROLE.to_owned(), role.to_owned()),
    ]
}

/// The metrics acu-pilot's alarms read, and the only ones [`is_diluted`] judges.
const CAPACITY_METRICS: [&str; 2] = ["ServerlessDatabaseCapacity", "ACUUtilization"];

/// The dimensions of the writer's own series: the cluster, aggregated over its `WRITER`
/// instances (there is one).
///
/// Why not the `DBClusterIdentifier` alone: at the cluster level, ServerlessDatabaseCapacity
/// (and so ACUUtilization) is the average over the cluster's Serverless v2 instances, so
/// readers at promotion tier 2–15, which scale on their own load, dilute a busy writer
/// (writer at 16, two readers at 0.5: 5.7). Aurora publishes its metrics aggregated by
/// `DBClusterIdentifier, Role` (WRITER/READER) — Amazon Aurora User Guide, "Amazon
/// CloudWatch dimensions for Aurora",
/// https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/dimensions.html — and
/// recommends the role metrics for alarms rather than one instance's, because instances
/// change roles on failover ("Creating CloudWatch alarms to monitor Amazon Aurora",
/// https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/creating_alarms.html).
/// So the alarm follows whichever instance is the writer, and a plain metric alarm (no
/// metric math, which CloudWatch caps at 10 metrics and which would need rewriting
/// whenever a reader is added) is enough. See docs/alarms.md.
pub fn writer_dimensions(cluster_id: &str) -> BTreeMap<String, String> {
    [
        (
            crate::events::CLUSTER_DIMENSION.to_owned(),
            cluster_id.to_owned(),
        ),
        (
            crate::events::ROLE_DIMENSION.to_owned(),
            crate::events::WRITER_ROLE.to_owned(),
        ),
    ]
    .into()
}

/// Whether `spec` reads one of the capacity metrics over the whole cluster (the single
/// `DBClusterIdentifier` dimension): the average that idle readers dilute. acu-pilot's
/// alarms had that shape before they read the writer's series; the janitor reports them.
pub fn is_diluted(spec: &AlarmSpec) -> bool {
    spec.namespace == "AWS/RDS"
        && CAPACITY_METRICS.contains(&spec.metric.as_str())
        && spec.dimensions.len() == 1
        && spec
            .dimensions
            .contains_key(crate::events::CLUSTER_DIMENSION)
}

/// The same alarm reading the writer's series, every other setting (threshold, actions,
/// periods, a moved threshold) kept; `None` when `spec` is not [`is_diluted`]. This is the
/// repair onboarding and the janitor (in enforce mode) apply to an alarm of the old shape.
pub fn role_aware(spec: &AlarmSpec) -> Option<AlarmSpec> {
    if !is_diluted(spec) {
        return None;
    }
    let cluster_id = &spec.dimensions[crate::events::CLUSTER_DIMENSION];
    Some(AlarmSpec {
        dimensions: writer_dimensions(cluster_id),
        ..spec.clone()
    })
}

/// The high and low alarms, with their tags, all on the writer's series
/// ([`writer_dimensions`]). High: ACUUtilization ≥ 75 % for 2 × 5 min (relative to max, so
/// it re-arms itself when max moves), or the recipe's absolute capacity alarm, above 12 ACU
/// scaled to max (12 of 16, i.e. 75 %). Low: the recipe's, capacity below 1 ACU for
/// 4 × 15 min — of the writer, so idle readers no longer make a working writer look idle
/// (writer 1.5, readers 0.5: the cluster average is 0.83).
pub fn alarm_specs(
    cluster_id: &str,
    max: Acu,
    recipe: bool,
) -> Vec<(AlarmSpec, Vec<(String, String)>)> {
    let dimensions = writer_dimensions(cluster_id);
    let base = AlarmSpec {
        namespace: "AWS/RDS".into(),
        dimensions,
        statistic: Some(Statistic::Average.as_str().into()),
        ..AlarmSpec::default()
    };
    let high = if recipe {
        AlarmSpec {
            name: high_alarm_name(cluster_id, true),
            description: Some(format!(
                "acu-pilot: {cluster_id} capacity above 75% of max ACU (recipe alarm)"
            )),
            metric: "ServerlessDatabaseCapacity".into(),
            period: 300,
            evaluation_periods: 2,
            threshold: 12.0 * max.value() / 16.0,
            comparison: ComparisonOperator::GreaterThanThreshold.as_str().into(),
            ..base.clone()
        }
    } else {
        AlarmSpec {
            name: high_alarm_name(cluster_id, false),
            description: Some(format!(
                "acu-pilot: {cluster_id} ACU utilization at or above 75%"
            )),
            metric: "ACUUtilization".into(),
            period: 300,
            evaluation_periods: 2,
            threshold: 75.0,
            comparison: ComparisonOperator::GreaterThanOrEqualToThreshold
                .as_str()
                .into(),
            unit: Some("Percent".into()),
            ..base.clone()
        }
    };
    let low = AlarmSpec {
        name: low_alarm_name(cluster_id),
        description: Some(format!(
            "acu-pilot: {cluster_id} capacity below 1 ACU for an hour"
        )),
        metric: "ServerlessDatabaseCapacity".into(),
        period: 900,
        evaluation_periods: 4,
        threshold: 1.0,
        comparison: ComparisonOperator::LessThanThreshold.as_str().into(),
        ..base
    };
    vec![
        (high, alarm_tags(cluster_id, "high")),
        (low, alarm_tags(cluster_id, "low")),
    ]
}
