//! Pre-scaler acceptance (issue 4) against the emulator: calendar lead, restore, overlap,
//! exclusions, DST, the forecast from seeded CloudWatch history, bad calendars, SSM as the
//! calendar's home, dry run, per-cluster errors, and "a repeated tick writes nothing".
//!
//! The tests share one emulator, whose DescribeDBClusters returns every test's clusters.
//! A tick acts on the clusters its calendar names, the forecast's selector matches, or
//! that carry a prescale tag, so each test's calendar names only its own clusters, the
//! forecast is scoped by a per-test tag, and the tests run one at a time: otherwise one
//! test's tick would take away another's prescale tag, as it should in production.

// Each #[tokio::test] runs on its own thread and runtime, so a std mutex held across
// awaits blocks only the other tests' threads, which is exactly what is wanted.
#![allow(clippy::await_holding_lock)]

use std::sync::{Mutex, MutexGuard};

use acu_pilot_app::prescaler::tick;
use acu_pilot_aws::CallRecorder;
use acu_pilot_core::config::Config;
use acu_pilot_lambda::{Deps, Function, handle};
use acu_pilot_tests::*;
use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc, Weekday};
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

/// One test at a time; a failed test must not poison the rest.
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn write_calendar(id: &str, yaml: &str) -> String {
    let path = std::env::temp_dir().join(format!("acu-pilot-calendar-{id}.yaml"));
    std::fs::write(&path, yaml).expect("write the calendar");
    path.display().to_string()
}

/// A calendar from a file, no forecast.
fn calendar_config(path: &str) -> Config {
    let mut config = Config::default();
    config.prescale.calendar_file = Some(path.to_owned());
    config.prescale.forecast_enabled = false;
    config
}

fn scheduled_event() -> Value {
    let text = std::fs::read_to_string(fixture_path("scheduled-event.json")).expect("fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// One tick through the Lambda entry point, with its own call recorder.
async fn tick_at(config: &Config, now: &str) -> (Value, CallRecorder) {
    let (aws, calls) = recorded_aws(config).await;
    let deps = Deps {
        config: config.clone(),
        aws,
    };
    let out = handle(Function::PreScaler, scheduled_event(), at(now), &deps)
        .await
        .unwrap_or_else(|e| panic!("tick at {now}: {e}"));
    (out, calls)
}

fn report<'a>(out: &'a Value, id: &str) -> &'a Value {
    out["clusters"]
        .as_array()
        .and_then(|c| c.iter().find(|r| r["cluster"] == id))
        .unwrap_or_else(|| panic!("{id} not in the tick's report: {out:#}"))
}

fn window_names(report: &Value) -> Vec<String> {
    report["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap().to_owned())
        .collect()
}

fn writes_for(calls: &CallRecorder, id: &str) -> Vec<String> {
    calls
        .calls()
        .into_iter()
        .filter(|c| acu_pilot_aws::recorder::is_write(&c.operation) && c.body.contains(id))
        .map(|c| c.operation)
        .collect()
}

#[tokio::test]
async fn lead_time_raises_min_at_13_30_utc_not_13_29_then_restores_and_repeats_write_nothing() {
    let _serial = serial();
    let id = managed_cluster("prescale-lead", 0.5, 16.0, &[]).await;
    let path = write_calendar(
        &id,
        &format!(
            "timezone: America/New_York\nlead: 30m\nevents:\n  - name: sale\n    start: 2026-12-10T09:00\n    duration: 2h\n    clusters: [{id}]\n    min: 8\n"
        ),
    );
    let config = calendar_config(&path);

    let (out, _) = tick_at(&config, "2026-12-10T13:29:00Z").await;
    let r = report(&out, &id);
    assert_eq!(r["layer"], "none");
    assert!(window_names(r).is_empty());
    assert_eq!(live_range(&id).await, (0.5, 16.0), "not at 08:29 local");

    let (out, calls) = tick_at(&config, "2026-12-10T13:30:00Z").await;
    let r = report(&out, &id);
    assert_eq!(r["layer"], "written", "{r:#}");
    assert_eq!(window_names(r), vec!["sale"]);
    assert_eq!(r["windows"][0]["source"], "calendar");
    assert_eq!(r["windows"][0]["from"], "2026-12-10T13:30:00Z");
    assert_eq!(r["after"]["min"], 8.0);
    assert_eq!(r["changed"], true);
    assert_eq!(live_range(&id).await, (8.0, 16.0), "raised at 08:30 local");
    let tag = &cluster_tags(&id).await["acu-pilot:prescale"];
    assert!(
        tag.starts_with("min=8 until=2026-12-10T16:00:00Z by=calendar:sale"),
        "{tag}"
    );
    eprintln!("api calls, tick that writes: {:?}", calls.counts());
    // One listing, and after the write one read verifying no other function wrote meanwhile.
    assert_eq!(
        calls.count("DescribeDBClusters"),
        2,
        "one listing and one verifying read"
    );
    assert_eq!(
        writes_for(&calls, &id),
        vec!["AddTagsToResource", "ModifyDBCluster", "PutEvents"],
        "the tag, the range, the Capacity Changed event"
    );

    // Nothing changed: nothing is written, by this cluster or any other.
    let (out, calls) = tick_at(&config, "2026-12-10T13:35:00Z").await;
    assert_eq!(report(&out, &id)["layer"], "kept");
    assert_eq!(calls.writes(), Vec::<String>::new());
    eprintln!("api calls, repeated tick: {:?}", calls.counts());

    // Restore: the window ends at 11:00 local, 16:00 UTC.
    let (out, _) = tick_at(&config, "2026-12-10T16:00:00Z").await;
    let r = report(&out, &id);
    assert_eq!(r["layer"], "removed");
    assert_eq!(r["after"]["min"], 0.5);
    assert_eq!(live_range(&id).await, (0.5, 16.0));
    assert!(!cluster_tags(&id).await.contains_key("acu-pilot:prescale"));

    let (_, calls) = tick_at(&config, "2026-12-10T16:05:00Z").await;
    assert_eq!(calls.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn overlapping_windows_take_the_max() {
    let _serial = serial();
    let id = managed_cluster("prescale-overlap", 0.5, 16.0, &[]).await;
    let path = write_calendar(
        &id,
        &format!(
            "timezone: America/New_York\nlead: 30m\nevents:\n  - name: morning\n    start: 2026-12-11T09:00\n    duration: 3h\n    clusters: [{id}]\n    min: 4\n  - name: flash-sale\n    start: 2026-12-11T10:00\n    duration: 3h\n    clusters: [{id}]\n    min: 8\n    max: 32\n"
        ),
    );
    let config = calendar_config(&path);

    let (out, _) = tick_at(&config, "2026-12-11T14:00:00Z").await;
    assert_eq!(window_names(report(&out, &id)), vec!["morning"]);
    assert_eq!(live_range(&id).await, (4.0, 16.0));

    let (out, _) = tick_at(&config, "2026-12-11T15:45:00Z").await;
    let r = report(&out, &id);
    assert_eq!(window_names(r), vec!["morning", "flash-sale"]);
    assert_eq!(live_range(&id).await, (8.0, 32.0), "min and max by max");
    assert!(
        cluster_tags(&id).await["acu-pilot:prescale"]
            .contains("by=calendar:morning+calendar:flash-sale")
    );

    let (out, _) = tick_at(&config, "2026-12-11T17:30:00Z").await;
    assert_eq!(window_names(report(&out, &id)), vec!["flash-sale"]);
    assert_eq!(live_range(&id).await, (8.0, 32.0));

    let (_, _) = tick_at(&config, "2026-12-11T18:00:00Z").await;
    assert_eq!(live_range(&id).await, (0.5, 16.0));
}

#[tokio::test]
async fn an_exclusion_date_skips_a_recurring_event() {
    let _serial = serial();
    let id = managed_cluster("prescale-exclude", 0.5, 16.0, &[]).await;
    let path = write_calendar(
        &id,
        &format!(
            "timezone: America/New_York\nlead: 30m\nevents:\n  - name: daily-open\n    every: \"0 9 * * *\"\n    duration: 1h\n    clusters: [{id}]\n    min: 4\nexclude: [2026-12-25]\n"
        ),
    );
    let config = calendar_config(&path);
    let (out, _) = tick_at(&config, "2026-12-24T14:00:00Z").await;
    assert_eq!(report(&out, &id)["layer"], "written");
    assert_eq!(live_range(&id).await, (4.0, 16.0));

    let (out, _) = tick_at(&config, "2026-12-25T14:00:00Z").await;
    let r = report(&out, &id);
    assert!(window_names(r).is_empty(), "{r:#}");
    assert_eq!(r["layer"], "removed");
    assert_eq!(live_range(&id).await, (0.5, 16.0));

    let (out, _) = tick_at(&config, "2026-12-26T14:00:00Z").await;
    assert_eq!(report(&out, &id)["layer"], "written");
    assert_eq!(live_range(&id).await, (4.0, 16.0));
}

#[tokio::test]
async fn dst_gaps_move_forward_and_repeated_times_take_the_first_in_two_zones() {
    let _serial = serial();
    let id = managed_cluster("prescale-dst", 0.5, 16.0, &[]).await;
    let path = write_calendar(
        &id,
        &format!(
            "lead: 30m\nevents:\n  - name: ny-spring\n    timezone: America/New_York\n    start: 2027-03-14T02:30\n    duration: 1h\n    clusters: [{id}]\n    min: 2\n  - name: ny-fall\n    timezone: America/New_York\n    start: 2026-11-01T01:30\n    duration: 1h\n    clusters: [{id}]\n    min: 3\n  - name: berlin-spring\n    timezone: Europe/Berlin\n    start: 2027-03-28T02:30\n    duration: 1h\n    clusters: [{id}]\n    min: 4\n  - name: berlin-fall\n    timezone: Europe/Berlin\n    start: 2026-10-25T02:30\n    duration: 1h\n    clusters: [{id}]\n    min: 5\n"
        ),
    );
    let config = calendar_config(&path);
    // (entry, resolved start in UTC, min): a skipped 02:30 is 03:00 after the jump; a
    // repeated 01:30 / 02:30 is the first, still on summer time.
    for (name, start, min) in [
        ("ny-spring", "2027-03-14T07:00:00Z", 2.0),
        ("ny-fall", "2026-11-01T05:30:00Z", 3.0),
        ("berlin-spring", "2027-03-28T01:00:00Z", 4.0),
        ("berlin-fall", "2026-10-25T00:30:00Z", 5.0),
    ] {
        let start = at(start);
        let lead_start = start - TimeDelta::minutes(30);
        let before = (lead_start - TimeDelta::minutes(1)).to_rfc3339();
        let (out, _) = tick_at(&config, &before).await;
        assert!(
            window_names(report(&out, &id)).is_empty(),
            "{name} at {before}"
        );
        let (out, _) = tick_at(&config, &lead_start.to_rfc3339()).await;
        let r = report(&out, &id);
        assert_eq!(window_names(r), vec![name], "{name} at {lead_start}");
        let until = (start + TimeDelta::hours(1))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        assert_eq!(r["windows"][0]["until"], until.as_str(), "{name}");
        assert_eq!(live_range(&id).await, (min, 16.0), "{name}");
    }
}

/// Four weeks of 5-minute `ServerlessDatabaseCapacity` before `end`: idle (0.5 ACU), and
/// 16 ACU every Friday 18:00–19:00 UTC. `skip_weeks_ago` leaves out the day around that week's
/// same time, as if the metric had not been published.
fn friday_history(end: DateTime<Utc>, skip_weeks_ago: Option<i32>) -> Vec<(DateTime<Utc>, f64)> {
    let start = end - TimeDelta::weeks(4) - TimeDelta::hours(1);
    let gap = skip_weeks_ago.map(|k| end - TimeDelta::weeks(k as i64));
    let mut out = Vec::new();
    let mut t = start;
    while t < end {
        if gap.is_none_or(|g| (t - g).abs() >= TimeDelta::hours(12)) {
            let peak = t.weekday() == Weekday::Fri && t.hour() == 18;
            out.push((t, if peak { 16.0 } else { 0.5 }));
        }
        t += TimeDelta::minutes(5);
    }
    out
}

/// A Friday 17:55 UTC (one tick before the peak hour) at least 15 days from now. The emulator forgets datapoints older
/// than two weeks by the wall clock (and, unlike CloudWatch, accepts future ones), so four
/// weeks of history can only be kept by putting the tick in the future.
fn a_friday_afternoon() -> DateTime<Utc> {
    let mut day = (Utc::now() + TimeDelta::days(15)).date_naive();
    while day.weekday() != Weekday::Fri {
        day = day.succ_opt().expect("a later day");
    }
    day.and_hms_opt(17, 55, 0).expect("17:55").and_utc()
}

fn forecast_config(id: &str) -> Config {
    let mut config = Config::default();
    config.prescale.forecast_enabled = true;
    config.prescale.forecast_selector = Some(("acu-pilot-test".to_owned(), id.to_owned()));
    config
}

#[tokio::test]
async fn the_forecast_prescales_before_the_friday_peak_and_not_on_thursday() {
    let _serial = serial();
    let id = unique_id("prescale-forecast");
    create_managed(&id, 0.5, 16.0, &[("acu-pilot-test", &id)]).await;
    let friday = a_friday_afternoon();
    put_capacity_history(&id, &friday_history(friday, None)).await;
    let config = forecast_config(&id);
    let thursday = (friday - TimeDelta::days(1)).to_rfc3339();

    let (out, calls) = tick_at(&config, &thursday).await;
    let r = report(&out, &id);
    assert_eq!(r["layer"], "none", "{r:#}");
    assert_eq!(r["forecast"]["predicted_peak"], 0.5, "{r:#}");
    assert_eq!(
        calls.count("GetMetricData"),
        1,
        "one GetMetricData per cluster"
    );
    assert_eq!(live_range(&id).await, (0.5, 16.0));

    let (out, calls) = tick_at(&config, &friday.to_rfc3339()).await;
    let r = report(&out, &id);
    assert_eq!(r["layer"], "written", "{r:#}");
    assert_eq!(r["windows"][0]["source"], "forecast");
    assert_eq!(r["forecast"]["predicted_peak"], 16.0);
    let explanation = r["forecast"]["explanation"].as_str().unwrap();
    assert!(
        explanation.contains("16.0, 16.0, 16.0, 16.0"),
        "{explanation}"
    );
    // The hour from 17:55 was 16 ACU on every past Friday but its first five minutes:
    // holding 16 through it would have wasted under the 10 % budget.
    assert_eq!(r["after"]["min"], 16.0, "{r:#}");
    assert!(explanation.contains("weekly pattern"), "{explanation}");
    assert_eq!(live_range(&id).await, (16.0, 16.0));
    eprintln!("api calls, forecast tick that writes: {:?}", calls.counts());

    let later = (friday + TimeDelta::minutes(5)).to_rfc3339();
    let (_, calls) = tick_at(&config, &later).await;
    assert_eq!(
        calls.writes(),
        Vec::<String>::new(),
        "the forecast layer is kept"
    );
}

#[tokio::test]
async fn a_min_held_on_past_fridays_is_not_learnt_as_load() {
    // The same four Fridays at 16 ACU, but CPUUtilization says the load stayed at what
    // 0.5 ACU carries the rest of the week: the 16 was a min held, not load. Max 16
    // throughout, so both utilisations are percentages of 16 ACU's.
    let _serial = serial();
    let id = unique_id("prescale-held");
    create_managed(&id, 0.5, 16.0, &[("acu-pilot-test", &id)]).await;
    let friday = a_friday_afternoon();
    let capacity = friday_history(friday, None);
    let percent = |acu: f64| acu / 16.0 * 100.0;
    let quiet_share = 0.6;
    let acu: Vec<_> = capacity.iter().map(|(t, c)| (*t, percent(*c))).collect();
    let cpu: Vec<_> = capacity
        .iter()
        .map(|(t, _)| (*t, percent(0.5) * quiet_share))
        .collect();
    put_capacity_history(&id, &capacity).await;
    put_cluster_metric(&id, "ACUUtilization", &acu).await;
    put_cluster_metric(&id, "CPUUtilization", &cpu).await;
    let config = forecast_config(&id);

    let (out, calls) = tick_at(&config, &friday.to_rfc3339()).await;
    let r = report(&out, &id);
    assert_eq!(r["forecast"]["predicted_peak"], 0.5, "{r:#}");
    assert_eq!(r["layer"], "none", "{r:#}");
    assert_eq!(calls.count("GetMetricData"), 1, "{:?}", calls.counts());
    assert_eq!(live_range(&id).await, (0.5, 16.0));
}

#[tokio::test]
async fn the_forecast_survives_a_missing_week() {
    let _serial = serial();
    let id = unique_id("prescale-gap");
    create_managed(&id, 0.5, 16.0, &[("acu-pilot-test", &id)]).await;
    let friday = a_friday_afternoon();
    put_capacity_history(&id, &friday_history(friday, Some(2))).await;
    let config = forecast_config(&id);

    let (out, _) = tick_at(&config, &friday.to_rfc3339()).await;
    let r = report(&out, &id);
    assert_eq!(r["layer"], "written", "{r:#}");
    let explanation = r["forecast"]["explanation"].as_str().unwrap();
    assert!(explanation.contains("week -2 no data"), "{explanation}");
    assert!(explanation.contains("over 3 days"), "{explanation}");
    assert_eq!(live_range(&id).await, (16.0, 16.0));
}

#[tokio::test]
async fn bad_calendars_are_rejected_naming_the_entry_and_field_and_nothing_is_written() {
    let _serial = serial();
    let id = managed_cluster("prescale-bad", 0.5, 16.0, &[]).await;
    for (yaml, named) in [
        (
            format!(
                "events:\n  - name: sale\n    timezone: Mars/Olympus_Mons\n    start: 2026-12-10T09:00\n    duration: 1h\n    clusters: [{id}]\n    min: 4\n"
            ),
            "events[0] (sale).timezone",
        ),
        (
            format!(
                "events:\n  - name: sale\n    start: 2026-12-10T09:00\n    end: 2026-12-10T08:00\n    clusters: [{id}]\n    min: 4\n"
            ),
            "events[0] (sale).end",
        ),
        (
            format!(
                "events:\n  - name: weekly\n    every: \"0 25 * * FRI\"\n    duration: 1h\n    clusters: [{id}]\n    min: 4\n"
            ),
            "events[0] (weekly).every",
        ),
        (
            format!(
                "events:\n  - name: sale\n    start: 2026-12-10T09:00\n    duration: 1h\n    clusters: [{id}]\n    min: -2\n"
            ),
            "events[0] (sale).min",
        ),
    ] {
        let path = write_calendar(&id, &yaml);
        let config = calendar_config(&path);
        let (aws, calls) = recorded_aws(&config).await;
        let err = tick(
            &aws.clusters,
            &aws.notifier,
            &aws.metrics,
            &aws.calendar,
            &config,
            at("2026-12-10T13:45:00Z"),
        )
        .await
        .unwrap_err();
        assert_eq!(err.error_type(), "InvalidInput", "{err}");
        assert!(err.to_string().contains(named), "{named}: {err}");
        assert!(calls.writes().is_empty(), "{:?}", calls.writes());

        let (ok, _, stderr) = cli(&["calendar", "check", &path]);
        assert!(!ok, "calendar check must fail for {named}");
        assert!(stderr.contains(named), "{named}: {stderr}");
    }
    assert_eq!(live_range(&id).await, (0.5, 16.0));
}

#[tokio::test]
async fn a_calendar_in_ssm_is_read_once_per_tick() {
    let _serial = serial();
    let id = managed_cluster("prescale-ssm", 0.5, 16.0, &[]).await;
    let name = format!("/acu-pilot-tests/{id}/calendar");
    put_calendar_parameter(
        &name,
        &format!(
            "timezone: Europe/Berlin\nevents:\n  - name: launch\n    start: 2026-12-10T09:00\n    duration: 2h\n    clusters: [{id}]\n    min: 6\n"
        ),
    )
    .await;
    let mut config = Config::default();
    config.prescale.calendar_parameter = Some(name.clone());
    config.prescale.forecast_enabled = false;

    // 09:00 in Berlin in winter is 08:00 UTC; the default lead is 30m.
    let (out, calls) = tick_at(&config, "2026-12-10T07:30:00Z").await;
    assert_eq!(out["calendar"], format!("SSM parameter {name}"));
    assert_eq!(report(&out, &id)["layer"], "written");
    assert_eq!(calls.count("GetParameter"), 1);
    assert_eq!(live_range(&id).await, (6.0, 16.0));

    config.prescale.calendar_parameter = Some(format!("{name}-missing"));
    let (aws, _) = recorded_aws(&config).await;
    let err = tick(
        &aws.clusters,
        &aws.notifier,
        &aws.metrics,
        &aws.calendar,
        &config,
        at("2026-12-10T07:30:00Z"),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("ACU_PILOT_CALENDAR_PARAMETER"),
        "{err}"
    );
}

/// Issue #17: one calendar per team under an SSM path, read with one GetParametersByPath.
/// Both good calendars apply (a pre-scale and a quiet window, each named by its
/// calendar); the broken one is reported by name with all its problems, and nothing else
/// fails.
#[tokio::test]
async fn team_calendars_under_a_path_apply_and_a_broken_one_is_skipped_by_name() {
    let _serial = serial();
    let shop = managed_cluster("prescale-team-shop", 0.5, 16.0, &[]).await;
    let dev = managed_cluster("prescale-team-dev", 0.5, 16.0, &[]).await;
    let path = format!("/acu-pilot-tests/{shop}/calendars/");
    let shop_yaml = format!(
        "timezone: Europe/Berlin\nevents:\n  - name: launch\n    start: 2026-12-10T09:00\n    duration: 2h\n    clusters: [{shop}]\n    min: 6\n"
    );
    let dev_yaml = format!(
        "events:\n  - name: launch\n    start: 2026-12-10T08:00\n    duration: 2h\n    clusters: [{dev}]\n    quiet: {{max: 2}}\n"
    );
    let broken_yaml = format!(
        "events:\n  - name: sale\n    start: 2026-12-10T08:00\n    duration: 2h\n    clusters: [{shop}]\n    min: lots\n  - name: late\n    every: \"0 25 * * *\"\n    duration: 1h\n    clusters: [{dev}]\n    min: 1\n"
    );
    put_calendar_parameter(&format!("{path}shop"), &shop_yaml).await;
    put_calendar_parameter(&format!("{path}dev"), &dev_yaml).await;
    put_calendar_parameter(&format!("{path}ops/broken"), &broken_yaml).await;
    let mut config = Config::default();
    config.prescale.calendar_path = Some(path.clone());
    config.prescale.forecast_enabled = false;

    // 09:00 in Berlin in winter is 08:00 UTC: the shop's lead began at 07:30, the dev
    // team's quiet window (UTC) starts now.
    let (out, calls) = tick_at(&config, "2026-12-10T08:00:00Z").await;
    assert_eq!(calls.count("GetParametersByPath"), 1, "{out:#}");
    assert_eq!(window_names(report(&out, &shop)), vec!["shop/launch"]);
    // Quiet windows show as the quiet layer, not among the pre-scale windows.
    assert_eq!(report(&out, &dev)["quiet_layer"], "written", "{out:#}");
    assert!(
        cluster_tags(&dev).await["acu-pilot:quiet"].contains("by=calendar:dev/launch"),
        "{out:#}"
    );
    assert_eq!(live_range(&shop).await, (6.0, 16.0));
    assert_eq!(live_range(&dev).await, (0.5, 2.0));
    assert!(
        cluster_tags(&shop).await["acu-pilot:prescale"].contains("by=calendar:shop/launch"),
        "{out:#}"
    );
    assert_eq!(out["errors"], serde_json::json!([]), "{out:#}");

    let broken = &out["broken_calendars"];
    assert_eq!(broken.as_array().map(Vec::len), Some(1), "{out:#}");
    assert_eq!(broken[0]["calendar"], "ops/broken");
    assert_eq!(
        broken[0]["origin"],
        format!("SSM parameter {path}ops/broken")
    );
    let problems = broken[0]["problems"].to_string();
    assert!(problems.contains("events[0] (sale).min: "), "{problems}");
    assert!(problems.contains("events[1] (late).every: "), "{problems}");
    assert!(
        calls.calls().iter().any(|c| c.operation == "PutEvents"
            && c.body.contains("Calendar Invalid")
            && c.body.contains("ops/broken")),
        "the refusal is published"
    );

    // A repeated tick writes nothing to either cluster (it reports the broken calendar
    // again: that event names the path, which holds the shop's id).
    let (_, calls) = tick_at(&config, "2026-12-10T08:05:00Z").await;
    for id in [&shop, &dev] {
        let writes: Vec<String> = writes_for(&calls, id)
            .into_iter()
            .filter(|op| op != "PutEvents")
            .collect();
        assert!(writes.is_empty(), "{id}: {writes:?}");
    }

    // The same files checked together: the broken one is named with all its problems.
    let dir = std::env::temp_dir().join(format!("acu-pilot-teams-{shop}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, yaml: &str| {
        let file = dir.join(format!("{name}.yaml"));
        std::fs::write(&file, yaml).unwrap();
        file.display().to_string()
    };
    let (shop_file, dev_file, broken_file) = (
        file("shop", &shop_yaml),
        file("dev", &dev_yaml),
        file("broken", &broken_yaml),
    );
    let (ok, stdout, stderr) = cli(&[
        "calendar",
        "check",
        &shop_file,
        &dev_file,
        "--from",
        "2026-12-01T00:00:00Z",
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("calendar shop OK: 1 entry, timezone Europe/Berlin"),
        "{stdout}"
    );
    assert!(
        stdout.contains("dev/launch") && stdout.contains("shop/launch"),
        "{stdout}"
    );
    let (ok, _, stderr) = cli(&["calendar", "check", &shop_file, &dev_file, &broken_file]);
    assert!(!ok);
    assert!(
        stderr.contains(&format!("{broken_file}: invalid calendar (2 problems)")),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_dry_run_reports_the_layer_and_range_but_writes_neither() {
    let _serial = serial();
    let id = managed_cluster("prescale-dry", 0.5, 16.0, &[]).await;
    let path = write_calendar(
        &id,
        &format!(
            "events:\n  - name: sale\n    start: 2026-12-10T14:00\n    duration: 1h\n    clusters: [{id}]\n    min: 8\n"
        ),
    );
    let mut config = calendar_config(&path);
    config.dry_run = true;
    let (out, calls) = tick_at(&config, "2026-12-10T13:30:00Z").await;
    let r = report(&out, &id);
    assert_eq!(out["dry_run"], true);
    assert_eq!(
        (&r["layer"], &r["changed"]),
        (&"written".into(), &true.into())
    );
    assert_eq!(r["after"]["min"], 8.0);
    assert_eq!(calls.count("AddTagsToResource"), 0);
    assert_eq!(calls.count("ModifyDBCluster"), 0);
    assert_eq!(live_range(&id).await, (0.5, 16.0));
    assert!(!cluster_tags(&id).await.contains_key("acu-pilot:prescale"));
}

#[tokio::test]
async fn errors_are_isolated_per_cluster_and_fail_the_tick_only_when_all_fail() {
    let _serial = serial();
    let healthy = managed_cluster("prescale-ok", 0.5, 16.0, &[]).await;
    let stopped = managed_cluster("prescale-stopped", 0.5, 16.0, &[]).await;
    rds()
        .await
        .stop_db_cluster()
        .db_cluster_identifier(&stopped)
        .send()
        .await
        .unwrap();
    let both = write_calendar(
        &healthy,
        &format!(
            "events:\n  - name: sale\n    start: 2026-12-10T14:00\n    duration: 1h\n    clusters: [{healthy}, {stopped}]\n    min: 4\n"
        ),
    );
    let (out, _) = tick_at(&calendar_config(&both), "2026-12-10T13:30:00Z").await;
    assert_eq!(report(&out, &healthy)["layer"], "written");
    let errors = out["errors"].as_array().unwrap();
    let failure = errors
        .iter()
        .find(|e| e["cluster"] == stopped.as_str())
        .unwrap_or_else(|| panic!("{out:#}"));
    assert_eq!(failure["code"], "ClusterNotAvailable");
    assert_eq!(live_range(&healthy).await, (4.0, 16.0));

    // Only the stopped one targeted (the healthy one's tag is taken away by this first
    // tick, as nothing names it any more): every targeted cluster fails, so the tick does.
    let only = write_calendar(
        &stopped,
        &format!(
            "events:\n  - name: sale\n    start: 2026-12-10T14:00\n    duration: 1h\n    clusters: [{stopped}]\n    min: 4\n"
        ),
    );
    let config = calendar_config(&only);
    let (aws, _) = recorded_aws(&config).await;
    let run = |aws: acu_pilot_aws::Aws, config: Config| async move {
        tick(
            &aws.clusters,
            &aws.notifier,
            &aws.metrics,
            &aws.calendar,
            &config,
            at("2026-12-10T13:35:00Z"),
        )
        .await
    };
    let first = run(aws.clone(), config.clone()).await.unwrap();
    assert_eq!(
        first
            .clusters
            .iter()
            .find(|c| c.cluster == healthy)
            .map(|c| c.layer),
        Some("removed")
    );
    let err = run(aws, config).await.unwrap_err();
    assert_eq!(err.error_type(), "Retryable", "{err}");
}

#[tokio::test]
async fn the_cli_invokes_the_pre_scaler_on_a_scheduled_event() {
    let _serial = serial();
    let id = managed_cluster("prescale-cli", 0.5, 16.0, &[]).await;
    let path = write_calendar(
        &id,
        &format!(
            "timezone: America/New_York\nevents:\n  - name: sale\n    start: 2026-12-10T09:00\n    duration: 2h\n    clusters: [{id}]\n    min: 8\n"
        ),
    );
    let event = fixture_path("scheduled-event.json").display().to_string();
    let env = [
        ("ACU_PILOT_CALENDAR", path.as_str()),
        ("ACU_PILOT_FORECAST", "false"),
    ];
    let (ok, out, err) = cli_with_env(
        &[
            "invoke",
            "pre-scaler",
            "--event",
            &event,
            "--now",
            "2026-12-10T13:30:00Z",
        ],
        &env,
    );
    assert!(ok, "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report(&json, &id)["layer"], "written");
    assert_eq!(live_range(&id).await, (8.0, 16.0));

    let not_an_object = std::env::temp_dir().join(format!("acu-pilot-{id}-event.json"));
    std::fs::write(&not_an_object, "[1, 2]").unwrap();
    let (ok, _, err) = cli_with_env(
        &[
            "invoke",
            "pre-scaler",
            "--event",
            &not_an_object.display().to_string(),
        ],
        &env,
    );
    assert!(!ok);
    assert!(
        err.contains("InvalidInput") && err.contains("an array"),
        "{err}"
    );
}

/// Issue #13, case 6: the pre-scaler follows the one drift rule. A range an operator set by
/// hand (no layer explains it) stays, with the forecast on, until ACU_PILOT_ENFORCE=true.
#[tokio::test]
async fn the_pre_scaler_reports_drift_and_puts_it_back_only_when_enforcing() {
    let _serial = serial();
    let id = unique_id("prescale-drift");
    create_cluster(
        &id,
        4.0,
        48.0,
        &[
            ("acu-pilot:managed", "true"),
            ("acu-pilot:baseline", "min=0.5 max=16"),
        ],
    )
    .await;
    let mut config = Config::default();
    assert!(config.prescale.forecast_enabled, "the default");
    let (out, calls) = tick_at(&config, "2026-11-25T19:00:00Z").await;
    let r = report(&out, &id);
    assert_eq!(r["changed"], false, "{r:#}");
    assert!(r["reason"].as_str().unwrap().contains("drift"), "{r:#}");
    assert!(writes_for(&calls, &id).is_empty(), "{:?}", calls.writes());
    assert_eq!(live_range(&id).await, (4.0, 48.0));

    config.janitor.enforce = true;
    let (out, _calls) = tick_at(&config, "2026-11-25T19:05:00Z").await;
    assert_eq!(report(&out, &id)["changed"], true);
    assert_eq!(live_range(&id).await, (0.5, 16.0));
}
