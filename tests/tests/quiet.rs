//! Quiet windows (issue #17) against the emulator: a nightly window in Europe/Berlin
//! across the autumn DST change lowers min (to 0 where the engine can pause, else to the
//! floor) and caps max at its start, restores the baseline at its end, skips an excluded
//! date, and a repeated tick writes nothing; a high alarm during a window lifts a soft cap
//! and not a hard one.
//!
//! A tick takes away a quiet tag that no window of its calendar wants, on any cluster, so
//! the tests run one at a time and each calendar names only its own clusters.

// Each #[tokio::test] runs on its own thread and runtime, so a std mutex held across
// awaits blocks only the other tests' threads, which is exactly what is wanted.
#![allow(clippy::await_holding_lock)]

use std::sync::{Mutex, MutexGuard};

use acu_pilot_aws::CallRecorder;
use acu_pilot_core::capacity::Acu;
use acu_pilot_core::config::Config;
use acu_pilot_lambda::{Deps, Function, handle};
use acu_pilot_tests::*;
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The calendar in a file, the forecast off, min 0 allowed where the engine can pause.
fn quiet_config(id: &str, yaml: &str) -> Config {
    let path = std::env::temp_dir().join(format!("acu-pilot-quiet-{id}.yaml"));
    std::fs::write(&path, yaml).expect("write the calendar");
    let mut config = Config::default();
    config.prescale.calendar_file = Some(path.display().to_string());
    config.prescale.forecast_enabled = false;
    config.guardrails.floor = Acu::ZERO;
    config.guardrails.allow_auto_pause = true;
    config
}

async fn run(
    function: Function,
    config: &Config,
    event: Value,
    now: &str,
) -> (Value, CallRecorder) {
    let (aws, calls) = recorded_aws(config).await;
    let deps = Deps {
        config: config.clone(),
        aws,
    };
    let out = handle(function, event, at(now), &deps)
        .await
        .unwrap_or_else(|e| panic!("{function:?} at {now}: {e}"));
    (out, calls)
}

async fn tick(config: &Config, now: &str) -> (Value, CallRecorder) {
    run(
        Function::PreScaler,
        config,
        fixture("scheduled-event.json", "-"),
        now,
    )
    .await
}

/// The writes a call recorder saw that name cluster `id`.
fn writes_for(calls: &CallRecorder, id: &str) -> Vec<String> {
    calls
        .calls()
        .into_iter()
        .filter(|c| acu_pilot_aws::recorder::is_write(&c.operation) && c.body.contains(id))
        .map(|c| c.operation)
        .collect()
}

async fn quiet_tag(id: &str) -> Option<String> {
    cluster_tags(id).await.get("acu-pilot:quiet").cloned()
}

#[tokio::test]
async fn a_nightly_berlin_window_across_the_fall_back_lowers_caps_restores_and_skips_an_excluded_date()
 {
    let _serial = serial();
    let sdk = sdk_config().await;
    let tags = [
        ("acu-pilot:managed", "true"),
        ("acu-pilot:baseline", "min=0.5 max=16"),
    ];
    let pausing = unique_id("quiet-pausing");
    create_cluster_version_in(&sdk, &pausing, PAUSING_VERSION, 0.5, 16.0, &tags).await;
    let older = unique_id("quiet-older");
    create_cluster_version_in(&sdk, &older, NON_PAUSING_VERSION, 0.5, 16.0, &tags).await;
    // 22:00 to 06:00 local by the clock on a normal night; `duration` is elapsed time, so
    // on the night the clocks go back (Sun 2026-10-25, 03:00 CEST → 02:00 CET) it ends at
    // 05:00 CET. Monday 2026-10-26 is excluded.
    let config = quiet_config(
        &pausing,
        &format!(
            "timezone: Europe/Berlin\nevents:\n  - name: nightly\n    every: \"0 22 * * *\"\n    duration: 8h\n    clusters: [{pausing}, {older}]\n    quiet: {{min: 0, max: 2}}\nexclude: [2026-10-26]\n"
        ),
    );
    let both = [&pausing, &older];
    let untouched = |calls: &CallRecorder| {
        for id in both {
            assert_eq!(writes_for(calls, id), Vec::<String>::new(), "{id}");
        }
    };

    // 21:55 CEST: not yet.
    let (_, calls) = tick(&config, "2026-10-24T19:55:00Z").await;
    untouched(&calls);
    assert_eq!(live_range(&pausing).await, (0.5, 16.0));

    // 22:00 CEST = 20:00Z: min falls (to 0 only where the engine can pause), max is capped.
    let (out, calls) = tick(&config, "2026-10-24T20:00:00Z").await;
    // The emulator does not keep SecondsUntilAutoPause: read it in the requests sent.
    let modify = |id: &str| {
        calls
            .calls()
            .into_iter()
            .find(|c| c.operation == "ModifyDBCluster" && c.body.contains(id))
            .map(|c| c.body)
            .unwrap_or_else(|| panic!("no ModifyDBCluster for {id}"))
    };
    assert!(
        modify(&pausing).contains("ServerlessV2ScalingConfiguration.SecondsUntilAutoPause=300"),
        "{}",
        modify(&pausing)
    );
    assert!(!modify(&older).contains("SecondsUntilAutoPause"));
    assert_eq!(live_range(&pausing).await, (0.0, 2.0), "{out:#}");
    assert_eq!(live_range(&older).await, (0.5, 2.0), "{out:#}");
    assert_eq!(
        quiet_tag(&pausing).await.as_deref(),
        Some("min=0 max=2 until=2026-10-25T04:00:00Z by=calendar:nightly at=2026-10-24T20:00:00Z")
    );

    // A repeated tick, and one after the clocks went back (01:00Z), write nothing.
    for now in ["2026-10-24T20:05:00Z", "2026-10-25T03:55:00Z"] {
        let (_, calls) = tick(&config, now).await;
        untouched(&calls);
        assert_eq!(live_range(&pausing).await, (0.0, 2.0), "{now}");
    }

    // Eight hours after the start, 05:00 CET: the baseline is back and the tag gone.
    let (out, _) = tick(&config, "2026-10-25T04:00:00Z").await;
    for id in both {
        assert_eq!(live_range(id).await, (0.5, 16.0), "{id}: {out:#}");
        assert_eq!(quiet_tag(id).await, None, "{id}");
    }

    // Sunday night, in CET: 22:00 is now 21:00Z, and 20:30Z is still the day.
    let (_, calls) = tick(&config, "2026-10-25T20:30:00Z").await;
    untouched(&calls);
    tick(&config, "2026-10-25T21:00:00Z").await;
    assert_eq!(live_range(&pausing).await, (0.0, 2.0));
    tick(&config, "2026-10-26T05:00:00Z").await;
    assert_eq!(live_range(&pausing).await, (0.5, 16.0));

    // Monday 2026-10-26 is excluded: its night leaves both clusters alone.
    for now in ["2026-10-26T21:00:00Z", "2026-10-27T01:00:00Z"] {
        let (_, calls) = tick(&config, now).await;
        untouched(&calls);
        assert_eq!(live_range(&older).await, (0.5, 16.0), "{now}");
    }
}

/// The `max=` of a layer tag's value.
fn layer_max(value: &str) -> f64 {
    value
        .split_whitespace()
        .find_map(|part| part.strip_prefix("max="))
        .and_then(|max| max.parse().ok())
        .unwrap_or_else(|| panic!("no max in {value:?}"))
}

#[tokio::test]
async fn a_high_alarm_during_a_quiet_window_lifts_a_soft_cap_and_not_a_hard_one() {
    let _serial = serial();
    let soft = managed_cluster("quiet-soft", 0.5, 16.0, &[]).await;
    let hard = managed_cluster("quiet-hard", 0.5, 16.0, &[]).await;
    recipe_alarms(&soft).await;
    recipe_alarms(&hard).await;
    let config = quiet_config(
        &soft,
        &format!(
            "events:\n  - name: soft-budget\n    start: 2026-11-25T17:00\n    duration: 4h\n    clusters: [{soft}]\n    quiet: {{max: 2}}\n  - name: hard-budget\n    start: 2026-11-25T17:00\n    duration: 4h\n    clusters: [{hard}]\n    quiet: {{max: 2, hard: true}}\n"
        ),
    );
    // No quiet.min: min falls to the floor, 0 on these pausing clusters.
    tick(&config, "2026-11-25T18:00:00Z").await;
    assert_eq!(live_range(&soft).await, (0.0, 2.0));
    assert_eq!(live_range(&hard).await, (0.0, 2.0));

    for id in [&soft, &hard] {
        let event = fixture("alarm-eventbridge-high-alarm.json", id);
        let (out, _) = run(
            Function::AlarmHandler,
            &config,
            event,
            "2026-11-25T18:01:00Z",
        )
        .await;
        assert_eq!(out["decision"], "boost", "{id}: {out:#}");
    }
    // Demand is real: the boost lifts a soft cap to its own max…
    let boost = cluster_tags(&soft).await["acu-pilot:boost"].clone();
    assert!(layer_max(&boost) > 2.0, "{boost}");
    assert_eq!(live_range(&soft).await, (0.0, layer_max(&boost)));
    // …and a hard cap, a budget, holds.
    assert!(cluster_tags(&hard).await.contains_key("acu-pilot:boost"));
    assert_eq!(live_range(&hard).await, (0.0, 2.0));

    // The next tick keeps both as they are.
    let (_, calls) = tick(&config, "2026-11-25T18:05:00Z").await;
    assert_eq!(writes_for(&calls, &soft), Vec::<String>::new());
    assert_eq!(writes_for(&calls, &hard), Vec::<String>::new());
}
