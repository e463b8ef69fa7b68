//! Advice that `acu-pilot plan` gives and no function acts on: when a cluster's capacity
//! reaches its baseline max on most days, the baseline is too small for its everyday
//! traffic. The alarm then widens max every day, but only after two alarm periods of
//! demand left unmet; a larger baseline max costs nothing until it is used (Aurora bills
//! the capacity in use, not the range). Changing a baseline is the owner's call, so this
//! is a hint with its evidence, never an action.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::capacity::Acu;
use crate::forecast::median;

/// Fewer days than this say nothing about "every day".
const MIN_DAYS: usize = 3;
/// A sample this close to max counts as at max (the metric is an average over the period).
const AT_MAX_TOLERANCE: f64 = 0.25;
/// The suggested max leaves the median daily peak at 80 % of it, below a 75 %-of-max
/// utilisation alarm only when demand is above the usual peak.
const HEADROOM: f64 = 1.25;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BaselineHint {
    pub baseline_max: Acu,
    pub days_with_data: usize,
    /// Days on which capacity reached the baseline max at least once.
    pub days_at_max: usize,
    /// On those days, the median time spent at or above it.
    pub median_hours_at_max: f64,
    /// The median of the daily peaks (all days with data). Capacity cannot exceed the
    /// max in force, so where no boost widened max this understates the demand.
    pub median_daily_peak: f64,
    pub suggested_max: Acu,
    pub text: String,
}

/// A hint when capacity reached `baseline_max` on at least half of the (at least three)
/// UTC days in `history` — samples of the cluster's `ServerlessDatabaseCapacity`
/// maximum, one per `period_minutes`. The suggestion is at least one 0.5 ACU step above
/// the baseline and at most `ceiling`; at the ceiling already, there is nothing to say.
pub fn baseline_hint(
    history: &[(DateTime<Utc>, f64)],
    period_minutes: f64,
    baseline_max: Acu,
    ceiling: Acu,
) -> Option<BaselineHint> {
    if baseline_max >= ceiling {
        return None;
    }
    let at_max = baseline_max.value() - AT_MAX_TOLERANCE;
    // Per day: (peak, samples at or above max).
    let mut days: BTreeMap<NaiveDate, (f64, usize)> = BTreeMap::new();
    for (at, acu) in history.iter().filter(|(_, acu)| acu.is_finite()) {
        let day = days.entry(at.date_naive()).or_insert((f64::MIN, 0));
        day.0 = day.0.max(*acu);
        if *acu >= at_max {
            day.1 += 1;
        }
    }
    let days_with_data = days.len();
    let hours_at_max: Vec<f64> = days
        .values()
        .filter(|(_, n)| *n > 0)
        .map(|(_, n)| *n as f64 * period_minutes / 60.0)
        .collect();
    let days_at_max = hours_at_max.len();
    if days_with_data < MIN_DAYS || days_at_max * 2 < days_with_data {
        return None;
    }
    let median_hours_at_max = median(&hours_at_max);
    let peaks: Vec<f64> = days.values().map(|(peak, _)| *peak).collect();
    let median_daily_peak = median(&peaks);
    let one_step_up = Acu::from_halves(baseline_max.halves() + 1).unwrap_or(ceiling);
    let suggested_max = Acu::ceil_step(median_daily_peak * HEADROOM)
        .max(one_step_up)
        .min(ceiling);
    let text = format!(
        "capacity reached the baseline max {baseline_max} ACU on {days_at_max} of \
         {days_with_data} days (median {median_hours_at_max:.1} h a day; median daily peak \
         {median_daily_peak:.1} ACU): each such day waits for the high alarm with demand \
         unmet. Consider a baseline max of {suggested_max} ACU (tag acu-pilot:baseline); \
         a wider max costs nothing until it is used"
    );
    Some(BaselineHint {
        baseline_max,
        days_with_data,
        days_at_max,
        median_hours_at_max,
        median_daily_peak,
        suggested_max,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use proptest::prelude::*;

    fn acu(v: f64) -> Acu {
        Acu::new(v).unwrap()
    }

    /// `days` days of 5-minute samples: `busy(day)` ACU from 18:00 to 18:00 + `hours`,
    /// 2 ACU otherwise.
    fn history(days: i64, hours: i64, busy: impl Fn(i64) -> f64) -> Vec<(DateTime<Utc>, f64)> {
        let start = DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut out = Vec::new();
        for step in 0..days * 288 {
            let at = start + TimeDelta::minutes(5 * step);
            let minute_of_day = step % 288 * 5;
            let busy_now = (18 * 60..(18 + hours) * 60).contains(&minute_of_day);
            out.push((at, if busy_now { busy(step / 288) } else { 2.0 }));
        }
        out
    }

    #[test]
    fn a_baseline_reached_every_day_gets_a_larger_max() {
        let h = history(14, 3, |_| 16.0);
        let hint = baseline_hint(&h, 5.0, acu(16.0), acu(64.0)).expect("a hint");
        assert_eq!((hint.days_at_max, hint.days_with_data), (14, 14));
        assert!((hint.median_hours_at_max - 3.0).abs() < 1e-9);
        assert_eq!(hint.suggested_max, acu(20.0)); // 16 × 1.25
        assert!(hint.text.contains("14 of 14 days"), "{}", hint.text);

        // Boosted days show the real demand above the baseline.
        let boosted = history(14, 3, |_| 30.0);
        let hint = baseline_hint(&boosted, 5.0, acu(16.0), acu(64.0)).unwrap();
        assert_eq!(hint.suggested_max, acu(37.5)); // ceil(30 × 1.25)
        // Never above the ceiling.
        let hint = baseline_hint(&boosted, 5.0, acu(16.0), acu(32.0)).unwrap();
        assert_eq!(hint.suggested_max, acu(32.0));
    }

    #[test]
    fn occasional_or_short_evidence_says_nothing() {
        // Reached on 6 of 14 days: the alarm is the right tool for those.
        let some_days = history(14, 3, |day| if day % 7 < 3 { 16.0 } else { 8.0 });
        assert_eq!(baseline_hint(&some_days, 5.0, acu(16.0), acu(64.0)), None);
        // Two days are not "every day".
        assert_eq!(
            baseline_hint(&history(2, 3, |_| 16.0), 5.0, acu(16.0), acu(64.0)),
            None
        );
        assert_eq!(baseline_hint(&[], 5.0, acu(16.0), acu(64.0)), None);
        // Already at the ceiling: nothing larger to suggest.
        assert_eq!(
            baseline_hint(&history(14, 3, |_| 16.0), 5.0, acu(16.0), acu(16.0)),
            None
        );
    }

    proptest! {
        #[test]
        fn a_hint_is_above_the_baseline_within_the_ceiling_and_backed_by_most_days(
            days in 0i64..21,
            hours in 0i64..6,
            peaks in proptest::collection::vec(0.5f64..80.0, 21),
            baseline_halves in 2u16..128,
            ceiling_halves in 2u16..512,
        ) {
            let h = history(days, hours, |day| peaks[day as usize]);
            let baseline = Acu::from_halves(baseline_halves).unwrap();
            let ceiling = Acu::from_halves(ceiling_halves).unwrap();
            if let Some(hint) = baseline_hint(&h, 5.0, baseline, ceiling) {
                prop_assert!(hint.suggested_max > baseline);
                prop_assert!(hint.suggested_max <= ceiling);
                prop_assert!(hint.days_with_data >= MIN_DAYS);
                prop_assert!(hint.days_at_max * 2 >= hint.days_with_data);
            }
        }
    }
}
