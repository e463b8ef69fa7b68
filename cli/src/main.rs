//! `acu-pilot`: run the functions' handlers in-process, reconcile one cluster, and show
//! what the autopilot would do.

use std::path::PathBuf;
use std::process::ExitCode;

use acu_pilot_app::{Reconciled, reconcile};
use acu_pilot_aws::{Aws, CallRecorder};
use acu_pilot_core::calendar::{self, Calendar};
use acu_pilot_core::model::CalendarText;
use acu_pilot_lambda::{Deps, Function, handle};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};

mod calendar_text;
mod plan;
mod plot;
mod simulate;

#[derive(Parser)]
#[command(
    name = "acu-pilot",
    version,
    about = "Capacity autopilot for Aurora Serverless v2",
    long_about = "Capacity autopilot for Aurora Serverless v2.\n\nTalks to whatever endpoint the AWS SDK resolves: your account, or the local emulator when AWS_ENDPOINT_URL is set. Configuration comes from the same ACU_PILOT_* variables as the Lambda functions."
)]
struct Cli {
    /// Log what is decided, and why, on stderr.
    #[arg(long, short, global = true)]
    verbose: bool,
    /// After the command, print the AWS API calls it made, per operation, on stderr.
    #[arg(long, global = true)]
    api_calls: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Put one cluster on its desired range now: read its tags, compute, modify if needed.
    Reconcile {
        /// The DB cluster identifier.
        #[arg(long)]
        cluster: String,
        #[command(flatten)]
        when: When,
        /// Decide and report, but do not modify the cluster.
        #[arg(long)]
        dry_run: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a function's handler in-process on an event file, as Lambda would.
    Invoke {
        /// provisioner, alarm-handler, pre-scaler or janitor.
        #[arg(value_parser = parse_function)]
        function: Function,
        /// The event JSON file.
        #[arg(long)]
        event: PathBuf,
        #[command(flatten)]
        when: When,
        /// Decide and report, but write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Work with a sales-event calendar (see docs/calendar.md).
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// Replay a demand trace through a model of Aurora and every policy; compare them.
    Simulate(simulate::SimulateArgs),
    /// Example demand traces.
    Trace {
        #[command(subcommand)]
        command: simulate::TraceCommand,
    },
    /// Show, for each managed cluster, the live and desired ranges, layers and upcoming
    /// calendar windows. Read-only.
    Plan {
        /// Only this DB cluster.
        #[arg(long)]
        cluster: Option<String>,
        #[command(flatten)]
        when: When,
        /// Print the plan as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// Validate calendar files and print the next windows per cluster, in local time and
    /// UTC. Exits non-zero naming the file, entry and field of every problem.
    Check {
        /// The calendar YAML files. Several are read as the pre-scaler reads an SSM path:
        /// each a calendar of its own, named by its file name without `.yaml`.
        #[arg(required = true, num_args = 1..)]
        files: Vec<PathBuf>,
        /// List windows that end after this instant (RFC 3339); default now.
        #[arg(long, value_parser = parse_now)]
        from: Option<DateTime<Utc>>,
        /// How many windows to list per cluster.
        #[arg(long, default_value_t = 3)]
        count: usize,
        /// Print the windows as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Clone, Copy)]
struct When {
    /// Act as if it were this instant (RFC 3339), e.g. 2026-11-27T13:30:00Z.
    #[arg(long, value_parser = parse_now)]
    now: Option<DateTime<Utc>>,
}

impl When {
    fn now(self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }
}

fn parse_now(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 instant ({e})"))
}

fn parse_function(text: &str) -> Result<Function, String> {
    Function::parse(text).ok_or_else(|| {
        let names: Vec<&str> = Function::ALL.iter().map(|f| f.name()).collect();
        format!("unknown function {text:?} (one of {})", names.join(", "))
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    acu_pilot_lambda::telemetry::init_cli(cli.verbose);
    acu_pilot_app::emf::set_sink(if cli.verbose {
        acu_pilot_app::emf::Sink::Stderr
    } else {
        acu_pilot_app::emf::Sink::Off
    });
    let recorder = CallRecorder::default();
    let result = run(cli.command, &recorder).await;
    if cli.api_calls {
        for (operation, count) in recorder.counts() {
            eprintln!("api-calls {operation} {count}");
        }
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The calendar files as the pre-scaler would merge them; every problem of every broken
/// file, by file, when any is.
fn read_calendars(files: &[PathBuf]) -> Result<Calendar, String> {
    let several = files.len() > 1;
    let mut texts = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let name = several.then(|| {
            file.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_else(|| file.display().to_string())
        });
        texts.push(CalendarText {
            origin: file.display().to_string(),
            name,
            text,
        });
    }
    let (calendar, broken) = Calendar::parse_each(&texts);
    if !broken.is_empty() {
        let reports: Vec<String> = broken
            .iter()
            .map(|b| {
                let problems: Vec<String> = b.problems.iter().map(|p| format!("  {p}")).collect();
                format!(
                    "{}: invalid calendar ({} problem{}):\n{}",
                    b.origin,
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" },
                    problems.join("\n")
                )
            })
            .collect();
        return Err(reports.join("\n"));
    }
    calendar.ok_or_else(|| "no calendar given".to_owned())
}

async fn deps(dry_run: bool, recorder: &CallRecorder) -> Result<Deps, String> {
    let mut config = acu_pilot_lambda::config_from_env().map_err(|e| e.to_string())?;
    config.dry_run |= dry_run;
    let sdk = acu_pilot_aws::load_sdk_config().await;
    let aws = Aws::recorded(sdk, &config, recorder);
    Ok(Deps { aws, config })
}

async fn run(command: Command, recorder: &CallRecorder) -> Result<(), String> {
    match command {
        Command::Reconcile {
            cluster,
            when,
            dry_run,
            json,
        } => {
            let deps = deps(dry_run, recorder).await?;
            let outcome = reconcile(
                &deps.aws.clusters,
                &deps.aws.notifier,
                &deps.config,
                &cluster,
                when.now(),
            )
            .await
            .map_err(|e| e.to_string())?;
            if json {
                print_json(&outcome);
            } else {
                print!("{}", render_reconciled(&outcome));
            }
            Ok(())
        }
        Command::Invoke {
            function,
            event,
            when,
            dry_run,
        } => {
            let text = std::fs::read_to_string(&event)
                .map_err(|e| format!("--event {}: {e}", event.display()))?;
            let payload: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| format!("--event {}: not JSON: {e}", event.display()))?;
            let deps = deps(dry_run, recorder).await?;
            let result = handle(function, payload, when.now(), &deps)
                .await
                .map_err(|e| format!("{} ({})", e, e.error_type()))?;
            print_json(&result);
            Ok(())
        }
        Command::Calendar {
            command:
                CalendarCommand::Check {
                    files,
                    from,
                    count,
                    json,
                },
        } => {
            let calendar = read_calendars(&files)?;
            let from = from.unwrap_or_else(Utc::now);
            if json {
                print_json(&calendar::check(&calendar, from, count));
            } else {
                print!("{}", calendar_text::render(&calendar, from, count));
            }
            Ok(())
        }
        Command::Simulate(args) => simulate::run(args),
        Command::Trace { command } => simulate::trace(command),
        Command::Plan {
            cluster,
            when,
            json,
        } => {
            let deps = deps(false, recorder).await?;
            let plan = plan::build_fleet(&deps.aws, &deps.config, cluster.as_deref(), when.now())
                .await
                .map_err(|e| e.to_string())?;
            if json {
                print_json(&plan);
            } else {
                print!("{}", plan::render(&plan));
            }
            Ok(())
        }
    }
}

fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("results serialize")
    );
}

fn render_reconciled(r: &Reconciled) -> String {
    let verdict = match (r.changed, r.dry_run) {
        (false, _) => "unchanged",
        (true, true) => "would change (dry run)",
        (true, false) => "changed",
    };
    let mut out = format!(
        "{}: {} → {} ({verdict})\n  why: {}\n",
        r.cluster, r.before, r.after, r.reason
    );
    for layer in &r.layers {
        out.push_str(&format!(
            "  layer {}: min {} max {} until {} by {}\n",
            layer.kind,
            layer.min.map_or("-".into(), |a| a.to_string()),
            layer.max.map_or("-".into(), |a| a.to_string()),
            acu_pilot_core::tags::format_instant(layer.until),
            layer.by
        ));
    }
    out
}
