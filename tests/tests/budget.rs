//! The spend budget (issue #14) against the emulator: a cluster whose writer spent more
//! than its `acu-pilot:budget` over the last 24 h gets a budget cap on max and a `Budget
//! Exceeded` event; a high alarm's boost under the cap stays capped; once the spend is
//! back under 90 % of the budget the cap goes with a `Budget Restored` event. A budget
//! that does not parse is reported and the cluster runs as one without a budget.
//!
//! Every tick sweeps every managed cluster with a budget, so the tests run one at a time
//! and each takes its budget away at the end: the other test binaries share the emulator,
//! and a budget left behind would add its reads to their ticks.

// Each #[tokio::test] runs on its own thread and runtime, so a std mutex held across
// awaits blocks only the other tests' threads, which is exactly what is wanted.
#![allow(clippy::await_holding_lock)]

use std::sync::{Mutex, MutexGuard};

use acu_pilot_aws::CallRecorder;
use acu_pilot_core::config::Config;
use acu_pilot_lambda::{Deps, Function, handle};
use acu_pilot_tests::*;
use chrono::TimeDelta;
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const NOW: &str = "2026-11-25T18:00:00Z";

/// No calendar, no forecast: the budget is all the pre-scaler does.
fn budget_config() -> Config {
    let mut config = Config::default();
    config.prescale.forecast_enabled = false;
    config
}

async fn run(function: Function, event: Value, now: &str) -> (Value, CallRecorder) {
    let config = budget_config();
    let (aws, calls) = recorded_aws(&config).await;
    let deps = Deps { config, aws };
    let out = handle(function, event, at(now), &deps)
        .await
        .unwrap_or_else(|e| panic!("{function:?} at {now}: {e}"));
    (out, calls)
}

async fn tick(now: &str) -> (Value, CallRecorder) {
    run(
        Function::PreScaler,
        fixture("scheduled-event.json", "-"),
        now,
    )
    .await
}

fn report<'a>(out: &'a Value, id: &str) -> &'a Value {
    out["clusters"]
        .as_array()
        .and_then(|c| c.iter().find(|r| r["cluster"] == id))
        .unwrap_or_else(|| panic!("{id} not in the tick's report: {out:#}"))
}

/// The detail types of the events a tick published.
fn events(calls: &CallRecorder) -> Vec<String> {
    calls
        .calls()
        .into_iter()
        .filter(|c| c.operation == "PutEvents")
        .map(|c| c.body)
        .collect()
}

/// Takes the cluster out of every later tick's sweep.
async fn drop_budget(id: &str) {
    let rds = rds().await;
    let arn = rds
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send()
        .await
        .expect("describe")
        .db_clusters()[0]
        .db_cluster_arn()
        .expect("an ARN")
        .to_owned();
    rds.remove_tags_from_resource()
        .resource_name(arn)
        .tag_keys("acu-pilot:budget")
        .tag_keys("acu-pilot:budget-cap")
        .send()
        .await
        .expect("remove the budget tags");
}

fn later(minutes: i64) -> String {
    (at(NOW) + TimeDelta::minutes(minutes)).to_rfc3339()
}

#[tokio::test]
async fn over_budget_max_is_capped_a_boost_stays_under_the_cap_and_the_cap_goes_under_90_percent() {
    let _serial = serial();
    let id = managed_cluster("budget", 0.5, 16.0, &[("acu-pilot:budget", "48")]).await;
    recipe_alarms(&id).await;
    // 12 ACU for five hours early in the trailing day: 60 ACU-hours of a 48 budget. The
    // burst leaves the window an hour at a time, so two hours later 36 remain (75 %).
    let start = at(NOW) - TimeDelta::hours(24);
    let burst: Vec<_> = (0..60)
        .map(|i| (start + TimeDelta::minutes(5 * i), 12.0))
        .collect();
    put_capacity_history(&id, &burst).await;

    let (out, calls) = tick(NOW).await;
    let r = report(&out, &id);
    assert_eq!(r["budget"]["layer"], "written", "{r:#}");
    assert_eq!(r["budget"]["budget"], 48.0);
    assert!(
        (r["budget"]["spent"].as_f64().unwrap() - 60.0).abs() < 1e-6,
        "{r:#}"
    );
    // The cap is the budget's even rate, 48 ÷ 24 h = 2 ACU.
    assert_eq!(live_range(&id).await, (0.5, 2.0), "{out:#}");
    assert_eq!(
        cluster_tags(&id)
            .await
            .get("acu-pilot:budget-cap")
            .map(String::as_str),
        Some("max=2 until=2026-11-25T19:00:00Z by=budget at=2026-11-25T18:00:00Z")
    );
    let published = events(&calls);
    let exceeded = published
        .iter()
        .find(|e| e.contains("Budget Exceeded"))
        .unwrap_or_else(|| panic!("{published:?}"));
    assert!(exceeded.contains(&id), "{exceeded}");
    assert_eq!(calls.count("GetMetricData"), 1);

    // `plan` judges the budget with the same decision, and writes nothing.
    let (ok, out, err) = cli(&["plan", "--cluster", &id, "--now", NOW, "--json"]);
    assert!(ok, "{err}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    let budget = &plan["clusters"][0]["budget"];
    assert_eq!(budget["budget"], 48.0, "{budget:#}");
    assert!(
        (budget["spent"].as_f64().unwrap() - 60.0).abs() < 1e-6,
        "{budget:#}"
    );
    assert_eq!(budget["capped"], true, "{budget:#}");
    assert_eq!(budget["cap"], 2.0, "{budget:#}");
    assert!(
        budget["next"].as_str().unwrap().starts_with("kept"),
        "{budget:#}"
    );
    let (ok, text, err) = cli(&["plan", "--cluster", &id, "--now", NOW]);
    assert!(ok, "{err}");
    assert!(text.contains("budget   48 ACU-h/day, spent 60.0"), "{text}");

    // The high alarm fires: the boost is written, and refused by the budget.
    let (out, _) = run(
        Function::AlarmHandler,
        fixture("alarm-eventbridge-high-alarm.json", &id),
        &later(1),
    )
    .await;
    assert_eq!(out["decision"], "boost", "{out:#}");
    assert!(cluster_tags(&id).await.contains_key("acu-pilot:boost"));
    assert_eq!(live_range(&id).await, (0.5, 2.0));

    // Still over: the next tick writes nothing and announces nothing.
    let (out, calls) = tick(&later(5)).await;
    assert_eq!(report(&out, &id)["budget"]["layer"], "kept", "{out:#}");
    assert_eq!(calls.count("AddTagsToResource"), 0);
    assert_eq!(calls.count("ModifyDBCluster"), 0);
    assert!(events(&calls).is_empty(), "{:?}", events(&calls));
    assert_eq!(live_range(&id).await, (0.5, 2.0));

    // Two hours on, 36 of 48 ACU-hours remain in the window: the cap goes.
    let (out, calls) = tick(&later(120)).await;
    let r = report(&out, &id);
    assert_eq!(r["budget"]["layer"], "removed", "{r:#}");
    assert!(!cluster_tags(&id).await.contains_key("acu-pilot:budget-cap"));
    assert!(
        events(&calls).iter().any(|e| e.contains("Budget Restored")),
        "{:?}",
        events(&calls)
    );
    let (min, max) = live_range(&id).await;
    assert_eq!(min, 0.5);
    assert!(max >= 16.0, "the cap is gone: max {max}");
    drop_budget(&id).await;
}

#[tokio::test]
async fn a_malformed_budget_is_reported_and_the_cluster_runs_without_one() {
    let _serial = serial();
    let id = managed_cluster("budget-bad", 0.5, 16.0, &[("acu-pilot:budget", "-3")]).await;
    let (out, calls) = tick(NOW).await;
    assert!(
        out["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["cluster"] != id),
        "{out:#}"
    );
    let r = report(&out, &id);
    let problem = r["budget"]["problem"].as_str().unwrap();
    assert!(
        problem.contains(&id) && problem.contains("acu-pilot:budget"),
        "{problem}"
    );
    assert_eq!(r["budget"]["layer"], "none");
    assert!(
        events(&calls).iter().any(|e| e.contains("Budget Invalid")),
        "{:?}",
        events(&calls)
    );
    assert_eq!(calls.count("GetMetricData"), 0);
    assert_eq!(live_range(&id).await, (0.5, 16.0));
    drop_budget(&id).await;
}
