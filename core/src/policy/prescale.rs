//! The pre-scaler's decision: which `acu-pilot:prescale` layer a cluster should carry now,
//! from its active calendar windows and its forecast, and whether the tag must change.
//!
//! Windows combine by max. The layer's `until` is the end of the latest contributing
//! window, a fact of the calendar (or of the predicted peak) rather than of the clock, so
//! a tick repeated with nothing changed writes nothing.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::calendar::{MinSpec, Source, Window};
use crate::capacity::{Acu, Guardrails};
use crate::config::PrescaleConfig;
use crate::forecast::Forecast;
use crate::tags::{Layer, LayerKind};

/// What a tag value's `by` may hold; longer values are cut by the tag writer, so the
/// plan cuts them first to compare like with like.
const MAX_BY_LEN: usize = 160;

/// The `by` of a layer that only the forecast wrote.
const FORECAST_ONLY: &str = "forecast";

/// The most range changes the forecast may make in any 24 hours (so in any cluster-day).
pub const FORECAST_CHANGES_PER_DAY: i32 = 24;

/// The forecast's write budget, a pacing clock (GCRA, the leaky bucket as a meter): each
/// change moves the clock to `max(clock, now) + PACE`; a rise may come while the clock is
/// at most `BURST × PACE` ahead of now (a morning ramp's rises, back to back), a fall
/// only while it is at most one `PACE` ahead, so falls (a long evening decline) leave
/// two changes in hand for the rises after them. Any changes `t1 < … < tk` then satisfy
/// `tk ≥ t1 + (k − 1 − BURST) × PACE`, so 24 hours hold `k < 24 h / PACE + 1 + BURST`:
/// with 69 minutes and a burst of 3, at most 24 ([`FORECAST_CHANGES_PER_DAY`]). The
/// clock lives in the forecast layer's `at`, so the stateless pre-scaler reads it back at
/// every tick, and a noisy forecast cannot spend the day's ModifyDBCluster calls going
/// up and down.
pub const PACE: TimeDelta = TimeDelta::minutes(69);
pub const BURST: i32 = 3;

/// The pre-scaler's schedule (template.yaml: `rate(5 minutes)`).
const TICK: TimeDelta = TimeDelta::minutes(5);

/// What to do with the cluster's `acu-pilot:prescale` tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerChange {
    /// Write (create or replace) the tag with this layer.
    Write(Layer),
    /// The tag already says what is wanted.
    Keep,
    /// Delete the tag: nothing wants a pre-scale any more.
    Remove,
    /// No tag, and none wanted.
    None,
}

impl LayerChange {
    /// `written`, `kept`, `removed` or `none`, for the tick's report.
    pub fn label(&self) -> &'static str {
        match self {
            LayerChange::Write(_) => "written",
            LayerChange::Keep => "kept",
            LayerChange::Remove => "removed",
            LayerChange::None => "none",
        }
    }

    pub fn changes_tag(&self) -> bool {
        matches!(self, LayerChange::Write(_) | LayerChange::Remove)
    }
}

/// A window that contributes to the layer now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActiveWindow {
    pub source: Source,
    pub name: String,
    /// When it started to act (window start minus lead).
    pub from: DateTime<Utc>,
    /// When it stops acting.
    pub until: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<Acu>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<Acu>,
}

/// The decision for one cluster at one tick.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PrescalePlan {
    /// The layer the cluster should carry (the current one when kept), or none.
    pub layer: Option<Layer>,
    pub change: LayerChange,
    pub windows: Vec<ActiveWindow>,
    /// One line per window or forecast considered, saying what it did and why.
    pub reasons: Vec<String>,
}

/// The wanted prescale layer at `now` and how it differs from `current`.
///
/// `windows` are the calendar windows targeting this cluster (inactive ones are ignored);
/// `forecast` is the cluster's prediction, if one was made. The forecast acts when its
/// warm min for the current block is `cfg.threshold` above the floor. Its layer is written
/// for `cfg.warm_hold` and kept while its min is within `cfg.warm_band` (or half an ACU) of
/// the block's warm min; its changes are paced by a write budget of
/// [`FORECAST_CHANGES_PER_DAY`] a day ([`PACE`], [`BURST`]): a rise comes at once unless
/// the budget is spent, a fall waits until a change is left in hand after it; a rise that
/// spends the burst covers the blocks ahead that the budget would make wait for theirs.
/// `min: auto` windows use `warm_fraction` × the predicted peak.
pub fn plan_prescale(
    now: DateTime<Utc>,
    windows: &[&Window],
    forecast: Option<&Forecast>,
    current: Option<&Layer>,
    cfg: &PrescaleConfig,
    guardrails: &Guardrails,
) -> PrescalePlan {
    let mut reasons = Vec::new();
    let mut active = Vec::new();
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%MZ").to_string();
    let forecast = forecast.filter(|_| cfg.forecast_enabled);
    let warm_min = |peak: f64| Acu::ceil_step(cfg.warm_fraction * peak);

    // The instant the layer must reach, and the one it is written with.
    let mut needed_until: Option<DateTime<Utc>> = None;
    let mut written_until: Option<DateTime<Utc>> = None;
    let mut by = Vec::new();

    // Quiet windows lower and cap: they are the quiet layer's (policy::quiet), not ours.
    let mut calendar: Vec<&&Window> = windows
        .iter()
        .filter(|w| w.active(now) && w.quiet.is_none())
        .collect();
    calendar.sort_by(|a, b| (a.start, &a.name).cmp(&(b.start, &b.name)));
    for window in calendar {
        let label = format!("calendar:{}", window.name);
        let span = format!(
            "{}–{} (lead {})",
            fmt(window.lead_start()),
            fmt(window.end),
            crate::config::format_duration(window.lead.to_std().unwrap_or_default())
        );
        let min = match window.min {
            MinSpec::Fixed(min) => Some(min),
            MinSpec::Auto => match forecast.and_then(|f| f.predicted_peak) {
                Some(peak) => Some(warm_min(peak)),
                None => {
                    reasons.push(format!(
                        "{label} active {span}: min auto, but there is no forecast{}",
                        forecast
                            .map(|f| format!(" ({})", f.explanation))
                            .unwrap_or_default()
                    ));
                    None
                }
            },
        };
        if min.is_none() && window.max.is_none() {
            reasons.push(format!("{label}: sets nothing without a forecast; ignored"));
            continue;
        }
        let detail = match (window.min, min) {
            (MinSpec::Auto, Some(min)) => format!(
                "min auto = {} × predicted peak {:.1} → {min}",
                cfg.warm_fraction,
                forecast.and_then(|f| f.predicted_peak).unwrap_or_default()
            ),
            (_, Some(min)) => format!("min {min}"),
            (_, None) => "min unchanged".to_owned(),
        };
        let max = window
            .max
            .map(|max| format!(", max {max}"))
            .unwrap_or_default();
        reasons.push(format!("{label} active {span}: {detail}{max}"));
        needed_until = needed_until.max(Some(window.end));
        written_until = written_until.max(Some(window.end));
        by.push(label);
        active.push(ActiveWindow {
            source: Source::Calendar,
            name: window.name.clone(),
            from: window.lead_start(),
            until: window.end,
            min,
            max: window.max,
        });
    }

    let mut below_threshold = None;
    if let Some(f) = forecast {
        match &f.warmth {
            None => reasons.push(format!("forecast: no warm min; {}", f.explanation)),
            Some(w) if w.min < guardrails.floor.value() + cfg.threshold.value() => {
                below_threshold = Some(w.min);
                reasons.push(format!(
                    "forecast: warm min {:.1} is not {} above the floor {}; {}",
                    w.min, cfg.threshold, guardrails.floor, f.explanation
                ));
            }
            Some(w) => {
                let min = Acu::ceil_step(w.min);
                // One tick past the hour, so the next hour's layer replaces this one
                // before the floor can show through between them.
                let until = w.until + TICK;
                let hold = crate::config::to_delta(cfg.warm_hold);
                let written = (w.from + hold + TICK).max(until);
                reasons.push(format!(
                    "forecast active {}–{}: min {min}; {}",
                    fmt(w.from),
                    fmt(until),
                    f.explanation
                ));
                needed_until = needed_until.max(Some(until));
                written_until = written_until.max(Some(written));
                by.push(FORECAST_ONLY.to_owned());
                active.push(ActiveWindow {
                    source: Source::Forecast,
                    name: "forecast".to_owned(),
                    from: w.from,
                    until,
                    min: Some(min),
                    max: None,
                });
            }
        }
    }

    let mut min = active.iter().filter_map(|w| w.min).max();
    let mut max = active.iter().filter_map(|w| w.max).max();
    if let Some(m) = min.filter(|m| *m > guardrails.ceiling) {
        reasons.push(format!(
            "min {m} capped at the ceiling {}",
            guardrails.ceiling
        ));
        min = Some(guardrails.ceiling);
    }
    if let Some(m) = max.filter(|m| *m > guardrails.ceiling) {
        reasons.push(format!(
            "max {m} capped at the ceiling {}",
            guardrails.ceiling
        ));
        max = Some(guardrails.ceiling);
    }
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        // A window's max is "raise max to at least this"; it must not push min down.
        reasons.push(format!("max {hi} raised to min {lo}"));
        max = Some(lo);
    }

    let calendar_active = active.iter().any(|w| w.source == Source::Calendar);
    // The forecast's own layer, still alive: the one whose pacing clock counts.
    let paced = current.filter(|c| {
        c.kind == LayerKind::Prescale && c.by == FORECAST_ONLY && c.max.is_none() && now < c.until
    });
    if !calendar_active && (min.is_some() || paced.is_some()) {
        let target = min.zip(needed_until).zip(written_until);
        let forecast = ForecastTarget {
            min: target.map(|((min, _), _)| min),
            needed: target.map(|((_, needed), _)| needed),
            written: target.map(|(_, written)| written),
            below_threshold,
            ahead: forecast
                .map(|f| {
                    f.ahead
                        .iter()
                        .map(|w| (w.from, Acu::ceil_step(w.min).min(guardrails.ceiling)))
                        .collect()
                })
                .unwrap_or_default(),
        };
        let (layer, change) = pace(
            now,
            current,
            paced,
            &forecast,
            cfg,
            guardrails,
            &mut reasons,
        );
        return PrescalePlan {
            layer,
            change,
            windows: active,
            reasons,
        };
    }

    let wanted = match (min.or(max), needed_until, written_until) {
        (Some(_), Some(needed), Some(written)) => Some((needed, written)),
        _ => None,
    };
    let Some((needed, written)) = wanted else {
        let change = if current.is_some() {
            reasons.push("no active window: the prescale layer is removed".to_owned());
            LayerChange::Remove
        } else {
            LayerChange::None
        };
        return PrescalePlan {
            layer: None,
            change,
            windows: active,
            reasons,
        };
    };

    let mut by = by.join("+");
    by.truncate(MAX_BY_LEN);
    let kept = current.filter(|c| {
        c.kind == LayerKind::Prescale
            && c.min == min
            && c.max == max
            && c.by == by
            && now < c.until
            && needed <= c.until
            && c.until <= written
    });
    if let Some(kept) = kept {
        return PrescalePlan {
            layer: Some(kept.clone()),
            change: LayerChange::Keep,
            windows: active,
            reasons,
        };
    }
    let layer = Layer {
        hard: false,
        kind: LayerKind::Prescale,
        min,
        max,
        until: written,
        by,
        at: Some(now),
    };
    PrescalePlan {
        layer: Some(layer.clone()),
        change: LayerChange::Write(layer),
        windows: active,
        reasons,
    }
}

/// What the forecast asks for at this tick, with no calendar window active.
struct ForecastTarget {
    /// The warm min; `None` when there is none worth holding.
    min: Option<Acu>,
    /// The layer must live until at least this (the block's end, one tick over)…
    needed: Option<DateTime<Utc>>,
    /// …and is written until this (the hold).
    written: Option<DateTime<Utc>>,
    /// A warm min too close to the floor to act on.
    below_threshold: Option<f64>,
    /// The warm mins of the blocks after the current one that start within a pace of now,
    /// with their starts.
    ahead: Vec<(DateTime<Utc>, Acu)>,
}

/// The forecast's layer under its write budget ([`PACE`]). A change of its min is a
/// ModifyDBCluster call, so every one moves the pacing clock kept in the layer's `at`: a
/// rise may come while the clock is at most `BURST` paces ahead, a fall while it is at
/// most one ahead; until then the layer is kept as it is (a rise waits, a fall holds the warmth
/// longer). A rise after which the budget would hold back the next one takes the warm min
/// of the blocks ahead that start before it is allowed, so a ramp is not warmed for a
/// block too late. A min within `warm_band` (or half an ACU) of the wanted one is kept: not
/// worth a call. When nothing is wanted any more the min falls to the floor in a layer
/// that lives until the clock has caught up, so removing it later loses no budget.
fn pace(
    now: DateTime<Utc>,
    current: Option<&Layer>,
    paced: Option<&Layer>,
    forecast: &ForecastTarget,
    cfg: &PrescaleConfig,
    guardrails: &Guardrails,
    reasons: &mut Vec<String>,
) -> (Option<Layer>, LayerChange) {
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%MZ").to_string();
    let floor = guardrails.floor;
    let want = forecast.min.unwrap_or(floor);
    let layer = |min: Acu, clock: DateTime<Utc>, until: DateTime<Utc>| Layer {
        hard: false,
        kind: LayerKind::Prescale,
        min: Some(min),
        max: None,
        until,
        by: FORECAST_ONLY.to_owned(),
        at: Some(clock),
    };
    // A warm layer outlives its clock by a tick, so the tick that may lower it finds it.
    let warm_until = |clock: DateTime<Utc>| forecast.written.unwrap_or(clock).max(clock + TICK);
    let Some(have) = paced.and_then(|c| c.min) else {
        // No layer of the forecast's own: a fresh budget.
        let Some(min) = forecast.min else {
            return match current {
                Some(_) => {
                    reasons.push("no active window: the prescale layer is removed".to_owned());
                    (None, LayerChange::Remove)
                }
                None => (None, LayerChange::None),
            };
        };
        let clock = now + PACE;
        let written = layer(min, clock, warm_until(clock));
        return (Some(written.clone()), LayerChange::Write(written));
    };
    let c = paced.expect("have comes from it");
    // A clock further ahead than any write could have set it is not ours: capped there.
    let clock = c.at.map_or(now, |at| at.min(now + PACE * (BURST + 1)));
    let close = (have.value() - want.value()).abs() <= Acu::HALF.value()
        || (have.value() <= want.value() * (1.0 + cfg.warm_band)
            && want.value() <= have.value() * (1.0 + cfg.warm_band));
    // A warm layer nothing wants any more is not left to expire (a change the budget
    // would not see): on its last tick it falls to the floor like any other fall, which
    // the budget always allows by then (the layer outlives its clock).
    let letting_go = forecast.min.is_none() && have > floor && c.until <= now + TICK;
    if close && !letting_go {
        if let Some(threshold) = forecast.below_threshold
            && have > floor
        {
            reasons.push(format!(
                "forecast layer min {have} kept: within one step of the warm min {threshold:.1}"
            ));
        }
        return match forecast.needed {
            // Still wanted past the layer's end: the same min and clock, written longer.
            Some(needed) if c.until < needed => {
                let longer = layer(have, clock, warm_until(clock).max(c.until));
                (Some(longer.clone()), LayerChange::Write(longer))
            }
            _ => (Some(c.clone()), LayerChange::Keep),
        };
    }
    let rising = want > have;
    let due = if rising {
        clock - PACE * BURST
    } else {
        clock - PACE
    };
    if now < due {
        reasons.push(format!(
            "forecast layer min {have} kept: the write budget ({FORECAST_CHANGES_PER_DAY} changes a day) allows a {} to {want} from {}",
            if rising { "rise" } else { "fall" },
            fmt(due)
        ));
        return (Some(c.clone()), LayerChange::Keep);
    }
    let clock = clock.max(now) + PACE;
    let next = match forecast.min {
        Some(min) => {
            // This rise moves the clock; a rise the next blocks want before the budget
            // allows another would wait behind it (a morning ramp climbing every half
            // hour), so it comes now, with this one.
            let next_rise = clock - PACE * BURST;
            let later = forecast
                .ahead
                .iter()
                .filter(|(from, ahead)| rising && *from < next_rise && *ahead > min)
                .max_by_key(|(_, ahead)| *ahead);
            match later {
                Some((from, ahead)) => {
                    reasons.push(format!(
                        "forecast layer min {ahead}, the warm min of the block from {}: the write budget allows no rise after this one until {}",
                        fmt(*from),
                        fmt(next_rise)
                    ));
                    layer(*ahead, clock, warm_until(clock))
                }
                None => layer(min, clock, warm_until(clock)),
            }
        }
        None => {
            reasons.push(format!(
                "forecast layer released to the floor {floor} until {}, when its write budget is whole again",
                fmt(clock)
            ));
            layer(floor, clock, clock)
        }
    };
    (Some(next.clone()), LayerChange::Write(next))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::calendar::{Calendar, Targets};
    use crate::forecast::{ForecastSpec, WARM_BLOCK, predict};
    use crate::zone::Zone;
    use chrono::{DurationRound, Timelike};
    use proptest::prelude::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn acu(v: f64) -> Acu {
        Acu::new(v).unwrap()
    }

    fn cfg() -> PrescaleConfig {
        crate::config::Config::from_map(&Default::default())
            .unwrap()
            .prescale
    }

    fn window(name: &str, start: &str, end: &str, min: MinSpec, max: Option<f64>) -> Window {
        Window {
            name: name.into(),
            source: Source::Calendar,
            start: t(start),
            end: t(end),
            lead: TimeDelta::minutes(30),
            min,
            max: max.map(acu),
            targets: Targets::Clusters(vec!["shop-db".into()]),
            timezone: Zone::UTC,
            quiet: None,
        }
    }

    fn plan(now: &str, windows: &[Window], current: Option<&Layer>) -> PrescalePlan {
        let refs: Vec<&Window> = windows.iter().collect();
        plan_prescale(t(now), &refs, None, current, &cfg(), &Guardrails::default())
    }

    fn written(plan: &PrescalePlan) -> &Layer {
        match &plan.change {
            LayerChange::Write(layer) => layer,
            other => panic!("expected a write, got {other:?}: {:?}", plan.reasons),
        }
    }

    #[test]
    fn an_active_window_writes_its_min_max_and_end() {
        let w = [window(
            "black-friday",
            "2026-11-27T05:00:00Z",
            "2026-11-28T11:00:00Z",
            MinSpec::Fixed(acu(8.0)),
            Some(64.0),
        )];
        let p = plan("2026-11-27T04:30:00Z", &w, None);
        let layer = written(&p);
        assert_eq!(layer.kind, LayerKind::Prescale);
        assert_eq!((layer.min, layer.max), (Some(acu(8.0)), Some(acu(64.0))));
        assert_eq!(layer.until, t("2026-11-28T11:00:00Z"));
        assert_eq!(layer.by, "calendar:black-friday");
        assert_eq!(p.windows.len(), 1);
        assert_eq!(LayerChange::Write(layer.clone()).label(), "written");
    }

    #[test]
    fn lead_time_from_a_new_york_calendar_starts_at_13_30_utc_not_13_29() {
        let cal = Calendar::parse(
            "timezone: America/New_York\nlead: 30m\nevents:\n  - name: sale\n    start: 2026-01-15T09:00\n    duration: 2h\n    clusters: [shop-db]\n    min: 8\n",
        )
        .unwrap();
        let tags = BTreeMap::new();
        let at = |now: &str| {
            let windows = cal.active_for("shop-db", &tags, t(now));
            let refs: Vec<&Window> = windows.iter().collect();
            plan_prescale(t(now), &refs, None, None, &cfg(), &Guardrails::default())
        };
        assert_eq!(at("2026-01-15T13:29:00Z").change, LayerChange::None);
        assert_eq!(written(&at("2026-01-15T13:30:00Z")).min, Some(acu(8.0)));
    }

    #[test]
    fn overlapping_windows_take_the_max_and_the_latest_end() {
        let w = [
            window(
                "a",
                "2026-05-01T10:00:00Z",
                "2026-05-01T12:00:00Z",
                MinSpec::Fixed(acu(8.0)),
                None,
            ),
            window(
                "b",
                "2026-05-01T11:00:00Z",
                "2026-05-01T14:00:00Z",
                MinSpec::Fixed(acu(4.0)),
                Some(32.0),
            ),
        ];
        let p = plan("2026-05-01T11:00:00Z", &w, None);
        let layer = written(&p);
        assert_eq!((layer.min, layer.max), (Some(acu(8.0)), Some(acu(32.0))));
        assert_eq!(layer.until, t("2026-05-01T14:00:00Z"));
        assert_eq!(layer.by, "calendar:a+calendar:b");
        // Once a has ended, b alone sets the layer.
        let later = plan("2026-05-01T12:30:00Z", &w, Some(layer));
        let layer = written(&later);
        assert_eq!(
            (layer.min, layer.by.as_str()),
            (Some(acu(4.0)), "calendar:b")
        );
    }

    #[test]
    fn after_the_window_the_layer_is_removed() {
        let w = [window(
            "a",
            "2026-05-01T10:00:00Z",
            "2026-05-01T12:00:00Z",
            MinSpec::Fixed(acu(8.0)),
            None,
        )];
        let during = plan("2026-05-01T11:00:00Z", &w, None);
        let layer = written(&during).clone();
        let after = plan("2026-05-01T12:00:00Z", &w, Some(&layer));
        assert_eq!(after.change, LayerChange::Remove);
        assert_eq!(after.layer, None);
        assert_eq!(
            plan("2026-05-01T12:00:00Z", &w, None).change,
            LayerChange::None
        );
        assert_eq!(
            plan("2026-05-01T12:00:00Z", &[], Some(&layer)).change,
            LayerChange::Remove
        );
    }

    #[test]
    fn repeated_ticks_keep_the_tag() {
        let w = [window(
            "a",
            "2026-05-01T10:00:00Z",
            "2026-05-01T12:00:00Z",
            MinSpec::Fixed(acu(8.0)),
            None,
        )];
        let layer = written(&plan("2026-05-01T09:30:00Z", &w, None)).clone();
        // Round-trip through the tag, as the next tick would read it.
        let layer = Layer::parse(LayerKind::Prescale, &layer.to_tag_value()).unwrap();
        for now in [
            "2026-05-01T09:35:00Z",
            "2026-05-01T10:00:00Z",
            "2026-05-01T11:55:00Z",
        ] {
            let p = plan(now, &w, Some(&layer));
            assert_eq!(p.change, LayerChange::Keep, "{now}");
            assert_eq!(p.layer.as_ref(), Some(&layer));
        }
        // A calendar edit that moves the end is written.
        let moved = [window(
            "a",
            "2026-05-01T10:00:00Z",
            "2026-05-01T13:00:00Z",
            MinSpec::Fixed(acu(8.0)),
            None,
        )];
        assert_eq!(
            written(&plan("2026-05-01T11:00:00Z", &moved, Some(&layer))).until,
            t("2026-05-01T13:00:00Z")
        );
    }

    /// Four weeks of history with a 1-hour 24 ACU peak every Friday at 18:00 UTC, idle
    /// (0.5 ACU) otherwise.
    fn friday_history(end: DateTime<Utc>) -> Vec<(DateTime<Utc>, f64)> {
        let mut out = Vec::new();
        let mut at = end - TimeDelta::weeks(4);
        while at < end {
            let peak = at.format("%a %H").to_string() == "Fri 18";
            out.push((at, if peak { 24.0 } else { 0.5 }));
            at += TimeDelta::minutes(5);
        }
        out
    }

    fn forecast_plan(
        now: DateTime<Utc>,
        history: &[(DateTime<Utc>, f64)],
        current: Option<&Layer>,
    ) -> PrescalePlan {
        let f = predict(history, now, &ForecastSpec::default());
        plan_prescale(now, &[], Some(&f), current, &cfg(), &Guardrails::default())
    }

    #[test]
    fn the_forecast_warms_the_peak_hour_from_one_tick_before_it_and_not_on_thursday() {
        // The block 17:55–18:25 was 24 ACU on every past Friday but its first five minutes,
        // the lead-in a rise is warmed through, which the budget does not count.
        let friday = t("2026-11-20T17:55:00Z");
        let p = forecast_plan(friday, &friday_history(friday), None);
        let layer = written(&p);
        assert_eq!((layer.min, layer.max), (Some(acu(24.0)), None));
        assert_eq!(layer.by, "forecast");
        // Written for the hold (2 h from the block's start, one tick after): the next
        // blocks keep it while it is close to their own warm min.
        assert_eq!(layer.until, t("2026-11-20T20:00:00Z"));
        assert!(
            p.reasons.iter().any(|r| r.contains("weekly pattern")),
            "{:?}",
            p.reasons
        );

        // The hour before: idle on every past Friday, so warming it for the rise after it
        // would have wasted far more than the budget.
        let before = t("2026-11-20T17:35:00Z");
        let p = forecast_plan(before, &friday_history(before), None);
        assert_eq!(p.change, LayerChange::None, "{:?}", p.reasons);

        let thursday = t("2026-11-19T17:55:00Z");
        let p = forecast_plan(thursday, &friday_history(thursday), None);
        assert_eq!(p.change, LayerChange::None, "{:?}", p.reasons);
    }

    #[test]
    fn forecast_ticks_through_a_peak_warm_once_release_to_the_floor_then_remove() {
        let mut current: Option<Layer> = None;
        let mut mins = Vec::new();
        let mut removed = Vec::new();
        let mut now = t("2026-11-20T17:00:00Z");
        let history = friday_history(t("2026-11-20T17:00:00Z"));
        while now < t("2026-11-20T22:00:00Z") {
            let p = forecast_plan(now, &history, current.as_ref());
            match p.change {
                LayerChange::Write(layer) => {
                    mins.push((now, layer.min.unwrap().value()));
                    current = Some(layer);
                }
                LayerChange::Remove => {
                    removed.push(now);
                    current = None;
                }
                LayerChange::Keep | LayerChange::None => {}
            }
            now += TimeDelta::minutes(5);
        }
        // Warm from 17:55, released to the floor when the forecast no longer wants it
        // (the budget has a change in hand); the floor layer goes when the budget is
        // whole again (17:55 + 2 × 69 min).
        assert_eq!(
            mins,
            [
                (t("2026-11-20T17:55:00Z"), 24.0),
                (t("2026-11-20T18:55:00Z"), 0.5)
            ]
        );
        assert_eq!(removed, [t("2026-11-20T20:15:00Z")]);
    }

    #[test]
    fn two_days_of_history_are_enough_for_a_daily_pattern() {
        // Two days at 0.5 ACU with 12 ACU every day from 09:00 to 17:00 UTC.
        let now = t("2026-11-18T08:55:00Z");
        let history: Vec<_> = (1..=2 * 288)
            .map(|k| {
                let at = now - TimeDelta::minutes(5 * k);
                let busy = (9..17).contains(&at.hour());
                (at, if busy { 12.0 } else { 0.5 })
            })
            .collect();
        let p = forecast_plan(now, &history, None);
        assert_eq!(written(&p).min, Some(acu(12.0)), "{:?}", p.reasons);
        assert!(
            p.reasons
                .iter()
                .any(|r| r.contains("daily pattern over 2 days")),
            "{:?}",
            p.reasons
        );
    }

    #[test]
    fn auto_min_uses_the_forecast_and_without_one_sets_nothing() {
        let now = t("2026-11-20T17:35:00Z");
        let w = [window(
            "launch",
            "2026-11-20T17:00:00Z",
            "2026-11-20T20:00:00Z",
            MinSpec::Auto,
            None,
        )];
        let refs: Vec<&Window> = w.iter().collect();
        let f = predict(&friday_history(now), now, &ForecastSpec::default());
        let p = plan_prescale(now, &refs, Some(&f), None, &cfg(), &Guardrails::default());
        let layer = written(&p);
        assert_eq!(layer.min, Some(acu(12.0)));
        // 17:35 is in an hour the forecast leaves cold: only the window sets the layer.
        assert_eq!(layer.by, "calendar:launch");

        let p = plan_prescale(now, &refs, None, None, &cfg(), &Guardrails::default());
        assert_eq!(p.change, LayerChange::None);
        assert!(
            p.reasons.iter().any(|r| r.contains("no forecast")),
            "{:?}",
            p.reasons
        );
    }

    #[test]
    fn the_layer_respects_the_ceiling_and_keeps_min_below_max() {
        let w = [window(
            "big",
            "2026-05-01T10:00:00Z",
            "2026-05-01T12:00:00Z",
            MinSpec::Fixed(acu(100.0)),
            Some(200.0),
        )];
        let layer = written(&plan("2026-05-01T10:00:00Z", &w, None)).clone();
        assert_eq!((layer.min, layer.max), (Some(acu(64.0)), Some(acu(64.0))));

        let now = t("2026-11-20T17:35:00Z");
        let w = [window(
            "auto",
            "2026-11-20T17:00:00Z",
            "2026-11-20T20:00:00Z",
            MinSpec::Auto,
            Some(8.0),
        )];
        let refs: Vec<&Window> = w.iter().collect();
        let f = predict(&friday_history(now), now, &ForecastSpec::default());
        let p = plan_prescale(now, &refs, Some(&f), None, &cfg(), &Guardrails::default());
        let layer = written(&p);
        assert_eq!((layer.min, layer.max), (Some(acu(12.0)), Some(acu(12.0))));
        Layer::parse(LayerKind::Prescale, &layer.to_tag_value()).unwrap();
    }

    #[test]
    fn a_disabled_forecast_is_ignored() {
        let now = t("2026-11-20T17:55:00Z");
        let f = predict(&friday_history(now), now, &ForecastSpec::default());
        let cfg = PrescaleConfig {
            forecast_enabled: false,
            ..cfg()
        };
        let p = plan_prescale(now, &[], Some(&f), None, &cfg, &Guardrails::default());
        assert_eq!(p.change, LayerChange::None);
    }

    proptest! {
        #[test]
        fn the_layer_is_the_max_of_active_windows_and_a_second_tick_keeps_it(
            specs in proptest::collection::vec((0i64..48, 1i64..48, 0u16..40, proptest::option::of(2u16..80)), 0..6),
            now_step in 0i64..96,
            later in 0i64..12,
        ) {
            let base = t("2026-05-01T00:00:00Z");
            let windows: Vec<Window> = specs
                .iter()
                .enumerate()
                .map(|(i, (start, len, min, max))| Window {
                    name: format!("w{i}"),
                    source: Source::Calendar,
                    start: base + TimeDelta::minutes(30 * start),
                    end: base + TimeDelta::minutes(30 * (start + len)),
                    lead: TimeDelta::minutes(30),
                    min: MinSpec::Fixed(Acu::from_halves(*min).unwrap()),
                    max: max.map(|m| Acu::from_halves(m.max(*min).max(2)).unwrap()),
                    targets: Targets::Clusters(vec!["db".into()]),
                    timezone: Zone::UTC,
                    quiet: None,
                })
                .collect();
            let refs: Vec<&Window> = windows.iter().collect();
            let now = base + TimeDelta::minutes(15 * now_step);
            let g = Guardrails::default();
            let p = plan_prescale(now, &refs, None, None, &cfg(), &g);
            let active: Vec<&Window> = windows.iter().filter(|w| w.active(now)).collect();
            match &p.change {
                LayerChange::Write(layer) => {
                    let want = active.iter().filter_map(|w| match w.min { MinSpec::Fixed(m) => Some(m), MinSpec::Auto => None }).max().unwrap();
                    prop_assert_eq!(layer.min, Some(want.min(g.ceiling)));
                    prop_assert_eq!(layer.until, active.iter().map(|w| w.end).max().unwrap());
                    let layer = Layer::parse(LayerKind::Prescale, &layer.to_tag_value()).unwrap();
                    let again = now + TimeDelta::minutes(5 * later);
                    let still: Vec<&Window> = windows.iter().filter(|w| w.active(again)).collect();
                    if still.iter().map(|w| &w.name).eq(active.iter().map(|w| &w.name)) {
                        let p2 = plan_prescale(again, &refs, None, Some(&layer), &cfg(), &g);
                        prop_assert_eq!(p2.change, LayerChange::Keep);
                    }
                }
                LayerChange::None => prop_assert!(active.is_empty()),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }

    /// The warm min `min` for the block from `from`.
    fn warm(from: DateTime<Utc>, min: f64) -> crate::forecast::Warmth {
        crate::forecast::Warmth {
            from,
            until: from + WARM_BLOCK,
            seasonality: "daily",
            days: 1,
            peak: min,
            level: None,
            min,
            waste: 0.0,
            held_back: false,
            record: None,
        }
    }

    /// A forecast whose warm min for the block holding `now` is `min`, and `ahead` for the
    /// blocks after it.
    fn forecast_of(now: DateTime<Utc>, min: f64, ahead: &[f64]) -> Forecast {
        let from = (now + TICK).duration_trunc(WARM_BLOCK).unwrap() - TICK;
        let mut f = predict(&[], now, &ForecastSpec::default());
        f.warmth = Some(warm(from, min));
        f.ahead = (1..)
            .zip(ahead)
            .map(|(k, min)| warm(from + WARM_BLOCK * k, *min))
            .collect();
        f
    }

    #[test]
    fn a_rise_that_spends_the_write_budget_brings_forward_the_rises_it_would_delay() {
        let now = t("2026-11-20T06:55:00Z");
        let f = forecast_of(now, 10.0, &[20.0, 30.0, 40.0]);
        let g = Guardrails::default();
        let layer_at = |clock: DateTime<Utc>| Layer {
            hard: false,
            kind: LayerKind::Prescale,
            min: Some(acu(5.0)),
            max: None,
            until: clock + TICK,
            by: FORECAST_ONLY.to_owned(),
            at: Some(clock),
        };
        let rise = |clock: DateTime<Utc>| {
            let current = layer_at(clock);
            let p = plan_prescale(now, &[], Some(&f), Some(&current), &cfg(), &g);
            (written(&p).min, p.reasons)
        };
        // Budget in hand: the next rise may come when its block does; this one is the
        // current block's.
        assert_eq!(rise(now).0, Some(acu(10.0)));
        assert_eq!(rise(now + PACE * 2).0, Some(acu(10.0)));
        // The last rise of the burst: the next is allowed 69 minutes later, at 08:04, after
        // the blocks from 07:25 and 07:55 have started (the higher of their mins), but
        // before the one from 08:25, which gets a rise of its own.
        let (min, reasons) = rise(now + PACE * BURST);
        assert_eq!(min, Some(acu(30.0)), "{reasons:?}");
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("block from 2026-11-20T07:55Z")
                    && r.contains("until 2026-11-20T08:04Z")),
            "{reasons:?}"
        );
        // A later block's min is held to the ceiling like the current one's.
        let over = forecast_of(now, 10.0, &[g.ceiling.value() + 16.0]);
        let p = plan_prescale(
            now,
            &[],
            Some(&over),
            Some(&layer_at(now + PACE * BURST)),
            &cfg(),
            &g,
        );
        assert_eq!(written(&p).min, Some(g.ceiling), "{:?}", p.reasons);
        // A fall is never raised for a later block: it would be a rise in disguise.
        let high = Layer {
            min: Some(acu(40.0)),
            ..layer_at(now)
        };
        let p = plan_prescale(now, &[], Some(&f), Some(&high), &cfg(), &g);
        assert_eq!(written(&p).min, Some(acu(10.0)), "{:?}", p.reasons);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever the forecast asks for at each tick (a warm min anywhere from the floor
        /// to the ceiling for the block and for the two after it, changing as often as
        /// every tick), the min the forecast's layer
        /// holds changes at most FORECAST_CHANGES_PER_DAY times in any 24 hours, and the
        /// layer is never left to expire with a min above the floor (its expiry would be a
        /// change nobody paced).
        #[test]
        fn the_forecast_changes_the_range_at_most_24_times_in_any_24_hours(
            wants in proptest::collection::vec(proptest::option::of((0u16..129, [0u16..129, 0u16..129])), 1..60),
            holds in proptest::collection::vec(1usize..8, 60),
        ) {
            let start = t("2026-11-20T00:07:00Z");
            let g = Guardrails::default();
            let mut current: Option<Layer> = None;
            let mut changes: Vec<(DateTime<Utc>, Acu)> = Vec::new();
            let mut held = g.floor;
            let mut now = start;
            // Each wanted min is held for a few ticks, then the next; over three days.
            let mut ticks = wants.iter().zip(holds.iter().cycle()).flat_map(|(w, n)| std::iter::repeat_n(*w, *n)).cycle();
            while now < start + TimeDelta::days(3) {
                let want = ticks.next().unwrap();
                let f = want.map(|(halves, ahead)| forecast_of(now, f64::from(halves) / 2.0, &ahead.map(|h| f64::from(h) / 2.0)));
                let live = current.as_ref().filter(|c| now < c.until);
                if let Some(c) = current.as_ref().filter(|c| now >= c.until) {
                    prop_assert_eq!(c.min, Some(g.floor), "{}: a warm layer expired: {:?}", now, c);
                }
                let p = plan_prescale(now, &[], f.as_ref(), live, &cfg(), &g);
                current = match p.change {
                    LayerChange::Write(layer) => Some(Layer::parse(LayerKind::Prescale, &layer.to_tag_value()).unwrap()),
                    LayerChange::Remove => None,
                    LayerChange::Keep => live.cloned(),
                    LayerChange::None => None,
                };
                let min = current.as_ref().and_then(|c| c.min).unwrap_or(g.floor).max(g.floor);
                if min != held {
                    changes.push((now, min));
                    held = min;
                }
                now += TICK;
            }
            for (i, (first, _)) in changes.iter().enumerate() {
                let within = changes[i..].iter().take_while(|(at, _)| *at < *first + TimeDelta::days(1)).count();
                prop_assert!(within <= FORECAST_CHANGES_PER_DAY as usize, "{within} changes from {first}: {:?}", changes);
            }
        }
    }
}
