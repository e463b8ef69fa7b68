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

/// `held` covers `wanted`: set where `wanted` is, and not below it.
fn at_least(held: Option<Acu>, wanted: Option<Acu>) -> bool {
    match (held, wanted) {
        (_, None) => true,
        (Some(held), Some(wanted)) => held >= wanted,
        (None, Some(_)) => false,
    }
}

fn describe_range(min: Option<Acu>, max: Option<Acu>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("min {min}, max {max}"),
        (Some(min), None) => format!("min {min}"),
        (None, Some(max)) => format!("max {max}"),
        (None, None) => "nothing".to_owned(),
    }
}

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
/// predicted peak exceeds the floor by `cfg.threshold`: min becomes `warm_fraction ×
/// peak` rounded up to 0.5 ACU, from `cfg.lead` before the predicted rise until one
/// horizon after the peak's end, so the layer outlives the slide of the horizon instead
/// of being rewritten every tick. `min: auto` windows use the same prediction.
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

    let mut calendar: Vec<&&Window> = windows.iter().filter(|w| w.active(now)).collect();
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

    // The next rise, when the forecast predicts one above the threshold but not yet.
    let mut rise_later: Option<DateTime<Utc>> = None;
    if let Some(f) = forecast {
        match f.predicted_peak {
            None => reasons.push(format!("forecast: {}", f.explanation)),
            Some(peak) if peak <= guardrails.floor.value() + cfg.threshold.value() => {
                reasons.push(format!(
                    "forecast: peak {peak:.1} does not exceed floor {} + threshold {}; {}",
                    guardrails.floor, cfg.threshold, f.explanation
                ));
            }
            Some(peak) => {
                let lead = TimeDelta::from_std(cfg.lead).unwrap_or_default();
                let rise = f.rise_at.unwrap_or(f.now);
                let from = rise - lead;
                let peak_end = f.peak_end.unwrap_or(f.horizon_end).max(now);
                if now < from {
                    rise_later = Some(rise);
                    reasons.push(format!(
                        "forecast: peak {peak:.1} expected from {}; pre-scales from {}; {}",
                        fmt(rise),
                        fmt(from),
                        f.explanation
                    ));
                } else {
                    let min = warm_min(peak);
                    let horizon = f.horizon_end - f.now;
                    let until = peak_end + horizon;
                    reasons.push(format!(
                        "forecast active {}–{}: min {} × {peak:.1} → {min}; {}",
                        fmt(from),
                        fmt(until),
                        cfg.warm_fraction,
                        f.explanation
                    ));
                    needed_until = needed_until.max(Some(peak_end));
                    written_until = written_until.max(Some(until));
                    by.push(FORECAST_ONLY.to_owned());
                    active.push(ActiveWindow {
                        source: Source::Forecast,
                        name: "forecast".to_owned(),
                        from,
                        until,
                        min: Some(min),
                        max: None,
                    });
                }
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

    let wanted = match (min.or(max), needed_until, written_until) {
        (Some(_), Some(needed), Some(written)) => Some((needed, written)),
        _ => None,
    };
    // A forecast layer is held, not rewritten, until its `until` while the forecast still
    // sees the peak coming: the horizon slides every tick, so the predicted rise and peak
    // wobble by a step or an interval, and following each wobble flapped the layer
    // (written, removed five minutes later, written again) dozens of times a day.
    let held =
        current.filter(|c| c.kind == LayerKind::Prescale && c.by == FORECAST_ONLY && now < c.until);
    let Some((needed, written)) = wanted else {
        if let (Some(held), Some(rise)) = (held, rise_later) {
            reasons.push(format!(
                "forecast layer held until {}: the forecast still expects the rise at {}",
                fmt(held.until),
                fmt(rise)
            ));
            return PrescalePlan {
                layer: Some(held.clone()),
                change: LayerChange::Keep,
                windows: active,
                reasons,
            };
        }
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
    let kept = kept.or_else(|| {
        held.filter(|c| {
            c.by == by && needed <= c.until && at_least(c.min, min) && at_least(c.max, max)
        })
        .inspect(|c| {
            reasons.push(format!(
                "forecast layer held until {}: the new forecast ({} until {}) asks no more",
                fmt(c.until),
                describe_range(min, max),
                fmt(written)
            ))
        })
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::calendar::{Calendar, Targets};
    use crate::forecast::{ForecastSpec, predict};
    use crate::zone::Zone;
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

    /// Four weeks of history with a 1-hour 24 ACU peak every Friday at 18:00 UTC.
    fn friday_history(end: DateTime<Utc>) -> Vec<(DateTime<Utc>, f64)> {
        let mut out = Vec::new();
        let mut at = end - TimeDelta::weeks(4);
        while at < end {
            let peak = at.format("%a %H").to_string() == "Fri 18";
            out.push((at, if peak { 24.0 } else { 1.0 }));
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
    fn the_forecast_prescales_on_friday_but_not_on_thursday() {
        let friday = t("2026-11-20T17:35:00Z");
        let p = forecast_plan(friday, &friday_history(friday), None);
        let layer = written(&p);
        assert_eq!(layer.min, Some(acu(12.0))); // 0.5 × 24
        assert_eq!(layer.max, None);
        assert_eq!(layer.by, "forecast");
        assert!(layer.until > t("2026-11-20T19:00:00Z"));
        assert!(
            p.reasons
                .iter()
                .any(|r| r.contains("median of weekly peaks")),
            "{:?}",
            p.reasons
        );

        let thursday = t("2026-11-19T17:35:00Z");
        let p = forecast_plan(thursday, &friday_history(thursday), None);
        assert_eq!(p.change, LayerChange::None);
        assert!(p.reasons[0].contains("does not exceed"), "{:?}", p.reasons);

        // 17:25 is more than the 30m lead before the 18:00 rise.
        let early = t("2026-11-20T17:25:00Z");
        assert_eq!(
            forecast_plan(early, &friday_history(early), None).change,
            LayerChange::None
        );
    }

    #[test]
    fn forecast_ticks_through_a_peak_write_once_then_remove() {
        let mut current: Option<Layer> = None;
        let mut writes = 0;
        let mut removes = 0;
        let mut now = t("2026-11-20T17:00:00Z");
        let history = friday_history(t("2026-11-20T17:00:00Z"));
        while now < t("2026-11-20T21:00:00Z") {
            let p = forecast_plan(now, &history, current.as_ref());
            match p.change {
                LayerChange::Write(layer) => {
                    writes += 1;
                    current = Some(layer);
                }
                LayerChange::Remove => {
                    removes += 1;
                    current = None;
                }
                LayerChange::Keep | LayerChange::None => {}
            }
            now += TimeDelta::minutes(5);
        }
        assert_eq!((writes, removes), (1, 1));
    }

    fn forecast_layer(min: f64, until: &str) -> Layer {
        Layer {
            kind: LayerKind::Prescale,
            min: Some(acu(min)),
            max: None,
            until: t(until),
            by: FORECAST_ONLY.into(),
            at: Some(t("2026-11-20T17:00:00Z")),
        }
    }

    #[test]
    fn a_forecast_layer_is_held_while_the_rise_is_still_expected() {
        // 17:25: the rise is predicted at 18:00, 35 minutes away, outside the 30m lead.
        let now = t("2026-11-20T17:25:00Z");
        let history = friday_history(now);
        let current = forecast_layer(12.0, "2026-11-20T20:00:00Z");
        let p = forecast_plan(now, &history, Some(&current));
        assert_eq!(p.change, LayerChange::Keep, "{:?}", p.reasons);
        assert_eq!(p.layer.as_ref(), Some(&current));
        assert!(
            p.reasons.iter().any(|r| r.contains("held")),
            "{:?}",
            p.reasons
        );

        // Past its `until`, nothing holds it.
        let expired = forecast_layer(12.0, "2026-11-20T17:20:00Z");
        assert_eq!(
            forecast_plan(now, &history, Some(&expired)).change,
            LayerChange::Remove
        );
        // When the forecast no longer sees a peak at all, it goes at once.
        let thursday = t("2026-11-19T17:25:00Z");
        let unexpired = forecast_layer(12.0, "2026-11-19T20:00:00Z");
        assert_eq!(
            forecast_plan(thursday, &friday_history(thursday), Some(&unexpired)).change,
            LayerChange::Remove
        );
        // A calendar layer is the calendar's: not held by a forecast.
        let calendar = Layer {
            by: "calendar:sale".into(),
            ..current.clone()
        };
        assert_eq!(
            forecast_plan(now, &history, Some(&calendar)).change,
            LayerChange::Remove
        );
    }

    #[test]
    fn a_forecast_layer_is_raised_or_extended_but_not_lowered_before_its_end() {
        let now = t("2026-11-20T17:35:00Z"); // wants min 12 through the 18:00–19:00 peak
        let history = friday_history(now);
        let higher = forecast_layer(14.0, "2026-11-20T20:00:00Z");
        let p = forecast_plan(now, &history, Some(&higher));
        assert_eq!(p.change, LayerChange::Keep, "{:?}", p.reasons);
        assert_eq!(p.layer.as_ref(), Some(&higher));

        let lower = forecast_layer(10.0, "2026-11-20T20:00:00Z");
        assert_eq!(
            written(&forecast_plan(now, &history, Some(&lower))).min,
            Some(acu(12.0))
        );

        let too_short = forecast_layer(14.0, "2026-11-20T18:30:00Z");
        let extended = written(&forecast_plan(now, &history, Some(&too_short))).clone();
        assert_eq!(extended.min, Some(acu(12.0)));
        assert!(extended.until > t("2026-11-20T19:00:00Z"));
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
        assert_eq!(layer.by, "calendar:launch+forecast");

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
        let now = t("2026-11-20T17:35:00Z");
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        /// Holding a forecast layer never leaves the cluster colder than a fresh plan would,
        /// and never keeps a layer past its `until`.
        #[test]
        fn a_held_forecast_layer_is_never_colder_than_a_fresh_one(
            hourly in proptest::collection::vec(1u8..40, 24),
        ) {
            let start = t("2026-11-20T00:00:00Z");
            let demand = |at: DateTime<Utc>| f64::from(hourly[at.format("%H").to_string().parse::<usize>().unwrap()]);
            let mut history = Vec::new();
            let mut at = start - TimeDelta::weeks(4);
            while at < start + TimeDelta::days(1) {
                history.push((at, demand(at)));
                at += TimeDelta::minutes(5);
            }
            let mut current: Option<Layer> = None;
            let mut now = start;
            while now < start + TimeDelta::days(1) {
                let past = &history[..history.partition_point(|(at, _)| *at < now)];
                let fresh = forecast_plan(now, past, None);
                let p = forecast_plan(now, past, current.as_ref());
                if let Some(wanted) = &fresh.layer {
                    let layer = p.layer.as_ref();
                    prop_assert!(layer.is_some_and(|l| l.min >= wanted.min), "{now}: {:?} vs {:?}", layer, wanted);
                }
                if let Some(layer) = &p.layer {
                    prop_assert!(now < layer.until, "{now}: {:?} kept past its end", layer);
                }
                current = p.layer.map(|l| Layer::parse(LayerKind::Prescale, &l.to_tag_value()).unwrap());
                now += TimeDelta::minutes(5);
            }
        }
    }
}
