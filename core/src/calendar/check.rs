//! The report of `acu-pilot calendar check`: the next windows per cluster or selector, in
//! local time and UTC.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::{Calendar, MinSpec, Quiet, Window, format_delta, latest};
use crate::capacity::Acu;
use crate::zone::Zone;

/// How far ahead `calendar check` looks for the next windows.
const CHECK_HORIZON: TimeDelta = TimeDelta::days(3 * 366);

/// The `acu-pilot calendar check` report: the next windows per cluster (or selector).
#[derive(Clone, Debug, Serialize)]
pub struct CalendarCheck {
    pub from: DateTime<Utc>,
    pub count: usize,
    pub targets: Vec<TargetWindows>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TargetWindows {
    /// A cluster id, or `tag key=value` for a selector.
    pub target: String,
    pub windows: Vec<CheckedWindow>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CheckedWindow {
    pub name: String,
    pub timezone: String,
    /// Local times with the zone abbreviation, e.g. `Fri 2026-11-27 09:00 EST`.
    pub local_start: String,
    pub local_end: String,
    pub local_lead_start: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub lead_start: DateTime<Utc>,
    pub lead: String,
    pub min: MinSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<Acu>,
    /// Set for a quiet window: its range replaces `min`/`max`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet: Option<Quiet>,
}

/// The next `count` windows per target that end after `from`.
pub fn check(calendar: &Calendar, from: DateTime<Utc>, count: usize) -> CalendarCheck {
    let to = from.checked_add_signed(CHECK_HORIZON).unwrap_or(latest());
    let mut by_target: BTreeMap<String, Vec<Window>> = BTreeMap::new();
    for event in &calendar.events {
        let windows = calendar.event_windows(event, from, to, count);
        for label in event.targets.labels() {
            by_target
                .entry(label)
                .or_default()
                .extend(windows.iter().cloned());
        }
    }
    let local = |tz: Zone, t: DateTime<Utc>| {
        t.with_timezone(&tz)
            .format("%a %Y-%m-%d %H:%M %Z")
            .to_string()
    };
    let targets = by_target
        .into_iter()
        .map(|(target, mut windows)| {
            windows.sort_by(|a, b| (a.start, &a.name).cmp(&(b.start, &b.name)));
            windows.truncate(count);
            let windows = windows
                .into_iter()
                .map(|w| CheckedWindow {
                    local_start: local(w.timezone, w.start),
                    local_end: local(w.timezone, w.end),
                    local_lead_start: local(w.timezone, w.lead_start()),
                    lead_start: w.lead_start(),
                    lead: format_delta(w.lead),
                    timezone: w.timezone.name().to_owned(),
                    name: w.name,
                    start: w.start,
                    end: w.end,
                    min: w.min,
                    max: w.max,
                    quiet: w.quiet,
                })
                .collect();
            TargetWindows { target, windows }
        })
        .collect();
    CalendarCheck {
        from,
        count,
        targets,
    }
}
