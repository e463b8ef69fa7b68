//! `acu-pilot plan`: what the autopilot would do to each managed cluster, read-only.
//!
//! Reads clusters (DescribeDBClusters) and the calendar file; computes the desired range
//! with reconcile's pure half. It never writes.

use acu_pilot::calendar::{Calendar, Window};
use acu_pilot::config::Config;
use acu_pilot::layers::{Layer, format_instant};
use acu_pilot::ports::{Cluster, Clusters};
use acu_pilot::service::reconcile::plan;
use acu_pilot::{CapacityRange, Result};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

/// How far ahead `plan` lists calendar windows.
const UPCOMING: TimeDelta = TimeDelta::days(7);

#[derive(Debug, Serialize)]
pub struct ClusterPlan {
    pub cluster: String,
    pub status: String,
    pub live: Option<CapacityRange>,
    pub desired: Option<CapacityRange>,
    pub changes: bool,
    pub reason: String,
    /// Every layer on the tags, with whether it is still active.
    pub layers: Vec<PlannedLayer>,
    pub upcoming: Vec<UpcomingWindow>,
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
    /// The forecast is not shown yet: there is no metrics reader on main.
    pub forecast: &'static str,
    pub clusters: Vec<ClusterPlan>,
}

const FORECAST_NOTE: &str = "not shown: plan has no CloudWatch metrics reader yet";

/// The calendar the pre-scaler would read: `ACU_PILOT_CALENDAR` (a file). The SSM
/// parameter (`ACU_PILOT_CALENDAR_PARAMETER`) is read by the pre-scaler's calendar source.
fn load_calendar(config: &Config) -> (Option<Calendar>, String) {
    if let Some(path) = &config.prescale.calendar_file {
        return match std::fs::read_to_string(path) {
            Err(e) => (None, format!("ACU_PILOT_CALENDAR {path}: {e}")),
            Ok(text) => match Calendar::parse(&text) {
                Ok(c) => {
                    let lead = TimeDelta::from_std(config.prescale.lead).unwrap_or_default();
                    (Some(c.with_default_lead(lead)), path.clone())
                }
                Err(e) => (None, format!("ACU_PILOT_CALENDAR {path}: {e}")),
            },
        };
    }
    let note = match &config.prescale.calendar_parameter {
        Some(name) => format!("SSM parameter {name}: not read by plan yet"),
        None => "none configured (ACU_PILOT_CALENDAR)".to_owned(),
    };
    (None, note)
}

fn plan_cluster(
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
    ClusterPlan {
        cluster: cluster.id.clone(),
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
    }
}

/// The plan for one cluster (`Some(id)`) or every managed one. Reads only.
pub async fn build(
    clusters: &impl Clusters,
    config: &Config,
    cluster: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Plan> {
    let found = match cluster {
        Some(id) => vec![clusters.describe(id).await?],
        None => clusters.list_managed().await?,
    };
    let (calendar, source) = load_calendar(config);
    Ok(Plan {
        now,
        calendar: source,
        forecast: FORECAST_NOTE,
        clusters: found
            .iter()
            .map(|c| plan_cluster(config, c, calendar.as_ref(), now))
            .collect(),
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
    for c in &plan.clusters {
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
    }
    out
}
