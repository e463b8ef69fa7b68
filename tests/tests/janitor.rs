//! Janitor acceptance on the emulator. Tests share one emulator and the janitor sees every
//! managed cluster in it, so each sweep here is scoped to the test's own clusters (the
//! event's `clusters`), and assertions read only those clusters' entries.

use std::sync::{Arc, Mutex};

use acu_pilot_app::janitor::{ClusterReport, NoDecommission, Scope, Summary, sweep};
use acu_pilot_app::provisioner::Decommissioner;
use acu_pilot_aws::{Aws, CallRecorder};
use acu_pilot_core::config::Config;
use acu_pilot_core::error::Result;
use acu_pilot_core::ownership::{CREATED_BY, OwnershipKey, Resource};
use acu_pilot_core::policy::janitor::{THRESHOLD_RECHECK_CYCLE_SECS, threshold_recheck_due};
use acu_pilot_lambda::{Deps, Function};
use acu_pilot_ports::Cluster;
use acu_pilot_tests::*;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic, Tag};
use chrono::{DateTime, Utc};

const NOW: &str = "2026-11-25T19:00:00Z";
const EARLIER: &str = "2026-11-25T18:00:00Z";
const LATER: &str = "2026-11-25T21:00:00Z";

async fn cluster(prefix: &str, min: f64, max: f64, extra: &[(&'static str, String)]) -> String {
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    managed_cluster(prefix, min, max, &extra).await
}

fn scope(ids: &[&str]) -> Scope {
    Scope {
        clusters: Some(ids.iter().map(|s| s.to_string()).collect()),
    }
}

fn enforcing() -> Config {
    let mut config = Config::default();
    config.janitor.enforce = true;
    config
}

async fn run(
    aws: &Aws,
    config: &Config,
    ids: &[&str],
    decommissioner: &impl Decommissioner,
) -> Summary {
    sweep(
        &aws.clusters,
        &aws.alarms,
        &aws.notifier,
        decommissioner,
        config,
        &scope(ids),
        at(NOW),
    )
    .await
    .expect("sweep")
}

fn entry<'a>(summary: &'a Summary, id: &str) -> Option<&'a ClusterReport> {
    summary.clusters.iter().find(|c| c.cluster == id)
}

/// Writes to the fleet: every write call except PutEvents (each sweep publishes one
/// `Janitor Sweep` event, and a drifted cluster one `Drift Detected` per sweep).
fn fleet_writes(calls: &CallRecorder) -> Vec<String> {
    calls
        .writes()
        .into_iter()
        .filter(|op| op != "PutEvents")
        .collect()
}

async fn put_alarm(name: &str, threshold: f64, tags: &[(&str, &str)]) {
    cloudwatch()
        .await
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("AWS/RDS")
        .metric_name("ServerlessDatabaseCapacity")
        .dimensions(
            Dimension::builder()
                .name("DBClusterIdentifier")
                .value(name)
                .build(),
        )
        .statistic(Statistic::Average)
        .period(60)
        .evaluation_periods(3)
        .threshold(threshold)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                .collect(),
        ))
        .send()
        .await
        .expect("put alarm");
}

/// (threshold, tags) of an alarm, or None when it is gone.
async fn alarm(name: &str) -> Option<(f64, std::collections::BTreeMap<String, String>)> {
    let a = find_alarm(name).await?;
    let tags = alarm_tags_of(a.alarm_arn().unwrap()).await;
    Some((a.threshold().unwrap_or_default(), tags))
}

#[tokio::test]
async fn an_expired_boost_is_removed_the_range_restored_and_the_threshold_put_back() {
    let boost = format!("max=24 until={EARLIER} by=alarm:high");
    let id = cluster("jan-expiry", 0.5, 24.0, &[("acu-pilot:boost", boost)]).await;
    let high = format!("acu-pilot-{id}-high");
    put_alarm(
        &high,
        18.0,
        &[
            ("acu-pilot:cluster", &id),
            ("acu-pilot:role", "high"),
            ("acu-pilot:original-threshold", "12"),
        ],
    )
    .await;
    let config = Config::default();
    let (aws, calls) = recorded_aws(&config).await;

    let summary = run(&aws, &config, &[&id], &NoDecommission).await;
    let mine = entry(&summary, &id).expect("reported");
    assert_eq!(
        mine.expired_layers,
        vec![acu_pilot_core::tags::LayerKind::Boost]
    );
    assert!(mine.changed && !mine.drift, "{mine:?}");
    assert_eq!(mine.thresholds_restored, vec![high.clone()]);
    assert_eq!(live_range(&id).await, (0.5, 16.0));
    assert!(!cluster_tags(&id).await.contains_key("acu-pilot:boost"));
    let (threshold, tags) = alarm(&high).await.expect("alarm kept");
    assert_eq!(threshold, 12.0);
    assert!(!tags.contains_key("acu-pilot:original-threshold"));
    assert_eq!(tags.get("acu-pilot:role").map(String::as_str), Some("high"));
    assert_eq!(calls.count("RemoveTagsFromResource"), 1);
    assert_eq!(calls.count("ModifyDBCluster"), 1);
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
}

#[tokio::test]
async fn drift_is_reported_and_left_alone_by_default() {
    let id = cluster("jan-drift", 2.0, 32.0, &[]).await;
    let config = Config::default();
    let (aws, calls) = recorded_aws(&config).await;
    let summary = run(&aws, &config, &[&id], &NoDecommission).await;
    let mine = entry(&summary, &id).expect("reported");
    assert!(mine.drift && !mine.changed, "{mine:?}");
    assert_eq!(mine.live.unwrap().to_string(), "2–32 ACU");
    assert_eq!(mine.desired.unwrap().to_string(), "0.5–16 ACU");
    assert_eq!(summary.drifted, 1);
    assert!(fleet_writes(&calls).is_empty(), "{:?}", calls.writes());
    let events: Vec<String> = calls
        .calls()
        .into_iter()
        .filter(|c| c.operation == "PutEvents")
        .map(|c| c.body)
        .collect();
    assert!(
        events.iter().any(|b| b.contains("Drift Detected")),
        "{events:?}"
    );
    assert_eq!(live_range(&id).await, (2.0, 32.0));
}

#[tokio::test]
async fn drift_is_put_back_in_enforce_mode() {
    let id = cluster("jan-enforce", 2.0, 32.0, &[]).await;
    let config = enforcing();
    let (aws, _calls) = recorded_aws(&config).await;
    let summary = run(&aws, &config, &[&id], &NoDecommission).await;
    let mine = entry(&summary, &id).expect("reported");
    assert!(mine.drift && mine.changed, "{mine:?}");
    assert_eq!(live_range(&id).await, (0.5, 16.0));
}

#[tokio::test]
async fn a_cluster_inside_an_active_prescale_window_is_not_drift() {
    let prescale = format!("min=8 until={LATER} by=calendar:sale");
    let id = cluster(
        "jan-prescale",
        8.0,
        16.0,
        &[("acu-pilot:prescale", prescale)],
    )
    .await;
    let config = enforcing();
    let (aws, calls) = recorded_aws(&config).await;
    let summary = run(&aws, &config, &[&id], &NoDecommission).await;
    assert_eq!(summary.clusters_seen, 1);
    assert!(entry(&summary, &id).is_none(), "{:?}", summary.clusters);
    assert_eq!(summary.drifted, 0);
    assert!(fleet_writes(&calls).is_empty(), "{:?}", calls.writes());
    assert_eq!(live_range(&id).await, (8.0, 16.0));
}

#[tokio::test]
async fn an_orphan_alarm_is_deleted_and_live_or_untagged_alarms_are_kept() {
    let id = cluster("jan-alarms", 0.5, 16.0, &[]).await;
    let gone = unique_id("jan-gone-cluster");
    let live_alarm = format!("acu-pilot-{id}-high");
    let orphan = format!("acu-pilot-{gone}-high");
    let untagged = format!("Aurora-{gone}-untagged");
    // Tagged as acu-pilot's by someone who may tag alarms, with a proof copied from
    // another alarm.
    let claimed = format!("Aurora-{gone}-High-ACU");
    let proof = |name: &str| ownership_key().proof(Resource::Alarm(name));
    put_alarm(
        &live_alarm,
        12.0,
        &[
            ("acu-pilot:cluster", &id),
            (CREATED_BY, &proof(&live_alarm)),
        ],
    )
    .await;
    put_alarm(
        &orphan,
        12.0,
        &[("acu-pilot:cluster", &gone), (CREATED_BY, &proof(&orphan))],
    )
    .await;
    put_alarm(&untagged, 12.0, &[("team", "db")]).await;
    put_alarm(
        &claimed,
        12.0,
        &[("acu-pilot:cluster", &gone), (CREATED_BY, &proof(&orphan))],
    )
    .await;

    let config = Config::default();
    let (aws, _calls) = recorded_aws(&config).await;
    let summary = run(&aws, &config, &[&id, &gone], &Recording::default()).await;
    assert_eq!(summary.deleted_alarms, vec![orphan.clone()]);
    assert_eq!(summary.alarms_deleted, 1);
    assert!(alarm(&orphan).await.is_none());
    assert!(alarm(&live_alarm).await.is_some());
    assert!(alarm(&untagged).await.is_some());
    assert!(
        alarm(&claimed).await.is_some(),
        "a copied proof is not ours"
    );
}

#[tokio::test]
async fn a_malformed_and_a_stopped_cluster_do_not_stop_the_others() {
    let malformed = cluster(
        "jan-malformed",
        0.5,
        16.0,
        &[("acu-pilot:boost", "max=lots until=soon by=x".to_owned())],
    )
    .await;
    let boost = format!("max=24 until={EARLIER} by=alarm:high");
    let stopped = cluster(
        "jan-stopped",
        0.5,
        24.0,
        &[("acu-pilot:boost", boost.clone())],
    )
    .await;
    rds()
        .await
        .stop_db_cluster()
        .db_cluster_identifier(&stopped)
        .send()
        .await
        .unwrap();
    let healthy = cluster("jan-healthy", 0.5, 24.0, &[("acu-pilot:boost", boost)]).await;

    let config = Config::default();
    let (aws, _calls) = recorded_aws(&config).await;
    let summary = run(
        &aws,
        &config,
        &[&malformed, &stopped, &healthy],
        &NoDecommission,
    )
    .await;
    assert_eq!(summary.clusters_seen, 3);
    let code = |id: &str| {
        summary
            .errors
            .iter()
            .find(|e| e.cluster == id)
            .map(|e| e.code.clone())
    };
    assert_eq!(code(&malformed).as_deref(), Some("MalformedTag"));
    assert_eq!(code(&stopped).as_deref(), Some("ClusterNotAvailable"));
    assert_eq!(summary.errors.len(), 2, "{:?}", summary.errors);
    assert!(entry(&summary, &healthy).unwrap().changed);
    assert_eq!(live_range(&healthy).await, (0.5, 16.0));
    // Both are left exactly as they were.
    assert_eq!(live_range(&stopped).await, (0.5, 24.0));
    assert!(cluster_tags(&stopped).await.contains_key("acu-pilot:boost"));
    assert_eq!(
        cluster_tags(&malformed).await["acu-pilot:boost"],
        "max=lots until=soon by=x"
    );
}

#[tokio::test]
async fn a_second_sweep_right_after_writes_nothing() {
    let boost = format!("max=24 until={EARLIER} by=alarm:high");
    let expired = cluster("jan-idem-expired", 0.5, 24.0, &[("acu-pilot:boost", boost)]).await;
    let drifted = cluster("jan-idem-drift", 2.0, 32.0, &[]).await;
    let in_sync = cluster("jan-idem-sync", 0.5, 16.0, &[]).await;
    let ids = [expired.as_str(), drifted.as_str(), in_sync.as_str()];
    for config in [Config::default(), enforcing()] {
        let (aws, calls) = recorded_aws(&config).await;
        run(&aws, &config, &ids, &NoDecommission).await;
        calls.clear();
        let second = run(&aws, &config, &ids, &NoDecommission).await;
        assert!(fleet_writes(&calls).is_empty(), "{:?}", calls.writes());
        assert_eq!(second.changed + second.expired_layers, 0, "{second:?}");
        assert!(second.errors.is_empty(), "{:?}", second.errors);
    }
    // Report mode left the drift for enforce mode to fix; now all three are in sync.
    assert_eq!(live_range(&drifted).await, (0.5, 16.0));
}

/// Records which clusters it was asked to decommission; checks proofs with the tests' key.
#[derive(Clone)]
struct Recording(Arc<Mutex<Vec<String>>>, OwnershipKey);

impl Default for Recording {
    fn default() -> Self {
        Recording(Arc::default(), ownership_key())
    }
}

impl Decommissioner for Recording {
    fn ownership(&self) -> Option<&OwnershipKey> {
        Some(&self.1)
    }

    async fn decommission(&self, cluster: &Cluster, _now: DateTime<Utc>) -> Result<()> {
        self.0.lock().unwrap().push(cluster.id.clone());
        Ok(())
    }
}

#[tokio::test]
async fn only_a_cluster_past_its_ttl_is_handed_to_decommission() {
    let expired = cluster(
        "jan-ttl-past",
        0.5,
        16.0,
        &[("acu-pilot:ttl", EARLIER.into())],
    )
    .await;
    prove_created(&expired).await;
    let ahead = cluster(
        "jan-ttl-ahead",
        0.5,
        16.0,
        &[("acu-pilot:ttl", LATER.into())],
    )
    .await;
    let none = cluster("jan-ttl-none", 0.5, 16.0, &[]).await;
    let config = Config::default();
    let (aws, _calls) = recorded_aws(&config).await;
    let decommissioner = Recording::default();
    let summary = run(&aws, &config, &[&expired, &ahead, &none], &decommissioner).await;
    assert_eq!(*decommissioner.0.lock().unwrap(), vec![expired.clone()]);
    assert_eq!(summary.decommissioned, 1);
    assert!(entry(&summary, &expired).unwrap().decommissioned);

    // Without the key, nothing is provably acu-pilot's: reported, not deleted.
    let summary = run(&aws, &config, &[&expired], &NoDecommission).await;
    assert!(entry(&summary, &expired).unwrap().ttl_refused.is_some());
    assert_eq!(summary.decommissioned, 0);
}

#[tokio::test]
async fn a_ttl_expired_cluster_is_decommissioned_with_a_final_snapshot() {
    let expired = cluster(
        "jan-ttl-final",
        0.5,
        16.0,
        &[("acu-pilot:ttl", EARLIER.into())],
    )
    .await;
    prove_created(&expired).await;
    let config = Config::default();
    let (aws, calls) = recorded_aws(&config).await;
    let deps = Deps { config, aws };
    let event = serde_json::json!({ "clusters": [expired] });
    let out = acu_pilot_lambda::handle(Function::Janitor, event, at(NOW), &deps)
        .await
        .unwrap();
    assert_eq!(out["decommissioned"], 1, "{out}");
    let delete = calls
        .calls()
        .into_iter()
        .find(|c| c.operation == "DeleteDBCluster")
        .expect("DeleteDBCluster sent");
    assert!(
        delete.body.contains("FinalDBSnapshotIdentifier"),
        "{}",
        delete.body
    );
}

#[tokio::test]
async fn the_lambda_entry_point_sweeps_with_a_scoped_event() {
    let id = cluster("jan-lambda", 2.0, 32.0, &[]).await;
    let config = Config::default();
    let (aws, _calls) = recorded_aws(&config).await;
    let deps = Deps { config, aws };
    let event = serde_json::json!({ "detail": { "clusters": [id] } });
    let out = acu_pilot_lambda::handle(Function::Janitor, event, at(NOW), &deps)
        .await
        .unwrap();
    for key in [
        "clusters_seen",
        "changed",
        "drifted",
        "expired_layers",
        "alarms_deleted",
        "decommissioned",
        "errors",
    ] {
        assert!(out.get(key).is_some(), "{key} missing from {out}");
    }
    assert_eq!(out["clusters_seen"], 1);
    assert_eq!(out["drifted"], 1);
    assert_eq!(out["clusters"][0]["cluster"], id.as_str());

    let bad = serde_json::json!({ "clusters": "all" });
    let err = acu_pilot_lambda::handle(Function::Janitor, bad, at(NOW), &deps)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("clusters"), "{err}");
}

#[tokio::test]
async fn the_cli_invokes_the_janitor_on_an_event_file() {
    let id = cluster("jan-cli", 2.0, 32.0, &[]).await;
    let dir = std::env::temp_dir().join(unique_id("jan-cli-event"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("event.json");
    std::fs::write(&file, serde_json::json!({ "clusters": [id] }).to_string()).unwrap();
    let (ok, out, err) = cli(&[
        "invoke",
        "janitor",
        "--event",
        file.to_str().unwrap(),
        "--now",
        NOW,
    ]);
    assert!(ok, "{err}");
    // The EMF metric line goes to stdout too (that is where Lambda ships it): the
    // summary is the last JSON document.
    let json: serde_json::Value = serde_json::Deserializer::from_str(&out)
        .into_iter::<serde_json::Value>()
        .filter_map(|v| v.ok())
        .last()
        .expect("a JSON summary");
    assert_eq!(json["drifted"], 1, "{json}");
    assert_eq!(json["clusters"][0]["verdict"], "drift");
    assert_eq!(
        live_range(&id).await,
        (2.0, 32.0),
        "report mode writes nothing"
    );
}

#[tokio::test]
async fn a_boost_whose_high_alarm_is_still_firing_is_renewed_not_expired() {
    // The recipe's high alarm set the boost and is still in ALARM: CloudWatch sends no new
    // transition, so the janitor presents it to the alarm-handler again instead of letting
    // max fall back under a firing alarm.
    let id = unique_id("jan-firing");
    let by = format!("by=alarm:Aurora-{id}-High-ACU");
    let boost = format!("max=24 until={EARLIER} {by} at=2026-11-25T16:00:00Z");
    create_managed(&id, 0.5, 24.0, &[("acu-pilot:boost", &boost)]).await;
    recipe_alarms(&id).await;
    let cw = cloudwatch().await;
    let high = find_alarm(&format!("Aurora-{id}-High-ACU"))
        .await
        .expect("high alarm");
    let arn = high.alarm_arn().expect("alarm arn").to_owned();
    // As the provisioner tags the alarms it creates.
    cw.tag_resource()
        .resource_arn(arn)
        .set_tags(Some(alarm_ownership_tags(&id, "high")))
        .send()
        .await
        .expect("tag alarm");
    cw.set_alarm_state()
        .alarm_name(format!("Aurora-{id}-High-ACU"))
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("test: demand above the threshold")
        .send()
        .await
        .expect("set alarm state");
    let config = Config::default();
    let (aws, calls) = recorded_aws(&config).await;

    let summary = run(&aws, &config, &[&id], &NoDecommission).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let boost = cluster_tags(&id)
        .await
        .remove("acu-pilot:boost")
        .expect("boost kept");
    assert!(
        boost.contains(&by) && !boost.contains(&format!("until={EARLIER}")),
        "the boost's expiry moved: {boost}"
    );
    let (_, max) = live_range(&id).await;
    assert!(max >= 24.0, "max stays up while the alarm fires: {max}");
    assert!(
        calls.count("DescribeDBClusters") >= 2,
        "re-read after the renewal"
    );
}

/// Issue #13, case 4: the boost tag a still-firing high alarm set is gone (a race with a
/// removal, or a hand): CloudWatch sends no new transition, so the janitor brings the
/// boost back instead of leaving max at the baseline under a firing alarm.
#[tokio::test]
async fn a_firing_high_alarm_whose_boost_tag_is_gone_gets_its_boost_back() {
    let id = unique_id("jan-lost-boost");
    create_managed(&id, 0.5, 16.0, &[]).await;
    recipe_alarms(&id).await;
    let cw = cloudwatch().await;
    let name = format!("Aurora-{id}-High-ACU");
    let high = find_alarm(&name).await.expect("high alarm");
    cw.tag_resource()
        .resource_arn(high.alarm_arn().expect("alarm arn"))
        .set_tags(Some(alarm_ownership_tags(&id, "high")))
        .send()
        .await
        .expect("tag alarm");
    cw.set_alarm_state()
        .alarm_name(&name)
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("test: demand above the threshold")
        .send()
        .await
        .expect("set alarm state");
    let config = Config::default();
    let (aws, _calls) = recorded_aws(&config).await;
    let summary = run(&aws, &config, &[&id], &NoDecommission).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let boost = cluster_tags(&id)
        .await
        .remove("acu-pilot:boost")
        .expect("the boost is back");
    assert!(boost.contains(&format!("by=alarm:{name}")), "{boost}");
    let (_, max) = live_range(&id).await;
    assert!(max > 16.0, "max rises again under the firing alarm: {max}");
}

/// Issue #13, case 11: a sweep where most clusters failed publishes its summary and fails.
#[tokio::test]
async fn a_sweep_where_most_clusters_failed_publishes_its_summary_and_fails() {
    let malformed = [("acu-pilot:boost", "max=lots until=soon by=x".to_owned())];
    let mut bad = Vec::new();
    for _ in 0..3 {
        bad.push(cluster("jan-share-bad", 0.5, 16.0, &malformed).await);
    }
    let good = cluster("jan-share-good", 0.5, 16.0, &[]).await;
    let mut ids: Vec<&str> = bad.iter().map(String::as_str).collect();
    ids.push(&good);
    let config = Config::default();
    let (aws, calls) = recorded_aws(&config).await;
    let deps = Deps { config, aws };
    let event = serde_json::json!({ "clusters": ids });
    let err = acu_pilot_lambda::handle(Function::Janitor, event, at(NOW), &deps)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "SweepFailed", "{err}");
    assert!(err.to_string().contains("3 of 4"), "{err}");
    assert_eq!(
        calls.count("PutEvents"),
        1,
        "the Janitor Sweep summary is published"
    );
}

/// Issue #18: DescribeAlarms carries no tags, so the sweep reads them (one
/// ListTagsForResource each) only for alarms it would act on. An in-sync cluster's alarms,
/// as the provisioner makes them, cost none; a threshold the alarm-handler moved, whose
/// boost a low alarm ended (the economy layer on the cluster says so), is still read and
/// put back.
#[tokio::test]
async fn alarm_tags_are_read_only_for_alarms_the_sweep_acts_on() {
    use acu_pilot_core::capacity::Acu;
    use acu_pilot_core::policy::provision;
    use acu_pilot_ports::Alarms;

    let economy = format!("until={LATER} by=alarm:low at={EARLIER}");
    let in_sync = cluster("jan-economy-sync", 0.5, 16.0, &[]).await;
    let ended = cluster(
        "jan-economy-ended",
        0.5,
        16.0,
        &[("acu-pilot:economy", economy)],
    )
    .await;
    let config = Config::default();
    let (aws, calls) = recorded_aws(&config).await;
    let key = ownership_key();
    let mut moved = String::new();
    for id in [&in_sync, &ended] {
        for (mut spec, mut tags) in provision::alarm_specs(id, Acu::new(16.0).unwrap(), true) {
            tags.push((
                CREATED_BY.to_owned(),
                key.proof(Resource::Alarm(&spec.name)),
            ));
            if id == &ended && spec.comparison.starts_with("GreaterThan") {
                // As the alarm-handler left it: moved with max 16 → 24, original recorded.
                tags.push((
                    "acu-pilot:original-threshold".to_owned(),
                    spec.threshold.to_string(),
                ));
                spec.threshold *= 1.5;
                moved = spec.name.clone();
            }
            aws.alarms.put(&spec, &tags).await.expect("put alarm");
        }
    }
    calls.clear();

    let summary = run(&aws, &config, &[&in_sync, &ended], &NoDecommission).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let restored = entry(&summary, &ended).expect("reported");
    assert_eq!(restored.thresholds_restored, vec![moved.clone()]);
    assert_eq!(alarm(&moved).await.expect("kept").0, 12.0);
    assert!(entry(&summary, &in_sync).is_none(), "{summary:?}");
    // The in-sync cluster's high alarm is read too when this sweep's slice of the
    // recheck cycle holds it.
    let sliced = usize::from(threshold_recheck_due(&in_sync, at(NOW)));
    assert_eq!(
        calls.count("ListTagsForResource"),
        1 + sliced,
        "only the moved alarm's tags (and the slice's): {:?}",
        calls.counts()
    );
    assert_eq!(calls.count("DeleteAlarms"), 0);
}

/// A boost to max 20 moved the high alarm 12 → 15; the boost tag was then removed by hand,
/// with no economy layer, and max is back at 16. Nothing on the cluster points at the
/// moved threshold (no layer, and 15 is below max, so a "threshold ≥ max" check cannot
/// see it). The rotating slice still reads its tags within one cycle of 15-minute sweeps,
/// and puts the original back, once.
#[tokio::test]
async fn a_moved_threshold_with_no_boost_and_no_economy_layer_is_restored_within_the_cycle() {
    use acu_pilot_core::capacity::Acu;
    use acu_pilot_core::policy::provision;
    use acu_pilot_ports::Alarms;

    let id = cluster("jan-slice", 0.5, 16.0, &[]).await;
    let config = Config::default();
    let (aws, calls) = recorded_aws(&config).await;
    let key = ownership_key();
    let mut moved = String::new();
    for (mut spec, mut tags) in provision::alarm_specs(&id, Acu::new(16.0).unwrap(), true) {
        tags.push((
            CREATED_BY.to_owned(),
            key.proof(Resource::Alarm(&spec.name)),
        ));
        if spec.comparison.starts_with("GreaterThan") {
            tags.push((
                "acu-pilot:original-threshold".to_owned(),
                spec.threshold.to_string(),
            ));
            spec.threshold = 15.0;
            moved = spec.name.clone();
        }
        aws.alarms.put(&spec, &tags).await.expect("put alarm");
    }
    let original = 12.0;

    let sweeps = THRESHOLD_RECHECK_CYCLE_SECS / 900;
    let start = at(NOW);
    let mut restored_at = Vec::new();
    for k in 0..sweeps {
        let now = start + chrono::Duration::seconds(k * 900);
        calls.clear();
        let summary = sweep(
            &aws.clusters,
            &aws.alarms,
            &aws.notifier,
            &NoDecommission,
            &config,
            &scope(&[&id]),
            now,
        )
        .await
        .expect("sweep");
        assert!(summary.errors.is_empty(), "{:?}", summary.errors);
        let threshold = alarm(&moved).await.expect("kept").0;
        if entry(&summary, &id).is_some_and(|r| r.thresholds_restored == vec![moved.clone()]) {
            assert!(
                threshold_recheck_due(&id, now),
                "restored outside the slice at {now}"
            );
            assert_eq!(threshold, original);
            restored_at.push(k);
        } else if restored_at.is_empty() {
            // Not yet in the slice: untouched, and its tags not even read.
            assert_eq!(threshold, 15.0, "at {now}");
            assert_eq!(
                calls.count("ListTagsForResource"),
                0,
                "at {now}: {:?}",
                calls.counts()
            );
        }
    }
    assert_eq!(
        restored_at.len(),
        1,
        "restored once in the cycle: {restored_at:?}"
    );
    assert_eq!(alarm(&moved).await.expect("kept").0, original);
}
