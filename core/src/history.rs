//! What the forecast learns from: the load a cluster's writer carried, read from its
//! CloudWatch metrics rather than from the capacity alone.
//!
//! `ServerlessDatabaseCapacity` cannot tell load from a held min. While the pre-scaler
//! holds min at 20 ACU, capacity reads 20 whether the writer needed 20 or 2, and a forecast
//! learnt on it holds the min again the next day because it held it the day before: it
//! learns from its own warmth, and the bill never comes down.
//!
//! `CPUUtilization` is what the load used. Aurora Serverless v2 reports it, like
//! `ACUUtilization`, as a percentage of what the cluster's max ACU would have (AWS,
//! *Important Amazon CloudWatch metrics for Aurora Serverless v2*), so
//! `CPUUtilization ÷ ACUUtilization` is the share of the *current* capacity the load used,
//! whatever max was at the time. Where Aurora's own scaling follows the load, that share
//! sits near a level of its own (the headroom Aurora keeps); where a held min kept capacity
//! above the load, it falls below that level. The estimate scales each period's capacity
//! down by that shortfall. The level is read from the history itself, as the share's
//! [`REFERENCE_QUANTILE`] over the periods with load to follow: a min is held through
//! part of a day, not most of every period, and an idle period (a share under
//! `LOWEST_REFERENCE`) says nothing about the headroom, so a cluster idle most of the day
//! between bursts still gets a level and its held min is not read back as load.
//!
//! Load that is bound by memory rather than CPU (a buffer pool keeping capacity up while
//! the CPU idles) reads low here. The forecast then warms less than it could, never more:
//! the error that costs a slower climb rather than a bill nobody asked for. Without both
//! utilisation series (a period missing one, or a history with too few shares to read a
//! level from) the capacity is taken as it is, as before these series were read.

use chrono::{DateTime, Utc};

/// The share quantile taken as "capacity follows the load": high, because a held min only
/// ever lowers the share, and not the maximum, so one saturated period cannot set it.
pub const REFERENCE_QUANTILE: f64 = 0.9;

/// Fewer periods with load (both utilisations known, a share of at least
/// `LOWEST_REFERENCE`) than this (an hour at 5 minutes) and no level is read: the
/// capacity is used as it is.
pub const MIN_SHARES: usize = 12;

/// A share below this is an idle period (background work), not load Aurora followed: it
/// is left out of the level, and an estimate from that level lowers it like any other.
const LOWEST_REFERENCE: f64 = 0.05;

/// One metric series: (period start, value), oldest first.
pub type Series = Vec<(DateTime<Utc>, f64)>;

/// The writer's metrics over the forecast's lookback, one value per period (statistic
/// Average): what the ports' `Metrics::history` returns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricHistory {
    /// `ServerlessDatabaseCapacity`, in ACU.
    pub capacity: Series,
    /// `CPUUtilization`, in percent of the CPU max ACU would have.
    pub cpu: Series,
    /// `ACUUtilization`, capacity in percent of max ACU.
    pub acu: Series,
}

/// The share level and how the load was estimated, for the logs and `plan`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct LoadEstimate {
    /// The share of capacity the load used where capacity followed it; `None` when the
    /// capacity was taken as it is.
    pub reference_share: Option<f64>,
    /// Periods whose capacity was scaled down because the load used less of it.
    pub lowered: usize,
}

impl MetricHistory {
    /// A history of capacity alone (no utilisation series): the load is the capacity.
    pub fn capacity_only(capacity: Series) -> Self {
        Self {
            capacity,
            ..Self::default()
        }
    }

    /// The load per period, estimated as the module explains, oldest first, and how.
    pub fn load(&self) -> (Series, LoadEstimate) {
        let capacity = in_time_order(&self.capacity);
        let shares = self.shares(&capacity);
        // Read where there was load to follow: an idle period says nothing about the
        // headroom Aurora keeps, and a cluster idle most of the day (bursts on a quiet
        // base) would otherwise have no level, and its held min would be read as load.
        let busy: Vec<f64> = shares
            .iter()
            .flatten()
            .copied()
            .filter(|share| *share >= LOWEST_REFERENCE)
            .collect();
        let reference = (busy.len() >= MIN_SHARES)
            .then(|| quantile(busy, REFERENCE_QUANTILE))
            .flatten();
        let mut lowered = 0;
        let load = capacity
            .iter()
            .zip(&shares)
            .map(|(&(at, capacity), share)| match (reference, share) {
                // A share equal to the level but for rounding is the level.
                (Some(reference), Some(share)) if *share < reference * (1.0 - 1e-9) => {
                    lowered += 1;
                    (at, capacity * share / reference)
                }
                _ => (at, capacity),
            })
            .collect();
        (
            load,
            LoadEstimate {
                reference_share: reference,
                lowered,
            },
        )
    }

    /// Per capacity period, CPUUtilization ÷ ACUUtilization where both are known.
    fn shares(&self, capacity: &Series) -> Vec<Option<f64>> {
        let (mut cpu, mut acu) = (Cursor::new(&self.cpu), Cursor::new(&self.acu));
        capacity
            .iter()
            .map(|(at, _)| {
                let cpu = cpu.value_at(*at)?;
                let acu = acu.value_at(*at)?;
                (acu > 0.0 && cpu >= 0.0 && cpu.is_finite() && acu.is_finite())
                    .then(|| (cpu / acu).min(1.0))
            })
            .collect()
    }
}

/// A walk through a series in time order, for lookups at rising times: the whole join is
/// one pass (the simulator makes it every tick over weeks of periods).
struct Cursor<'a> {
    series: std::borrow::Cow<'a, Series>,
    next: usize,
}

impl<'a> Cursor<'a> {
    fn new(series: &'a Series) -> Self {
        Self {
            series: in_time_order(series),
            next: 0,
        }
    }

    /// The value at `at`; calls must come with `at` not decreasing.
    fn value_at(&mut self, at: DateTime<Utc>) -> Option<f64> {
        while self.series.get(self.next).is_some_and(|(t, _)| *t < at) {
            self.next += 1;
        }
        self.series
            .get(self.next)
            .filter(|(t, _)| *t == at)
            .map(|(_, v)| *v)
    }
}

fn in_time_order(series: &Series) -> std::borrow::Cow<'_, Series> {
    if series.is_sorted_by_key(|(t, _)| *t) {
        std::borrow::Cow::Borrowed(series)
    } else {
        let mut owned = series.clone();
        owned.sort_by_key(|(t, _)| *t);
        std::borrow::Cow::Owned(owned)
    }
}

/// The `q` quantile (nearest rank) of `values`; `None` when there are none.
fn quantile(mut values: Vec<f64>, q: f64) -> Option<f64> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    let rank = ((values.len() - 1) as f64 * q).round() as usize;
    let (_, value, _) = values.select_nth_unstable_by(rank, f64::total_cmp);
    Some(*value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use proptest::prelude::*;

    fn at(step: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000, 0).unwrap() + TimeDelta::minutes(5 * step)
    }

    /// A day of 5-minute periods at max 64: the load follows `load(step)`, Aurora keeps
    /// capacity at load ÷ 0.7 (its headroom), never below `min(step)`.
    fn day(load: impl Fn(i64) -> f64, min: impl Fn(i64) -> f64) -> MetricHistory {
        let mut history = MetricHistory::default();
        for step in 0..288 {
            let capacity = (load(step) / 0.7).max(min(step));
            history.capacity.push((at(step), capacity));
            history.cpu.push((at(step), load(step) / 64.0 * 100.0));
            history.acu.push((at(step), capacity / 64.0 * 100.0));
        }
        history
    }

    #[test]
    fn a_held_min_is_not_learnt_as_load() {
        // 2 ACU of load all day; the pre-scaler held min at 20 from 09:00 to 12:00.
        let held = |step| {
            if (108..144).contains(&step) {
                20.0
            } else {
                0.5
            }
        };
        let (load, estimate) = day(|_| 2.0, held).load();
        assert!((estimate.reference_share.unwrap() - 0.7).abs() < 1e-9);
        assert_eq!(estimate.lowered, 36);
        for (_, acu) in &load {
            assert!((acu - 2.0 / 0.7).abs() < 1e-9, "{acu}");
        }
    }

    #[test]
    fn a_min_held_on_a_cluster_idle_between_bursts_is_not_learnt_as_load() {
        // Idle all day but for 10-minute bursts to 30 ACU every two hours (under 10 % of
        // the periods busy); the pre-scaler held min at 5 from 09:00 to 12:00.
        let load = |step: i64| if step % 24 < 2 { 30.0 } else { 0.0 };
        let held = |step| if (108..144).contains(&step) { 5.0 } else { 0.5 };
        let history = day(load, held);
        let (estimated, estimate) = history.load();
        assert!((estimate.reference_share.unwrap() - 0.7).abs() < 1e-9);
        for (step, (_, acu)) in estimated.iter().enumerate() {
            let want = load(step as i64) / 0.7;
            assert!(
                (acu - want).abs() < 1e-9,
                "period {step}: {acu}, want {want}"
            );
        }
    }

    #[test]
    fn load_that_fills_capacity_is_kept() {
        // A morning peak the capacity followed: nothing is lowered.
        let load = |step: i64| {
            if (100..130).contains(&step) {
                30.0
            } else {
                3.0
            }
        };
        let history = day(load, |_| 0.5);
        let (estimated, estimate) = history.load();
        assert_eq!(estimate.lowered, 0);
        assert_eq!(estimated, history.capacity);
    }

    #[test]
    fn without_utilisation_the_capacity_is_the_load() {
        let history = day(|_| 2.0, |step| if step < 100 { 20.0 } else { 0.5 });
        let only = MetricHistory::capacity_only(history.capacity.clone());
        let (load, estimate) = only.load();
        assert_eq!(load, history.capacity);
        assert_eq!(estimate.reference_share, None);
        // Too few shares to read a level from: the same.
        let mut short = history.clone();
        short.cpu.truncate(MIN_SHARES - 1);
        assert_eq!(short.load().0, history.capacity);
    }

    #[test]
    fn series_out_of_order_or_with_gaps_are_joined_by_time() {
        let mut history = day(|_| 2.0, |step| if step < 50 { 20.0 } else { 0.5 });
        history.cpu.reverse();
        history.acu.retain(|(t, _)| *t != at(10));
        let (load, _) = history.load();
        // The period without ACUUtilization keeps its capacity; the others are lowered.
        assert_eq!(load[10].1, 20.0);
        assert!((load[11].1 - 2.0 / 0.7).abs() < 1e-9);
    }

    proptest! {
        #[test]
        fn the_load_is_never_above_the_capacity_nor_below_zero(
            periods in proptest::collection::vec(
                (0.5f64..128.0, 0.0f64..120.0, 0.0f64..120.0, any::<bool>()),
                0..300,
            ),
        ) {
            let mut history = MetricHistory::default();
            for (step, (capacity, cpu, acu, known)) in periods.iter().enumerate() {
                let t = at(step as i64);
                history.capacity.push((t, *capacity));
                if *known {
                    history.cpu.push((t, *cpu));
                    history.acu.push((t, *acu));
                }
            }
            let (load, _) = history.load();
            prop_assert_eq!(load.len(), history.capacity.len());
            for ((t, estimated), (t0, capacity)) in load.iter().zip(&history.capacity) {
                prop_assert_eq!(t, t0);
                prop_assert!(*estimated <= *capacity && *estimated >= 0.0);
            }
        }
    }
}
