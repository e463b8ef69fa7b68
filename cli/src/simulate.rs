//! `acu-pilot simulate` and `acu-pilot trace generate`.

use std::path::{Path, PathBuf};

use acu_pilot_core::calendar::Calendar;
use acu_pilot_core::config::Config;
use acu_pilot_sim::topology::{RoleTrace, Series, Topology, TopologyRun, replay_topology};
use acu_pilot_sim::{
    Autopilot, Functions, MODEL_NOTE, QuietEffect, ReplayConfig, SimReport, TraceKind,
    all_policies, compare, generate, quiet_effect,
};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Args)]
pub struct SimulateArgs {
    /// The demand trace: CSV with the header `timestamp,acu` (the writer's demand), or
    /// `timestamp,writer,reader` (the writer's and each reader's).
    #[arg(long)]
    trace: PathBuf,
    /// Also model the recipe's topology: the writer and this many readers, and compare
    /// acu-pilot with its alarms and forecast on the writer's own series against the same
    /// policy on the cluster average, which idle readers dilute.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=15))]
    readers: u8,
    /// The readers' promotion tier: 0–1 follow the writer's capacity (and cost as much),
    /// 2–15 scale on their own demand.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(i32).range(0..=15))]
    reader_tier: i32,
    /// A sales-event calendar (YAML) for the pre-scaler; target the cluster `sim`.
    #[arg(long)]
    calendar: Option<PathBuf>,
    /// Model parameters, price, baseline and policy settings (YAML or JSON).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Write a plot of every policy to this SVG file, and a PNG beside it.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum TraceCommand {
    /// Write a deterministic example trace.
    Generate {
        /// week or sales-day.
        #[arg(long, value_parser = parse_kind)]
        kind: TraceKind,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Turn a real series with no ACU unit (`timestamp,value`, e.g. the NAB traces) into a
    /// demand trace: resolved to UTC, put on a fixed grid, scaled to a peak.
    Import {
        /// The series: a header, then `timestamp,value` rows.
        #[arg(long)]
        input: PathBuf,
        /// The ACU the series' highest value becomes.
        #[arg(long)]
        peak: f64,
        /// The trace's step (at most 5m).
        #[arg(long, default_value = "5m")]
        step: String,
        /// The IANA zone of the series' wall-clock timestamps.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        #[arg(long)]
        out: PathBuf,
    },
}

fn parse_kind(text: &str) -> Result<TraceKind, String> {
    TraceKind::from_name(text).ok_or_else(|| format!("unknown kind {text:?} (week or sales-day)"))
}

fn read(flag: &str, path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{flag} {}: {e}", path.display()))
}

/// The `--config` file: YAML or JSON (JSON is YAML), unknown fields refused.
fn load_config(path: Option<&Path>) -> Result<(ReplayConfig, Config), String> {
    let mut config = match path {
        None => ReplayConfig::default(),
        Some(path) => serde_norway::from_str(&read("--config", path)?)
            .map_err(|e| format!("--config {}: {e}", path.display()))?,
    };
    let flag = |e: String| match path {
        Some(path) => format!("--config {}: {e}", path.display()),
        None => e,
    };
    config.validate().map_err(|e| flag(e.to_string()))?;
    let policy = config.policy.config().map_err(|e| flag(e.to_string()))?;
    config.guardrails = policy.guardrails;
    Ok((config, policy))
}

pub fn run(args: SimulateArgs) -> Result<(), String> {
    let roles = RoleTrace::parse(&read("--trace", &args.trace)?)
        .map_err(|e| format!("--trace {}: {e}", args.trace.display()))?;
    let trace = roles.writer.clone();
    let (replay, config) = load_config(args.config.as_deref())?;
    let calendar = match &args.calendar {
        None => None,
        Some(path) => Some(
            Calendar::parse(&read("--calendar", path)?)
                .map_err(|e| format!("--calendar {}: {e}", path.display()))?,
        ),
    };
    let mut policies = all_policies(&trace, &replay, &config, calendar.as_ref());

    // Hidden by indicatif when stderr is not a terminal.
    let bar = ProgressBar::new((trace.samples().len() * policies.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("simulating {bar:40} {percent:>3}% {eta}")
            .expect("a valid template"),
    );
    let report = compare(&trace, &replay, &mut policies, &mut || bar.inc(1));
    bar.finish_and_clear();
    let quiet = calendar
        .as_ref()
        .and_then(|c| quiet_effect(&trace, &replay, &config, c, &report));

    if let Some(svg) = &args.plot {
        let title = format!(
            "{}: policies and references on modelled Aurora Serverless v2",
            args.trace.file_name().unwrap_or_default().to_string_lossy()
        );
        let png = crate::plot::write(svg, &report, &title)?;
        eprintln!("plot: {} and {}", svg.display(), png.display());
    }
    let topology = (args.readers > 0).then(|| {
        let topology = Topology {
            reader_tiers: vec![args.reader_tier; usize::from(args.readers)],
        };
        [Series::Writer, Series::ClusterAverage].map(|series| {
            let mut autopilot = Autopilot::new(Functions::All, &replay, &config, calendar.as_ref());
            replay_topology(&roles, &topology, &replay, &mut autopilot, series)
        })
    });
    if args.json {
        let mut json = serde_json::to_value(&report).map_err(|e| e.to_string())?;
        if let Some(quiet) = &quiet {
            json["quiet_windows"] = serde_json::to_value(quiet).map_err(|e| e.to_string())?;
        }
        if let Some(runs) = &topology {
            json["topology"] = serde_json::json!({
                "readers": args.readers,
                "reader_tier": args.reader_tier,
                "runs": runs,
            });
        }
        crate::print_json(&json);
    } else {
        print!("{}", render(&report, calendar.is_some()));
        if let Some(quiet) = &quiet {
            print!("{}", render_quiet(quiet));
        }
        if let Some(runs) = &topology {
            print!("{}", render_topology(args.readers, args.reader_tier, runs));
        }
    }
    Ok(())
}

/// What the calendar's quiet windows saved acu-pilot, and what they cost in unmet demand.
fn render_quiet(quiet: &QuietEffect) -> String {
    format!(
        "\nquiet windows: acu-pilot used {:.1} ACU-hours fewer (${:.2}) than without them ({:.1}), \
         and left {:.1} ACU-min more demand unmet ({:.1} without them)\n",
        quiet.acu_hours_saved,
        quiet.cost_saved,
        quiet.without_quiet.acu_hours,
        quiet.unmet_acu_minutes_added,
        quiet.without_quiet.unmet_acu_minutes,
    )
}

/// The writer-aware alarms next to the diluted ones, on the same cluster of instances.
fn render_topology(readers: u8, tier: i32, runs: &[TopologyRun]) -> String {
    let mut out = format!(
        "\nacu-pilot on a writer and {readers} reader{} in tier {tier} (billing counts every instance)\n\
         {:<28} {:>9} {:>14} {:>22} {:>22}\n",
        if readers == 1 { "" } else { "s" },
        "alarms and forecast read",
        "ACU-hours",
        "unmet ACU-min",
        "high alarms (writer)",
        "high alarms (average)",
    );
    for run in runs {
        let series = match run.series {
            Series::Writer => "the writer's series",
            Series::ClusterAverage => "the cluster average",
        };
        out.push_str(&format!(
            "{series:<28} {:>9.1} {:>14.1} {:>22} {:>22}\n",
            run.result.acu_hours,
            run.result.unmet_acu_minutes,
            run.high_alarms_on_writer,
            run.high_alarms_on_cluster_average,
        ));
    }
    out
}

pub fn render(report: &SimReport, with_calendar: bool) -> String {
    let t = &report.trace;
    let mut out = format!(
        "trace: {} → {}, {} samples every {} s, peak {:.1} ACU; ${}/ACU-hour{}\n\n",
        t.start.format("%Y-%m-%d %H:%MZ"),
        t.end.format("%Y-%m-%d %H:%MZ"),
        t.samples,
        t.step_secs,
        t.peak_acu,
        report.price_per_acu_hour,
        if with_calendar {
            ""
        } else {
            "; no --calendar: the pre-scaler has only the forecast"
        }
    );
    out.push_str(&format!(
        "{:<14} {:>10} {:>10} {:>14} {:>10} {:>12} {:>8}\n",
        "policy", "ACU-hours", "cost", "unmet ACU-min", "unmet min", "worst short", "modify"
    ));
    for p in &report.policies {
        out.push_str(&format!(
            "{:<14} {:>10.1} {:>10} {:>14.1} {:>10.1} {:>12.1} {:>8}\n",
            p.name,
            p.acu_hours,
            format!("${:.2}", p.cost),
            p.unmet_acu_minutes,
            p.unmet_minutes,
            p.worst_shortfall_acu,
            p.modify_calls
        ));
    }
    if let Some(hint) = &report.baseline_hint {
        out.push_str(&format!("\nhint: {}\n", hint.text));
    }
    out.push_str(&format!("\nnote: {MODEL_NOTE}\n"));
    out
}

pub fn trace(command: TraceCommand) -> Result<(), String> {
    match command {
        TraceCommand::Generate { kind, seed, out } => {
            std::fs::write(&out, generate(kind, seed).to_csv())
                .map_err(|e| format!("--out {}: {e}", out.display()))?;
            eprintln!(
                "wrote {} ({} trace, seed {seed})",
                out.display(),
                kind.name()
            );
            Ok(())
        }
        TraceCommand::Import {
            input,
            peak,
            step,
            timezone,
            out,
        } => {
            if !(peak.is_finite() && peak > 0.0 && peak <= 256.0) {
                return Err(format!(
                    "--peak {peak}: must be above 0 and at most 256 ACU"
                ));
            }
            let step = acu_pilot_core::config::parse_duration(&step)
                .map_err(|e| format!("--step: {e}"))?;
            let timezone = timezone
                .parse()
                .map_err(|_| format!("--timezone {timezone:?}: not an IANA time zone"))?;
            let import = acu_pilot_sim::import::Import {
                timezone,
                step: chrono::Duration::seconds(step.as_secs() as i64),
                peak_acu: peak,
            };
            let trace = acu_pilot_sim::import::import(&read("--input", &input)?, &import)
                .map_err(|e| format!("--input {}: {e}", input.display()))?;
            std::fs::write(&out, trace.to_csv())
                .map_err(|e| format!("--out {}: {e}", out.display()))?;
            eprintln!(
                "wrote {} ({} samples every {} s, peak {peak} ACU)",
                out.display(),
                trace.samples().len(),
                trace.step().num_seconds()
            );
            Ok(())
        }
    }
}
