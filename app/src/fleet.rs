//! The scheduled sweeps over every target (account × region): the pre-scaler's tick and
//! the janitor's sweep run once per target, each in its own account through the spoke
//! role, each target's failure isolated and reported by name.
//!
//! A tick with no targets list configured is today's single-account sweep, unchanged (same
//! calls, same response). With a list, the tick sends one message per target to the
//! function's FIFO queue and returns; the queue invokes the same function once per target
//! (one message group per target, so two sweeps of one target never overlap, and a slow or
//! broken account holds up only its own messages). Without a queue (the CLI's `invoke`, the
//! tests) the tick sweeps its targets itself, a bounded number at a time.

use std::future::Future;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};

use acu_pilot_core::config::Config;
use acu_pilot_core::error::{Error, Result};
use acu_pilot_core::events::Origin;
use acu_pilot_core::fleet::{FleetEvent, TargetWork, classify};
use acu_pilot_ports::{Fleet, Ports};

/// One function's sweep of one target: [`crate::janitor::JanitorSweep`],
/// [`crate::prescaler::PreScalerSweep`]. Each function's binary links only its own.
pub trait TargetSweep: Send + Sync {
    /// The function's name, as logs and metrics give it.
    const FUNCTION: &'static str;

    /// How many managed clusters a sweep's report says the target has.
    fn managed_clusters(report: &Value) -> Option<usize>;

    /// The sweep of the account and region `ports` act in; `event` is the tick's own.
    fn run<'a, P: Ports>(
        &'a self,
        event: Value,
        now: DateTime<Utc>,
        ports: &'a P,
        config: &'a Config,
    ) -> impl Future<Output = Result<Value>> + 'a;
}

/// What became of one target in a tick.
#[derive(Clone, Debug, Serialize)]
pub struct TargetOutcome {
    /// `account/region`.
    pub target: String,
    pub account: String,
    pub region: String,
    /// `swept`, `queued` (its sweep runs in its own invocation) or `failed`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The sweep's own report (what the function returns in a single-account deployment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

impl TargetOutcome {
    fn new(target: &Origin, outcome: std::result::Result<Option<&Value>, &Error>) -> Self {
        let (status, code, error, result) = match outcome {
            Ok(Some(result)) => ("swept", None, None, Some(result.clone())),
            Ok(None) => ("queued", None, None, None),
            Err(err) => ("failed", Some(err.code()), Some(err.to_string()), None),
        };
        TargetOutcome {
            target: target.to_string(),
            account: target.account.clone(),
            region: target.region.clone(),
            status,
            code,
            error,
            result,
        }
    }
}

/// A tick's fleet summary: its one log line, its EMF counts and its return value.
#[derive(Clone, Debug, Serialize)]
pub struct FleetSummary {
    pub function: &'static str,
    pub now: DateTime<Utc>,
    pub targets: usize,
    pub swept: usize,
    pub queued: usize,
    pub failed: usize,
    /// The failed targets, by name.
    pub failed_targets: Vec<String>,
    pub outcomes: Vec<TargetOutcome>,
}

impl FleetSummary {
    fn new(function: &'static str, now: DateTime<Utc>, outcomes: Vec<TargetOutcome>) -> Self {
        let count = |status: &str| outcomes.iter().filter(|o| o.status == status).count();
        FleetSummary {
            function,
            now,
            targets: outcomes.len(),
            swept: count("swept"),
            queued: count("queued"),
            failed: count("failed"),
            failed_targets: outcomes
                .iter()
                .filter(|o| o.status == "failed")
                .map(|o| o.target.clone())
                .collect(),
            outcomes,
        }
    }

    /// `tick` is false for an invocation that sweeps queued targets: it adds its swept and
    /// failed targets to the metrics, and only the tick counts the targets, so that the
    /// sums over a tick's minute are the fleet's.
    fn report(&self, tick: bool) {
        tracing::info!(
            tick,
            function = self.function,
            targets = self.targets,
            swept = self.swept,
            queued = self.queued,
            failed = self.failed,
            failed_targets = ?self.failed_targets,
            "fleet tick"
        );
        let swept = [
            ("TargetsSwept", self.swept as f64),
            ("TargetsFailed", self.failed as f64),
        ];
        let tick_only = [
            ("Targets", self.targets as f64),
            ("TargetsQueued", self.queued as f64),
        ];
        let metrics: Vec<(&str, f64)> = if tick {
            swept.into_iter().chain(tick_only).collect()
        } else {
            swept.to_vec()
        };
        crate::emf::emit(self.function, &metrics, self.now.timestamp_millis());
    }
}

/// The pre-scaler's and the janitor's entry point: a tick, a direct invoke naming one
/// `target`, or the fan-out queue's batch ([`classify`]).
pub async fn handle<F: Fleet, S: TargetSweep>(
    event: Value,
    now: DateTime<Utc>,
    fleet: &F,
    config: &Config,
    sweep: &S,
) -> Result<Value> {
    match classify(event)? {
        FleetEvent::Tick(tick) if config.targets_parameter.is_none() => {
            sweep.run(tick, now, fleet.own(), config).await
        }
        FleetEvent::Tick(tick) => tick_fleet(tick, now, fleet, config, sweep).await,
        FleetEvent::Target(work) => {
            let result = sweep_target(&work, now, fleet, config, sweep).await;
            let outcome = TargetOutcome::new(&work.target, result.as_ref().map(Some));
            FleetSummary::new(S::FUNCTION, now, vec![outcome]).report(true);
            result
        }
        FleetEvent::Queued(records) => queued(records, now, fleet, config, sweep).await,
    }
}

/// One target's sweep, in its account. An error names the target.
pub async fn sweep_target<F: Fleet, S: TargetSweep>(
    work: &TargetWork,
    now: DateTime<Utc>,
    fleet: &F,
    config: &Config,
    sweep: &S,
) -> Result<Value> {
    let target = &work.target;
    let outcome = async {
        let ports = fleet.ports_in(target).await?;
        sweep
            .run(work.tick.clone(), now, ports.as_ref(), config)
            .await
    }
    .await;
    crate::emf::emit_target(
        S::FUNCTION,
        &target.account,
        &target.region,
        outcome.as_ref().ok().and_then(S::managed_clusters),
        outcome.is_err(),
        now.timestamp_millis(),
    );
    match &outcome {
        Ok(_) => tracing::info!(function = S::FUNCTION, target = %target, "target swept"),
        Err(err) => tracing::error!(
            function = S::FUNCTION,
            target = %target,
            code = err.code(),
            error = %err,
            "target not swept"
        ),
    }
    outcome
}

async fn tick_fleet<F: Fleet, S: TargetSweep>(
    tick: Value,
    now: DateTime<Utc>,
    fleet: &F,
    config: &Config,
    sweep: &S,
) -> Result<Value> {
    let targets = fleet.targets().await?;
    let work: Vec<TargetWork> = targets
        .into_iter()
        .map(|target| TargetWork {
            target,
            tick: tick.clone(),
        })
        .collect();
    // A scheduler's retry of the same tick carries the same id: its messages are dropped.
    let tick_id = tick
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| now.to_rfc3339());
    let results: Vec<Result<Option<Value>>> =
        match fleet.fan_out(&work, &tick_id).await {
            Some(sent) => sent.into_iter().map(|r| r.map(|()| None)).collect(),
            None => stream::iter(&work)
                .map(|w| async move { sweep_target(w, now, fleet, config, sweep).await.map(Some) })
                .buffered(config.janitor.concurrency.max(1))
                .collect()
                .await,
        };
    let outcomes: Vec<TargetOutcome> = work
        .iter()
        .zip(&results)
        .map(|(w, r)| TargetOutcome::new(&w.target, r.as_ref().map(Option::as_ref)))
        .collect();
    let summary = FleetSummary::new(S::FUNCTION, now, outcomes);
    summary.report(true);
    if summary.targets > 0 && summary.failed == summary.targets {
        // Nothing was swept nor queued: fail the invocation so it is retried and alarmed on.
        let first = results.into_iter().find_map(Result::err);
        return Err(first.expect("a failure per failed target"));
    }
    crate::response(&summary)
}

/// The queue's batch: each message is one target's sweep. A failure that a retry may
/// cure goes back to the queue (`batchItemFailures`: retried, then dead-lettered); one
/// that cannot (a missing spoke role, a malformed message) is reported and consumed, so it
/// does not block its target's later ticks.
async fn queued<F: Fleet, S: TargetSweep>(
    records: Vec<(String, Result<TargetWork>)>,
    now: DateTime<Utc>,
    fleet: &F,
    config: &Config,
    sweep: &S,
) -> Result<Value> {
    let mut outcomes = Vec::new();
    let mut retry = Vec::new();
    for (message_id, work) in records {
        let work = match work {
            Ok(work) => work,
            Err(err) => {
                tracing::error!(function = S::FUNCTION, message_id, error = %err, "unreadable message; dropped");
                continue;
            }
        };
        let result = sweep_target(&work, now, fleet, config, sweep).await;
        if result.as_ref().is_err_and(Error::is_retryable) {
            retry.push(json!({"itemIdentifier": message_id}));
        }
        outcomes.push(TargetOutcome::new(&work.target, result.as_ref().map(Some)));
    }
    let summary = FleetSummary::new(S::FUNCTION, now, outcomes);
    summary.report(false);
    let mut response = crate::response(&summary)?;
    response["batchItemFailures"] = Value::from(retry);
    Ok(response)
}
