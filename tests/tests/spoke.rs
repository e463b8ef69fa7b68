//! The alarm-handler across accounts, in the emulator: a hub account (the dummy
//! credentials' 000000000000) and spoke accounts (a 12-digit access key id is the account
//! there, and an assumed-role session acts in the role's account). The handler is invoked
//! through `acu_pilot_lambda::alarm_handler`, the entry the Lambda's main runs.
//!
//! What the emulator cannot show: it grants AssumeRole on a role that does not exist and
//! evaluates no trust policy, so a spoke *without* the role is refused only by real STS.
//! That refusal is tested on the real STS client with aws-smithy-mocks
//! (aws/src/spoke.rs, `a_spoke_without_the_role_is_one_error_naming_the_account`); here
//! the same event only shows that nothing is written anywhere.

use acu_pilot_core::config::Config;
use acu_pilot_lambda::{Deps, alarm_handler};
use acu_pilot_tests::*;
use serde_json::Value;

const SPOKE: &str = "111111111111";
/// An account of the organisation that never deployed the spoke stack.
const NO_ROLE: &str = "333333333333";
/// `${SpokeRoleName}-alarm-handler`, as template.yaml sets `ACU_PILOT_SPOKE_ROLE`.
const SPOKE_ROLE: &str = "acu-pilot-spoke-alarm-handler";
const NOW: &str = "2026-11-25T18:01:00Z";

fn spoke_config() -> Config {
    Config {
        spoke_role: Some(SPOKE_ROLE.into()),
        ..Config::default()
    }
}

struct Hub {
    deps: Deps,
    calls: acu_pilot_aws::CallRecorder,
}

/// The hub's alarm-handler as its main builds it: the function's own (hub) credentials.
async fn hub(config: Config) -> Hub {
    let (aws, calls) = recorded_aws(&config).await;
    Hub {
        deps: Deps { config, aws },
        calls,
    }
}

/// The EventBridge high-alarm event of cluster `id`'s recipe alarm in `account`, as the
/// spoke's forwarding rule delivers it to the hub's bus: its own `account`, and the
/// account in the alarm's ARN.
fn high_alarm_from(account: &str, id: &str) -> Value {
    let mut event = fixture("alarm-eventbridge-high-alarm.json", id);
    event["account"] = Value::from(account);
    event["resources"][0] = Value::from(format!(
        "arn:aws:cloudwatch:us-east-1:{account}:alarm:Aurora-{id}-High-ACU"
    ));
    event
}

/// A cluster as acu-pilot manages it, with the recipe's alarms, in the account of `sdk`.
async fn managed_in(sdk: &acu_pilot_aws::SdkConfig, id: &str) {
    create_managed_in(sdk, id, 0.5, 16.0, &[]).await;
    recipe_alarms_in(sdk, id).await;
}

async fn threshold_in(sdk: &acu_pilot_aws::SdkConfig, alarm: &str) -> f64 {
    find_alarm_in(sdk, alarm)
        .await
        .expect("the alarm exists")
        .threshold()
        .expect("a threshold")
}

#[tokio::test]
async fn the_emulator_keeps_the_hub_and_the_spoke_apart() {
    let hub_sdk = sdk_config().await;
    let spoke_sdk = account_sdk_config(SPOKE).await;
    assert_eq!(caller_account(&hub_sdk).await, HUB_ACCOUNT);
    assert_eq!(caller_account(&spoke_sdk).await, SPOKE);
    let id = unique_id("spoke-apart");
    create_managed_in(&spoke_sdk, &id, 0.5, 16.0, &[]).await;
    assert_eq!(live_range_in(&spoke_sdk, &id).await, (0.5, 16.0));
    let in_hub = rds()
        .await
        .describe_db_clusters()
        .db_cluster_identifier(&id)
        .send()
        .await;
    assert!(in_hub.is_err(), "a spoke's cluster is not in the hub");
}

#[tokio::test]
async fn a_spoke_alarm_boosts_the_spokes_cluster_through_the_assumed_role() {
    let hub_sdk = sdk_config().await;
    let spoke_sdk = account_sdk_config(SPOKE).await;
    create_spoke_role(&spoke_sdk, SPOKE_ROLE, HUB_ACCOUNT).await;
    // The same cluster name in both accounts: the hub's is the proof nothing lands there.
    let id = unique_id("spoke-boost");
    managed_in(&spoke_sdk, &id).await;
    managed_in(&hub_sdk, &id).await;
    let h = hub(spoke_config()).await;

    let out = alarm_handler(high_alarm_from(SPOKE, &id), at(NOW), &h.deps)
        .await
        .unwrap_or_else(|e| panic!("handler failed: {e}"));

    assert_eq!(out["decision"], "boost", "{out:#}");
    assert_eq!(out["after"], serde_json::json!({"min": 0.5, "max": 24.0}));
    let high = format!("Aurora-{id}-High-ACU");
    // Widened in the spoke, with its boost tag and moved threshold.
    assert_eq!(live_range_in(&spoke_sdk, &id).await, (0.5, 24.0));
    assert!(
        cluster_tags_in(&spoke_sdk, &id).await["acu-pilot:boost"].starts_with("max=24 "),
        "{out:#}"
    );
    assert_eq!(threshold_in(&spoke_sdk, &high).await, 18.0);
    // Nothing written in the hub.
    assert_eq!(live_range_in(&hub_sdk, &id).await, (0.5, 16.0));
    assert!(
        !cluster_tags_in(&hub_sdk, &id)
            .await
            .contains_key("acu-pilot:boost")
    );
    assert_eq!(threshold_in(&hub_sdk, &high).await, 12.0);
    // One identity question and one AssumeRole on the role the event's account names, then
    // the single-account economy.
    assert_eq!(
        h.calls.count("GetCallerIdentity"),
        1,
        "{:?}",
        h.calls.counts()
    );
    assert_eq!(h.calls.count("AssumeRole"), 1, "{:?}", h.calls.counts());
    assert_eq!(
        h.calls.count("ModifyDBCluster"),
        1,
        "{:?}",
        h.calls.counts()
    );
}

#[tokio::test]
async fn a_spoke_cluster_without_the_managed_tag_is_never_written() {
    let spoke_sdk = account_sdk_config(SPOKE).await;
    create_spoke_role(&spoke_sdk, SPOKE_ROLE, HUB_ACCOUNT).await;
    let id = unique_id("spoke-unmanaged");
    // A baseline but no acu-pilot:managed=true: the spoke owner never opted it in.
    create_cluster_in(
        &spoke_sdk,
        &id,
        0.5,
        16.0,
        &[("acu-pilot:baseline", "min=0.5 max=16")],
    )
    .await;
    recipe_alarms_in(&spoke_sdk, &id).await;
    let tags_before = cluster_tags_in(&spoke_sdk, &id).await;
    let h = hub(spoke_config()).await;

    let out = alarm_handler(high_alarm_from(SPOKE, &id), at(NOW), &h.deps)
        .await
        .unwrap_or_else(|e| panic!("handler failed: {e}"));

    assert_eq!(out["decision"], "ignored", "{out:#}");
    assert_eq!(h.calls.count("AssumeRole"), 1, "{:?}", h.calls.counts());
    assert_eq!(live_range_in(&spoke_sdk, &id).await, (0.5, 16.0));
    assert_eq!(cluster_tags_in(&spoke_sdk, &id).await, tags_before);
    assert_eq!(
        threshold_in(&spoke_sdk, &format!("Aurora-{id}-High-ACU")).await,
        12.0
    );
    for op in [
        "ModifyDBCluster",
        "AddTagsToResource",
        "RemoveTagsFromResource",
        "PutMetricAlarm",
        "TagResource",
    ] {
        assert_eq!(h.calls.count(op), 0, "{op}: {:?}", h.calls.counts());
    }
}

#[tokio::test]
async fn an_account_without_the_spoke_role_gets_nothing_written() {
    // The emulator hands out a session for a role that does not exist (real STS refuses:
    // see the module's comment), so here the handler acts in an empty account: the alarm
    // is not found there, and the hub's cluster of the same name is left alone.
    let hub_sdk = sdk_config().await;
    let id = unique_id("spoke-norole");
    managed_in(&hub_sdk, &id).await;
    let h = hub(spoke_config()).await;

    let result = alarm_handler(high_alarm_from(NO_ROLE, &id), at(NOW), &h.deps).await;

    assert_eq!(h.calls.count("AssumeRole"), 1, "{:?}", h.calls.counts());
    // It looked in the event's account, not the hub's, and found nothing to act on.
    let out = result.unwrap_or_else(|e| panic!("handler failed: {e}"));
    assert_eq!(out["decision"], "ignored", "{out:#}");
    assert!(
        out["reason"].as_str().unwrap().contains("does not exist"),
        "{out:#}"
    );
    assert_eq!(live_range_in(&hub_sdk, &id).await, (0.5, 16.0));
    assert_eq!(
        threshold_in(&hub_sdk, &format!("Aurora-{id}-High-ACU")).await,
        12.0
    );
    for op in ["ModifyDBCluster", "AddTagsToResource", "PutMetricAlarm"] {
        assert_eq!(h.calls.count(op), 0, "{op}: {:?}", h.calls.counts());
    }
}

#[tokio::test]
async fn without_a_spoke_role_the_handler_acts_in_its_own_account_as_before() {
    // Today's behaviour: one account, whatever the event says; no STS call at all.
    let hub_sdk = sdk_config().await;
    let spoke_sdk = account_sdk_config(SPOKE).await;
    let id = unique_id("spoke-none");
    managed_in(&hub_sdk, &id).await;
    managed_in(&spoke_sdk, &id).await;
    let h = hub(Config::default()).await;

    let out = alarm_handler(high_alarm_from(SPOKE, &id), at(NOW), &h.deps)
        .await
        .unwrap_or_else(|e| panic!("handler failed: {e}"));

    assert_eq!(out["decision"], "boost", "{out:#}");
    assert_eq!(live_range_in(&hub_sdk, &id).await, (0.5, 24.0));
    assert_eq!(live_range_in(&spoke_sdk, &id).await, (0.5, 16.0));
    assert_eq!(h.calls.count("GetCallerIdentity"), 0);
    assert_eq!(h.calls.count("AssumeRole"), 0);
    // The single-account economy of tests/tests/alarm_handler.rs, call for call.
    assert_eq!(h.calls.operations().len(), 9, "{:?}", h.calls.counts());
}

#[tokio::test]
async fn the_hubs_own_alarm_keeps_the_functions_credentials() {
    let hub_sdk = sdk_config().await;
    let id = unique_id("spoke-home");
    managed_in(&hub_sdk, &id).await;
    let h = hub(spoke_config()).await;

    let out = alarm_handler(high_alarm_from(HUB_ACCOUNT, &id), at(NOW), &h.deps)
        .await
        .unwrap_or_else(|e| panic!("handler failed: {e}"));

    assert_eq!(out["decision"], "boost", "{out:#}");
    assert_eq!(live_range_in(&hub_sdk, &id).await, (0.5, 24.0));
    assert_eq!(h.calls.count("GetCallerIdentity"), 1);
    assert_eq!(h.calls.count("AssumeRole"), 0);
}
