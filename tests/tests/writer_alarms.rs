//! The writer's alarms on the recipe's topology (a writer and two tier-2 readers), against
//! the emulator: the metric each alarm reads, alarm events of the new shape in all three
//! deliveries, onboarding's repair and the janitor's report of alarms of the old shape.
//!
//! The emulator evaluates alarms by metric name alone, ignoring dimensions, and has no
//! metric math, so these tests never look at alarm *states*: they read the datapoints each
//! alarm reads with GetMetricStatistics, which does filter by dimensions, and compare them
//! to the alarm's threshold ([`alarm_reading`]).

use acu_pilot_app::janitor::{NoDecommission, Scope, sweep};
use acu_pilot_core::capacity::Acu;
use acu_pilot_core::config::Config;
use acu_pilot_core::policy::provision::alarm_specs;
use acu_pilot_lambda::{Deps, Function, handle};
use acu_pilot_ports::{AlarmSpec, Alarms};
use acu_pilot_tests::*;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A managed cluster on 0.5–16 ACU with a writer and two tier-2 readers.
async fn recipe_cluster(prefix: &str) -> (String, Vec<String>) {
    let id = unique_id(prefix);
    create_cluster(
        &id,
        0.5,
        16.0,
        &[
            ("acu-pilot:managed", "true"),
            ("acu-pilot:baseline", "min=0.5 max=16"),
        ],
    )
    .await;
    let readers = add_readers(&id, 2, 2).await;
    (id, readers)
}

async fn deps() -> Deps {
    let config = Config::default();
    let (aws, _) = recorded_aws(&config).await;
    Deps { config, aws }
}

async fn onboard(deps: &Deps, id: &str, recipe_alarms: bool) -> Value {
    let event = json!({"source": "acu-pilot", "detail-type": "Onboard Cluster",
        "detail": {"cluster_id": id, "recipe_alarms": recipe_alarms}});
    handle(Function::Provisioner, event, at(NOW), deps)
        .await
        .expect("onboard")
}

fn dimensions(alarm: &aws_sdk_cloudwatch::types::MetricAlarm) -> BTreeMap<String, String> {
    alarm
        .dimensions()
        .iter()
        .map(|d| (d.name().unwrap().to_owned(), d.value().unwrap().to_owned()))
        .collect()
}

fn writer_dimensions(id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("DBClusterIdentifier".to_owned(), id.to_owned()),
        ("Role".to_owned(), "WRITER".to_owned()),
    ])
}

/// Minutes of data ending a few minutes before the wall clock: the emulator evicts
/// datapoints older than 14 days by the real clock, so metric data stays near it.
fn minutes(n: i64) -> (Vec<DateTime<Utc>>, DateTime<Utc>, DateTime<Utc>) {
    let end = Utc::now().duration_trunc(TimeDelta::hours(1)).unwrap() - TimeDelta::hours(1);
    let start = end - TimeDelta::minutes(n);
    let times = (0..n).map(|m| start + TimeDelta::minutes(m)).collect();
    (times, start, end)
}

/// The same alarm reading the cluster-wide average, as acu-pilot made them before.
fn diluted(mut spec: AlarmSpec, id: &str, name: &str) -> AlarmSpec {
    spec.name = name.to_owned();
    spec.dimensions = BTreeMap::from([("DBClusterIdentifier".to_owned(), id.to_owned())]);
    spec
}

const NOW: &str = "2026-11-25T18:01:00Z";

#[tokio::test]
async fn a_pinned_writer_crosses_the_new_high_thresholds_the_diluted_average_never_does() {
    let (id, readers) = recipe_cluster("writer-high").await;
    let d = deps().await;
    let mut specs = alarm_specs(&id, Acu::new(16.0).unwrap(), false);
    specs.extend(alarm_specs(&id, Acu::new(16.0).unwrap(), true));
    // The default high (ACUUtilization ≥ 75 %) and the recipe's (capacity > 12), each in
    // the new shape and the old.
    let highs: Vec<AlarmSpec> = specs
        .into_iter()
        .map(|(spec, _)| spec)
        .filter(|spec| spec.comparison.starts_with("GreaterThan"))
        .collect();
    assert_eq!(highs.len(), 2);
    for spec in &highs {
        d.aws.alarms.put(spec, &[]).await.unwrap();
        let old = diluted(spec.clone(), &id, &format!("{}-diluted", spec.name));
        d.aws.alarms.put(&old, &[]).await.unwrap();
    }

    // Twenty minutes of the writer pinned at max, both readers idle at 0.5.
    let (times, from, to) = minutes(20);
    let samples: Vec<_> = times.iter().map(|t| (*t, 16.0, 0.5)).collect();
    put_role_metrics(&id, &readers, &samples, 16.0).await;

    for spec in &highs {
        let new = find_alarm(&spec.name).await.expect("new alarm");
        assert_eq!(dimensions(&new), writer_dimensions(&id));
        let (values, fires) = alarm_reading(&new, from, to).await;
        assert!(fires, "{}: {values:?}", spec.name);

        let old = find_alarm(&format!("{}-diluted", spec.name))
            .await
            .expect("old alarm");
        let (values, fires) = alarm_reading(&old, from, to).await;
        assert!(!fires, "{}-diluted: {values:?}", spec.name);
        // (16 + 0.5 + 0.5) / 3 = 5.67 ACU, 35 % of max: never near either threshold.
        let expected = if spec.metric == "ACUUtilization" {
            100.0 * 17.0 / 3.0 / 16.0
        } else {
            17.0 / 3.0
        };
        assert!(!values.is_empty(), "{}-diluted read no data", spec.name);
        for v in values {
            assert!((v - expected).abs() < 1e-6, "{}-diluted: {v}", spec.name);
        }
    }
}

#[tokio::test]
async fn a_working_writer_is_not_idle_to_the_new_low_alarm_as_it_was_to_the_average() {
    let (id, readers) = recipe_cluster("writer-low").await;
    let d = deps().await;
    let (low, _) = alarm_specs(&id, Acu::new(16.0).unwrap(), true).remove(1);
    assert_eq!(low.comparison, "LessThanThreshold");
    d.aws.alarms.put(&low, &[]).await.unwrap();
    let old = diluted(low.clone(), &id, &format!("{}-diluted", low.name));
    d.aws.alarms.put(&old, &[]).await.unwrap();

    // Writer at 1.5 ACU for over an hour, readers at 0.5: the average is 0.83 < 1.
    let (times, from, to) = minutes(75);
    let samples: Vec<_> = times.iter().map(|t| (*t, 1.5, 0.5)).collect();
    put_role_metrics(&id, &readers, &samples, 16.0).await;

    let (values, fires) = alarm_reading(&find_alarm(&low.name).await.unwrap(), from, to).await;
    assert!(!fires, "the writer works: {values:?}");
    let (values, fires) = alarm_reading(&find_alarm(&old.name).await.unwrap(), from, to).await;
    assert!(fires, "the average calls it idle: {values:?}");
}

#[tokio::test]
async fn writer_alarm_events_boost_the_cluster_in_all_three_deliveries() {
    for (fixture_name, shape) in [
        ("alarm-eventbridge-writer-high-alarm.json", "EventBridge"),
        ("alarm-lambda-action-writer-high-alarm.json", "LambdaAction"),
        ("alarm-sns-writer-high-alarm.json", "Sns"),
    ] {
        let (id, _) = recipe_cluster("writer-event").await;
        let d = deps().await;
        // Onboarding creates the recipe's alarms, on the writer's series.
        let out = onboard(&d, &id, true).await;
        assert_eq!(out["status"], "complete", "{out:#}");
        let high = format!("Aurora-{id}-High-ACU");
        let alarm = find_alarm(&high).await.expect("created");
        assert_eq!(dimensions(&alarm), writer_dimensions(&id));

        let out = handle(
            Function::AlarmHandler,
            fixture(fixture_name, &id),
            at(NOW),
            &d,
        )
        .await
        .unwrap_or_else(|e| panic!("{fixture_name}: {e}"));
        assert_eq!(out["shape"], shape);
        assert_eq!(out["cluster"], id.as_str());
        assert_eq!(out["decision"], "boost", "{fixture_name}: {out:#}");
        assert_eq!(live_range(&id).await, (0.5, 24.0), "{fixture_name}");
        // The absolute threshold moved with max, and the alarm still reads the writer.
        let alarm = find_alarm(&high).await.unwrap();
        assert_eq!(alarm.threshold(), Some(18.0), "{fixture_name}");
        assert_eq!(dimensions(&alarm), writer_dimensions(&id), "{fixture_name}");
    }
}

#[tokio::test]
async fn onboarding_makes_old_shape_alarms_read_the_writer_keeping_their_settings() {
    let (id, _) = recipe_cluster("writer-repair").await;
    recipe_alarms(&id).await;
    let d = deps().await;
    let out = onboard(&d, &id, true).await;
    let done: Vec<&str> = out["steps_done"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for name in [
        format!("Aurora-{id}-High-ACU"),
        format!("Aurora-{id}-Low-ACU"),
    ] {
        assert!(
            done.contains(&format!("make alarm {name} read the writer").as_str()),
            "{done:?}"
        );
        let alarm = find_alarm(&name).await.unwrap();
        assert_eq!(dimensions(&alarm), writer_dimensions(&id));
    }
    let high = find_alarm(&format!("Aurora-{id}-High-ACU")).await.unwrap();
    assert_eq!(high.threshold(), Some(12.0));
    assert_eq!(
        (high.period(), high.evaluation_periods()),
        (Some(300), Some(2))
    );

    // Once repaired, a second onboarding has nothing left to do.
    let again = onboard(&d, &id, true).await;
    assert_eq!(again["steps_done"], json!([]), "{again:#}");
}

#[tokio::test]
async fn the_janitor_reports_old_shape_alarms_and_replaces_them_only_when_enforcing() {
    let (id, _) = recipe_cluster("writer-janitor").await;
    recipe_alarms(&id).await;
    let cw = cloudwatch().await;
    let names = [
        format!("Aurora-{id}-High-ACU"),
        format!("Aurora-{id}-Low-ACU"),
    ];
    for (name, role) in names.iter().zip(["high", "low"]) {
        let arn = find_alarm(name)
            .await
            .unwrap()
            .alarm_arn()
            .unwrap()
            .to_owned();
        cw.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(alarm_ownership_tags(&id, role)))
            .send()
            .await
            .unwrap();
    }
    let scope = Scope {
        clusters: Some([id.clone()].into()),
    };
    let sweep_with = |config: Config| {
        let scope = scope.clone();
        async move {
            let (aws, _) = recorded_aws(&config).await;
            sweep(
                &aws.clusters,
                &aws.alarms,
                &aws.notifier,
                &NoDecommission,
                &config,
                &scope,
                at("2026-11-25T19:00:00Z"),
            )
            .await
            .expect("sweep")
        }
    };

    // Report mode: named, counted, untouched.
    let summary = sweep_with(Config::default()).await;
    let mine = summary.clusters.iter().find(|c| c.cluster == id).unwrap();
    assert_eq!(mine.diluted_alarms, names.to_vec());
    assert!(mine.alarms_made_role_aware.is_empty());
    assert_eq!(summary.diluted_alarms, 2);
    for name in &names {
        let alarm = find_alarm(name).await.unwrap();
        assert_eq!(dimensions(&alarm).len(), 1, "{name} untouched");
    }

    // Enforce mode: rewritten to read the writer, everything else kept.
    let mut enforcing = Config::default();
    enforcing.janitor.enforce = true;
    let summary = sweep_with(enforcing.clone()).await;
    let mine = summary.clusters.iter().find(|c| c.cluster == id).unwrap();
    assert_eq!(mine.alarms_made_role_aware, names.to_vec());
    for name in &names {
        let alarm = find_alarm(name).await.unwrap();
        assert_eq!(dimensions(&alarm), writer_dimensions(&id), "{name}");
        let tags = alarm_tags_of(alarm.alarm_arn().unwrap()).await;
        assert_eq!(tags["acu-pilot:cluster"], id, "tags kept");
    }
    let high = find_alarm(&names[0]).await.unwrap();
    assert_eq!(high.threshold(), Some(12.0));

    // Nothing of the old shape is left to report.
    let summary = sweep_with(enforcing).await;
    assert_eq!(summary.diluted_alarms, 0);
    assert!(!summary.clusters.iter().any(|c| c.cluster == id));
}

#[tokio::test]
async fn the_forecast_history_is_the_writers_and_falls_back_to_the_cluster_series() {
    use acu_pilot_ports::Metrics;
    let (id, readers) = recipe_cluster("writer-history").await;
    let d = deps().await;
    let (times, from, to) = minutes(30);
    let samples: Vec<_> = times.iter().map(|t| (*t, 16.0, 0.5)).collect();
    put_role_metrics(&id, &readers, &samples, 16.0).await;
    let period = std::time::Duration::from_secs(300);
    let history = d.aws.metrics.history(&id, from, to, period).await.unwrap();
    // The writer's utilisations come with its capacity.
    assert_eq!(history.acu.len(), 6, "{history:?}");
    assert!(history.acu.iter().all(|(_, v)| *v == 100.0), "{history:?}");
    let history = history.capacity;
    assert_eq!(history.len(), 6, "{history:?}");
    // The writer's 16, not the cluster average's 5.67.
    assert!(history.iter().all(|(_, v)| *v == 16.0), "{history:?}");

    // A history with only the cluster series (put by hand, or before role metrics): used.
    let (plain, _) = recipe_cluster("writer-history-plain").await;
    put_capacity_history(&plain, &times.iter().map(|t| (*t, 3.0)).collect::<Vec<_>>()).await;
    let history = d
        .aws
        .metrics
        .history(&plain, from, to, period)
        .await
        .unwrap()
        .capacity;
    assert_eq!(history.len(), 6, "{history:?}");
    assert!(history.iter().all(|(_, v)| *v == 3.0), "{history:?}");
}
