//! `acu-pilot plan` against the emulator: live vs desired, the layers, the calendar's
//! upcoming windows (from a file or SSM), the forecast; and nothing but reads.

use acu_pilot_aws::recorder::is_write;
use acu_pilot_tests::*;
use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc, Weekday};

/// The `--api-calls` lines of the CLI's stderr, as (operation, count).
fn api_calls(stderr: &str) -> Vec<(String, u32)> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("api-calls "))
        .map(|l| {
            let (op, n) = l.split_once(' ').expect("operation and count");
            (op.to_owned(), n.parse().expect("a count"))
        })
        .collect()
}

fn count(calls: &[(String, u32)], operation: &str) -> u32 {
    calls
        .iter()
        .find(|(op, _)| op == operation)
        .map_or(0, |(_, n)| *n)
}

fn assert_reads_only(calls: &[(String, u32)]) {
    assert!(!calls.is_empty(), "no api-calls lines");
    let writes: Vec<_> = calls.iter().filter(|(op, _)| is_write(op)).collect();
    assert!(writes.is_empty(), "plan only reads: {calls:?}");
}

#[tokio::test]
async fn plan_shows_live_desired_and_the_boost_and_writes_nothing() {
    let id = unique_id("plan");
    create_cluster(
        &id,
        0.5,
        16.0,
        &[
            ("acu-pilot:managed", "true"),
            ("acu-pilot:baseline", "min=0.5 max=16"),
            (
                "acu-pilot:boost",
                "max=24 until=2026-11-27T20:00:00Z by=alarm:Aurora-shop-High-ACU",
            ),
        ],
    )
    .await;
    let calendar = std::env::temp_dir().join(format!("{id}-calendar.yaml"));
    std::fs::write(
        &calendar,
        format!(
            "timezone: UTC\nevents:\n  - name: flash-sale\n    start: 2026-11-27T18:00\n    duration: 1h\n    clusters: [{id}]\n    min: 24\n"
        ),
    )
    .unwrap();

    let (ok, out, err) = cli_with_env(
        &[
            "plan",
            "--cluster",
            &id,
            "--now",
            "2026-11-27T17:00:00Z",
            "--json",
            "--api-calls",
        ],
        &[("ACU_PILOT_CALENDAR", calendar.to_str().unwrap())],
    );
    assert!(ok, "{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    let cluster = &plan["clusters"][0];
    assert_eq!(cluster["cluster"], id.as_str());
    assert_eq!(cluster["live"]["max"], 16.0);
    assert_eq!(cluster["desired"]["max"], 24.0);
    assert_eq!(cluster["changes"], true);
    assert_eq!(cluster["layers"][0]["kind"], "boost");
    assert_eq!(cluster["layers"][0]["active"], true);
    assert_eq!(cluster["upcoming"][0]["name"], "flash-sale");
    assert_eq!(cluster["upcoming"][0]["lead_start"], "2026-11-27T17:30:00Z");

    assert_reads_only(&api_calls(&err));
    assert_eq!(live_range(&id).await, (0.5, 16.0), "the range is untouched");

    // The table says the same, readably.
    let (ok, out, err) = cli(&["plan", "--cluster", &id, "--now", "2026-11-27T17:00:00Z"]);
    assert!(ok, "{err}");
    assert!(out.contains("live     0.5–16 ACU"), "{out}");
    assert!(out.contains("desired  0.5–24 ACU  ← would change"), "{out}");
    assert!(out.contains("layer    boost"), "{out}");
}

/// A Friday 17:35 UTC at least 15 days from now: the emulator forgets datapoints older
/// than two weeks by the wall clock, so weeks of history need `--now` in the future.
fn a_friday_afternoon() -> DateTime<Utc> {
    let mut day = (Utc::now() + TimeDelta::days(15)).date_naive();
    while day.weekday() != Weekday::Fri {
        day = day.succ_opt().expect("a later day");
    }
    day.and_hms_opt(17, 35, 0).expect("17:35").and_utc()
}

/// Three weeks of 5-minute capacity around the same time of week as `now`: 1 ACU, and
/// 16 ACU on Fridays 18:00–19:00 UTC (only the span the forecast reads is seeded).
fn weekly_peaks(now: DateTime<Utc>) -> Vec<(DateTime<Utc>, f64)> {
    let mut out = Vec::new();
    for week in 1..=3 {
        let end = now - TimeDelta::weeks(week) + TimeDelta::hours(2);
        let mut t = now - TimeDelta::weeks(week) - TimeDelta::hours(1);
        while t < end {
            let peak = t.weekday() == Weekday::Fri && t.hour() == 18;
            out.push((t, if peak { 16.0 } else { 1.0 }));
            t += TimeDelta::minutes(5);
        }
    }
    out
}

#[tokio::test]
async fn plan_reads_the_calendar_from_ssm_and_shows_the_forecast_and_writes_nothing() {
    let id = unique_id("plan-forecast");
    let other = unique_id("plan-noforecast");
    for (cluster, extra) in [(&id, Some(("acu-pilot-test", id.as_str()))), (&other, None)] {
        let mut tags = vec![
            ("acu-pilot:managed", "true"),
            ("acu-pilot:baseline", "min=0.5 max=16"),
        ];
        tags.extend(extra);
        create_cluster(cluster, 0.5, 16.0, &tags).await;
    }
    let now = a_friday_afternoon();
    put_capacity_history(&id, &weekly_peaks(now)).await;

    let name = format!("/acu-pilot-tests/{id}/calendar");
    let launch = (now + TimeDelta::hours(3)).format("%Y-%m-%dT%H:%M");
    put_calendar_parameter(
        &name,
        &format!(
            "timezone: UTC\nevents:\n  - name: launch\n    start: {launch}\n    duration: 2h\n    clusters: [{id}, {other}]\n    min: 6\n"
        ),
    )
    .await;
    let selector = format!("acu-pilot-test={id}");
    let env = [
        ("ACU_PILOT_CALENDAR_PARAMETER", name.as_str()),
        ("ACU_PILOT_FORECAST_SELECTOR", selector.as_str()),
    ];
    let now_arg = now.to_rfc3339();

    let (ok, out, err) = cli_with_env(
        &[
            "plan",
            "--cluster",
            &id,
            "--now",
            &now_arg,
            "--json",
            "--api-calls",
        ],
        &env,
    );
    assert!(ok, "{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["calendar"], format!("SSM parameter {name}"));
    let cluster = &plan["clusters"][0];
    assert_eq!(cluster["upcoming"][0]["name"], "launch", "{cluster:#}");
    let forecast = &cluster["forecast"];
    assert_eq!(forecast["predicted_peak"], 16.0, "{cluster:#}");
    assert!(forecast["rise_at"].is_string(), "{forecast:#}");
    assert!(
        forecast["explanation"]
            .as_str()
            .unwrap()
            .contains("16.0, 16.0, 16.0"),
        "{forecast:#}"
    );
    let calls = api_calls(&err);
    assert_reads_only(&calls);
    assert_eq!(count(&calls, "GetParameter"), 1, "{calls:?}");
    assert_eq!(
        count(&calls, "GetMetricData"),
        1,
        "one per cluster: {calls:?}"
    );
    assert_eq!(live_range(&id).await, (0.5, 16.0), "the range is untouched");

    // Outside the forecast's selector: the calendar still shows, no history is read.
    let (ok, out, err) = cli_with_env(
        &[
            "plan",
            "--cluster",
            &other,
            "--now",
            &now_arg,
            "--json",
            "--api-calls",
        ],
        &env,
    );
    assert!(ok, "{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    let cluster = &plan["clusters"][0];
    assert_eq!(cluster["upcoming"][0]["name"], "launch", "{cluster:#}");
    assert!(cluster["forecast"].is_null(), "{cluster:#}");
    let calls = api_calls(&err);
    assert_reads_only(&calls);
    assert_eq!(count(&calls, "GetMetricData"), 0, "{calls:?}");

    // The table says the same, readably.
    let (ok, out, err) = cli_with_env(&["plan", "--cluster", &id, "--now", &now_arg], &env);
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("calendar: SSM parameter {name}")),
        "{out}"
    );
    assert!(out.contains("  window   launch "), "{out}");
    assert!(out.contains("  forecast peak 16.0 ACU by "), "{out}");
    assert!(out.contains(", rising at "), "{out}");
    assert!(out.contains("predicted peak 16.0 ACU: median"), "{out}");
}

/// Evenings of the last six days: 2 ACU, and `evening_peak` from 18:00 to 21:00 UTC.
fn evenings(now: DateTime<Utc>, evening_peak: f64) -> Vec<(DateTime<Utc>, f64)> {
    let mut out = Vec::new();
    for days_ago in 1..=6 {
        let day = (now - TimeDelta::days(days_ago)).date_naive();
        let mut t = day.and_hms_opt(17, 0, 0).expect("17:00").and_utc();
        while t < day.and_hms_opt(22, 0, 0).expect("22:00").and_utc() {
            let busy = (18..21).contains(&t.hour());
            out.push((t, if busy { evening_peak } else { 2.0 }));
            t += TimeDelta::minutes(5);
        }
    }
    out
}

#[tokio::test]
async fn plan_hints_at_a_larger_baseline_when_max_is_reached_every_day() {
    let now = Utc::now();
    let at_max = unique_id("plan-hint");
    let below = unique_id("plan-nohint");
    for (cluster, peak) in [(&at_max, 16.0), (&below, 9.0)] {
        create_cluster(
            cluster,
            0.5,
            16.0,
            &[
                ("acu-pilot:managed", "true"),
                ("acu-pilot:baseline", "min=0.5 max=16"),
            ],
        )
        .await;
        put_capacity_history(cluster, &evenings(now, peak)).await;
    }
    let now_arg = now.to_rfc3339();
    let plan_of = |id: &str| {
        let (ok, out, err) = cli(&[
            "plan",
            "--cluster",
            id,
            "--now",
            &now_arg,
            "--json",
            "--api-calls",
        ]);
        assert!(ok, "{err}");
        assert_reads_only(&api_calls(&err));
        let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
        plan["clusters"][0].clone()
    };

    let hinted = plan_of(&at_max);
    let hint = &hinted["baseline_hint"];
    assert_eq!(hint["days_with_data"], 6, "{hinted}");
    assert_eq!(hint["days_at_max"], 6, "{hinted}");
    assert_eq!(hint["suggested_max"], 20.0, "{hinted}");
    assert!(
        hint["text"].as_str().unwrap().contains("6 of 6 days"),
        "{hinted}"
    );
    assert!(plan_of(&below).get("baseline_hint").is_none());
    assert_eq!(
        live_range(&at_max).await,
        (0.5, 16.0),
        "a hint changes nothing"
    );

    let (ok, out, err) = cli(&["plan", "--cluster", &at_max, "--now", &now_arg]);
    assert!(ok, "{err}");
    assert!(
        out.contains("  hint     capacity reached the baseline max 16 ACU on 6 of 6 days"),
        "{out}"
    );
}

/// Issue #17: what a quiet window would have saved on the cluster's own history. Six
/// evenings at 2 ACU (its baseline min) with 18:00–21:00 at 6; a quiet window every day
/// 17:00–22:00 UTC (min 0.5, cap 4) covers them: 30 quiet hours, 132 ACU-hours used, up to
/// 18 saved by the lower min (1.5 ACU × 2 h × 6), 36 over the cap (2 ACU × 3 h × 6).
#[tokio::test]
async fn plan_estimates_what_a_quiet_window_would_have_saved_on_the_history() {
    let now = Utc::now();
    let id = unique_id("plan-quiet");
    create_cluster(
        &id,
        2.0,
        16.0,
        &[
            ("acu-pilot:managed", "true"),
            ("acu-pilot:baseline", "min=2 max=16"),
        ],
    )
    .await;
    put_capacity_history(&id, &evenings(now, 6.0)).await;
    let calendar = std::env::temp_dir().join(format!("{id}-calendar.yaml"));
    std::fs::write(
        &calendar,
        format!(
            "events:\n  - name: evenings\n    every: \"0 17 * * *\"\n    duration: 5h\n    clusters: [{id}]\n    quiet: {{min: 0.5, max: 4}}\n"
        ),
    )
    .unwrap();
    let calendar = calendar.display().to_string();
    let env = [
        ("ACU_PILOT_CALENDAR", calendar.as_str()),
        ("ACU_PILOT_FORECAST", "false"),
    ];
    let now_arg = now.to_rfc3339();
    let args = ["plan", "--cluster", &id, "--now", &now_arg];
    let (ok, out, err) = cli_with_env(&[&args[..], &["--json", "--api-calls"]].concat(), &env);
    assert!(ok, "{err}");
    let calls = api_calls(&err);
    assert_reads_only(&calls);
    assert_eq!(count(&calls, "GetMetricData"), 1, "{calls:?}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    let q = &plan["clusters"][0]["quiet_savings"];
    let close = |field: &str, expected: f64| {
        let got = q[field]
            .as_f64()
            .unwrap_or_else(|| panic!("{field} in {q}"));
        assert!(
            (got - expected).abs() < 1e-6,
            "{field}: {got} ≠ {expected} in {q}"
        );
    };
    close("quiet_hours", 30.0);
    close("acu_hours_used", 132.0);
    close("acu_hours_at_min", 18.0);
    close("acu_hours_over_cap", 36.0);
    close("dollars_over_cap", 4.32);

    let (ok, out, err) = cli_with_env(&args, &env);
    assert!(ok, "{err}");
    assert!(
        out.contains("  quiet    30.0 h quiet since")
            && out.contains("up to 18.0 ACU-h ($2.16) saved by the lower min"),
        "{out}"
    );
}
