//! Absolute capacity alarms move with max, and come back when the boost is gone.
//!
//! A high alarm on `ServerlessDatabaseCapacity > 12` with max 16 can never fire again once
//! max is 24 unless its threshold moves too (to 18). The alarm-handler moves it with
//! [`move_threshold`] and records the original in the alarm's
//! `acu-pilot:original-threshold` tag; the janitor calls [`restore_thresholds`] for each
//! cluster, which puts the original back once the cluster has no active boost.

use chrono::{DateTime, Utc};
use serde::Serialize;

use acu_pilot_core::error::{Error, Result};
use acu_pilot_core::events::CLUSTER_DIMENSION;
use acu_pilot_core::tags::{
    self, ALARM_CLUSTER, ALARM_ORIGINAL_THRESHOLD, ClusterTags, LayerKind, TagError,
};
use acu_pilot_ports::{Alarm, AlarmSpec, Alarms, Cluster};

/// One threshold moved or restored (or, in a dry run, that would be).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ThresholdChange {
    pub alarm: String,
    pub from: f64,
    pub to: f64,
    /// The threshold recorded in the alarm's tag, to come back to.
    pub original: f64,
    pub dry_run: bool,
}

/// `threshold × scale`, without the float noise a tag and a console would show.
pub fn scaled(threshold: f64, scale: f64) -> f64 {
    (threshold * scale * 1e6).round() / 1e6
}

/// Format of the `acu-pilot:original-threshold` tag value (see [`tags::format_original_threshold`]).
pub fn format_threshold(threshold: f64) -> Result<String, TagError> {
    tags::format_original_threshold(threshold)
}

/// The recorded original, if the tag is there and holds a finite number.
pub fn original_threshold(alarm_tags: &std::collections::BTreeMap<String, String>) -> Option<f64> {
    alarm_tags
        .get(ALARM_ORIGINAL_THRESHOLD)
        .and_then(|text| tags::parse_original_threshold(text).ok())
}

/// Moves `alarm`'s threshold by `scale` (new max ÷ old max), everything else unchanged.
/// The original is recorded first (only if not already recorded: a second step must not
/// overwrite it with an already-moved value), so an interruption never loses it.
///
/// `known_tags`: the alarm's tags when the caller already has them (an event with
/// propagated tags); otherwise one ListTagsForResource.
pub async fn move_threshold(
    alarms: &impl Alarms,
    alarm: &Alarm,
    known_tags: Option<&std::collections::BTreeMap<String, String>>,
    scale: f64,
    dry_run: bool,
) -> Result<ThresholdChange> {
    let from = alarm.spec.threshold;
    let to = scaled(from, scale);
    // Both values are checked before anything is written: the original must be a tag
    // value the restore can read back, and the new threshold a number CloudWatch keeps.
    let original_value = format_threshold(from).map_err(|e| {
        Error::invalid(
            format!("alarm {}: threshold", alarm.spec.name),
            e.to_string(),
        )
    })?;
    if !to.is_finite() {
        return Err(Error::invalid(
            format!("alarm {}: threshold", alarm.spec.name),
            format!("{from} × {scale} is not a finite number; threshold left"),
        ));
    }
    let recorded = match known_tags {
        Some(tags) => original_threshold(tags),
        None => original_threshold(&alarms.tags(&alarm.arn).await?),
    };
    if !dry_run {
        if recorded.is_none() {
            alarms
                .tag(
                    &alarm.arn,
                    &[(ALARM_ORIGINAL_THRESHOLD.to_owned(), original_value)],
                )
                .await?;
        }
        let spec = AlarmSpec {
            threshold: to,
            ..alarm.spec.clone()
        };
        alarms.put(&spec, &[]).await?;
    }
    let change = ThresholdChange {
        alarm: alarm.spec.name.clone(),
        from,
        to,
        original: recorded.unwrap_or(from),
        dry_run,
    };
    tracing::info!(alarm = %change.alarm, from, to, original = change.original, dry_run, "alarm threshold moved with max");
    Ok(change)
}

/// Whether the cluster's thresholds may go back: no boost layer is active.
pub fn boost_is_over(tags: &ClusterTags, now: DateTime<Utc>) -> bool {
    tags.layer(LayerKind::Boost)
        .is_none_or(|boost| !boost.is_active(now))
}

/// Whether `alarm` is about `cluster_id` by its dimension (its `acu-pilot:cluster` tag is
/// checked once the tags are read).
fn watches_cluster(alarm: &Alarm, cluster_id: &str) -> bool {
    alarm
        .spec
        .dimensions
        .get(CLUSTER_DIMENSION)
        .map(String::as_str)
        == Some(cluster_id)
}

/// Restores one alarm: if its `acu-pilot:original-threshold` tag holds a number, puts that
/// threshold back (everything else unchanged) and then removes the tag. Put before untag,
/// so an interruption leaves a tag that the next run restores again, harmlessly.
/// `None` when the alarm has no (usable) original recorded. One ListTagsForResource, plus
/// PutMetricAlarm and UntagResource when there is something to restore.
pub async fn restore_threshold(
    alarms: &impl Alarms,
    alarm: &Alarm,
    dry_run: bool,
) -> Result<Option<ThresholdChange>> {
    let tags = alarms.tags(&alarm.arn).await?;
    restore_with_tags(alarms, alarm, &tags, dry_run).await
}

/// [`restore_threshold`] with the alarm's tags already read (the janitor reads them once
/// per sweep for every acu-pilot alarm).
pub async fn restore_with_tags(
    alarms: &impl Alarms,
    alarm: &Alarm,
    tags: &std::collections::BTreeMap<String, String>,
    dry_run: bool,
) -> Result<Option<ThresholdChange>> {
    let Some(original) = original_threshold(tags) else {
        if tags.contains_key(ALARM_ORIGINAL_THRESHOLD) {
            tracing::warn!(alarm = %alarm.spec.name, "acu-pilot:original-threshold does not hold a number; left as it is");
        }
        return Ok(None);
    };
    let from = alarm.spec.threshold;
    if !dry_run {
        if from != original {
            let spec = AlarmSpec {
                threshold: original,
                ..alarm.spec.clone()
            };
            alarms.put(&spec, &[]).await?;
        }
        alarms
            .untag(&alarm.arn, &[ALARM_ORIGINAL_THRESHOLD.to_owned()])
            .await?;
    }
    let change = ThresholdChange {
        alarm: alarm.spec.name.clone(),
        from,
        to: original,
        original,
        dry_run,
    };
    tracing::info!(alarm = %change.alarm, from, to = original, dry_run, "alarm threshold restored: the boost is over");
    Ok(Some(change))
}

/// The janitor's call, per cluster: when `cluster` has no active boost, restores the
/// original threshold of every absolute high alarm among `alarms_of_account` (the janitor
/// lists them once per sweep with [`Alarms::list`]) that watches this cluster, by its
/// `DBClusterIdentifier` dimension or its `acu-pilot:cluster` tag. With an active boost it
/// makes no call at all. Returns what was (or, in a dry run, would be) restored.
pub async fn restore_thresholds(
    alarms: &impl Alarms,
    cluster: &Cluster,
    alarms_of_account: &[Alarm],
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<Vec<ThresholdChange>> {
    if !boost_is_over(&cluster.tags(), now) {
        return Ok(Vec::new());
    }
    let mut restored = Vec::new();
    for alarm in alarms_of_account.iter().filter(|a| a.is_absolute_high()) {
        let by_dimension = watches_cluster(alarm, &cluster.id);
        // Without the dimension only the tag can tie the alarm to this cluster; alarms on
        // other clusters' dimensions are never read.
        if !by_dimension && alarm.spec.dimensions.contains_key(CLUSTER_DIMENSION) {
            continue;
        }
        let tags = alarms.tags(&alarm.arn).await?;
        let ours =
            by_dimension || tags.get(ALARM_CLUSTER).map(|c| c.trim()) == Some(cluster.id.as_str());
        if !ours {
            continue;
        }
        if let Some(change) = restore_with_tags(alarms, alarm, &tags, dry_run).await? {
            restored.push(change);
        }
    }
    Ok(restored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarm(metric: &str, comparison: &str, math: bool) -> Alarm {
        Alarm {
            arn: "arn:aws:cloudwatch:us-east-1:1:alarm:a".into(),
            spec: AlarmSpec {
                name: "a".into(),
                namespace: "AWS/RDS".into(),
                metric: metric.into(),
                comparison: comparison.into(),
                threshold: 12.0,
                ..AlarmSpec::default()
            },
            is_metric_math: math,
            state: None,
        }
    }

    #[test]
    fn only_absolute_capacity_alarms_from_above_move() {
        assert!(Alarm::is_absolute_high(&alarm(
            "ServerlessDatabaseCapacity",
            "GreaterThanThreshold",
            false
        )));
        assert!(Alarm::is_absolute_high(&alarm(
            "ServerlessDatabaseCapacity",
            "GreaterThanOrEqualToThreshold",
            false
        )));
        assert!(!Alarm::is_absolute_high(&alarm(
            "ServerlessDatabaseCapacity",
            "LessThanThreshold",
            false
        )));
        assert!(!Alarm::is_absolute_high(&alarm(
            "ACUUtilization",
            "GreaterThanThreshold",
            false
        )));
        assert!(!Alarm::is_absolute_high(&alarm(
            "ServerlessDatabaseCapacity",
            "GreaterThanThreshold",
            true
        )));
    }

    #[test]
    fn scaling_keeps_clean_numbers() {
        assert_eq!(scaled(12.0, 1.5), 18.0);
        assert_eq!(scaled(12.0, 24.0 / 16.0), 18.0);
        assert_eq!(scaled(10.0, 1.1), 11.0);
        assert_eq!(format_threshold(18.0).unwrap(), "18");
        assert_eq!(format_threshold(12.5).unwrap(), "12.5");
        // Issue #13 case 10: 1e308 would be 309 characters; infinity cannot be read back.
        assert!(
            format_threshold(1e308)
                .unwrap_err()
                .to_string()
                .contains("AWS allows 256")
        );
        assert!(format_threshold(f64::INFINITY).is_err());
        assert!(format_threshold(f64::NAN).is_err());
    }

    #[test]
    fn a_malformed_original_is_not_trusted() {
        let mut tags = std::collections::BTreeMap::new();
        tags.insert(ALARM_ORIGINAL_THRESHOLD.to_owned(), "twelve".to_owned());
        assert_eq!(original_threshold(&tags), None);
        tags.insert(ALARM_ORIGINAL_THRESHOLD.to_owned(), " 12 ".to_owned());
        assert_eq!(original_threshold(&tags), Some(12.0));
    }
}
