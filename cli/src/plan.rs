//! `acu-pilot plan`: what the autopilot would do to each managed cluster, read-only.
//!
//! Reads clusters (DescribeDBClusters), the calendar (file or SSM, as the pre-scaler does)
//! and, where the pre-scaler would, capacity history for the forecast (one GetMetricData
//! per cluster, also read where a quiet window covered the last weeks, for its savings);
//! computes the desired range with reconcile's pure half. It never writes.

use acu_pilot_app::prescaler::{forecast_with_history, load_calendar, trailing_spend};
use acu_pilot_app::reconcile::plan;
use acu_pilot_core::calendar::{Calendar, Window};
use acu_pilot_core::capacity::CapacityRange;
use acu_pilot_core::config::Config;
use acu_pilot_core::desired::effective_guardrails;
use acu_pilot_core::error::{Error, Result};
use acu_pilot_core::forecast::{Forecast, ForecastSpec};
use acu_pilot_core::policy::advice::{BaselineHint, baseline_hint};
use acu_pilot_core::policy::budget::plan_budget;
use acu_pilot_core::policy::quiet::{QuietSavings, estimate_savings};
use acu_pilot_core::tags::{BUDGET, Layer, LayerKind, format_instant};
use acu_pilot_ports::{CalendarSource, Cluster, Clusters, Fleet, Metrics, Ports};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

/// How far ahead `plan` lists calendar windows.
const UPCOMING: TimeDelta = TimeDelta::days(7);

#[derive(Debug, Serialize)]
pub struct ClusterPlan {
    pub cluster: String,
    /// The target the cluster is in, when a targets list is configured (else the
    /// function's own account and region, not asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub status: String,
    pub live: Option<CapacityRange>,
    pub desired: Option<CapacityRange>,
    pub changes: bool,
    pub reason: String,
    /// Every layer on the tags, with whether it is still active.
    pub layers: Vec<PlannedLayer>,
    pub upcoming: Vec<UpcomingWindow>,
    /// The forecast the pre-scaler would use now; `None` when it would read no history.
    pub forecast: Option<Forecast>,
    /// Why the history could not be read, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast_error: Option<String>,
    /// Advice from the same history: the baseline max is reached on most days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_hint: Option<BaselineHint>,
    /// What its quiet windows would have saved over the history the forecast reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet_savings: Option<QuietSavings>,
    /// Its spend budget, when it has one (or a cap left from one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<PlannedBudget>,
}

/// A cluster's spend budget as the pre-scaler would judge it now.
#[derive(Debug, Serialize)]
pub struct PlannedBudget {
    /// ACU-hours a day; `None` when the tag does not parse (see `problem`).
    pub budget: Option<f64>,
    /// ACU-hours the writer used over the last 24 h.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spent: Option<f64>,
    /// Whether a budget cap is on max now.
    pub capped: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap: Option<acu_pilot_core::capacity::Acu>,
    /// What the pre-scaler's next tick would do with the cap, and why.
    pub next: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PlannedLayer {
    #[serde(flatten)]
    pub layer: Layer,
    pub active: bool,
}

#[derive(Debug, Serialize)]
pub struct UpcomingWindow {
    pub name: String,
    pub lead_start: DateTime<Utc>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub min: String,
    pub max: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Plan {
    pub now: DateTime<Utc>,
    /// Where the windows came from, or why there are none.
    pub calendar: String,
    /// Whether the forecast is on, and for which clusters.
    pub forecast: String,
    /// By account and region (in target order), then by id.
    pub clusters: Vec<ClusterPlan>,
    /// Targets that could not be read, by name (`account/region`), and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreachable: Vec<UnreachableTarget>,
}

#[derive(Debug, Serialize)]
pub struct UnreachableTarget {
    pub target: String,
    pub error: String,
}

/// The calendar as the pre-scaler reads and parses it. A calendar the pre-scaler would
/// refuse is reported rather than failing the plan: seeing why is the point of `plan`.
async fn read_calendar(
    source: &impl CalendarSource,
    config: &Config,
) -> (Option<Calendar>, String) {
    match load_calendar(source, config).await {
        Ok(loaded) => {
            let origin = loaded.origin.unwrap_or_else(|| {
                "none configured (ACU_PILOT_CALENDAR, ACU_PILOT_CALENDAR_PARAMETER or ACU_PILOT_CALENDAR_PATH)".to_owned()
            });
            let refused: Vec<String> = loaded.broken.iter().map(ToString::to_string).collect();
            let note = if refused.is_empty() {
                origin
            } else {
                format!(
                    "{origin}; skipped, the pre-scaler would too: {}",
                    refused.join(" | ")
                )
            };
            (loaded.calendar, note)
        }
        Err(e) => (None, format!("unusable, the pre-scaler would fail: {e}")),
    }
}

fn forecast_note(config: &Config) -> String {
    let prescale = &config.prescale;
    if !prescale.forecast_enabled {
        return "off (ACU_PILOT_FORECAST=false)".to_owned();
    }
    match &prescale.forecast_selector {
        Some((key, value)) => format!("on for clusters tagged {key}={value} and min: auto windows"),
        None => "on for every managed cluster".to_owned(),
    }
}

async fn plan_cluster(
    metrics: &impl Metrics,
    config: &Config,
    cluster: &Cluster,
    calendar: Option<&Calendar>,
    now: DateTime<Utc>,
) -> ClusterPlan {
    let tags = cluster.tags();
    let (desired, changes, reason) = match plan(config, cluster, now) {
        Ok(r) => (Some(r.after), r.changed, r.reason),
        Err(e) => (None, false, e.to_string()),
    };
    let upcoming = calendar
        .map(|c| c.windows(now, now + UPCOMING))
        .unwrap_or_default()
        .into_iter()
        .filter(|w| w.targets.matches(&cluster.id, &cluster.tags))
        .map(|w: Window| UpcomingWindow {
            lead_start: w.lead_start(),
            name: w.name,
            start: w.start,
            end: w.end,
            min: w.min.to_string(),
            max: w.max.map(|m| m.to_string()),
        })
        .collect();
    let active = calendar
        .map(|c| c.active_for(&cluster.id, &cluster.tags, now))
        .unwrap_or_default();
    let active: Vec<&Window> = active.iter().collect();
    let (forecast, history, forecast_error) =
        match forecast_with_history(metrics, config, cluster, &active, now).await {
            Ok(Some((f, history))) => (Some(f), history.capacity, None),
            Ok(None) => (None, Vec::new(), None),
            Err(e) => (None, Vec::new(), Some(e.to_string())),
        };
    let budget = planned_budget(
        metrics,
        config,
        cluster,
        forecast.as_ref().map(|_| &history),
        now,
    )
    .await;
    let baseline_max = tags
        .baseline
        .map(|b| b.max)
        .or(cluster.range.map(|r| r.max));
    // Guardrail tags the functions refuse are already the reason (MalformedTag, from
    // plan): no hint is made against a ceiling nobody may use.
    let ceiling = effective_guardrails(&config.guardrails, &tags, cluster)
        .ok()
        .map(|g| g.ceiling);
    let period_minutes = config.prescale.period.as_secs_f64() / 60.0;
    let baseline_hint = baseline_max
        .zip(ceiling)
        .and_then(|(max, ceiling)| baseline_hint(&history, period_minutes, max, ceiling));
    let quiet_savings = quiet_savings(metrics, config, cluster, calendar, history, now).await;
    ClusterPlan {
        cluster: cluster.id.clone(),
        account: None,
        region: None,
        status: cluster.status.clone(),
        live: cluster.range,
        desired,
        changes,
        reason,
        layers: tags
            .layers
            .iter()
            .map(|l| PlannedLayer {
                active: l.is_active(now),
                layer: l.clone(),
            })
            .collect(),
        upcoming,
        forecast,
        forecast_error,
        baseline_hint,
        quiet_savings,
        budget,
    }
}

/// The budget, the trailing spend and the cap, judged by the pre-scaler's own decision;
/// `None` for a cluster without a budget tag or cap.
async fn planned_budget(
    metrics: &impl Metrics,
    config: &Config,
    cluster: &Cluster,
    forecast_capacity: Option<&Vec<(DateTime<Utc>, f64)>>,
    now: DateTime<Utc>,
) -> Option<PlannedBudget> {
    let cap_key = LayerKind::Budget.tag_key();
    if !cluster.tags.contains_key(BUDGET) && !cluster.tags.contains_key(cap_key) {
        return None;
    }
    let tags = cluster.tags();
    let current = tags.layer(LayerKind::Budget);
    let problem = tags
        .budget_problem
        .as_ref()
        .map(|p| format!("cluster {}: {p}; handled as without a budget", cluster.id));
    let guardrails = effective_guardrails(&config.guardrails, &tags, cluster).ok();
    let (spent, next) = match (tags.budget, tags.baseline, guardrails) {
        (Some(budget), Some(baseline), Some(guardrails)) => {
            match trailing_spend(metrics, config, &cluster.id, forecast_capacity, now).await {
                Ok(spent) => {
                    let p = plan_budget(now, Some(budget), spent, baseline, &guardrails, current);
                    (Some(spent), format!("{}: {}", p.change.label(), p.reason))
                }
                Err(e) => (None, format!("spend unreadable: {e}")),
            }
        }
        (None, _, _) if current.is_some() => (None, "removed: no readable budget".to_owned()),
        (None, _, _) => (None, "none: no readable budget".to_owned()),
        _ => (
            None,
            "not judged: the cluster's baseline or guardrails are refused (see why)".to_owned(),
        ),
    };
    Some(PlannedBudget {
        budget: tags.budget,
        spent,
        capped: current.is_some_and(|c| c.is_active(now)),
        cap: current.and_then(|c| c.max),
        next,
        problem,
    })
}

/// The quiet windows of the last weeks (the forecast's look-back) on the cluster's own
/// capacity history: the forecast's samples when it read them, else one GetMetricData.
async fn quiet_savings(
    metrics: &impl Metrics,
    config: &Config,
    cluster: &Cluster,
    calendar: Option<&Calendar>,
    history: Vec<(DateTime<Utc>, f64)>,
    now: DateTime<Utc>,
) -> Option<QuietSavings> {
    let from = now - ForecastSpec::from_config(&config.prescale).lookback();
    let windows: Vec<Window> = calendar?
        .windows(from, now)
        .into_iter()
        .filter(|w| w.quiet.is_some() && w.targets.matches(&cluster.id, &cluster.tags))
        .collect();
    if windows.is_empty() {
        return None;
    }
    let tags = cluster.tags();
    let guardrails = effective_guardrails(&config.guardrails, &tags, cluster).ok()?;
    let baseline_min = tags.baseline.or(cluster.range)?.min;
    let history = if history.is_empty() {
        metrics
            .history(&cluster.id, from, now, config.prescale.period)
            .await
            .map(|h| h.capacity)
            .inspect_err(|e| tracing::warn!(cluster = %cluster.id, error = %e, "no history for the quiet savings"))
            .ok()?
    } else {
        history
    };
    let period = acu_pilot_core::config::to_delta(config.prescale.period);
    let refs: Vec<&Window> = windows.iter().collect();
    estimate_savings(&history, period, &refs, baseline_min, &guardrails)
}

/// The plan for one cluster (`Some(id)`) or every managed one. Reads only.
pub async fn build(
    clusters: &impl Clusters,
    metrics: &impl Metrics,
    calendar: &impl CalendarSource,
    config: &Config,
    cluster: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Plan> {
    let (calendar, source) = read_calendar(calendar, config).await;
    let planned = plan_clusters(clusters, metrics, config, cluster, calendar.as_ref(), now).await?;
    Ok(Plan {
        now,
        calendar: source,
        forecast: forecast_note(config),
        clusters: planned,
        unreachable: Vec::new(),
    })
}

async fn plan_clusters(
    clusters: &impl Clusters,
    metrics: &impl Metrics,
    config: &Config,
    cluster: Option<&str>,
    calendar: Option<&Calendar>,
    now: DateTime<Utc>,
) -> Result<Vec<ClusterPlan>> {
    let found = match cluster {
        Some(id) => vec![clusters.describe(id).await?],
        None => clusters.list_managed().await?,
    };
    let mut planned = Vec::with_capacity(found.len());
    for c in &found {
        planned.push(plan_cluster(metrics, config, c, calendar, now).await);
    }
    Ok(planned)
}

/// [`build`] over every target the sweeps visit, when a targets list is configured (the
/// same list, the same spoke roles): each cluster names its account and region, and a
/// target that cannot be read is listed with why, not a failed plan. A `cluster` id is
/// looked for in every target; a target without it is skipped.
pub async fn build_fleet<F: Fleet>(
    fleet: &F,
    config: &Config,
    cluster: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Plan> {
    let own = fleet.own();
    if config.targets_parameter.is_none() {
        return build(
            own.clusters(),
            own.metrics(),
            own.calendar(),
            config,
            cluster,
            now,
        )
        .await;
    }
    let (calendar, source) = read_calendar(own.calendar(), config).await;
    let mut planned = Vec::new();
    let mut unreachable = Vec::new();
    for target in fleet.targets().await? {
        let read = async {
            let ports = fleet.ports_in(&target).await?;
            let ports = ports.as_ref();
            plan_clusters(
                ports.clusters(),
                ports.metrics(),
                config,
                cluster,
                calendar.as_ref(),
                now,
            )
            .await
        };
        match read.await {
            Ok(clusters) => planned.extend(clusters.into_iter().map(|mut c| {
                c.account = Some(target.account.clone());
                c.region = Some(target.region.clone());
                c
            })),
            Err(Error::ClusterNotFound { .. }) if cluster.is_some() => {}
            Err(e) => unreachable.push(UnreachableTarget {
                target: target.to_string(),
                error: e.to_string(),
            }),
        }
    }
    if let (Some(id), true) = (cluster, planned.is_empty() && unreachable.is_empty()) {
        return Err(Error::ClusterNotFound {
            cluster: id.to_owned(),
        });
    }
    Ok(Plan {
        now,
        calendar: source,
        forecast: forecast_note(config),
        clusters: planned,
        unreachable,
    })
}

fn range(r: Option<CapacityRange>) -> String {
    r.map_or("-".to_owned(), |r| r.to_string())
}

pub fn render(plan: &Plan) -> String {
    let mut out = format!(
        "plan at {} (read-only)\ncalendar: {}\nforecast: {}\n",
        format_instant(plan.now),
        plan.calendar,
        plan.forecast
    );
    if plan.clusters.is_empty() {
        out.push_str("\nno managed clusters\n");
    }
    let mut place = None;
    for c in &plan.clusters {
        if let (Some(account), Some(region)) = (&c.account, &c.region)
            && place != Some((account, region))
        {
            place = Some((account, region));
            out.push_str(&format!("\n== account {account}, {region}\n"));
        }
        out.push_str(&format!(
            "\n{} ({})\n  live     {}\n  desired  {}{}\n  why      {}\n",
            c.cluster,
            c.status,
            range(c.live),
            range(c.desired),
            if c.changes { "  ← would change" } else { "" },
            c.reason
        ));
        if c.layers.is_empty() {
            out.push_str("  layers   none\n");
        }
        for l in &c.layers {
            out.push_str(&format!(
                "  layer    {:<8} min {:<5} max {:<5} until {}{} by {}\n",
                l.layer.kind.to_string(),
                l.layer.min.map_or("-".into(), |a| a.to_string()),
                l.layer.max.map_or("-".into(), |a| a.to_string()),
                format_instant(l.layer.until),
                if l.active { "" } else { " (expired)" },
                l.layer.by
            ));
        }
        for w in &c.upcoming {
            out.push_str(&format!(
                "  window   {} {} → {} (from {}), min {}{}\n",
                w.name,
                format_instant(w.start),
                format_instant(w.end),
                format_instant(w.lead_start),
                w.min,
                w.max
                    .as_ref()
                    .map(|m| format!(", max {m}"))
                    .unwrap_or_default()
            ));
        }
        match (&c.forecast, &c.forecast_error) {
            (_, Some(e)) => out.push_str(&format!("  forecast unreadable: {e}\n")),
            (None, None) => out.push_str("  forecast not read for this cluster\n"),
            (Some(f), None) => out.push_str(&format!(
                "  forecast peak {} by {}{}\n           {}\n",
                f.predicted_peak
                    .map_or("unknown".to_owned(), |p| format!("{p:.1} ACU")),
                format_instant(f.horizon_end),
                f.rise_at
                    .map(|t| format!(", rising at {}", format_instant(t)))
                    .unwrap_or_default(),
                f.explanation
            )),
        }
        if let Some(q) = &c.quiet_savings {
            out.push_str(&format!(
                "  quiet    {:.1} h quiet since {}, {:.1} ACU-h used: up to {:.1} ACU-h (${:.2}) saved by the lower min where it idled, {:.1} ACU-h (${:.2}) over the cap (saved by a hard cap as demand left unmet)\n",
                q.quiet_hours,
                format_instant(q.from),
                q.acu_hours_used,
                q.acu_hours_at_min,
                q.dollars_at_min,
                q.acu_hours_over_cap,
                q.dollars_over_cap,
            ));
        }
        if let Some(b) = &c.budget {
            out.push_str(&format!(
                "  budget   {} ACU-h/day, spent {} in the last 24 h, {}
           next tick: {}
",
                b.budget.map_or("unreadable".to_owned(), |b| b.to_string()),
                b.spent.map_or("unknown".to_owned(), |s| format!("{s:.1}")),
                match (b.capped, b.cap) {
                    (true, Some(cap)) => format!("max capped at {cap} ACU"),
                    _ => "max not capped".to_owned(),
                },
                b.next
            ));
            if let Some(problem) = &b.problem {
                out.push_str(&format!(
                    "  budget   refused: {problem}
"
                ));
            }
        }
        if let Some(hint) = &c.baseline_hint {
            out.push_str(&format!(
                "  hint     {}
",
                hint.text
            ));
        }
    }
    for u in &plan.unreachable {
        out.push_str(&format!("\n== {} unreadable: {}\n", u.target, u.error));
    }
    out
}
