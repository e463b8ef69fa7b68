//! alarm-handler acceptance against the emulator: every input shape, every transition, the
//! recipe's exact alarms, duplicates, API economy, and absolute thresholds moved and restored.

use acu_pilot_app::alarm_thresholds::restore_thresholds;
use acu_pilot_core::config::Config;
use acu_pilot_core::error::Error;
use acu_pilot_lambda::{Deps, Function, handle};
use acu_pilot_ports::{Alarms, Clusters};
use acu_pilot_tests::*;
use serde_json::Value;

/// The same EventBridge transition at another state timestamp: a new transition.
fn restamped(mut event: Value, timestamp: &str) -> Value {
    event["detail"]["state"]["timestamp"] = Value::from(timestamp);
    event
}

async fn alarm_threshold(name: &str) -> f64 {
    let out = cloudwatch()
        .await
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .expect("describe alarm");
    out.metric_alarms()[0].threshold().expect("threshold")
}

async fn alarm_tags(name: &str) -> std::collections::BTreeMap<String, String> {
    let alarm = find_alarm(name).await.expect("alarm exists");
    alarm_tags_of(alarm.alarm_arn().unwrap()).await
}

/// A managed cluster on `min..max` with baseline `baseline` and extra tags, plus the recipe's alarms.
async fn managed(
    prefix: &str,
    min: f64,
    max: f64,
    baseline: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut tags = vec![("acu-pilot:baseline", baseline)];
    tags.extend_from_slice(extra);
    let id = managed_cluster(prefix, min, max, &tags).await;
    recipe_alarms(&id).await;
    id
}

struct Bench {
    deps: Deps,
    calls: acu_pilot_aws::CallRecorder,
}

async fn bench(config: Config) -> Bench {
    let (aws, calls) = recorded_aws(&config).await;
    Bench {
        deps: Deps { config, aws },
        calls,
    }
}

impl Bench {
    async fn send(&self, event: &Value, now: &str) -> Value {
        handle(Function::AlarmHandler, event.clone(), at(now), &self.deps)
            .await
            .unwrap_or_else(|e| panic!("handler failed: {e}"))
    }
}

const NOW: &str = "2026-11-25T18:01:00Z";

#[tokio::test]
async fn eventbridge_high_alarm_boosts_max_moves_the_threshold_and_costs_one_of_each() {
    let id = managed("alarm-eb", 0.5, 16.0, "min=0.5 max=16", &[]).await;
    let b = bench(Config::default()).await;
    let event = fixture("alarm-eventbridge-high-alarm.json", &id);

    let out = b.send(&event, NOW).await;
    assert_eq!(out["decision"], "boost", "{out:#}");
    assert_eq!(out["cluster"], id.as_str());
    assert_eq!(out["alarm"], format!("Aurora-{id}-High-ACU"));
    assert_eq!(out["transition"], "OK → ALARM");
    assert_eq!(out["role_source"], "comparison");
    assert_eq!(out["before"], serde_json::json!({"min": 0.5, "max": 16.0}));
    assert_eq!(out["after"], serde_json::json!({"min": 0.5, "max": 24.0}));
    assert_eq!(out["changed"], true);
    assert!(
        out["reason"].as_str().unwrap().contains("16 → 24"),
        "{out:#}"
    );
    assert_eq!(out["threshold"]["from"], 12.0);
    assert_eq!(out["threshold"]["to"], 18.0);
    assert_eq!(live_range(&id).await, (0.5, 24.0));
    let boost = cluster_tags(&id).await["acu-pilot:boost"].clone();
    assert!(
        boost.starts_with("max=24 until=2026-11-25T20:01:00Z"),
        "{boost}"
    );

    // API economy: one of each, plus the threshold's tag read, tag and put.
    for (op, n) in [
        ("DescribeAlarms", 1),
        // The read, and the one that verifies no other function wrote meanwhile.
        ("DescribeDBClusters", 2),
        ("AddTagsToResource", 1),
        ("ModifyDBCluster", 1),
        ("PutEvents", 1),
        ("ListTagsForResource", 1),
        ("TagResource", 1),
        ("PutMetricAlarm", 1),
    ] {
        assert_eq!(b.calls.count(op), n, "{op}: {:?}", b.calls.counts());
    }
    assert_eq!(b.calls.operations().len(), 9, "{:?}", b.calls.counts());

    // The absolute threshold moved with max: 12 → 18 when max went 16 → 24.
    let high = format!("Aurora-{id}-High-ACU");
    assert_eq!(alarm_threshold(&high).await, 18.0);
    assert_eq!(
        alarm_tags(&high).await["acu-pilot:original-threshold"],
        "12"
    );
    assert_eq!(alarm_threshold(&format!("Aurora-{id}-Low-ACU")).await, 1.0);

    // Two more deliveries of the same event: no write at all.
    b.calls.clear();
    for _ in 0..2 {
        let again = b.send(&event, "2026-11-25T18:02:00Z").await;
        assert_eq!(again["decision"], "none");
        assert!(again["reason"].as_str().unwrap().starts_with("duplicate"));
        assert_eq!(again["changed"], false);
    }
    assert!(b.calls.writes().is_empty(), "{:?}", b.calls.writes());
    assert_eq!(live_range(&id).await, (0.5, 24.0));
    assert_eq!(alarm_threshold(&high).await, 18.0);
}

#[tokio::test]
async fn three_deliveries_of_one_event_make_one_modify() {
    let id = managed("alarm-3x", 0.5, 16.0, "min=0.5 max=16", &[]).await;
    let b = bench(Config::default()).await;
    let event = fixture("alarm-eventbridge-high-alarm.json", &id);
    for _ in 0..3 {
        b.send(&event, NOW).await;
    }
    assert_eq!(
        b.calls.count("ModifyDBCluster"),
        1,
        "{:?}",
        b.calls.counts()
    );
    assert_eq!(b.calls.count("AddTagsToResource"), 1);
    assert_eq!(b.calls.count("PutMetricAlarm"), 1);
    assert_eq!(live_range(&id).await, (0.5, 24.0));
}

#[tokio::test]
async fn the_lambda_action_shape_boosts() {
    let id = managed("alarm-action", 0.5, 16.0, "min=0.5 max=16", &[]).await;
    let b = bench(Config::default()).await;
    let out = b
        .send(&fixture("alarm-lambda-action-high-alarm.json", &id), NOW)
        .await;
    assert_eq!(out["shape"], "LambdaAction");
    assert_eq!(out["decision"], "boost", "{out:#}");
    assert_eq!(live_range(&id).await, (0.5, 24.0));
    assert_eq!(b.calls.count("ModifyDBCluster"), 1);
}

#[tokio::test]
async fn the_sns_shape_says_its_role_and_boosts() {
    let id = managed("alarm-sns", 0.5, 16.0, "min=0.5 max=16", &[]).await;
    let b = bench(Config::default()).await;
    let out = b
        .send(&fixture("alarm-sns-high-alarm.json", &id), NOW)
        .await;
    assert_eq!(out["shape"], "Sns");
    assert_eq!(out["decision"], "boost", "{out:#}");
    assert_eq!(out["role_source"], "comparison");
    assert_eq!(live_range(&id).await, (0.5, 24.0));
    // The role came with the event; DescribeAlarms only fetched the spec to move the threshold.
    assert_eq!(b.calls.count("DescribeAlarms"), 1);
    assert_eq!(
        alarm_threshold(&format!("Aurora-{id}-High-ACU")).await,
        18.0
    );
}

#[tokio::test]
async fn an_event_that_says_its_role_costs_no_describe_alarms() {
    // ACUUtilization re-arms by itself: nothing to move, nothing to describe.
    let id = managed("alarm-tags", 0.5, 16.0, "min=0.5 max=16", &[]).await;
    let b = bench(Config::default()).await;
    let out = b
        .send(
            &fixture("alarm-eventbridge-with-tags.json", &id),
            "2026-11-25T18:31:00Z",
        )
        .await;
    assert_eq!(out["decision"], "boost", "{out:#}");
    assert_eq!(out["role_source"], "tag");
    assert!(out.get("threshold").is_none());
    assert_eq!(b.calls.count("DescribeAlarms"), 0, "{:?}", b.calls.counts());
    for (op, n) in [
        // The read, and the one that verifies no other function wrote meanwhile.
        ("DescribeDBClusters", 2),
        ("AddTagsToResource", 1),
        ("ModifyDBCluster", 1),
        ("PutEvents", 1),
    ] {
        assert_eq!(b.calls.count(op), n, "{op}: {:?}", b.calls.counts());
    }
    assert_eq!(b.calls.operations().len(), 5);
}

#[tokio::test]
async fn a_repeated_alarm_waits_out_the_cooldown_then_steps_again() {
    let id = managed("alarm-cool", 0.5, 16.0, "min=0.5 max=16", &[]).await;
    let b = bench(Config::default()).await;
    let event = fixture("alarm-eventbridge-high-alarm.json", &id);
    b.send(&event, NOW).await;
    let high = format!("Aurora-{id}-High-ACU");

    b.calls.clear();
    let soon = restamped(event.clone(), "2026-11-25T18:05:40.000+0000");
    let out = b.send(&soon, "2026-11-25T18:06:00Z").await;
    assert_eq!(out["decision"], "none");
    assert!(
        out["reason"].as_str().unwrap().starts_with("cooldown"),
        "{out:#}"
    );
    assert!(b.calls.writes().is_empty(), "{:?}", b.calls.writes());
    assert_eq!(live_range(&id).await, (0.5, 24.0));

    let later = restamped(event, "2026-11-25T18:20:40.000+0000");
    let out = b.send(&later, "2026-11-25T18:21:00Z").await;
    assert_eq!(out["decision"], "boost", "{out:#}");
    assert_eq!(live_range(&id).await, (0.5, 36.0));
    // 18 × 1.5; the original stays the recipe's 12.
    assert_eq!(alarm_threshold(&high).await, 27.0);
    assert_eq!(
        alarm_tags(&high).await["acu-pilot:original-threshold"],
        "12"
    );
}

#[tokio::test]
async fn at_the_ceiling_it_says_so_and_never_exceeds_it() {
    let id = managed(
        "alarm-ceil",
        0.5,
        16.0,
        "min=0.5 max=16",
        &[("acu-pilot:ceiling", "20")],
    )
    .await;
    let b = bench(Config::default()).await;
    let event = fixture("alarm-eventbridge-high-alarm.json", &id);
    let out = b.send(&event, NOW).await;
    assert_eq!(out["decision"], "boost", "{out:#}");
    assert_eq!(out["ceiling_reached"], true);
    assert_eq!(live_range(&id).await, (0.5, 20.0));
    let events: Vec<String> = b
        .calls
        .calls()
        .into_iter()
        .filter(|c| c.operation == "PutEvents")
        .map(|c| c.body)
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e.contains("Capacity Ceiling Reached")),
        "{events:?}"
    );

    b.calls.clear();
    let later = restamped(event, "2026-11-25T18:30:40.000+0000");
    let out = b.send(&later, "2026-11-25T18:31:00Z").await;
    assert_eq!(out["decision"], "none", "{out:#}");
    assert_eq!(out["ceiling_reached"], true);
    assert_eq!(live_range(&id).await, (0.5, 20.0));
    assert_eq!(b.calls.count("ModifyDBCluster"), 0);
    assert_eq!(b.calls.count("AddTagsToResource"), 0);
    assert_eq!(b.calls.count("PutEvents"), 1, "the ceiling is reported");
}

#[tokio::test]
async fn high_ok_and_insufficient_data_change_nothing() {
    let id = managed("alarm-ok", 0.5, 16.0, "min=0.5 max=16", &[]).await;
    let b = bench(Config::default()).await;
    for (name, now) in [
        ("alarm-eventbridge-high-ok.json", "2026-11-25T18:21:00Z"),
        (
            "alarm-eventbridge-insufficient-data.json",
            "2026-11-25T21:11:00Z",
        ),
    ] {
        let out = b.send(&fixture(name, &id), now).await;
        assert_eq!(out["decision"], "none", "{name}: {out:#}");
        assert_eq!(out["changed"], false);
    }
    assert!(b.calls.writes().is_empty(), "{:?}", b.calls.writes());
    assert_eq!(live_range(&id).await, (0.5, 16.0));
}

#[tokio::test]
async fn low_alarm_writes_economy_and_ends_the_boost_then_low_ok_ends_economy() {
    let boost =
        "max=24 until=2026-11-26T04:00:00Z by=alarm:Aurora-x-High-ACU at=2026-11-26T01:00:00Z";
    let id = managed(
        "alarm-low",
        2.0,
        24.0,
        "min=2 max=16",
        &[("acu-pilot:boost", boost)],
    )
    .await;
    let b = bench(Config::default()).await;

    let out = b
        .send(
            &fixture("alarm-eventbridge-low-alarm.json", &id),
            "2026-11-26T02:56:00Z",
        )
        .await;
    assert_eq!(out["decision"], "economy", "{out:#}");
    assert_eq!(out["removed"], serde_json::json!(["boost"]));
    assert_eq!(live_range(&id).await, (0.5, 16.0));
    let tags = cluster_tags(&id).await;
    assert!(!tags.contains_key("acu-pilot:boost"), "{tags:?}");
    assert!(tags.contains_key("acu-pilot:economy"), "{tags:?}");
    for (op, n) in [
        ("DescribeAlarms", 1),
        // The read, and the one that verifies no other function wrote meanwhile.
        ("DescribeDBClusters", 2),
        ("AddTagsToResource", 1),
        ("RemoveTagsFromResource", 1),
        ("ModifyDBCluster", 1),
        ("PutEvents", 1),
    ] {
        assert_eq!(b.calls.count(op), n, "{op}: {:?}", b.calls.counts());
    }
    assert_eq!(
        b.calls.count("PutMetricAlarm"),
        0,
        "a low alarm never moves"
    );

    b.calls.clear();
    let out = b
        .send(
            &fixture("alarm-eventbridge-low-ok.json", &id),
            "2026-11-26T07:16:00Z",
        )
        .await;
    assert_eq!(out["decision"], "economy", "{out:#}");
    assert_eq!(out["removed"], serde_json::json!(["economy"]));
    assert_eq!(live_range(&id).await, (2.0, 16.0));
    assert!(!cluster_tags(&id).await.contains_key("acu-pilot:economy"));
    assert_eq!(b.calls.count("RemoveTagsFromResource"), 1);
    assert_eq!(b.calls.count("AddTagsToResource"), 0);
    assert_eq!(b.calls.count("ModifyDBCluster"), 1);
}

#[tokio::test]
async fn an_unmanaged_cluster_is_ignored_without_a_write() {
    let id = unique_id("alarm-unmanaged");
    create_cluster(&id, 0.5, 16.0, &[("team", "shop")]).await;
    recipe_alarms(&id).await;
    let b = bench(Config::default()).await;
    let out = b
        .send(&fixture("alarm-eventbridge-high-alarm.json", &id), NOW)
        .await;
    assert_eq!(out["decision"], "ignored", "{out:#}");
    assert!(out["reason"].as_str().unwrap().contains("not managed"));
    assert!(b.calls.writes().is_empty(), "{:?}", b.calls.writes());
    assert_eq!(live_range(&id).await, (0.5, 16.0));
}

#[tokio::test]
async fn an_alarm_of_unknown_role_or_cluster_is_ignored() {
    let id = managed("alarm-norole", 0.5, 16.0, "min=0.5 max=16", &[]).await;
    let b = bench(Config::default()).await;
    // Not the recipe's name, not in CloudWatch, no tag: no role.
    let mut event = fixture("alarm-eventbridge-high-alarm.json", &id);
    event["detail"]["alarmName"] = Value::from(format!("{id}-something"));
    let out = b.send(&event, NOW).await;
    assert_eq!(out["decision"], "ignored", "{out:#}");
    assert!(b.calls.writes().is_empty());
    assert_eq!(b.calls.count("DescribeDBClusters"), 0);

    // No dimension and no tag: no cluster, no call at all.
    b.calls.clear();
    let math = fixture("alarm-eventbridge-metric-math.json", "unused");
    let mut math = math;
    math["detail"]["alarmTags"] = serde_json::json!({"acu-pilot:role": "high"});
    let out = b.send(&math, NOW).await;
    assert_eq!(out["decision"], "ignored", "{out:#}");
    assert!(
        b.calls.operations().is_empty(),
        "{:?}",
        b.calls.operations()
    );
}

#[tokio::test]
async fn dry_run_decides_and_reports_but_writes_nothing() {
    let id = managed("alarm-dry", 0.5, 16.0, "min=0.5 max=16", &[]).await;
    let config = Config {
        dry_run: true,
        ..Config::default()
    };
    let b = bench(config).await;
    let out = b
        .send(&fixture("alarm-eventbridge-high-alarm.json", &id), NOW)
        .await;
    assert_eq!(out["decision"], "boost", "{out:#}");
    assert_eq!(out["dry_run"], true);
    assert_eq!(out["after"]["max"], 24.0);
    assert_eq!(out["threshold"]["to"], 18.0);
    let writes: Vec<String> = b
        .calls
        .writes()
        .into_iter()
        .filter(|op| op != "PutEvents")
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert_eq!(live_range(&id).await, (0.5, 16.0));
    assert!(!cluster_tags(&id).await.contains_key("acu-pilot:boost"));
    assert_eq!(
        alarm_threshold(&format!("Aurora-{id}-High-ACU")).await,
        12.0
    );
}

#[tokio::test]
async fn the_moved_threshold_is_restored_once_the_boost_is_over() {
    let id = managed("alarm-restore", 0.5, 16.0, "min=0.5 max=16", &[]).await;
    let b = bench(Config::default()).await;
    b.send(&fixture("alarm-eventbridge-high-alarm.json", &id), NOW)
        .await;
    let high = format!("Aurora-{id}-High-ACU");
    assert_eq!(alarm_threshold(&high).await, 18.0);

    let aws = &b.deps.aws;
    let cluster = aws.clusters.describe(&id).await.unwrap();
    let all = aws
        .alarms
        .list(Some(&format!("Aurora-{id}-")))
        .await
        .unwrap();
    assert_eq!(all.len(), 2);

    // While the boost lives: nothing, not even a read.
    b.calls.clear();
    let restored = restore_thresholds(&aws.alarms, &cluster, &all, at(NOW), false)
        .await
        .unwrap();
    assert!(restored.is_empty());
    assert!(
        b.calls.operations().is_empty(),
        "{:?}",
        b.calls.operations()
    );

    // After the boost's expiry (2 h): the original 12 is back and the tag is gone.
    let over = at("2026-11-25T20:01:00Z");
    let restored = restore_thresholds(&aws.alarms, &cluster, &all, over, false)
        .await
        .unwrap();
    assert_eq!(restored.len(), 1, "{restored:?}");
    assert_eq!((restored[0].from, restored[0].to), (18.0, 12.0));
    assert_eq!(alarm_threshold(&high).await, 12.0);
    assert!(
        !alarm_tags(&high)
            .await
            .contains_key("acu-pilot:original-threshold")
    );

    // Restoring again finds nothing to do and writes nothing.
    b.calls.clear();
    let all = aws
        .alarms
        .list(Some(&format!("Aurora-{id}-")))
        .await
        .unwrap();
    let again = restore_thresholds(&aws.alarms, &cluster, &all, over, false)
        .await
        .unwrap();
    assert!(again.is_empty());
    assert!(b.calls.writes().is_empty(), "{:?}", b.calls.writes());
}

#[tokio::test]
async fn other_shapes_and_missing_fields_are_named_errors_with_no_aws_call() {
    let b = bench(Config::default()).await;
    let cases = [
        (
            serde_json::json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "detail": {}}),
            "not a CloudWatch alarm event",
        ),
        (serde_json::json!([1, 2, 3]), "not an object"),
        (
            serde_json::json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}),
            "aws:sqs",
        ),
        (
            {
                let mut e = fixture("alarm-eventbridge-high-alarm.json", "shop");
                e["detail"]["state"]
                    .as_object_mut()
                    .unwrap()
                    .remove("value");
                e
            },
            "detail.state.value",
        ),
    ];
    for (event, expected) in cases {
        let err = handle(Function::AlarmHandler, event.clone(), at(NOW), &b.deps)
            .await
            .expect_err("refused");
        assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
        assert_eq!(err.error_type(), "InvalidInput");
        assert!(
            err.to_string().contains(expected),
            "{err} (wanted {expected})"
        );
    }
    assert!(
        b.calls.operations().is_empty(),
        "{:?}",
        b.calls.operations()
    );
}

fn event_file(event: &Value, name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("{}-{name}", unique_id("alarm-cli")));
    std::fs::write(&path, serde_json::to_string(event).unwrap()).unwrap();
    path
}

#[tokio::test]
async fn the_cli_invokes_the_handler_and_prints_its_json() {
    let id = managed("alarm-cli", 0.5, 16.0, "min=0.5 max=16", &[]).await;
    let file = event_file(&fixture("alarm-sns-high-alarm.json", &id), "sns.json");
    let file = file.to_str().unwrap();

    let (ok, out, err) = cli(&[
        "invoke",
        "alarm-handler",
        "--event",
        file,
        "--now",
        NOW,
        "--dry-run",
    ]);
    assert!(ok, "{err}");
    let json: Value = serde_json::from_str(&out).expect("JSON on stdout");
    assert_eq!(json["decision"], "boost");
    assert_eq!(json["dry_run"], true);
    assert_eq!(live_range(&id).await, (0.5, 16.0));

    let (ok, out, err) = cli(&["invoke", "alarm-handler", "--event", file, "--now", NOW]);
    assert!(ok, "{err}");
    let json: Value = serde_json::from_str(&out).expect("JSON on stdout");
    assert_eq!(json["after"]["max"], 24.0);
    assert_eq!(live_range(&id).await, (0.5, 24.0));

    let bad = std::env::temp_dir().join(format!("{}-bad.json", unique_id("alarm-cli")));
    std::fs::write(&bad, "this is not JSON").unwrap();
    let (ok, out, err) = cli(&["invoke", "alarm-handler", "--event", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("not JSON"), "{err}");

    let other = event_file(
        &serde_json::json!({"detail-type": "Scheduled Event", "source": "aws.events"}),
        "other.json",
    );
    let (ok, _, err) = cli(&[
        "invoke",
        "alarm-handler",
        "--event",
        other.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("not a CloudWatch alarm event"), "{err}");
    assert!(err.contains("InvalidInput"), "{err}");
}

/// Issue #13 case 8: with `now` at the end of year 9999 the boost's `until` cannot be
/// written in a form any function reads back. The event fails, naming the tag, before any
/// write: no layer tag, no threshold moved (before: the tag was written, the threshold
/// moved, then every function refused the cluster as MalformedTag).
#[tokio::test]
async fn a_boost_ending_after_year_9999_fails_before_any_write() {
    let id = managed("alarm-9999", 0.5, 16.0, "min=0.5 max=16", &[]).await;
    let b = bench(Config::default()).await;
    let event = fixture("alarm-eventbridge-high-alarm.json", &id);
    let err = handle(
        Function::AlarmHandler,
        event,
        at("9999-12-31T23:00:00Z"),
        &b.deps,
    )
    .await
    .expect_err("an until past 9999 cannot be written");
    let message = err.to_string();
    assert!(
        matches!(err, Error::InvalidInput { .. }) && message.contains("acu-pilot:boost"),
        "{message}"
    );
    assert!(b.calls.writes().is_empty(), "{:?}", b.calls.writes());
    assert!(!cluster_tags(&id).await.contains_key("acu-pilot:boost"));
    assert_eq!(
        alarm_threshold(&format!("Aurora-{id}-High-ACU")).await,
        12.0
    );
    assert_eq!(live_range(&id).await, (0.5, 16.0));
}

/// Issue #13 case 10: `acu-pilot:ceiling=0`, a floor tag above the ceiling tag, a ceiling
/// tag above the configured ceiling (64) or a floor tag above it is refused as
/// MalformedTag naming the tag; the cluster is left as it is (before: clamped to 0.5-1
/// ACU, to 8-8, to 64, and to 64-64).
#[tokio::test]
async fn contradictory_guardrail_tags_are_malformed_not_clamped() {
    for (prefix, tags, tag) in [
        (
            "alarm-ceil0",
            vec![("acu-pilot:ceiling", "0")],
            "acu-pilot:ceiling",
        ),
        (
            "alarm-floorceil",
            vec![("acu-pilot:floor", "32"), ("acu-pilot:ceiling", "8")],
            "acu-pilot:floor",
        ),
        (
            "alarm-ceil128",
            vec![("acu-pilot:ceiling", "128")],
            "acu-pilot:ceiling: 128 is above the configured ceiling 64",
        ),
        (
            "alarm-floor96",
            vec![("acu-pilot:floor", "96")],
            "acu-pilot:floor: 96 is above the configured ceiling 64",
        ),
    ] {
        let id = managed(prefix, 4.0, 64.0, "min=4 max=64", &tags).await;
        let b = bench(Config::default()).await;
        let event = fixture("alarm-eventbridge-high-alarm.json", &id);
        let err = handle(Function::AlarmHandler, event, at(NOW), &b.deps)
            .await
            .expect_err("malformed guardrail tags");
        let message = err.to_string();
        assert!(
            matches!(err, Error::MalformedTag { .. }) && message.contains(tag),
            "{message}"
        );
        assert!(b.calls.writes().is_empty(), "{:?}", b.calls.writes());
        assert_eq!(live_range(&id).await, (4.0, 64.0));
    }
}
