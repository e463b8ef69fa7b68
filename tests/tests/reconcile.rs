//! Foundation acceptance: reconcile against the emulator, over the real wire protocol.

use acu_pilot_app::reconcile;
use acu_pilot_core::config::Config;
use acu_pilot_core::error::Error;
use acu_pilot_tests::*;

fn baseline_tags(boost: &str) -> Vec<(&'static str, String)> {
    vec![
        ("acu-pilot:managed", "true".into()),
        ("acu-pilot:baseline", "min=0.5 max=16".into()),
        ("acu-pilot:boost", boost.into()),
    ]
}

async fn boosted_cluster(until: &str) -> String {
    let id = unique_id("reconcile");
    let tags = baseline_tags(&format!("max=24 until={until} by=test"));
    let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (*k, v.as_str())).collect();
    create_cluster(&id, 0.5, 16.0, &tags).await;
    id
}

#[tokio::test]
async fn a_live_boost_widens_max_once_and_expires_back_to_the_baseline() {
    let id = boosted_cluster("2026-11-25T20:00:00Z").await;
    let config = Config::default();
    let (aws, calls) = recorded_aws(&config).await;
    let before_expiry = at("2026-11-25T19:00:00Z");

    let first = reconcile(&aws.clusters, &aws.notifier, &config, &id, before_expiry)
        .await
        .unwrap();
    assert!(first.changed);
    assert_eq!(first.after.to_string(), "0.5–24 ACU");
    assert_eq!(live_range(&id).await, (0.5, 24.0));
    assert_eq!(calls.count("ModifyDBCluster"), 1);
    assert_eq!(calls.count("PutEvents"), 1, "a change is announced");

    calls.clear();
    let second = reconcile(&aws.clusters, &aws.notifier, &config, &id, before_expiry)
        .await
        .unwrap();
    assert!(!second.changed);
    assert_eq!(
        calls.operations(),
        vec!["DescribeDBClusters"],
        "no write when nothing changes"
    );

    let after_expiry = at("2026-11-25T20:00:00Z");
    let third = reconcile(&aws.clusters, &aws.notifier, &config, &id, after_expiry)
        .await
        .unwrap();
    assert!(third.changed && third.layers.is_empty());
    assert_eq!(live_range(&id).await, (0.5, 16.0));
}

#[tokio::test]
async fn modify_sends_only_the_scaling_configuration() {
    let id = boosted_cluster("2026-11-25T20:00:00Z").await;
    let config = Config::default();
    let (aws, calls) = recorded_aws(&config).await;
    reconcile(
        &aws.clusters,
        &aws.notifier,
        &config,
        &id,
        at("2026-11-25T19:00:00Z"),
    )
    .await
    .unwrap();
    let modify = calls
        .calls()
        .into_iter()
        .find(|c| c.operation == "ModifyDBCluster")
        .unwrap();
    let mut params: Vec<&str> = modify
        .body
        .split('&')
        .map(|p| p.split('=').next().unwrap())
        .collect();
    params.sort();
    assert_eq!(
        params,
        vec![
            "Action",
            "DBClusterIdentifier",
            "ServerlessV2ScalingConfiguration.MaxCapacity",
            "ServerlessV2ScalingConfiguration.MinCapacity",
            "Version",
        ]
    );
}

#[tokio::test]
async fn a_stopped_cluster_is_left_alone_with_a_retryable_error() {
    let id = boosted_cluster("2026-11-25T20:00:00Z").await;
    rds()
        .await
        .stop_db_cluster()
        .db_cluster_identifier(&id)
        .send()
        .await
        .unwrap();
    let config = Config::default();
    let (aws, calls) = recorded_aws(&config).await;
    let err = reconcile(
        &aws.clusters,
        &aws.notifier,
        &config,
        &id,
        at("2026-11-25T19:00:00Z"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::NotAvailable { .. }), "{err}");
    assert!(err.is_retryable());
    assert_eq!(err.error_type(), "Retryable");
    assert!(calls.writes().is_empty(), "{:?}", calls.writes());
    assert_eq!(live_range(&id).await, (0.5, 16.0));
}

#[tokio::test]
async fn malformed_tags_are_named_and_nothing_is_written() {
    for bad in [
        "max=24 until=soon by=test",
        "max=24.3 until=2026-11-25T20:00:00Z by=test",
        "max=300 until=2026-11-25T20:00:00Z by=test",
        "min=30 max=24 until=2026-11-25T20:00:00Z by=test",
    ] {
        let id = unique_id("malformed");
        let tags = baseline_tags(bad);
        let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (*k, v.as_str())).collect();
        create_cluster(&id, 0.5, 16.0, &tags).await;
        let config = Config::default();
        let (aws, calls) = recorded_aws(&config).await;
        let err = reconcile(
            &aws.clusters,
            &aws.notifier,
            &config,
            &id,
            at("2026-11-25T19:00:00Z"),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("acu-pilot:boost"), "{bad}: {err}");
        assert_eq!(err.error_type(), "MalformedTag");
        assert!(calls.writes().is_empty());
    }
}

#[tokio::test]
async fn unmanaged_and_missing_clusters_are_refused_without_writes() {
    let id = unique_id("unmanaged");
    create_cluster(&id, 0.5, 16.0, &[("acu-pilot:baseline", "min=1 max=8")]).await;
    let config = Config::default();
    let (aws, calls) = recorded_aws(&config).await;
    let now = at("2026-11-25T19:00:00Z");
    let err = reconcile(&aws.clusters, &aws.notifier, &config, &id, now)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "NotManaged");
    let err = reconcile(
        &aws.clusters,
        &aws.notifier,
        &config,
        "no-such-cluster",
        now,
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type(), "ClusterNotFound");
    assert!(calls.writes().is_empty());
    assert_eq!(live_range(&id).await, (0.5, 16.0));
}

#[tokio::test]
async fn the_cli_reconciles_with_json_output_and_dry_run() {
    let id = boosted_cluster("2026-11-25T20:00:00Z").await;
    let (ok, out, err) = cli(&[
        "reconcile",
        "--cluster",
        &id,
        "--now",
        "2026-11-25T19:00:00Z",
        "--dry-run",
        "--json",
    ]);
    assert!(ok, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["changed"], true);
    assert_eq!(json["after"]["max"], 24.0);
    assert_eq!(json["layers"][0]["kind"], "boost");
    assert_eq!(live_range(&id).await, (0.5, 16.0), "dry run writes nothing");

    let (ok, out, err) = cli(&[
        "reconcile",
        "--cluster",
        &id,
        "--now",
        "2026-11-25T19:00:00Z",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("0.5–16 ACU → 0.5–24 ACU (changed)"), "{out}");
    assert_eq!(live_range(&id).await, (0.5, 24.0));

    let (ok, _, err) = cli(&["reconcile", "--cluster", &id, "--now", "tomorrow"]);
    assert!(!ok && err.contains("--now"), "{err}");
}
