//! The pre-scaler's spend budget decision (issue #14): whether a cluster with an
//! `acu-pilot:budget` (ACU-hours a day) should carry an `acu-pilot:budget-cap` layer now.
//!
//! A static tight max refuses demand whether or not anyone is paying too much. A budget
//! refuses it only while the spend is actually over what the owner said a day may cost:
//! max stays out of the way until the writer's trailing 24 h spend passes the budget, is
//! capped while it stays over, and is given back once the spend falls under
//! [`RESTORE_SHARE`] of the budget (the gap keeps one tick over and the next under from
//! writing and removing the cap every five minutes).
//!
//! The cap is the even burn rate, `budget ÷ 24 h`, rounded down to Aurora's half-ACU
//! step: a cluster held at it spends exactly the budget in a day, so while capped the
//! trailing spend can only fall towards the budget, as each new hour adds at most the cap
//! and the hour 24 h ago drops out. It is never below the floor (or 1 ACU, the least max
//! Aurora takes) and never above the baseline max: a budget looser than the baseline
//! refuses only what a boost or a sale would add above it. Spreading what is left of the
//! day's budget over the rest of the day would need a day to start at; a trailing window
//! has none, and the even rate is the level the window converges to.
//!
//! How the cap combines with the other layers is `desired()`'s: it is a hard cap that a
//! boost does not lift (that refusal is the point), min is cut to it too, and only a pin
//! beats it.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::capacity::{Acu, CapacityRange, Guardrails};
use crate::history::Series;
use crate::policy::prescale::LayerChange;
use crate::tags::{Layer, LayerKind};

/// The trailing window the spend is read over.
pub const WINDOW: TimeDelta = TimeDelta::hours(24);

/// Spend at or under this share of the budget takes the cap away.
pub const RESTORE_SHARE: f64 = 0.9;

/// How long a written cap lasts: a pre-scaler that stops ticking must not leave a cap
/// refusing demand for long after nobody checks the spend any more.
pub const CAP_TTL: TimeDelta = TimeDelta::hours(1);

/// A cap with less than this left is renewed (a tag write, no ModifyDBCluster).
pub const RENEW_BEFORE: TimeDelta = TimeDelta::minutes(30);

/// The `by` of every budget cap layer.
pub const BY: &str = "budget";

/// What the cap's writer announces.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum BudgetEvent {
    /// The cap is written where there was none: `Budget Exceeded`.
    Exceeded,
    /// The cap is taken away: `Budget Restored`.
    Restored,
}

impl BudgetEvent {
    pub fn detail_type(self) -> &'static str {
        match self {
            BudgetEvent::Exceeded => "Budget Exceeded",
            BudgetEvent::Restored => "Budget Restored",
        }
    }
}

/// The decision for one cluster at one tick.
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetPlan {
    /// The layer the cluster should carry (the current one when kept), or none.
    pub layer: Option<Layer>,
    pub change: LayerChange,
    /// The event to publish, if the cap comes or goes.
    pub event: Option<BudgetEvent>,
    pub reason: String,
}

/// ACU-hours spent over the [`WINDOW`] before `now`: each sample of `capacity` (one per
/// `period`, the period's start) in `[now - 24 h, now)` counts capacity × period. A
/// missing sample counts nothing: Aurora publishes no capacity while the cluster is paused.
/// The samples are CloudWatch's Average per period (what the forecast reads): the mean
/// capacity, so capacity × period is what Aurora billed for it, to CloudWatch's
/// 1-minute resolution.
pub fn spent(capacity: &Series, period: TimeDelta, now: DateTime<Utc>) -> f64 {
    let hours = period.num_seconds() as f64 / 3600.0;
    let from = now - WINDOW;
    capacity
        .iter()
        .filter(|(at, acu)| from <= *at && *at < now && acu.is_finite())
        .map(|(_, acu)| acu.max(0.0) * hours)
        .sum()
}

/// The max that holds a day's spend to `budget` ACU-hours: the module's even burn rate,
/// kept between the floor (and 1 ACU) and the baseline max.
pub fn cap_for(budget: f64, baseline: CapacityRange, guardrails: &Guardrails) -> Acu {
    let rate = budget / WINDOW.num_hours() as f64;
    // Rounded down: a cap rounded up would let a day at the cap overspend.
    let halves = (rate * 2.0 + 1e-9)
        .floor()
        .clamp(0.0, f64::from(Acu::MAX.halves()));
    let even = Acu::from_halves(halves as u16).unwrap_or(Acu::MAX);
    even.min(baseline.max).max(guardrails.floor).max(Acu::ONE)
}

/// The wanted budget cap at `now`. `budget` is the cluster's parsed `acu-pilot:budget`
/// (`None` without one, or when it does not parse: handled as no budget), `spent` the
/// trailing spend ([`spent`]), `current` the cap the cluster carries.
pub fn plan_budget(
    now: DateTime<Utc>,
    budget: Option<f64>,
    spent: f64,
    baseline: CapacityRange,
    guardrails: &Guardrails,
    current: Option<&Layer>,
) -> BudgetPlan {
    let current = current.filter(|c| c.kind == LayerKind::Budget);
    let Some(budget) = budget else {
        return match current {
            Some(_) => BudgetPlan {
                layer: None,
                change: LayerChange::Remove,
                event: Some(BudgetEvent::Restored),
                reason:
                    "no budget (acu-pilot:budget absent or unreadable): the budget cap is removed"
                        .to_owned(),
            },
            None => BudgetPlan {
                layer: None,
                change: LayerChange::None,
                event: None,
                reason: "no budget".to_owned(),
            },
        };
    };
    let cap = cap_for(budget, baseline, guardrails);
    let figures =
        format!("spent {spent:.1} ACU-h in the last 24 h of a budget of {budget} ACU-h/day");
    let restore_below = budget * RESTORE_SHARE;
    if spent <= restore_below || (current.is_none() && spent <= budget) {
        return match current {
            Some(_) => BudgetPlan {
                layer: None,
                change: LayerChange::Remove,
                event: Some(BudgetEvent::Restored),
                reason: format!(
                    "{figures}: back under {:.0} % of it, the cap is removed",
                    RESTORE_SHARE * 100.0
                ),
            },
            None => BudgetPlan {
                layer: None,
                change: LayerChange::None,
                event: None,
                reason: format!("{figures}: within it, max is not capped"),
            },
        };
    }
    let wanted = Layer {
        kind: LayerKind::Budget,
        min: None,
        max: Some(cap),
        until: now + CAP_TTL,
        by: BY.to_owned(),
        at: Some(now),
        hard: false,
    };
    let over = if spent > budget {
        "over it"
    } else {
        "not yet back under 90 % of it"
    };
    let reason = format!("{figures}: {over}, max is capped at {cap} ACU (the budget's even rate)");
    match current {
        Some(kept) if kept.max == Some(cap) && kept.until - now > RENEW_BEFORE => BudgetPlan {
            layer: Some(kept.clone()),
            change: LayerChange::Keep,
            event: None,
            reason,
        },
        // A renewal or a new cap level is no news; the cap's first write is.
        Some(_) => BudgetPlan {
            layer: Some(wanted.clone()),
            change: LayerChange::Write(wanted),
            event: None,
            reason,
        },
        None => BudgetPlan {
            layer: Some(wanted.clone()),
            change: LayerChange::Write(wanted),
            event: Some(BudgetEvent::Exceeded),
            reason,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn now() -> DateTime<Utc> {
        t("2026-12-10T14:00:00Z")
    }

    fn acu(v: f64) -> Acu {
        Acu::new(v).unwrap()
    }

    fn base() -> CapacityRange {
        CapacityRange::from_f64(0.5, 32.0).unwrap()
    }

    fn g() -> Guardrails {
        Guardrails::new(Acu::HALF, acu(64.0), false).unwrap()
    }

    /// `hours` of 5-minute samples at `level`, ending at `now`.
    fn flat(level: f64, hours: i64) -> Series {
        (1..=hours * 12)
            .map(|i| (now() - TimeDelta::minutes(5 * i), level))
            .collect()
    }

    #[test]
    fn spend_is_capacity_times_period_over_the_trailing_day_only() {
        let five = TimeDelta::minutes(5);
        assert!((spent(&flat(4.0, 24), five, now()) - 96.0).abs() < 1e-9);
        // Older than 24 h, at or after now, or not a number: not counted.
        let mut series = flat(2.0, 30);
        series.push((now(), 100.0));
        series.push((now() - TimeDelta::hours(1), f64::NAN));
        assert!((spent(&series, five, now()) - 48.0).abs() < 1e-9);
        assert_eq!(spent(&Vec::new(), five, now()), 0.0);
    }

    #[test]
    fn the_cap_is_the_even_rate_rounded_down_between_floor_and_baseline_max() {
        assert_eq!(cap_for(96.0, base(), &g()), acu(4.0));
        assert_eq!(cap_for(100.0, base(), &g()), acu(4.0), "4.17 rounds down");
        assert_eq!(cap_for(1.0, base(), &g()), Acu::ONE, "never below 1 ACU");
        let high_floor = Guardrails::new(acu(2.0), acu(64.0), false).unwrap();
        assert_eq!(cap_for(12.0, base(), &high_floor), acu(2.0));
        assert_eq!(
            cap_for(6000.0, base(), &g()),
            acu(32.0),
            "never above the baseline max"
        );
    }

    #[test]
    fn over_budget_writes_the_cap_and_says_so_once() {
        let p = plan_budget(now(), Some(48.0), 60.0, base(), &g(), None);
        let LayerChange::Write(layer) = &p.change else {
            panic!("{p:?}")
        };
        assert_eq!(p.event, Some(BudgetEvent::Exceeded));
        assert_eq!(
            layer.to_tag_value(),
            "max=2 until=2026-12-10T15:00:00Z by=budget at=2026-12-10T14:00:00Z"
        );
        assert!(p.reason.contains("spent 60.0 ACU-h"), "{}", p.reason);
        // The next tick keeps it, without an event…
        let later = now() + TimeDelta::minutes(5);
        let kept = plan_budget(later, Some(48.0), 59.0, base(), &g(), Some(layer));
        assert_eq!((kept.change, kept.event), (LayerChange::Keep, None));
        // …renews it near its end, still without one…
        let late = now() + TimeDelta::minutes(40);
        let renewed = plan_budget(late, Some(48.0), 59.0, base(), &g(), Some(layer));
        assert!(matches!(renewed.change, LayerChange::Write(_)));
        assert_eq!(renewed.event, None);
        // …and keeps it between 90 % and 100 % of the budget.
        let band = plan_budget(later, Some(48.0), 45.0, base(), &g(), Some(layer));
        assert_eq!(band.change, LayerChange::Keep);
        // At or under 90 %, it goes, and that is announced.
        let back = plan_budget(later, Some(48.0), 43.2, base(), &g(), Some(layer));
        assert_eq!(back.change, LayerChange::Remove);
        assert_eq!(back.event, Some(BudgetEvent::Restored));
    }

    #[test]
    fn under_budget_or_in_the_band_without_a_cap_nothing_is_written() {
        for spent in [0.0, 40.0, 45.0, 48.0] {
            let p = plan_budget(now(), Some(48.0), spent, base(), &g(), None);
            assert_eq!((p.change, p.event), (LayerChange::None, None), "{spent}");
        }
    }

    #[test]
    fn without_a_budget_a_leftover_cap_is_removed() {
        let cap = Layer {
            kind: LayerKind::Budget,
            min: None,
            max: Some(acu(2.0)),
            until: now() + CAP_TTL,
            by: BY.into(),
            at: Some(now()),
            hard: false,
        };
        let p = plan_budget(now(), None, 500.0, base(), &g(), Some(&cap));
        assert_eq!(p.change, LayerChange::Remove);
        assert_eq!(p.event, Some(BudgetEvent::Restored));
        let p = plan_budget(now(), None, 500.0, base(), &g(), None);
        assert_eq!(p.change, LayerChange::None);
    }

    proptest! {
        /// Whatever the spend and the cap it carries, the decision never leaves a cap
        /// outside floor..=baseline max, caps only when over (or in the band, already
        /// capped), never caps when at or under 90 %, and announces exactly the cap's
        /// coming and going.
        #[test]
        fn the_decision_is_hysteretic_bounded_and_announced(
            budget in 0.5f64..6144.0,
            share in 0.0f64..3.0,
            capped in any::<bool>(),
            base_max in 2u16..=512,
            floor in 1u16..=8,
            minutes in 0i64..120,
        ) {
            let baseline = CapacityRange::new(Acu::HALF, Acu::from_halves(base_max).unwrap()).unwrap();
            let guardrails = Guardrails::new(Acu::from_halves(floor).unwrap(), Acu::MAX, false).unwrap();
            let spent = budget * share;
            let current = capped.then(|| Layer {
                kind: LayerKind::Budget,
                min: None,
                max: Some(cap_for(budget, baseline, &guardrails)),
                until: now() + TimeDelta::minutes(minutes),
                by: BY.into(),
                at: None,
                hard: false,
            });
            let p = plan_budget(now(), Some(budget), spent, baseline, &guardrails, current.as_ref());
            if let Some(layer) = &p.layer {
                let cap = layer.max.unwrap();
                prop_assert!(cap >= guardrails.floor && cap >= Acu::ONE);
                prop_assert!(cap <= baseline.max.max(guardrails.floor).max(Acu::ONE));
                prop_assert!(spent > budget * RESTORE_SHARE);
                prop_assert!(spent > budget || capped);
                // What is written, every reader can read back.
                let value = layer.tag_value().unwrap();
                prop_assert_eq!(&Layer::parse(LayerKind::Budget, &value).unwrap(), layer);
            } else {
                let limit = if capped { budget * RESTORE_SHARE } else { budget };
                prop_assert!(spent <= limit, "{} > {}", spent, limit);
            }
            let expected = match (capped, p.layer.is_some()) {
                (false, true) => Some(BudgetEvent::Exceeded),
                (true, false) => Some(BudgetEvent::Restored),
                _ => None,
            };
            prop_assert_eq!(p.event, expected);
        }
    }
}
