//! The benchmark behind README's and docs/simulate.md's tables, and the held-out variants
//! no default was tuned on. Both print tables and assert nothing about the figures (the
//! bounds are asserted on the shipped traces by `sim/src/policies.rs`); they take minutes
//! in a debug build, so they are `#[ignore]`d:
//!
//! ```text
//! cargo test --release -p acu-pilot-sim --test benchmark -- --ignored --nocapture
//! ```
//!
//! `ACU_PILOT_*` variables in the environment override the functions' defaults, as
//! `simulate --config` with `policy.env` does, so a sweep needs no rebuild;
//! `BENCH_FORECAST_HISTORY=capacity` feeds the forecast the capacity metric production
//! reads (slow on taxi: `BENCH_SKIP=nyc_taxi` leaves a NAB series out).

use acu_pilot_core::calendar::Calendar;
use acu_pilot_sim::{
    Autopilot, ForecastHistory, Functions, PolicyResult, PolicySettings, ReplayConfig, Sample,
    SplitMix64, StaticPolicy, StaticWide, Trace, TraceKind, generate, replay,
};
use chrono::TimeDelta;

fn shipped(path: &str) -> String {
    let path = format!("{}/../examples/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn trace(path: &str) -> Trace {
    Trace::parse(&shipped(path)).unwrap()
}

fn sales_calendar() -> Calendar {
    Calendar::parse(&shipped("calendar-sales-day.yaml")).unwrap()
}

/// acu-pilot and static-wide on one trace, as `simulate` runs them with every default.
struct Row {
    name: String,
    days: f64,
    wide: PolicyResult,
    pilot: PolicyResult,
}

impl Row {
    fn cost_ratio(&self) -> f64 {
        self.pilot.acu_hours / self.wide.acu_hours
    }

    fn unmet_ratio(&self) -> f64 {
        if self.wide.unmet_acu_minutes > 0.0 {
            self.pilot.unmet_acu_minutes / self.wide.unmet_acu_minutes
        } else if self.pilot.unmet_acu_minutes > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    }

    fn calls_per_day(&self) -> f64 {
        f64::from(self.pilot.modify_calls) / self.days.round().max(1.0)
    }
}

/// The functions' defaults with the environment's `ACU_PILOT_*` applied, and the replay
/// they run in. The forecast reads what production's pre-scaler reads (the modelled
/// metrics); `BENCH_FORECAST_HISTORY=demand` feeds it the trace's demand instead, and
/// `=capacity` the capacity metric alone.
fn settings() -> (acu_pilot_core::config::Config, ReplayConfig) {
    settings_with(&[])
}

/// As [`settings`], with `extra` settings on top.
fn settings_with(extra: &[(&str, &str)]) -> (acu_pilot_core::config::Config, ReplayConfig) {
    let env = std::env::vars()
        .filter(|(k, _)| k.starts_with("ACU_PILOT_"))
        .chain(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let forecast_history = match std::env::var("BENCH_FORECAST_HISTORY").as_deref() {
        Ok("capacity") => ForecastHistory::Capacity,
        Ok("demand") => ForecastHistory::Demand,
        _ => ForecastHistory::Metrics,
    };
    let policy = PolicySettings {
        env,
        forecast_history,
        ..PolicySettings::default()
    };
    let config = policy.config().unwrap();
    let replay_config = ReplayConfig {
        guardrails: config.guardrails,
        policy,
        ..ReplayConfig::default()
    };
    (config, replay_config)
}

fn run(name: &str, trace: &Trace, calendar: Option<&Calendar>) -> Row {
    run_with(name, trace, calendar, &[])
}

fn run_with(name: &str, trace: &Trace, calendar: Option<&Calendar>, extra: &[(&str, &str)]) -> Row {
    let (config, replay_config) = settings_with(extra);
    let wide = replay(trace, &replay_config, &mut StaticWide, &mut || {}).result;
    let mut pilot = Autopilot::new(Functions::All, &replay_config, &config, calendar);
    let pilot = replay(trace, &replay_config, &mut pilot, &mut || {}).result;
    let days = (trace.end() - trace.start() + trace.step()).num_seconds() as f64 / 86_400.0;
    Row {
        name: name.to_owned(),
        days,
        wide,
        pilot,
    }
}

fn print(rows: &[Row]) {
    println!(
        "| trace | days | static-wide ACU-h / unmet | acu-pilot ACU-h / unmet / calls (per day) | ratios ACU-h, unmet |"
    );
    println!("|---|---:|---|---|---|");
    for r in rows {
        println!(
            "| {} | {:.0} | {:.1} / {:.1} | {:.1} / {:.1} / {} ({:.1}) | {:.3}, {:.2} |",
            r.name,
            r.days,
            r.wide.acu_hours,
            r.wide.unmet_acu_minutes,
            r.pilot.acu_hours,
            r.pilot.unmet_acu_minutes,
            r.pilot.modify_calls,
            r.calls_per_day(),
            r.cost_ratio(),
            r.unmet_ratio()
        );
    }
    let unmet = |f: fn(&Row) -> f64| {
        acu_pilot_core::forecast::median(&rows.iter().map(f).collect::<Vec<_>>())
    };
    println!(
        "medians: unmet {:.1} / {:.1} = {:.3}; of ratios {:.3}; worst ACU-h {:.3}; most calls/day {:.1}",
        unmet(|r| r.pilot.unmet_acu_minutes),
        unmet(|r| r.wide.unmet_acu_minutes),
        unmet(|r| r.pilot.unmet_acu_minutes) / unmet(|r| r.wide.unmet_acu_minutes),
        unmet(Row::unmet_ratio),
        rows.iter().map(Row::cost_ratio).fold(0.0, f64::max),
        rows.iter().map(Row::calls_per_day).fold(0.0, f64::max),
    );
}

/// The same trace with each sample changed by `f(index, sample)`.
fn map(trace: &Trace, mut f: impl FnMut(usize, &Sample) -> Sample) -> Trace {
    Trace::new(
        trace
            .samples()
            .iter()
            .enumerate()
            .map(|(i, s)| f(i, s))
            .collect(),
    )
    .unwrap()
}

fn shifted(trace: &Trace, by: TimeDelta) -> Trace {
    map(trace, |_, s| Sample {
        at: s.at + by,
        acu: s.acu,
    })
}

fn scaled(trace: &Trace, factor: f64) -> Trace {
    map(trace, |_, s| Sample {
        at: s.at,
        acu: s.acu * factor,
    })
}

/// Each sample times (1 + share × a standard normal draw), never below 0.
fn noisy(trace: &Trace, share: f64, seed: u64) -> Trace {
    let mut rng = SplitMix64::new(seed);
    map(trace, |_, s| Sample {
        at: s.at,
        acu: (s.acu * (1.0 + share * rng.normal())).max(0.0),
    })
}

fn last(trace: &Trace, span: TimeDelta) -> Trace {
    let from = trace.end() - span;
    Trace::new(
        trace
            .samples()
            .iter()
            .filter(|s| s.at > from)
            .cloned()
            .collect(),
    )
    .unwrap()
}

/// The series read every `every` and drawn straight between those readings (taxi is
/// half-hourly data repeated on a 5-minute grid: this is the ramp it stands for).
fn interpolated(trace: &Trace, every: usize) -> Trace {
    let samples = trace.samples();
    map(trace, |i, s| {
        let k = i / every * every;
        let next = (k + every).min(samples.len() - 1);
        let share = (i - k) as f64 / every as f64;
        Sample {
            at: s.at,
            acu: samples[k].acu + (samples[next].acu - samples[k].acu) * share,
        }
    })
}

const NAB: [&str; 4] = [
    "rds_cpu_utilization_cc0c53",
    "rds_cpu_utilization_e47b3b",
    "elb_request_count_8c0756",
    "nyc_taxi",
];

fn nab(name: &str) -> Trace {
    trace(&format!("traces/nab/{name}.csv"))
}

#[test]
#[ignore = "the benchmark: minutes in a debug build; run with --release --nocapture"]
fn benchmark_on_the_traces_in_the_repository() {
    let calendar = sales_calendar();
    let skip = std::env::var("BENCH_SKIP").unwrap_or_default();
    let mut traces: Vec<(String, Trace, Option<&Calendar>)> = NAB
        .iter()
        .filter(|n| skip.is_empty() || !n.contains(skip.as_str()))
        .map(|n| (n.to_string(), nab(n), None))
        .collect();
    traces.push(("week".into(), trace("traces/week.csv"), None));
    traces.push((
        "sales-day".into(),
        trace("traces/sales-day.csv"),
        Some(&calendar),
    ));
    let rows: Vec<Row> = traces.iter().map(|(n, t, c)| run(n, t, *c)).collect();
    for ((name, trace, calendar), row) in traces.iter().zip(&rows) {
        let (config, replay_config) = settings();
        let mut prescale =
            Autopilot::new(Functions::PrescaleOnly, &replay_config, &config, *calendar);
        let prescale = replay(trace, &replay_config, &mut prescale, &mut || {}).result;
        if (
            prescale.acu_hours,
            prescale.unmet_acu_minutes,
            prescale.modify_calls,
        ) != (
            row.pilot.acu_hours,
            row.pilot.unmet_acu_minutes,
            row.pilot.modify_calls,
        ) {
            println!("{name}: prescale-only differs from acu-pilot: {prescale:?}");
        }
    }
    print(&rows);
    // The per-trace tables of docs/simulate.md: acu-pilot's row, and prescale-only's
    // when it differs (the high alarm has nothing to do with max at the ceiling).
    for row in &rows {
        let p = &row.pilot;
        println!(
            "{}: | **acu-pilot** | {:.1} | ${:.2} | **{:.1}** | {:.1} | {:.1} | {} |",
            row.name,
            p.acu_hours,
            p.cost,
            p.unmet_acu_minutes,
            p.unmet_minutes,
            p.worst_shortfall_acu,
            p.modify_calls
        );
    }
    let untouched = ReplayConfig {
        baseline: acu_pilot_core::capacity::CapacityRange::new(
            acu_pilot_core::capacity::Acu::HALF,
            acu_pilot_core::capacity::Acu::new(16.0).unwrap(),
        )
        .unwrap(),
        ..ReplayConfig::default()
    };
    let sales = replay(
        &trace("traces/sales-day.csv"),
        &untouched,
        &mut StaticPolicy,
        &mut || {},
    );
    println!(
        "sales day, untouched 0.5–16: {:.1} ACU-h / {:.1} unmet",
        sales.result.acu_hours, sales.result.unmet_acu_minutes
    );
}

#[test]
#[ignore = "the held-out variants: minutes in a debug build; run with --release --nocapture"]
fn held_out_variants() {
    let taxi = nab("nyc_taxi");
    let cc = nab("rds_cpu_utilization_cc0c53");
    let e4 = nab("rds_cpu_utilization_e47b3b");
    let elb = nab("elb_request_count_8c0756");
    let calendar = sales_calendar();
    let mut rows = vec![
        // The one setting a user knows and the defaults cannot: the series is New York's
        // trips, imported in New York's time.
        run_with(
            "taxi, forecast on New York's clock",
            &taxi,
            None,
            &[("ACU_PILOT_FORECAST_TIMEZONE", "America/New_York")],
        ),
        run(
            "taxi shifted 10 min",
            &shifted(&taxi, TimeDelta::minutes(10)),
            None,
        ),
        run(
            "taxi shifted 3 h 20 min",
            &shifted(&taxi, TimeDelta::minutes(200)),
            None,
        ),
        run("taxi × 0.5", &scaled(&taxi, 0.5), None),
    ];
    for seed in [1, 2, 3] {
        rows.push(run(
            &format!("taxi + 10 % noise, seed {seed}"),
            &noisy(&taxi, 0.1, seed),
            None,
        ));
    }
    rows.extend([
        run(
            "taxi, last 8 weeks",
            &last(&taxi, TimeDelta::weeks(8)),
            None,
        ),
        run(
            "taxi interpolated between half hours",
            &interpolated(&taxi, 6),
            None,
        ),
        run(
            "cc0c53 shifted 35 min",
            &shifted(&cc, TimeDelta::minutes(35)),
            None,
        ),
    ]);
    for seed in [1, 2] {
        rows.push(run(
            &format!("e47b3b + 10 % noise, seed {seed}"),
            &noisy(&e4, 0.1, seed),
            None,
        ));
        rows.push(run(
            &format!("elb × 0.5 + 10 % noise, seed {seed}"),
            &noisy(&scaled(&elb, 0.5), 0.1, seed),
            None,
        ));
    }
    for seed in [7, 99, 123] {
        rows.push(run(
            &format!("week, seed {seed}"),
            &generate(TraceKind::Week, seed),
            None,
        ));
    }
    for seed in [7, 99] {
        rows.push(run(
            &format!("sales day + calendar, seed {seed}"),
            &generate(TraceKind::SalesDay, seed),
            Some(&calendar),
        ));
    }
    print(&rows);
}
