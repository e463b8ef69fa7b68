//! The pre-scaler's tick: for each targeted managed cluster, decide its
//! `acu-pilot:prescale` layer from the calendar and the forecast, write the tag only if it
//! changed, then reconcile with the tags as they now are.
//!
//! A cluster is targeted when a calendar entry names it (by id or tag selector), when the
//! forecast applies to it, when it has a spend budget (`acu-pilot:budget`), or when it
//! still carries a prescale, quiet or budget-cap tag (which only the pre-scaler writes, so
//! only the pre-scaler can take it away). Every other managed cluster is left to the
//! janitor.

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;

use acu_pilot_core::calendar::{BrokenCalendar, Calendar, MinSpec, Window};
use acu_pilot_core::capacity::CapacityRange;
use acu_pilot_core::config::Config;
use acu_pilot_core::error::{Error, Result};
use acu_pilot_core::forecast::{Forecast, ForecastSpec, predict};
use acu_pilot_core::history::MetricHistory;
use acu_pilot_core::policy::budget::{self, BudgetEvent, plan_budget};
use acu_pilot_core::policy::janitor::RangeVerdict;
use acu_pilot_core::policy::prescale::{ActiveWindow, LayerChange, plan_prescale};
use acu_pilot_core::policy::quiet::plan_quiet;
use acu_pilot_core::tags::{BUDGET, Layer, LayerKind};
use acu_pilot_ports::{CalendarSource, Cluster, Clusters, Metrics, Notifier, Ports};

use super::reconcile_cluster;

/// What one tick found and did.
#[derive(Clone, Debug, Serialize)]
pub struct TickReport {
    pub function: &'static str,
    pub now: DateTime<Utc>,
    pub dry_run: bool,
    /// Where the calendars came from, if any is configured.
    pub calendar: Option<String>,
    /// Calendars refused this tick, each by name with all its problems; the others apply.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub broken_calendars: Vec<BrokenCalendar>,
    /// Managed clusters that nothing targets (left alone).
    pub skipped: usize,
    pub clusters: Vec<ClusterReport>,
    pub errors: Vec<ClusterFailure>,
}

/// One targeted cluster's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct ClusterReport {
    pub cluster: String,
    /// The windows acting now (calendar entries and the forecast).
    pub windows: Vec<ActiveWindow>,
    /// The prediction, when history was read.
    pub forecast: Option<Forecast>,
    /// What happened to the `acu-pilot:prescale` tag: written, kept, removed or none
    /// (in a dry run: what would have happened).
    pub layer: &'static str,
    /// The prescale layer the cluster carries after the tick.
    pub prescale: Option<Layer>,
    /// What happened to the `acu-pilot:quiet` tag (written, kept, removed or none).
    pub quiet_layer: &'static str,
    /// The quiet layer the cluster carries after the tick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet: Option<Layer>,
    /// The spend budget, when the cluster has one (and the tick read its spend).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetReport>,
    pub before: CapacityRange,
    pub after: CapacityRange,
    /// Whether the live range changed (or, in a dry run, would change).
    pub changed: bool,
    /// Every window and forecast considered, and what it did.
    pub reasons: Vec<String>,
    /// Why the range is what it is.
    pub reason: String,
}

/// A cluster's spend budget at this tick.
#[derive(Clone, Debug, Serialize)]
pub struct BudgetReport {
    /// ACU-hours a day, from `acu-pilot:budget`; `None` when the tag does not parse.
    pub budget: Option<f64>,
    /// ACU-hours the writer used over the last 24 h.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spent: Option<f64>,
    /// What happened to the `acu-pilot:budget-cap` tag (written, kept, removed or none).
    pub layer: &'static str,
    /// The cap the cluster carries after the tick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap: Option<Layer>,
    /// Why the budget tag was refused; the cluster then runs as one without a budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    pub reason: String,
}

/// A cluster the tick could not handle.
#[derive(Clone, Debug, Serialize)]
pub struct ClusterFailure {
    pub cluster: String,
    pub code: String,
    pub message: String,
}

/// The Lambda handler's half: check the event, run the tick on the deployed adapters.
pub async fn handle(
    event: Value,
    now: DateTime<Utc>,
    ports: &impl Ports,
    config: &Config,
) -> Result<Value> {
    check_event(&event)?;
    let report = tick(
        ports.clusters(),
        ports.notifier(),
        ports.metrics(),
        ports.calendar(),
        config,
        now,
    )
    .await?;
    crate::response(&report)
}

/// The pre-scaler's tick of one fleet target ([`crate::fleet`]): [`handle`] in the
/// target's account; the calendar stays the hub's.
#[derive(Clone, Copy, Debug, Default)]
pub struct PreScalerSweep;

impl crate::fleet::TargetSweep for PreScalerSweep {
    const FUNCTION: &'static str = "pre-scaler";

    /// Targeted (reported or failed) and skipped: every managed cluster of the target.
    fn managed_clusters(report: &Value) -> Option<usize> {
        let listed = |field: &str| report.get(field).and_then(Value::as_array).map(Vec::len);
        let skipped = report.get("skipped")?.as_u64()? as usize;
        Some(skipped + listed("clusters")? + listed("errors")?)
    }

    fn run<'a, P: Ports>(
        &'a self,
        event: Value,
        now: DateTime<Utc>,
        ports: &'a P,
        config: &'a Config,
    ) -> impl std::future::Future<Output = Result<Value>> + 'a {
        handle(event, now, ports, config)
    }
}

/// The schedule's event carries nothing the tick needs (the tick reads `now` and the
/// fleet itself), so any JSON object will do: an EventBridge Scheduler payload, a
/// scheduled rule's `Scheduled Event`, or `{}` from a manual invoke.
fn check_event(event: &Value) -> Result<()> {
    let Value::Object(fields) = event else {
        let kind = match event {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        return Err(Error::invalid(
            "event",
            format!(
                "the pre-scaler expects its schedule's event (a JSON object such as an EventBridge Scheduled Event), got {kind}"
            ),
        ));
    };
    let field = |name: &str| fields.get(name).and_then(|v| v.as_str()).unwrap_or("-");
    tracing::info!(
        id = field("id"),
        detail_type = field("detail-type"),
        time = field("time"),
        "pre-scaler tick"
    );
    Ok(())
}

/// One tick over the fleet. Fails only when the calendar cannot be read or parsed, the
/// fleet cannot be listed, or every targeted cluster failed.
#[tracing::instrument(skip_all, fields(now = %now, dry_run = config.dry_run))]
pub async fn tick(
    clusters: &impl Clusters,
    notifier: &impl Notifier,
    metrics: &impl Metrics,
    calendar: &impl CalendarSource,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<TickReport> {
    let LoadedCalendars {
        calendar,
        origin,
        broken,
    } = load_calendar(calendar, config).await?;
    for refused in &broken {
        // The tick goes on with the other calendars; the event is what an operator
        // alarms on, since the tick itself succeeds.
        let detail = serde_json::json!({
            "calendar": refused.calendar,
            "origin": refused.origin,
            "problems": refused.problems,
        });
        if let Err(err) = notifier.publish("Calendar Invalid", &detail).await {
            tracing::warn!(calendar = %refused.calendar, error = %err, "Calendar Invalid event not published");
        }
    }
    let fleet = clusters.list_managed().await?;
    // Expanded once for the whole fleet, not once per cluster.
    let active: Vec<Window> = calendar.as_ref().map(|c| c.active(now)).unwrap_or_default();

    let (targeted, skipped): (Vec<Cluster>, Vec<Cluster>) = fleet
        .into_iter()
        .partition(|cluster| is_targeted(cluster, calendar.as_ref(), config));
    for cluster in &skipped {
        tracing::debug!(cluster = %cluster.id, "not targeted by the calendar or the forecast; left alone");
    }

    let concurrency = config.janitor.concurrency.max(1);
    let active = &active;
    let mut outcomes: Vec<(String, Result<ClusterReport>)> = futures::stream::iter(targeted)
        .map(|cluster| async move {
            let id = cluster.id.clone();
            let outcome =
                prescale_cluster(clusters, notifier, metrics, config, active, cluster, now).await;
            (id, outcome)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));

    let attempted = outcomes.len();
    let mut reports = Vec::new();
    let mut errors = Vec::new();
    let mut first_error = None;
    for (cluster, outcome) in outcomes {
        match outcome {
            Ok(report) => reports.push(report),
            Err(err) => {
                tracing::error!(cluster = %cluster, error = %err, code = err.code(), "cluster not pre-scaled");
                errors.push(ClusterFailure {
                    cluster,
                    code: err.code(),
                    message: err.to_string(),
                });
                first_error.get_or_insert(err);
            }
        }
    }
    if attempted > 0 && reports.is_empty() {
        // Every cluster failed: make the invocation fail so it is retried and alarmed on.
        return Err(first_error.expect("a failure per attempted cluster"));
    }
    tracing::info!(
        clusters = reports.len(),
        failed = errors.len(),
        skipped = skipped.len(),
        "pre-scaler tick done"
    );
    Ok(TickReport {
        function: "pre-scaler",
        now,
        dry_run: config.dry_run,
        calendar: origin,
        broken_calendars: broken,
        skipped: skipped.len(),
        clusters: reports,
        errors,
    })
}

/// The configured calendars as the tick uses them.
#[derive(Debug)]
pub struct LoadedCalendars {
    /// Every calendar that parsed, merged; `None` when none is configured.
    pub calendar: Option<Calendar>,
    /// Where they came from.
    pub origin: Option<String>,
    /// The ones refused, each by name with all its problems.
    pub broken: Vec<BrokenCalendar>,
}

/// The calendars, each parsed and validated whole. A broken one is skipped alone (and
/// reported) so one team's typo does not stop every other team's windows; when every
/// configured calendar is broken the tick fails rather than act on none: a sale silently
/// dropped is worse than an alarm.
pub async fn load_calendar(
    source: &impl CalendarSource,
    config: &Config,
) -> Result<LoadedCalendars> {
    let texts = source.load().await?;
    if texts.is_empty() {
        return Ok(LoadedCalendars {
            calendar: None,
            origin: None,
            broken: Vec::new(),
        });
    }
    let origin = texts
        .iter()
        .map(|t| t.origin.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let (calendar, broken) = Calendar::parse_each(&texts);
    for refused in &broken {
        tracing::error!(calendar = %refused.calendar, origin = %refused.origin, problems = ?refused.problems, "calendar refused; its windows do not apply this tick");
    }
    let Some(calendar) = calendar else {
        let problems: Vec<String> = broken.iter().map(ToString::to_string).collect();
        return Err(Error::invalid(
            format!("calendar ({origin})"),
            problems.join(" | "),
        ));
    };
    let lead = acu_pilot_core::config::to_delta(config.prescale.lead);
    let calendar = calendar.with_default_lead(lead);
    tracing::info!(origin = %origin, calendars = calendar.files.len(), entries = calendar.events.len(), "calendars loaded");
    Ok(LoadedCalendars {
        calendar: Some(calendar),
        origin: Some(origin),
        broken,
    })
}

fn is_targeted(cluster: &Cluster, calendar: Option<&Calendar>, config: &Config) -> bool {
    let named = calendar.is_some_and(|c| {
        c.events
            .iter()
            .any(|e| e.targets.matches(&cluster.id, &cluster.tags))
    });
    named
        || forecast_applies(cluster, config)
        || cluster.tags.contains_key(LayerKind::Prescale.tag_key())
        // The pre-scaler is the quiet and budget layers' one writer, so it alone takes
        // them away.
        || cluster.tags.contains_key(LayerKind::Quiet.tag_key())
        || cluster.tags.contains_key(BUDGET)
        || cluster.tags.contains_key(LayerKind::Budget.tag_key())
}

/// Whether the forecast may pre-scale this cluster on its own (`min: auto` windows use
/// it regardless of the selector).
fn forecast_applies(cluster: &Cluster, config: &Config) -> bool {
    config.prescale.forecast_enabled
        && config
            .prescale
            .forecast_selector
            .as_ref()
            .is_none_or(|(key, value)| cluster.tags.get(key) == Some(value))
}

/// The forecast the pre-scaler uses for `cluster` at `now`, given the calendar windows
/// acting on it; `None` when it reads no history: the forecast is off, or neither the
/// selector nor a `min: auto` window brings the cluster under it. History costs a
/// GetMetricData per cluster, so it is read only when it can matter.
pub async fn forecast_for(
    metrics: &impl Metrics,
    config: &Config,
    cluster: &Cluster,
    windows: &[&Window],
    now: DateTime<Utc>,
) -> Result<Option<Forecast>> {
    Ok(
        forecast_with_history(metrics, config, cluster, windows, now)
            .await?
            .map(|(forecast, _)| forecast),
    )
}

/// [`forecast_for`], with the metric history it was made from (for `plan`'s advice).
/// The forecast learns from the load the history shows, not from the capacity alone
/// ([`MetricHistory::load`]): a min it held is not learnt as load.
pub async fn forecast_with_history(
    metrics: &impl Metrics,
    config: &Config,
    cluster: &Cluster,
    windows: &[&Window],
    now: DateTime<Utc>,
) -> Result<Option<(Forecast, MetricHistory)>> {
    let auto_window = windows.iter().any(|w| w.min == MinSpec::Auto);
    if !config.prescale.forecast_enabled || !(forecast_applies(cluster, config) || auto_window) {
        return Ok(None);
    }
    let spec = ForecastSpec::from_config(&config.prescale);
    let history = metrics
        .history(
            &cluster.id,
            now - spec.lookback(),
            now,
            config.prescale.period,
        )
        .await?;
    let (load, estimate) = history.load();
    let mut forecast = predict(&load, now, &spec);
    if let (Some(share), lowered @ 1..) = (estimate.reference_share, estimate.lowered) {
        forecast.explanation.push_str(&format!(
            "; learnt from the load, not the capacity: in {lowered} of {} periods CPUUtilization \
             says a held min kept capacity above the load (the load used {:.0} % of capacity \
             where capacity followed it)",
            load.len(),
            share * 100.0
        ));
    }
    tracing::info!(
        samples = load.len(),
        reference_share = ?estimate.reference_share,
        lowered = estimate.lowered,
        peak = ?forecast.predicted_peak,
        explanation = %forecast.explanation,
        "forecast"
    );
    Ok(Some((forecast, history)))
}

#[tracing::instrument(skip_all, fields(cluster = %cluster.id))]
async fn prescale_cluster(
    clusters: &impl Clusters,
    notifier: &impl Notifier,
    metrics: &impl Metrics,
    config: &Config,
    active: &[Window],
    cluster: Cluster,
    now: DateTime<Utc>,
) -> Result<ClusterReport> {
    let windows: Vec<&Window> = active
        .iter()
        .filter(|w| w.targets.matches(&cluster.id, &cluster.tags))
        .collect();
    let (forecast, history) =
        match forecast_with_history(metrics, config, &cluster, &windows, now).await? {
            Some((forecast, history)) => (Some(forecast), Some(history)),
            None => (None, None),
        };

    let tags = cluster.tags();
    // Refused before any write, like every malformed tag (the fleet loop logs it).
    let guardrails = crate::reconcile::cluster_guardrails(config, &tags, &cluster)?;
    let budget = budget_for(
        metrics,
        notifier,
        config,
        &cluster,
        &tags,
        &guardrails,
        history.as_ref(),
        now,
    )
    .await?;
    let key = LayerKind::Prescale.tag_key();
    let current = tags.layer(LayerKind::Prescale);
    let mut plan = plan_prescale(
        now,
        &windows,
        forecast.as_ref(),
        current,
        &config.prescale,
        &guardrails,
    );
    remove_if_unreadable(
        &cluster,
        &tags,
        LayerKind::Prescale,
        &mut plan.change,
        &mut plan.reasons,
    );
    let quiet_key = LayerKind::Quiet.tag_key();
    let mut quiet = plan_quiet(now, &windows, tags.layer(LayerKind::Quiet));
    remove_if_unreadable(
        &cluster,
        &tags,
        LayerKind::Quiet,
        &mut quiet.change,
        &mut quiet.reasons,
    );
    plan.reasons.append(&mut quiet.reasons);
    for reason in &plan.reasons {
        tracing::info!(reason = %reason, "prescale decision");
    }
    let budget_key = LayerKind::Budget.tag_key();
    let budget_change = budget
        .as_ref()
        .map_or(LayerChange::None, |b| b.plan.change.clone());
    if let Some(b) = &budget {
        tracing::info!(reason = %b.plan.reason, budget = ?b.budget, spent = ?b.spent, "budget decision");
        plan.reasons.push(b.plan.reason.clone());
    }
    // The one drift rule, the janitor's: a live range no combination of the layers explains
    // (an operator's hand during an incident) is reported, and put back only with
    // ACU_PILOT_ENFORCE=true. Judged on the cluster as read, before this tick's own write.
    let drift = match (
        acu_pilot_core::policy::janitor::plan_cluster(
            &cluster.id,
            &tags,
            cluster.range,
            now,
            &guardrails,
        ),
        cluster.range,
    ) {
        (Ok(p), Some(live))
            if p.verdict == RangeVerdict::Drift && !p.writes_range(config.janitor.enforce) =>
        {
            Some((live, p.desired))
        }
        _ => None,
    };

    let original_prescale = cluster.tags.get(key).cloned();
    let original_quiet = cluster.tags.get(quiet_key).cloned();
    let original_budget = cluster.tags.get(budget_key).cloned();
    let mut updated = cluster;
    // Every layer this tick changes goes in one AddTagsToResource and one
    // RemoveTagsFromResource, not a call per layer.
    let (mut puts, mut removes) = (Vec::new(), Vec::new());
    for (key, change) in [
        (key, &plan.change),
        (quiet_key, &quiet.change),
        (budget_key, &budget_change),
    ] {
        match change {
            LayerChange::Write(layer) => {
                // Read back by the tag parser before writing: never a tag no function can read.
                let value = layer
                    .tag_value()
                    .map_err(|e| Error::invalid(key, e.to_string()))?;
                puts.push((key.to_owned(), value));
            }
            LayerChange::Remove => removes.push(key.to_owned()),
            LayerChange::Keep => tracing::info!(tag = key, "layer tag already as wanted"),
            LayerChange::None => tracing::debug!(tag = key, "no layer wanted or present"),
        }
    }
    if !puts.is_empty() {
        if config.dry_run {
            tracing::info!(tags = ?puts, "dry run: would write the layer tags");
        } else {
            clusters.put_tags(&updated.arn, &puts).await?;
            tracing::info!(tags = ?puts, "layer tags written");
        }
        updated.tags.extend(puts);
    }
    if !removes.is_empty() {
        if config.dry_run {
            tracing::info!(tags = ?removes, "dry run: would remove the layer tags");
        } else {
            clusters.remove_tags(&updated.arn, &removes).await?;
            tracing::info!(tags = ?removes, "layer tags removed");
        }
        for key in &removes {
            updated.tags.remove(key);
        }
    }

    // A drift seen on a read taken while another function was between its tag write and
    // its ModifyDBCluster is no drift: judged again on a fresh read after this tick's
    // write, with this tick's tag as it was, it is gone, and the tick converges.
    if let Some(b) = &budget {
        announce_budget(notifier, config, &updated.id, b).await;
    }
    let wrote = !config.dry_run
        && (plan.change.changes_tag() || quiet.change.changes_tag() || budget_change.changes_tag());
    let drift = match drift {
        Some(found) if wrote => {
            let mut fresh = clusters.describe(&updated.id).await?;
            let fresh_with_mine = fresh.clone();
            for (key, original) in [
                (key, &original_prescale),
                (quiet_key, &original_quiet),
                (budget_key, &original_budget),
            ] {
                match original.as_ref() {
                    Some(value) => fresh.tags.insert(key.to_owned(), value.clone()),
                    None => fresh.tags.remove(key),
                };
            }
            let still = crate::reconcile::plan(config, &fresh, now)
                .map(|p| p.changed)
                .unwrap_or(true);
            if still {
                Some(found)
            } else {
                updated = fresh_with_mine;
                None
            }
        }
        other => other,
    };
    // The tick's report, whichever way it ends: what was planned, and the range it left.
    let report = |cluster, before, after, changed, reason| ClusterReport {
        cluster,
        windows: plan.windows,
        forecast,
        layer: plan.change.label(),
        prescale: plan.layer,
        quiet_layer: quiet.change.label(),
        quiet: quiet.layer,
        budget: budget.map(|b| BudgetReport {
            budget: b.budget,
            spent: b.spent,
            layer: b.plan.change.label(),
            cap: b.plan.layer,
            problem: b.problem,
            reason: b.plan.reason,
        }),
        before,
        after,
        changed,
        reasons: plan.reasons,
        reason,
    };
    if let Some((live, desired)) = drift {
        let reason = format!(
            "drift: live {live} is not what the layers give ({desired}); reported, not put back (ACU_PILOT_ENFORCE is off)"
        );
        tracing::warn!(cluster = %updated.id, %live, %desired, "{reason}");
        return Ok(report(updated.id, live, live, false, reason));
    }
    // After a tag write, converge (one more read verifies no other function wrote
    // meanwhile); otherwise the tags just read stand in for a second DescribeDBClusters.
    let reconciled = if wrote {
        crate::reconcile::converge(clusters, notifier, config, &updated, now).await?
    } else {
        reconcile_cluster(clusters, notifier, config, &updated, now).await?
    };
    Ok(report(
        reconciled.cluster,
        reconciled.before,
        reconciled.after,
        reconciled.changed,
        reconciled.reason,
    ))
}

/// Our own layer tag, unreadable and wanted by nothing: it goes rather than blocking every
/// reconcile of the cluster.
fn remove_if_unreadable(
    cluster: &Cluster,
    tags: &acu_pilot_core::tags::ClusterTags,
    kind: LayerKind,
    change: &mut LayerChange,
    reasons: &mut Vec<String>,
) {
    let key = kind.tag_key();
    if tags.layer(kind).is_none() && cluster.tags.contains_key(key) && *change == LayerChange::None
    {
        reasons.push(format!("{key} does not parse: it is removed"));
        *change = LayerChange::Remove;
    }
}

/// A cluster's budget decision at one tick, with what it was made from.
struct BudgetTick {
    budget: Option<f64>,
    spent: Option<f64>,
    problem: Option<String>,
    plan: budget::BudgetPlan,
}

/// The budget decision for a cluster with an `acu-pilot:budget` tag or a leftover cap;
/// `None` for every other cluster (no history is read for them). A budget tag that does
/// not parse is reported (logged, and a `Budget Invalid` event naming tag and cluster) and
/// the cluster is handled as one without a budget: a cap it carries is removed, never
/// kept on a budget nobody can read.
#[allow(clippy::too_many_arguments)]
async fn budget_for(
    metrics: &impl Metrics,
    notifier: &impl Notifier,
    config: &Config,
    cluster: &Cluster,
    tags: &acu_pilot_core::tags::ClusterTags,
    guardrails: &acu_pilot_core::capacity::Guardrails,
    history: Option<&MetricHistory>,
    now: DateTime<Utc>,
) -> Result<Option<BudgetTick>> {
    let cap_key = LayerKind::Budget.tag_key();
    let current = tags.layer(LayerKind::Budget);
    if !cluster.tags.contains_key(BUDGET) && !cluster.tags.contains_key(cap_key) {
        return Ok(None);
    }
    let problem = tags.budget_problem.as_ref().map(|p| {
        let message = format!("cluster {}: {p}", cluster.id);
        tracing::error!(cluster = %cluster.id, tag = BUDGET, problem = %p, "budget refused; the cluster runs without a budget");
        message
    });
    if let Some(message) = &problem {
        crate::announce(
            notifier,
            "Budget Invalid",
            serde_json::json!({"cluster": cluster.id, "tag": BUDGET, "problem": message}),
        )
        .await;
    }
    let (budget, spent) = match tags.budget {
        Some(budget) => {
            let baseline = tags.baseline.ok_or_else(|| Error::MissingBaseline {
                cluster: cluster.id.clone(),
            })?;
            let spent = trailing_spend(
                metrics,
                config,
                &cluster.id,
                history.map(|h| &h.capacity),
                now,
            )
            .await?;
            (Some((budget, baseline)), Some(spent))
        }
        None => (None, None),
    };
    let mut plan = match budget {
        Some((budget, baseline)) => plan_budget(
            now,
            Some(budget),
            spent.unwrap_or_default(),
            baseline,
            guardrails,
            current,
        ),
        None => plan_budget(
            now,
            None,
            0.0,
            acu_pilot_core::capacity::CapacityRange {
                min: guardrails.floor,
                max: guardrails.ceiling,
            },
            guardrails,
            current,
        ),
    };
    if current.is_none() && cluster.tags.contains_key(cap_key) && plan.change == LayerChange::None {
        // Our own tag, unreadable, and nothing wants a cap: it goes, as prescale's does.
        plan.reason = format!("{}; {cap_key} does not parse: it is removed", plan.reason);
        plan.change = LayerChange::Remove;
    }
    Ok(Some(BudgetTick {
        budget: budget.map(|(b, _)| b),
        spent,
        problem,
        plan,
    }))
}

/// ACU-hours the cluster's writer spent over the 24 h before `now`. `forecast_capacity`
/// is the capacity the forecast read this tick, if it did: it covers the day whenever
/// the forecast's lookback does, and then no second GetMetricData is made.
pub async fn trailing_spend(
    metrics: &impl Metrics,
    config: &Config,
    cluster_id: &str,
    forecast_capacity: Option<&acu_pilot_core::history::Series>,
    now: DateTime<Utc>,
) -> Result<f64> {
    let period = acu_pilot_core::config::to_delta(config.prescale.period);
    let lookback = ForecastSpec::from_config(&config.prescale).lookback();
    match forecast_capacity {
        Some(capacity) if lookback >= budget::WINDOW => Ok(budget::spent(capacity, period, now)),
        _ => {
            let read = metrics
                .history(
                    cluster_id,
                    now - budget::WINDOW,
                    now,
                    config.prescale.period,
                )
                .await?;
            Ok(budget::spent(&read.capacity, period, now))
        }
    }
}

/// `Budget Exceeded` when the cap is first written, `Budget Restored` when it goes. A dry
/// run writes no cap, so it would announce the same excess every tick: it logs instead.
async fn announce_budget(
    notifier: &impl Notifier,
    config: &Config,
    cluster: &str,
    tick: &BudgetTick,
) {
    let Some(event) = tick.plan.event else {
        return;
    };
    let cap = tick.plan.layer.as_ref().and_then(|l| l.max);
    let detail = serde_json::json!({
        "cluster": cluster,
        "budget": tick.budget,
        "spent": tick.spent.map(|s| (s * 10.0).round() / 10.0),
        "cap": cap,
        "reason": tick.plan.reason,
    });
    if config.dry_run {
        tracing::info!(event = event.detail_type(), detail = %detail, "dry run: would publish");
        return;
    }
    crate::announce(notifier, event.detail_type(), detail).await;
    if event == BudgetEvent::Exceeded {
        tracing::warn!(cluster, cap = ?cap, "budget exceeded: max capped; demand above the cap is refused");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;

    const SCHEDULED_EVENT: &[u8] = include_bytes!("../../tests/fixtures/scheduled-event.json");

    #[test]
    fn the_scheduled_event_fixture_round_trips_and_is_a_tick() {
        let raw: Value = serde_json::from_slice(SCHEDULED_EVENT).unwrap();
        let typed: CloudWatchEvent = serde_json::from_slice(SCHEDULED_EVENT).unwrap();
        assert_eq!(typed.detail_type.as_deref(), Some("Scheduled Event"));
        assert_eq!(serde_json::to_value(&typed).unwrap(), raw);
        check_event(&raw).unwrap();
        check_event(&serde_json::json!({})).unwrap();
    }

    #[test]
    fn a_non_object_event_is_refused_saying_what_it_got() {
        for (event, kind) in [
            (Value::Null, "null"),
            (serde_json::json!([1]), "an array"),
            (serde_json::json!("tick"), "a string"),
        ] {
            let err = check_event(&event).unwrap_err();
            assert_eq!(err.error_type(), "InvalidInput");
            assert!(err.to_string().contains(kind), "{err}");
        }
    }

    // --- the tick over in-memory ports ------------------------------------------------

    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use acu_pilot_ports::CalendarText;

    #[derive(Default)]
    struct FakeClusters {
        clusters: Mutex<Vec<Cluster>>,
        writes: Mutex<Vec<String>>,
    }

    impl FakeClusters {
        fn with(clusters: Vec<Cluster>) -> Self {
            Self {
                clusters: Mutex::new(clusters),
                ..Default::default()
            }
        }

        fn writes(&self) -> Vec<String> {
            self.writes.lock().unwrap().clone()
        }
    }

    impl Clusters for FakeClusters {
        async fn describe(&self, id: &str) -> Result<Cluster> {
            let clusters = self.clusters.lock().unwrap();
            clusters
                .iter()
                .find(|c| c.id == id)
                .cloned()
                .ok_or(Error::ClusterNotFound {
                    cluster: id.to_owned(),
                })
        }

        // Writes are recorded and applied, so the read that verifies a write (see
        // reconcile::converge) sees it.
        async fn modify_range(&self, id: &str, range: CapacityRange) -> Result<()> {
            self.writes
                .lock()
                .unwrap()
                .push(format!("modify {id} {range}"));
            for c in self
                .clusters
                .lock()
                .unwrap()
                .iter_mut()
                .filter(|c| c.id == id)
            {
                c.range = Some(range);
            }
            Ok(())
        }

        async fn put_tags(&self, arn: &str, tags: &[(String, String)]) -> Result<()> {
            let mut writes = self.writes.lock().unwrap();
            for (k, v) in tags {
                writes.push(format!("tag {arn} {k}={v}"));
            }
            for c in self
                .clusters
                .lock()
                .unwrap()
                .iter_mut()
                .filter(|c| c.arn == arn)
            {
                c.tags.extend(tags.iter().cloned());
            }
            Ok(())
        }

        async fn remove_tags(&self, arn: &str, keys: &[String]) -> Result<()> {
            self.writes
                .lock()
                .unwrap()
                .push(format!("untag {arn} {}", keys.join(",")));
            for c in self
                .clusters
                .lock()
                .unwrap()
                .iter_mut()
                .filter(|c| c.arn == arn)
            {
                c.tags.retain(|k, _| !keys.contains(k));
            }
            Ok(())
        }

        async fn list_managed(&self) -> Result<Vec<Cluster>> {
            Ok(self.clusters.lock().unwrap().clone())
        }
    }

    struct Quiet;

    impl Notifier for Quiet {
        async fn publish(&self, _: &str, _: &Value) -> Result<()> {
            Ok(())
        }
    }

    #[derive(Default)]
    struct CountingMetrics {
        calls: Mutex<Vec<String>>,
    }

    impl Metrics for CountingMetrics {
        async fn history(
            &self,
            cluster_id: &str,
            _: DateTime<Utc>,
            _: DateTime<Utc>,
            _: std::time::Duration,
        ) -> Result<MetricHistory> {
            self.calls.lock().unwrap().push(cluster_id.to_owned());
            Ok(MetricHistory::default())
        }
    }

    struct Text(&'static str);

    impl CalendarSource for Text {
        async fn load(&self) -> Result<Vec<CalendarText>> {
            Ok(vec![CalendarText {
                origin: "test".into(),
                name: None,
                text: self.0.into(),
            }])
        }
    }

    static LOADS: AtomicUsize = AtomicUsize::new(0);

    struct CountingText(&'static str);

    impl CalendarSource for CountingText {
        async fn load(&self) -> Result<Vec<CalendarText>> {
            LOADS.fetch_add(1, Ordering::SeqCst);
            Text(self.0).load().await
        }
    }

    fn cluster(id: &str, extra: &[(&str, &str)]) -> Cluster {
        let tags: std::collections::BTreeMap<String, String> = [
            ("acu-pilot:managed", "true"),
            ("acu-pilot:baseline", "min=0.5 max=16"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        Cluster {
            id: id.into(),
            arn: format!("arn:aws:rds:us-east-1:123456789012:cluster:{id}"),
            status: "available".into(),
            engine: "aurora-mysql".into(),
            engine_version: "8.0.mysql_aurora.3.09.0".into(),
            range: Some(CapacityRange::from_f64(0.5, 16.0).unwrap()),
            tags,
            members: vec![format!("{id}-writer")],
            range_problem: None,
            resource_id: String::new(),
        }
    }

    fn no_forecast() -> Config {
        let mut config = Config::default();
        config.prescale.forecast_enabled = false;
        config
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-10T14:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    const SALE: &str = "events:\n  - name: sale\n    start: 2026-12-10T14:00\n    duration: 1h\n    clusters: [shop]\n    min: 8\n";

    const NIGHTS: &str = "events:\n  - name: nights\n    every: \"0 20 * * *\"\n    duration: 10h\n    clusters: [dev]\n    quiet: {max: 2}\n";

    /// Capacity at one level over whatever span is asked for, one sample a period; and
    /// every read counted.
    #[derive(Default)]
    struct LevelMetrics {
        level: Mutex<f64>,
        calls: Mutex<Vec<String>>,
    }

    impl Metrics for LevelMetrics {
        async fn history(
            &self,
            cluster_id: &str,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            period: std::time::Duration,
        ) -> Result<MetricHistory> {
            self.calls.lock().unwrap().push(cluster_id.to_owned());
            let level = *self.level.lock().unwrap();
            let step = chrono::TimeDelta::from_std(period).unwrap();
            let mut capacity = Vec::new();
            let mut at = from;
            while at < to {
                capacity.push((at, level));
                at += step;
            }
            Ok(MetricHistory::capacity_only(capacity))
        }
    }

    #[derive(Default)]
    struct Events(Mutex<Vec<(String, Value)>>);

    impl Notifier for Events {
        async fn publish(&self, detail_type: &str, detail: &Value) -> Result<()> {
            self.0
                .lock()
                .unwrap()
                .push((detail_type.to_owned(), detail.clone()));
            Ok(())
        }
    }

    impl Events {
        fn types(&self) -> Vec<String> {
            self.0
                .lock()
                .unwrap()
                .iter()
                .map(|(t, _)| t.clone())
                .collect()
        }
    }

    #[tokio::test]
    async fn over_budget_the_cap_is_written_and_announced_holds_a_boost_and_goes_under_90_percent()
    {
        let boost = "max=24 until=2026-12-10T16:00:00Z by=alarm:x";
        let clusters = FakeClusters::with(vec![cluster(
            "shop",
            &[("acu-pilot:budget", "48"), ("acu-pilot:boost", boost)],
        )]);
        clusters.clusters.lock().unwrap()[0].range =
            Some(CapacityRange::from_f64(0.5, 24.0).unwrap());
        let metrics = LevelMetrics::default();
        *metrics.level.lock().unwrap() = 4.0;
        let events = Events::default();
        let config = no_forecast();
        let run = |now| {
            tick(
                &clusters,
                &events,
                &metrics,
                &Text("events: []\n"),
                &config,
                now,
            )
        };

        // 4 ACU for 24 h is 96 ACU-h, twice the budget: max is capped at 48 ÷ 24 = 2,
        // the boost to 24 notwithstanding.
        let report = run(now()).await.unwrap();
        let budget = report.clusters[0].budget.as_ref().unwrap();
        assert_eq!(budget.layer, "written", "{:?}", budget.reason);
        assert!((budget.spent.unwrap() - 96.0).abs() < 1e-9);
        let writes = clusters.writes();
        assert!(
            writes[0].ends_with(
                "acu-pilot:budget-cap=max=2 until=2026-12-10T15:00:00Z by=budget at=2026-12-10T14:00:00Z"
            ),
            "{writes:?}"
        );
        assert_eq!(writes[1], "modify shop 0.5–2 ACU");
        assert_eq!(events.types(), ["Budget Exceeded", "Capacity Changed"]);
        let detail = events.0.lock().unwrap()[0].1.clone();
        assert_eq!(
            (
                detail["cluster"].as_str(),
                detail["budget"].as_f64(),
                detail["spent"].as_f64()
            ),
            (Some("shop"), Some(48.0), Some(96.0))
        );
        assert_eq!(detail["cap"], serde_json::json!(2.0));
        // The forecast is off: one read, the budget's own.
        assert_eq!(metrics.calls.lock().unwrap().len(), 1);

        // Still over: kept, nothing written or announced.
        let report = run(now() + chrono::TimeDelta::minutes(5)).await.unwrap();
        assert_eq!(report.clusters[0].budget.as_ref().unwrap().layer, "kept");
        assert_eq!(clusters.writes().len(), 2);
        assert_eq!(events.types().len(), 2);

        // 1.5 ACU for a day is 36 ACU-h, under 90 % of 48: the cap goes, the boost is back.
        *metrics.level.lock().unwrap() = 1.5;
        let report = run(now() + chrono::TimeDelta::minutes(10)).await.unwrap();
        assert_eq!(report.clusters[0].budget.as_ref().unwrap().layer, "removed");
        let writes = clusters.writes();
        assert_eq!(
            &writes[2..],
            [
                "untag arn:aws:rds:us-east-1:123456789012:cluster:shop acu-pilot:budget-cap",
                "modify shop 0.5–24 ACU"
            ]
        );
        assert_eq!(
            &events.types()[2..],
            ["Budget Restored", "Capacity Changed"]
        );
    }

    #[tokio::test]
    async fn a_malformed_budget_is_reported_and_the_cluster_runs_without_one() {
        let clusters = FakeClusters::with(vec![cluster(
            "shop",
            &[
                ("acu-pilot:budget", "lots"),
                (
                    "acu-pilot:budget-cap",
                    "max=2 until=2026-12-10T15:00:00Z by=budget",
                ),
            ],
        )]);
        clusters.clusters.lock().unwrap()[0].range =
            Some(CapacityRange::from_f64(0.5, 2.0).unwrap());
        let metrics = LevelMetrics::default();
        let events = Events::default();
        let report = tick(
            &clusters,
            &events,
            &metrics,
            &Text("events: []\n"),
            &no_forecast(),
            now(),
        )
        .await
        .unwrap();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let budget = report.clusters[0].budget.as_ref().unwrap();
        let problem = budget.problem.as_deref().unwrap();
        assert!(
            problem.contains("shop") && problem.contains("acu-pilot:budget"),
            "{problem}"
        );
        assert_eq!(budget.layer, "removed");
        assert_eq!(
            report.clusters[0].after,
            CapacityRange::from_f64(0.5, 16.0).unwrap()
        );
        assert_eq!(
            events.types(),
            ["Budget Invalid", "Budget Restored", "Capacity Changed"]
        );
        assert!(
            metrics.calls.lock().unwrap().is_empty(),
            "no budget, no spend to read"
        );
    }

    #[tokio::test]
    async fn the_forecasts_history_is_the_budgets_too() {
        let clusters = FakeClusters::with(vec![cluster("shop", &[("acu-pilot:budget", "480")])]);
        let metrics = LevelMetrics::default();
        *metrics.level.lock().unwrap() = 1.0;
        let report = tick(
            &clusters,
            &Quiet,
            &metrics,
            &Text("events: []\n"),
            &Config::default(),
            now(),
        )
        .await
        .unwrap();
        assert_eq!(metrics.calls.lock().unwrap().as_slice(), ["shop"]);
        let budget = report.clusters[0].budget.as_ref().unwrap();
        assert!(
            (budget.spent.unwrap() - 24.0).abs() < 1e-9,
            "{:?}",
            budget.spent
        );
        assert_eq!(budget.layer, "none");
    }

    #[tokio::test]
    async fn a_nightly_quiet_window_lowers_and_caps_at_its_start_keeps_and_restores_at_its_end() {
        let mut dev = cluster("dev", &[("acu-pilot:baseline", "min=4 max=16")]);
        dev.range = Some(CapacityRange::from_f64(4.0, 16.0).unwrap());
        let clusters = FakeClusters::with(vec![dev]);
        let metrics = CountingMetrics::default();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let config = no_forecast();
        let run = |now| tick(&clusters, &Quiet, &metrics, &Text(NIGHTS), &config, now);
        let report = run(at("2026-12-10T20:00:00Z")).await.unwrap();
        assert_eq!(report.clusters[0].quiet_layer, "written");
        let writes = clusters.writes();
        assert_eq!(writes.len(), 2, "{writes:?}");
        assert!(
            writes[0]
                .contains("acu-pilot:quiet=max=2 until=2026-12-11T06:00:00Z by=calendar:nights"),
            "{writes:?}"
        );
        assert_eq!(writes[1], "modify dev 0.5–2 ACU");
        // A repeated tick writes nothing.
        let report = run(at("2026-12-11T02:00:00Z")).await.unwrap();
        assert_eq!(report.clusters[0].quiet_layer, "kept");
        assert_eq!(clusters.writes().len(), 2, "{:?}", clusters.writes());
        // At its end the tag goes and the baseline returns.
        let report = run(at("2026-12-11T06:00:00Z")).await.unwrap();
        assert_eq!(report.clusters[0].quiet_layer, "removed");
        let writes = clusters.writes();
        assert_eq!(
            &writes[2..],
            [
                "untag arn:aws:rds:us-east-1:123456789012:cluster:dev acu-pilot:quiet",
                "modify dev 4–16 ACU"
            ],
            "{writes:?}"
        );
    }

    #[tokio::test]
    async fn given_a_sale_when_it_starts_then_the_tag_and_range_are_written_once() {
        let clusters = FakeClusters::with(vec![cluster("shop", &[]), cluster("other", &[])]);
        let metrics = CountingMetrics::default();
        LOADS.store(0, Ordering::SeqCst);
        let report = tick(
            &clusters,
            &Quiet,
            &metrics,
            &CountingText(SALE),
            &no_forecast(),
            now(),
        )
        .await
        .unwrap();
        assert_eq!(LOADS.load(Ordering::SeqCst), 1, "the calendar is read once");
        assert_eq!(report.skipped, 1, "other is not targeted");
        assert_eq!(report.clusters.len(), 1);
        assert_eq!(report.clusters[0].layer, "written");
        assert_eq!(report.clusters[0].after.min.value(), 8.0);
        let writes = clusters.writes();
        assert_eq!(writes.len(), 2, "{writes:?}");
        assert!(
            writes[0]
                .contains("acu-pilot:prescale=min=8 until=2026-12-10T15:00:00Z by=calendar:sale")
        );
        assert_eq!(writes[1], "modify shop 8–16 ACU");
        assert!(
            metrics.calls.lock().unwrap().is_empty(),
            "forecast off: no history read"
        );
    }

    #[tokio::test]
    async fn given_an_unreadable_prescale_tag_and_nothing_wanted_then_it_is_removed() {
        let clusters =
            FakeClusters::with(vec![cluster("shop", &[("acu-pilot:prescale", "min=lots")])]);
        let report = tick(
            &clusters,
            &Quiet,
            &CountingMetrics::default(),
            &Text("events: []\n"),
            &no_forecast(),
            now(),
        )
        .await
        .unwrap();
        assert_eq!(report.clusters[0].layer, "removed");
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(
            clusters.writes()[0],
            format!("untag {} acu-pilot:prescale", cluster("shop", &[]).arn)
        );
    }

    #[tokio::test]
    async fn history_is_read_only_where_the_forecast_can_matter() {
        let auto = "events:\n  - name: launch\n    start: 2026-12-10T14:00\n    duration: 1h\n    clusters: [auto]\n    min: auto\n  - name: sale\n    start: 2026-12-10T14:00\n    duration: 1h\n    clusters: [fixed]\n    min: 8\n";
        let clusters = FakeClusters::with(vec![
            cluster("auto", &[]),
            cluster("fixed", &[]),
            cluster("opted-in", &[("forecast", "on")]),
        ]);
        let metrics = CountingMetrics::default();
        let mut config = Config::default();
        config.prescale.forecast_selector = Some(("forecast".into(), "on".into()));
        let report = tick(&clusters, &Quiet, &metrics, &Text(auto), &config, now())
            .await
            .unwrap();
        let mut read = metrics.calls.lock().unwrap().clone();
        read.sort();
        assert_eq!(read, vec!["auto", "opted-in"]);
        let auto = report
            .clusters
            .iter()
            .find(|c| c.cluster == "auto")
            .unwrap();
        assert_eq!(
            auto.layer, "none",
            "no history, no prediction: {:?}",
            auto.reasons
        );
        assert!(
            auto.reasons.iter().any(|r| r.contains("min auto")),
            "{:?}",
            auto.reasons
        );
    }

    #[tokio::test]
    async fn a_bad_calendar_fails_the_tick_naming_entry_and_field_before_any_call() {
        let clusters = FakeClusters::with(vec![cluster("shop", &[])]);
        let bad = "events:\n  - name: sale\n    every: \"0 9 * * NOPE\"\n    duration: 1h\n    clusters: [shop]\n    min: 8\n";
        let err = tick(
            &clusters,
            &Quiet,
            &CountingMetrics::default(),
            &Text(bad),
            &no_forecast(),
            now(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.error_type(), "InvalidInput");
        assert!(err.to_string().contains("events[0] (sale).every"), "{err}");
        assert!(clusters.writes().is_empty());
    }
}
