//! The alarms a provisioned or onboarded cluster gets.

use super::*;

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

/// The high and low alarms, with their tags. High: ACUUtilization ≥ 75 % for 2 × 5 min
/// (relative to max, so it re-arms itself when max moves), or the recipe's absolute
/// ServerlessDatabaseCapacity > 12 scaled to max (12 of 16, i.e. 75 %). Low: the recipe's
/// ServerlessDatabaseCapacity < 1 for 4 × 15 min.
pub fn alarm_specs(
    cluster_id: &str,
    max: Acu,
    recipe: bool,
) -> Vec<(AlarmSpec, Vec<(String, String)>)> {
    let dimensions: BTreeMap<String, String> = [(
        crate::events::CLUSTER_DIMENSION.to_owned(),
        cluster_id.to_owned(),
    )]
    .into();
    let base = AlarmSpec {
        namespace: "AWS/RDS".into(),
        dimensions,
        statistic: Some("Average".into()),
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
            comparison: "GreaterThanThreshold".into(),
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
            comparison: "GreaterThanOrEqualToThreshold".into(),
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
        comparison: "LessThanThreshold".into(),
        ..base
    };
    vec![
        (high, alarm_tags(cluster_id, "high")),
        (low, alarm_tags(cluster_id, "low")),
    ]
}
