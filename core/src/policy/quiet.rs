//! The pre-scaler's other decision: which `acu-pilot:quiet` layer a cluster should carry
//! now, from its active quiet calendar windows, and whether the tag must change. How the
//! layer combines with the others is `desired()`'s business, not this module's.
//!
//! A quiet window acts from its start (no lead: lowering early saves nothing a sale would
//! miss, and raising late is what the lead is for) until its end. Overlapping quiet
//! windows combine to the quieter range: the lowest min (an absent min is the floor, the
//! lowest of all), the lowest cap, hard if any is hard; the layer lasts until the
//! earliest end, so it never outlives a window it was made from, and the next tick writes
//! what the remaining windows want.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::calendar::Window;
use crate::capacity::{Acu, Guardrails};
use crate::policy::prescale::LayerChange;
use crate::tags::{Layer, LayerKind};

/// What a tag value's `by` may hold (as the prescale plan).
const MAX_BY_LEN: usize = 160;

/// The decision for one cluster at one tick.
#[derive(Clone, Debug, PartialEq)]
pub struct QuietPlan {
    /// The layer the cluster should carry (the current one when kept), or none.
    pub layer: Option<Layer>,
    pub change: LayerChange,
    pub reasons: Vec<String>,
}

/// The wanted quiet layer at `now` from this cluster's calendar `windows` (non-quiet and
/// inactive ones are ignored) and how it differs from `current`.
pub fn plan_quiet(now: DateTime<Utc>, windows: &[&Window], current: Option<&Layer>) -> QuietPlan {
    let mut quiet: Vec<&&Window> = windows
        .iter()
        .filter(|w| w.quiet.is_some() && w.start <= now && now < w.end)
        .collect();
    quiet.sort_by(|a, b| (a.start, &a.name).cmp(&(b.start, &b.name)));
    let mut reasons = Vec::new();
    let mut wanted: Option<Layer> = None;
    for window in quiet {
        let Some(q) = window.quiet else { continue };
        let label = format!("calendar:{}", window.name);
        reasons.push(format!(
            "{label} quiet {}–{}: min {}, max {}{}",
            window.start.format("%Y-%m-%dT%H:%MZ"),
            window.end.format("%Y-%m-%dT%H:%MZ"),
            q.min.map_or("floor".to_owned(), |m| m.to_string()),
            q.max.map_or("as it is".to_owned(), |m| m.to_string()),
            if q.hard { " (hard cap)" } else { "" }
        ));
        wanted = Some(match wanted {
            None => Layer {
                kind: LayerKind::Quiet,
                min: q.min,
                max: q.max,
                until: window.end,
                by: label,
                at: Some(now),
                hard: q.hard,
            },
            Some(layer) => Layer {
                min: layer.min.zip(q.min).map(|(a, b)| a.min(b)),
                max: match (layer.max, q.max) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                },
                until: layer.until.min(window.end),
                by: format!("{}+{label}", layer.by),
                hard: layer.hard || q.hard,
                ..layer
            },
        });
    }
    let Some(mut layer) = wanted else {
        let change = if current.is_some() {
            reasons.push("no quiet window: the quiet layer is removed".to_owned());
            LayerChange::Remove
        } else {
            LayerChange::None
        };
        return QuietPlan {
            layer: None,
            change,
            reasons,
        };
    };
    layer.by.truncate(MAX_BY_LEN);
    if let Some(kept) = current.filter(|c| {
        c.kind == LayerKind::Quiet
            && (c.min, c.max, c.hard, &c.by, c.until)
                == (layer.min, layer.max, layer.hard, &layer.by, layer.until)
            && now < c.until
    }) {
        return QuietPlan {
            layer: Some(kept.clone()),
            change: LayerChange::Keep,
            reasons,
        };
    }
    QuietPlan {
        layer: Some(layer.clone()),
        change: LayerChange::Write(layer),
        reasons,
    }
}

/// Aurora Standard's price per ACU-hour in us-east-1 (the simulator's default too), for
/// estimates in dollars.
pub const PRICE_PER_ACU_HOUR: f64 = 0.12;

/// What a cluster's quiet windows would have saved on its own capacity history, the
/// series the forecast reads. Capacity is what Aurora billed; the demand below it is not
/// in the series, so each figure is a bound, named for what it assumes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuietSavings {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Hours of history inside a quiet window.
    pub quiet_hours: f64,
    /// What the cluster used in those hours.
    pub acu_hours_used: f64,
    /// Saved by the lower min, at most: each sample at or below the baseline min (the
    /// cluster idling at its min) taken down to the quiet min. Demand may have held some
    /// of it up.
    pub acu_hours_at_min: f64,
    /// Capacity above the cap: what a hard cap would have saved, as demand left unmet; a
    /// soft cap gives it back when the high alarm's boost lifts it.
    pub acu_hours_over_cap: f64,
    pub dollars_at_min: f64,
    pub dollars_over_cap: f64,
}

/// [`QuietSavings`] of `windows` (the quiet ones that target the cluster; others are
/// ignored) on `history`, samples of one `period` each, oldest first. `None` when no
/// sample falls in a quiet window.
pub fn estimate_savings(
    history: &[(DateTime<Utc>, f64)],
    period: TimeDelta,
    windows: &[&Window],
    baseline_min: Acu,
    guardrails: &Guardrails,
) -> Option<QuietSavings> {
    let hours = period.num_seconds() as f64 / 3600.0;
    let lowest = if guardrails.allow_auto_pause {
        guardrails.floor
    } else {
        guardrails.floor.max(Acu::HALF)
    };
    let (mut quiet_hours, mut used, mut at_min, mut over_cap) = (0.0, 0.0, 0.0, 0.0);
    for &(at, acu) in history {
        let active: Vec<_> = windows
            .iter()
            .filter_map(|w| w.quiet.filter(|_| w.start <= at && at < w.end))
            .collect();
        if active.is_empty() {
            continue;
        }
        // Overlapping windows combine as plan_quiet combines them.
        let min = active
            .iter()
            .map(|q| q.min.unwrap_or(lowest).max(lowest))
            .min()
            .unwrap_or(lowest);
        let cap = active.iter().filter_map(|q| q.max).min();
        quiet_hours += hours;
        used += acu * hours;
        if acu <= baseline_min.value() {
            at_min += (acu - min.value()).max(0.0) * hours;
        }
        if let Some(cap) = cap {
            over_cap += (acu - cap.value()).max(0.0) * hours;
        }
    }
    if quiet_hours == 0.0 {
        return None;
    }
    Some(QuietSavings {
        from: history.first()?.0,
        to: history.last()?.0,
        quiet_hours,
        acu_hours_used: used,
        acu_hours_at_min: at_min,
        acu_hours_over_cap: over_cap,
        dollars_at_min: at_min * PRICE_PER_ACU_HOUR,
        dollars_over_cap: over_cap * PRICE_PER_ACU_HOUR,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Calendar;
    use std::collections::BTreeMap;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const NIGHTS: &str = r#"
timezone: Europe/Berlin
events:
  - name: nights
    every: "0 20 * * *"
    duration: 11h
    clusters: [dev-db]
    quiet: {min: 0, max: 2}
  - name: sale
    start: 2026-11-27T22:00
    duration: 2h
    clusters: [dev-db]
    min: 8
"#;

    fn plan_at(now: &str, current: Option<&Layer>) -> QuietPlan {
        let cal = Calendar::parse(NIGHTS).unwrap();
        let windows = cal.active_for("dev-db", &BTreeMap::new(), t(now));
        let refs: Vec<&Window> = windows.iter().collect();
        plan_quiet(t(now), &refs, current)
    }

    #[test]
    fn a_nightly_quiet_window_writes_at_its_start_keeps_and_goes_at_its_end() {
        // 20:00 CET is 19:00 UTC; no lead: 18:59 UTC is not quiet yet.
        assert_eq!(
            plan_at("2026-11-25T18:59:00Z", None).change,
            LayerChange::None
        );
        let p = plan_at("2026-11-25T19:00:00Z", None);
        let LayerChange::Write(layer) = &p.change else {
            panic!("{p:?}")
        };
        assert_eq!(
            layer.to_tag_value(),
            "min=0 max=2 until=2026-11-26T06:00:00Z by=calendar:nights at=2026-11-25T19:00:00Z"
        );
        // A repeated tick keeps it.
        assert_eq!(
            plan_at("2026-11-26T03:00:00Z", Some(layer)).change,
            LayerChange::Keep
        );
        // After the end it is removed.
        assert_eq!(
            plan_at("2026-11-26T06:00:00Z", Some(layer)).change,
            LayerChange::Remove
        );
    }

    #[test]
    fn the_prescale_plan_ignores_quiet_windows_and_this_one_ignores_sales() {
        let cal = Calendar::parse(NIGHTS).unwrap();
        let now = t("2026-11-27T21:30:00Z");
        let windows = cal.active_for("dev-db", &BTreeMap::new(), now);
        let refs: Vec<&Window> = windows.iter().collect();
        let q = plan_quiet(now, &refs, None);
        assert_eq!(q.layer.unwrap().by, "calendar:nights");
        let cfg = crate::config::Config::from_map(&Default::default())
            .unwrap()
            .prescale;
        let p = crate::policy::prescale::plan_prescale(
            now,
            &refs,
            None,
            None,
            &cfg,
            &crate::capacity::Guardrails::default(),
        );
        assert_eq!(p.layer.unwrap().by, "calendar:sale");
    }
}

#[cfg(test)]
mod savings_tests {
    use super::*;
    use crate::calendar::Calendar;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Two hours of history at 5-minute samples: an idle hour at the baseline min 2, then
    /// an hour at 6 ACU; the quiet window (min 0.5, cap 4) covers both.
    #[test]
    fn savings_count_the_idle_min_and_the_capacity_over_the_cap() {
        let cal = Calendar::parse(
            "events:\n  - name: night\n    start: 2026-11-20T00:00\n    duration: 2h\n    clusters: [db]\n    quiet: {min: 0.5, max: 4}\n",
        )
        .unwrap();
        let windows = cal.windows(t("2026-11-19T00:00:00Z"), t("2026-11-21T00:00:00Z"));
        let refs: Vec<&Window> = windows.iter().collect();
        let history: Vec<_> = (0..36)
            .map(|i| {
                let at = t("2026-11-19T23:00:00Z") + TimeDelta::minutes(5 * i);
                (at, if i < 24 { 2.0 } else { 6.0 })
            })
            .collect();
        let guardrails = Guardrails::new(Acu::HALF, Acu::new(64.0).unwrap(), false).unwrap();
        let s = estimate_savings(
            &history,
            TimeDelta::minutes(5),
            &refs,
            Acu::new(2.0).unwrap(),
            &guardrails,
        )
        .unwrap();
        // 00:00–01:00 at 2 (12 samples), 01:00–02:00 at 6; 23:00–00:00 is outside.
        assert!((s.quiet_hours - 2.0).abs() < 1e-9, "{s:?}");
        assert!((s.acu_hours_used - 8.0).abs() < 1e-9, "{s:?}");
        assert!((s.acu_hours_at_min - 1.5).abs() < 1e-9, "{s:?}");
        assert!((s.acu_hours_over_cap - 2.0).abs() < 1e-9, "{s:?}");
        assert!((s.dollars_over_cap - 0.24).abs() < 1e-9, "{s:?}");
        // No quiet window over the history: nothing to estimate.
        assert_eq!(
            estimate_savings(
                &history[..12],
                TimeDelta::minutes(5),
                &refs,
                Acu::HALF,
                &guardrails
            ),
            None
        );
    }
}
