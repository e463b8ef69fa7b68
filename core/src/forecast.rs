//! Prediction from a cluster's own history: a seasonal same-time-of-week model for the
//! coming peak, and the warm min for the current clock hour.
//!
//! Load on a shop database repeats weekly far more than it trends, so the best guess for
//! the coming hour is what the same hour looked like in past weeks. Each past week gives
//! one peak for the horizon; the prediction is their median, so a gap costs one week and
//! one outlier week (a sale, an incident) cannot drive it.
//!
//! The warm min ([`Warmth`]) is what the pre-scaler holds through a half-hour block
//! (`ACU_PILOT_WARM_BLOCK`): short enough to follow a ramp that doubles every half hour,
//! since scale-up speed grows with capacity and a min near the coming level removes most
//! of the climb. It learns from the same block on each of the last days (daily
//! seasonality, from the second day of history) or, once two weeks are known, on the same
//! weekday of past weeks. It starts from the peak that enough of those days reached
//! through the block and the lead after it (at least half of them, and two once two are
//! known), and is lowered until holding it would have cost at most `warm_budget` of what
//! the block used on as many of those days (the block's first period, the lead-in a rise
//! is warmed through, is not counted). When the days disagree (a weak pattern) a high min
//! would have been wasted on the quiet ones, so the forecast does not trust itself and
//! asks for less; one holiday or incident among the days can neither veto a pattern the
//! others share nor, alone, make one. Nor does it trust the days when today is not like
//! them: the peak it warms for is scaled by the last day's level (the 90th percentile of
//! its samples, the last hour left out) against theirs in the same span (at most 1), so a
//! pattern that stopped (an outage, a campaign over) stops being warmed for within a day,
//! even if a spike or two remains. Last, it is held to its own track record: its call
//! for the block just before, replayed, must not have wasted more than four times the
//! budget, so a day that has already shown itself unlike the days before (a burst on the
//! only day known, a holiday, a pattern that stopped) is not warmed for block after block.
//!
//! Days are counted on the clock of the forecast's zone (`ACU_PILOT_FORECAST_TIMEZONE`):
//! the same time yesterday is the same wall-clock time, so a clock change does not put
//! every warm min an hour early or late for the weeks the forecast reads across it.

use std::fmt::Write as _;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::Serialize;

use crate::calendar::resolve_local;
use crate::config::PrescaleConfig;
use crate::zone::Zone;

const WEEK: TimeDelta = TimeDelta::weeks(1);
const DAY: TimeDelta = TimeDelta::days(1);

/// Fewer weeks with data than this and there is no prediction: one week is an anecdote.
pub const MIN_WEEKS: usize = 2;

/// The default warm block: half an hour, the step at which a steep ramp (a city waking up)
/// moves; the pre-scaler's write budget (`policy::prescale::PACE`) keeps the day's
/// ModifyDBCluster calls few whatever the blocks ask for.
pub const WARM_BLOCK: TimeDelta = TimeDelta::minutes(30);

/// Past days read for the daily pattern; fewer than [`MIN_DAYS`] with data and there is
/// no warm min. One day is enough to start: the budget weighs the min on that day, and a
/// wrong guess costs one block before the track record (the block before) holds the next
/// one back.
pub const WARM_DAYS: i64 = 7;
pub const MIN_DAYS: usize = 1;

/// The blocks whose warm mins are read besides the current one's: those that start within
/// the pre-scaler's pace of now, the longest its write budget makes a rise wait for the
/// next.
const AHEAD: TimeDelta = crate::policy::prescale::PACE;

/// The lowest capacity Aurora Serverless v2 runs at: what a quiet sample still costs.
const LOWEST_ACU: f64 = 0.5;

/// How far the forecast's call for the block before may have wasted beyond the budget
/// before the next block's min is held back: four times. One block is a small sample: at
/// twice, a ramp that came one block late on an ordinary day held back the next block's
/// warmth (taxi's unmet demand 32 → 78 ACU-min); a burst that came once on the only day
/// known wastes many times what it used, so it is still not warmed for past the first
/// block it missed (see docs/simulate.md).
const TRACK_RECORD_SLACK: f64 = 4.0;

/// How a day's level is read: this percentile of its samples, not their maximum, so that
/// one spike (a 5-minute job on a feed that went quiet) cannot keep a stopped pattern
/// warm for another day; a daily peak of 2.4 hours or more (10 % of a day) still shows in
/// full. A shorter daily peak that stops is not seen here: it stops being warmed for when
/// the days no longer agree on it (half of the lookback), not within a day.
const DAY_PEAK_PERCENTILE: usize = 90;

/// What to predict: the peak of `[now, now + horizon]`, from `weeks` past weeks of samples
/// at `period`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ForecastSpec {
    pub horizon: TimeDelta,
    pub period: TimeDelta,
    pub weeks: u32,
    /// The warm min covers the peak this long after its hour too, so a rise at the top of
    /// the next hour finds capacity already up.
    pub lead: TimeDelta,
    /// The share of an hour's capacity that holding its warm min may have wasted on past
    /// days (`ACU_PILOT_WARM_BUDGET`).
    pub warm_budget: f64,
    /// The span one warm min is read for (`ACU_PILOT_WARM_BLOCK`).
    pub block: TimeDelta,
    /// The clock the load follows (`ACU_PILOT_FORECAST_TIMEZONE`): a day ago is the same
    /// wall-clock time yesterday there, 23 or 25 hours back across a clock change.
    pub zone: Zone,
}

impl ForecastSpec {
    /// From the configured horizon, period and lookback (28d → 4 weeks).
    pub fn from_config(cfg: &PrescaleConfig) -> Self {
        let delta = crate::config::to_delta;
        let weeks = (cfg.lookback.as_secs() / WEEK.num_seconds() as u64).clamp(1, 52) as u32;
        Self {
            horizon: delta(cfg.horizon),
            period: delta(cfg.period).max(TimeDelta::seconds(1)),
            weeks,
            lead: delta(cfg.lead),
            warm_budget: cfg.warm_budget,
            block: delta(cfg.warm_block).max(TimeDelta::minutes(5)),
            zone: cfg.forecast_timezone,
        }
    }

    /// The same wall-clock time as `t`, `days` days before, in the forecast's zone.
    fn days_before(&self, t: DateTime<Utc>, days: i64) -> DateTime<Utc> {
        let local = t.with_timezone(&self.zone).naive_local() - TimeDelta::days(days);
        resolve_local(self.zone, local)
    }

    /// How far back the history must reach: `weeks` weeks before the warm hour's start,
    /// plus one period of slack and the hour a clock change can add.
    pub fn lookback(&self) -> TimeDelta {
        WEEK * self.weeks as i32 + self.block + self.period + TimeDelta::hours(1)
    }
}

impl Default for ForecastSpec {
    fn default() -> Self {
        Self {
            horizon: TimeDelta::hours(1),
            period: TimeDelta::minutes(5),
            weeks: 4,
            lead: TimeDelta::minutes(30),
            warm_budget: 0.1,
            block: WARM_BLOCK,
            zone: Zone::UTC,
        }
    }
}

/// One past week's contribution.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WeekSample {
    /// 1 for last week, 2 for the week before, …
    pub weeks_ago: u32,
    /// The span searched, the horizon shifted back, widened by one period each side.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The highest sample in it, if there was any.
    pub peak: Option<f64>,
}

/// A prediction for `[now, now + horizon]`, and how it was made.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Forecast {
    pub now: DateTime<Utc>,
    pub horizon_end: DateTime<Utc>,
    /// Median of the weekly peaks; `None` with fewer than [`MIN_WEEKS`] weeks of data.
    pub predicted_peak: Option<f64>,
    /// The latest sample, if recent.
    pub current: Option<f64>,
    /// When the same-time-of-week profile first climbs half-way from the current level to
    /// the peak (or, if it never does, where it is highest).
    pub rise_at: Option<DateTime<Utc>>,
    /// When it falls back below that level after the rise; the horizon's end if it stays up.
    pub peak_end: Option<DateTime<Utc>>,
    pub weeks: Vec<WeekSample>,
    /// The min to hold through the current clock hour, when the history has a pattern.
    pub warmth: Option<Warmth>,
    /// The warm mins of the blocks after it that start within `AHEAD` of now, read now: a
    /// rise the pre-scaler's write budget would delay can be made early, with this one.
    pub ahead: Vec<Warmth>,
    pub explanation: String,
}

/// How the same hour went on past days, and the min worth holding through it now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Warmth {
    /// The clock hour it holds for.
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// `daily` (the last days) or `weekly` (the same weekday of past weeks).
    pub seasonality: &'static str,
    /// Past days with a full hour of data.
    pub days: usize,
    /// The highest peak through the hour and the lead after it that enough of those days
    /// reached: at least half of them, and two once two are known.
    pub peak: f64,
    /// The 90th percentile of the 24 hours before the last hour as a share of the same
    /// days' typical (median) one in the same span of theirs, at most 1: the warm min is
    /// read from `peak × level`. `None` when either is unknown (under half of the span has
    /// data).
    pub level: Option<f64>,
    /// The highest min (0.5 ACU steps, at most `peak × level`) whose cost on those days
    /// stayed within the budget and whose track record allowed it; 0.5 when none did.
    pub min: f64,
    /// Whether the track record lowered `min` below what the budget allowed.
    pub held_back: bool,
    /// What the forecast's call for the block before this one, capped at `min`, would
    /// have wasted, as a share of what that block used; `None` when it made none.
    pub record: Option<f64>,
    /// What holding `min` would have wasted on those days, as a share of what they used.
    pub waste: f64,
}

impl Warmth {
    fn explain(&self) -> String {
        let level = match self.level {
            Some(level) if level < 1.0 => {
                format!(", the last day at {:.0} % of those days'", level * 100.0)
            }
            _ => String::new(),
        };
        let record = match self.record {
            Some(record) if self.held_back => format!(
                "; held back by its record: its call for the block before, capped there, would have wasted {:.0} %",
                record * 100.0
            ),
            _ => String::new(),
        };
        format!(
            "warm min {:.1} for {}–{} ({} pattern over {} days: peak {:.1}{level}, would have wasted {:.0} %{record})",
            self.min,
            self.from.format("%H:%MZ"),
            self.until.format("%H:%MZ"),
            self.seasonality,
            self.days,
            self.peak,
            self.waste * 100.0
        )
    }
}

/// The warm min for the block holding `now`, from the same block on past days, held to
/// its own track record: lowered until the call the forecast made for the block before
/// this one (read, as it was then, from the days before it) would have wasted at most
/// [`TRACK_RECORD_SLACK`] × the budget of what that block used, had it been at most the
/// min.
///
/// The budget judges a min on the days it learns from; the track record judges the
/// forecast on the day it is for. They differ when the past does not predict today (a
/// burst on the only day known, a holiday, a regime that changed), and that is when
/// warmth costs without paying. Today shows it within a block, so one wrong guess is not
/// repeated block after block for the rest of the day.
pub fn warmth(
    history: &[(DateTime<Utc>, f64)],
    now: DateTime<Utc>,
    spec: &ForecastSpec,
) -> Option<Warmth> {
    let period = spec.period.max(TimeDelta::seconds(1));
    // Judged as the budget is: from the block's second period.
    let before = proposed(history, now - spec.block, spec, &|_| true).and_then(|call| {
        let block = span(history, call.from + period, call.until);
        (!block.is_empty()).then_some((call.min, block))
    });
    let record = |min: f64| {
        let (call, block) = before.as_ref()?;
        let (wasted, used) = waste_and_use(call.min(min), block);
        (used > 0.0).then(|| wasted / used)
    };
    let limit = spec.warm_budget * TRACK_RECORD_SLACK;
    let mut warmth = proposed(history, now, spec, &|min| {
        record(min).is_none_or(|waste| waste <= limit)
    })?;
    warmth.record = record(warmth.min);
    Some(warmth)
}

/// What holding `min` through `block` would have wasted, and what the block used (each
/// sample at least the lowest capacity).
fn waste_and_use(min: f64, block: Samples) -> (f64, f64) {
    block.iter().fold((0.0, 0.0), |(wasted, used), (_, v)| {
        let v = v.max(LOWEST_ACU);
        (wasted + (min - v).max(0.0), used + v)
    })
}

/// A run of (time, value) samples in time order.
type Samples<'a> = &'a [(DateTime<Utc>, f64)];

/// The samples in `[from, to)`.
fn span(history: Samples, from: DateTime<Utc>, to: DateTime<Utc>) -> Samples {
    let start = history.partition_point(|(t, _)| *t < from);
    let end = history.partition_point(|(t, _)| *t < to);
    &history[start..end.max(start)]
}

/// The warm min the days before `now` ask for, lowered until the budget and `acceptable`
/// both allow it.
fn proposed(
    history: &[(DateTime<Utc>, f64)],
    now: DateTime<Utc>,
    spec: &ForecastSpec,
    acceptable: &dyn Fn(f64) -> bool,
) -> Option<Warmth> {
    let first = history.first()?.0;
    // The hour starts one period early: loads that rise on the hour (jobs, shifts, opening
    // times) find min already up, at the price of one period of waste.
    let period = spec.period.max(TimeDelta::seconds(1));
    let from = (now + period).duration_trunc(spec.block).ok()? - period;
    let until = from + spec.block;
    // Measured from the hour's start, so a past day counted at the hour's first tick is
    // still counted at its last one and the min stays put through the hour.
    let known = from - first;
    let (seasonality, days_back): (&'static str, Vec<i64>) = if known >= WEEK * MIN_WEEKS as i32 {
        (
            "weekly",
            (1..=spec.weeks.max(1) as i64).map(|k| 7 * k).collect(),
        )
    } else {
        ("daily", (1..=WARM_DAYS).collect())
    };
    let offsets = days_back
        .into_iter()
        .map(|days| from - spec.days_before(from, days))
        .filter(|shift| *shift <= known);
    let within = |from: DateTime<Utc>, to: DateTime<Utc>| span(history, from, to.min(now));
    let needed = (spec.block.num_seconds() * 9 / 10 / spec.period.num_seconds().max(1)) as usize;
    // The 24 hours before the last hour, shifted: their level when at least half of them
    // have data. The last hour is left out so that a rise due now, on a day it is a few
    // minutes late, is not read as a day without its rise.
    let day_needed = (DAY.num_seconds() / 2 / spec.period.num_seconds().max(1)) as usize;
    let day_level = |shift: TimeDelta| {
        let end = now - TimeDelta::hours(1) - shift;
        let day = within(end - DAY, end);
        (day.len() >= day_needed.max(1)).then(|| {
            let mut values: Vec<f64> = day.iter().map(|(_, v)| v.max(LOWEST_ACU)).collect();
            values.sort_by(f64::total_cmp);
            values[(values.len() - 1) * DAY_PEAK_PERCENTILE / 100]
        })
    };
    let mut hours: Vec<Samples> = Vec::new();
    let mut peaks = Vec::new();
    let mut day_levels = Vec::new();
    for shift in offsets {
        let hour = within(from - shift, until - shift);
        let ahead = within(from - shift, until + spec.lead - shift);
        if hour.len() >= needed.max(1)
            && let Some(peak) = ahead.iter().map(|(_, v)| *v).reduce(f64::max)
        {
            // The first period is the lead-in before a rise: its waste is the fixed price
            // of being warm on time, not a sign that the days disagree.
            let skip = hour.partition_point(|(t, _)| *t < from + period - shift);
            hours.push(&hour[skip..]);
            peaks.push(peak);
            day_levels.extend(day_level(shift));
        }
    }
    if hours.len() < MIN_DAYS {
        return None;
    }
    // Today against those days: the last day's level over what those days typically
    // reached in the same 24 hours of theirs (a whole cycle of a daily pattern, so the time
    // of day does not matter). A pattern that stopped holding (an outage, a campaign over,
    // a feed gone flat) shows as a level well below 1, and the warm min follows it down
    // within a day instead of warming for the old pattern every day of the lookback. Never
    // up: a busier day than usual is for Aurora's scaling and the alarms to follow.
    let level = day_level(TimeDelta::zero())
        .filter(|_| !day_levels.is_empty())
        .map(|today| (today / median(&day_levels)).min(1.0));
    // What enough of the days reached (see [`quorum`]).
    let agreeing = quorum(peaks.len());
    let peak = nth_highest(&peaks, agreeing);
    // Each day's waste as a share of its own use, judged by the same quorum: the min is
    // within budget when it was on enough of the days, so one holiday or incident in the
    // lookback cannot veto a pattern the other days share, nor can one day make it.
    let waste = |min: f64| {
        let shares: Vec<f64> = hours
            .iter()
            .map(|h| {
                let (wasted, used) = waste_and_use(min, h);
                wasted / used
            })
            .collect();
        nth_lowest(&shares, agreeing)
    };
    let mut min = (peak * level.unwrap_or(1.0) * 2.0).ceil() / 2.0;
    let mut held_back = false;
    while min > LOWEST_ACU {
        if waste(min) > spec.warm_budget {
            min -= 0.5;
        } else if !acceptable(min) {
            held_back = true;
            min -= 0.5;
        } else {
            break;
        }
    }
    let min = min.max(LOWEST_ACU);
    Some(Warmth {
        from,
        until,
        seasonality,
        days: hours.len(),
        peak,
        level,
        min,
        waste: waste(min),
        held_back,
        record: None,
    })
}

impl Forecast {
    /// The predicted peak when there is one.
    pub fn peak(&self) -> Option<f64> {
        self.predicted_peak
    }
}

/// Predicts the peak of `[now, now + horizon]` from `samples` (time, value; any order,
/// gaps allowed; non-finite values and samples after `now` are ignored).
pub fn predict(
    samples: &[(DateTime<Utc>, f64)],
    now: DateTime<Utc>,
    spec: &ForecastSpec,
) -> Forecast {
    let mut history: Vec<(DateTime<Utc>, f64)> = samples
        .iter()
        .copied()
        .filter(|(t, v)| v.is_finite() && *t <= now)
        .collect();
    history.sort_by_key(|(t, _)| *t);
    let period = spec.period.max(TimeDelta::seconds(1));
    let horizon = spec.horizon.max(TimeDelta::zero());
    let horizon_end = now + horizon;

    let max_in = |from: DateTime<Utc>, to: DateTime<Utc>| -> Option<f64> {
        let start = history.partition_point(|(t, _)| *t < from);
        history[start..]
            .iter()
            .take_while(|(t, _)| *t <= to)
            .map(|(_, v)| *v)
            .reduce(f64::max)
    };

    // Each past week's shift back to the same wall-clock time in the forecast's zone.
    let shifts: Vec<TimeDelta> = (1..=spec.weeks.max(1))
        .map(|k| now - spec.days_before(now, 7 * k as i64))
        .collect();
    let weeks: Vec<WeekSample> = (1..=spec.weeks.max(1))
        .zip(&shifts)
        .map(|(k, &shift)| {
            let from = now - shift - period;
            let to = horizon_end - shift + period;
            WeekSample {
                weeks_ago: k,
                from,
                to,
                peak: max_in(from, to),
            }
        })
        .collect();
    let peaks: Vec<f64> = weeks.iter().filter_map(|w| w.peak).collect();
    let predicted_peak = (peaks.len() >= MIN_WEEKS).then(|| median(&peaks));

    let current = history
        .last()
        .filter(|(t, _)| now - *t <= period * 3)
        .map(|(_, v)| *v);

    // The typical shape of the horizon: per offset, the median across weeks of the sample
    // in effect then (a sample at T covers [T, T + period)).
    let steps = (horizon.num_seconds() / period.num_seconds()).max(0);
    let profile: Vec<(DateTime<Utc>, Option<f64>)> = (0..=steps)
        .map(|j| {
            let t = now + period * j as i32;
            let values: Vec<f64> = shifts
                .iter()
                .filter_map(|shift| {
                    let at = t - *shift;
                    max_in(at - period + TimeDelta::nanoseconds(1), at)
                })
                .collect();
            (t, (!values.is_empty()).then(|| median(&values)))
        })
        .collect();

    let (rise_at, peak_end, level) = match predicted_peak {
        None => (None, None, None),
        Some(peak) => {
            let base = current
                .or_else(|| profile.first().and_then(|(_, v)| *v))
                .unwrap_or(0.0)
                .min(peak);
            let level = base + (peak - base) / 2.0;
            let rise = profile
                .iter()
                .position(|(_, v)| v.is_some_and(|v| v >= level))
                .or_else(|| {
                    profile
                        .iter()
                        .enumerate()
                        .filter_map(|(i, (_, v))| v.map(|v| (i, v)))
                        .reduce(|a, b| if b.1 > a.1 { b } else { a })
                        .map(|(i, _)| i)
                });
            let end = rise.map(|r| {
                profile[r..]
                    .iter()
                    .find(|(_, v)| v.is_some_and(|v| v < level))
                    .map(|(t, _)| *t)
                    .unwrap_or(horizon_end)
            });
            (rise.map(|r| profile[r].0), end, Some(level))
        }
    };

    let warmth = warmth(&history, now, spec);
    let mut ahead = Vec::new();
    if let Some(w) = &warmth {
        let mut from = w.until;
        while from < now + AHEAD {
            let Some(next) = self::warmth(&history, from, spec) else {
                break;
            };
            from = next.until;
            ahead.push(next);
        }
    }
    let mut explanation = explain(&weeks, predicted_peak, current, rise_at, peak_end, level);
    if let Some(w) = &warmth {
        let _ = write!(explanation, "; {}", w.explain());
    }
    Forecast {
        now,
        horizon_end,
        predicted_peak,
        current,
        rise_at,
        peak_end,
        weeks,
        warmth,
        ahead,
        explanation,
    }
}

/// How many of `days` past days must agree before the warm min acts on them: at least
/// half, and two once two are known. With two days, "half" would be either one of them,
/// and a burst that came once (a campaign, an incident, a bursty feed's random hour)
/// would be warmed for the next day or week as if it were the pattern. One day alone
/// still counts, so that a daily pattern is warmed for from the second day.
fn quorum(days: usize) -> usize {
    days.div_ceil(2).max(days.min(2))
}

/// The highest value at least `n` of a non-empty list reach (1 ≤ n ≤ len).
fn nth_highest(values: &[f64], n: usize) -> f64 {
    nth_lowest(values, values.len().saturating_sub(n) + 1)
}

/// The lowest value at least `n` of a non-empty list are at or below (1 ≤ n ≤ len).
fn nth_lowest(values: &[f64], n: usize) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[n.clamp(1, sorted.len()) - 1]
}

/// The median of a non-empty list.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

fn explain(
    weeks: &[WeekSample],
    predicted: Option<f64>,
    current: Option<f64>,
    rise_at: Option<DateTime<Utc>>,
    peak_end: Option<DateTime<Utc>>,
    level: Option<f64>,
) -> String {
    let with: Vec<&WeekSample> = weeks.iter().filter(|w| w.peak.is_some()).collect();
    let without: Vec<String> = weeks
        .iter()
        .filter(|w| w.peak.is_none())
        .map(|w| format!("-{}", w.weeks_ago))
        .collect();
    let values = with
        .iter()
        .map(|w| format!("{:.1}", w.peak.unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(", ");
    let labels = with
        .iter()
        .map(|w| format!("-{}", w.weeks_ago))
        .collect::<Vec<_>>()
        .join(",");
    let gaps = match without.len() {
        0 => String::new(),
        1 => format!("; week {} no data", without[0]),
        _ => format!("; weeks {} no data", without.join(",")),
    };
    let hhmm = |t: DateTime<Utc>| t.format("%a %H:%MZ").to_string();
    let mut text = match predicted {
        None => format!(
            "no prediction: {} week{} with data{} (need {MIN_WEEKS}){}",
            with.len(),
            if with.len() == 1 { "" } else { "s" },
            if with.is_empty() {
                String::new()
            } else {
                format!(
                    " ({values}, week{} {labels})",
                    if with.len() == 1 { "" } else { "s" }
                )
            },
            gaps
        ),
        Some(peak) => format!(
            "predicted peak {peak:.1} ACU: median of weekly peaks {values} (weeks {labels}{gaps})"
        ),
    };
    if let Some(first) = weeks.first() {
        let _ = write!(
            text,
            "; same time of week {}–{}",
            hhmm(first.from),
            hhmm(first.to)
        );
    }
    if let (Some(rise), Some(level)) = (rise_at, level) {
        let _ = write!(text, "; rises above {level:.1} at {}", hhmm(rise));
        if let Some(end) = peak_end {
            let _ = write!(text, " until {}", hhmm(end));
        }
    }
    if let Some(current) = current {
        let _ = write!(text, "; now {current:.1}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike};
    use proptest::prelude::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Four weeks of 5-minute samples before `end`: 1 ACU, and `peak` every Friday
    /// 18:00–19:00 UTC, scaled per week by `scale(weeks_ago)` (0 drops the week).
    fn history(
        end: DateTime<Utc>,
        peak: f64,
        scale: impl Fn(i64) -> f64,
    ) -> Vec<(DateTime<Utc>, f64)> {
        let start = end - TimeDelta::weeks(4);
        let mut out = Vec::new();
        let mut at = start;
        while at < end {
            // Whole UTC days, so dropping a week drops its Friday entirely.
            let weeks_ago = ((end.date_naive() - at.date_naive()).num_days() + 6) / 7;
            let factor = scale(weeks_ago);
            if factor > 0.0 {
                let friday_peak =
                    at.format("%a").to_string() == "Fri" && at.format("%H").to_string() == "18";
                out.push((at, if friday_peak { peak * factor } else { 1.0 }));
            }
            at += TimeDelta::minutes(5);
        }
        out
    }

    const FRIDAY: &str = "2026-11-20T17:35:00Z";
    const THURSDAY: &str = "2026-11-19T17:35:00Z";

    #[test]
    fn the_blocks_ahead_are_read_as_their_own_ticks_would_read_the_same_history() {
        let now = t("2026-11-20T17:25:00Z");
        let history = history(now, 24.0, |_| 1.0);
        let spec = ForecastSpec::default();
        let f = predict(&history, now, &spec);
        // Blocks that start within a pace (69 minutes) of now: 17:55 and 18:25, not 18:55.
        let starts: Vec<_> = f.ahead.iter().map(|w| w.from).collect();
        assert_eq!(
            starts,
            [t("2026-11-20T17:55:00Z"), t("2026-11-20T18:25:00Z")]
        );
        for w in &f.ahead {
            assert_eq!(Some(w), predict(&history, w.from, &spec).warmth.as_ref());
        }
        let current = f.warmth.as_ref().unwrap().min;
        assert!(f.ahead[0].min > current, "{} ≤ {current}", f.ahead[0].min);
    }

    #[test]
    fn friday_before_the_weekly_peak_predicts_it() {
        let now = t(FRIDAY);
        let f = predict(&history(now, 24.0, |_| 1.0), now, &ForecastSpec::default());
        assert_eq!(f.predicted_peak, Some(24.0));
        assert_eq!(f.rise_at, Some(t("2026-11-20T18:00:00Z")));
        assert_eq!(f.peak_end, Some(f.horizon_end)); // still high when the horizon ends
        assert_eq!(f.current, Some(1.0));
        assert!(
            f.explanation
                .contains("median of weekly peaks 24.0, 24.0, 24.0, 24.0 (weeks -1,-2,-3,-4)"),
            "{}",
            f.explanation
        );
    }

    #[test]
    fn the_peak_end_is_found_when_it_falls_inside_the_horizon() {
        let now = t("2026-11-20T18:30:00Z");
        let spec = ForecastSpec {
            horizon: TimeDelta::hours(2),
            ..ForecastSpec::default()
        };
        let f = predict(&history(now, 24.0, |_| 1.0), now, &spec);
        assert_eq!(f.rise_at, Some(now));
        assert_eq!(f.peak_end, Some(t("2026-11-20T19:00:00Z")));
    }

    #[test]
    fn thursday_at_the_same_hour_predicts_low() {
        let now = t(THURSDAY);
        let f = predict(&history(now, 24.0, |_| 1.0), now, &ForecastSpec::default());
        assert_eq!(f.predicted_peak, Some(1.0));
    }

    #[test]
    fn one_missing_week_still_predicts_and_says_so() {
        let now = t(FRIDAY);
        let samples = history(now, 24.0, |k| if k == 2 { 0.0 } else { 1.0 });
        let f = predict(&samples, now, &ForecastSpec::default());
        assert_eq!(f.predicted_peak, Some(24.0));
        assert!(
            f.explanation.contains("(weeks -1,-3,-4; week -2 no data)"),
            "{}",
            f.explanation
        );
        assert_eq!(f.weeks[1].peak, None);
    }

    #[test]
    fn one_outlier_week_barely_moves_the_median() {
        let now = t(FRIDAY);
        let samples = history(now, 24.0, |k| match k {
            1 => 10.0,
            2 => 0.98,
            _ => 1.0,
        });
        let f = predict(&samples, now, &ForecastSpec::default());
        let peak = f.predicted_peak.unwrap();
        assert!((23.0..=25.0).contains(&peak), "{peak}");
    }

    #[test]
    fn fewer_than_two_weeks_of_data_gives_no_prediction() {
        let now = t(FRIDAY);
        let samples = history(now, 24.0, |k| if k == 1 { 1.0 } else { 0.0 });
        let f = predict(&samples, now, &ForecastSpec::default());
        assert_eq!(f.predicted_peak, None);
        assert_eq!(f.rise_at, None);
        assert!(
            f.explanation.starts_with("no prediction: 1 week with data"),
            "{}",
            f.explanation
        );
        let f = predict(&[], now, &ForecastSpec::default());
        assert_eq!(f.predicted_peak, None);
        assert!(
            f.explanation.contains("weeks -1,-2,-3,-4 no data"),
            "{}",
            f.explanation
        );
    }

    #[test]
    fn spec_follows_the_config() {
        let cfg = crate::config::Config::from_map(&Default::default()).unwrap();
        let spec = ForecastSpec::from_config(&cfg.prescale);
        assert_eq!(spec, ForecastSpec::default());
        let mut prescale = cfg.prescale;
        prescale.forecast_timezone = "Asia/Tokyo".parse().unwrap();
        assert_eq!(
            ForecastSpec::from_config(&prescale).zone.name(),
            "Asia/Tokyo"
        );
    }

    proptest! {
        #[test]
        fn prediction_stays_within_the_inputs(
            points in proptest::collection::vec((0i64..(29 * 24 * 12), 0.0f64..256.0), 0..400),
            now_offset in 0i64..(7 * 24 * 12),
            horizon_steps in 0i64..48,
        ) {
            let base = t("2026-10-01T00:00:00Z");
            let now = base + TimeDelta::weeks(4) + TimeDelta::minutes(5 * now_offset) + TimeDelta::seconds(17);
            let samples: Vec<_> = points
                .iter()
                .map(|(step, v)| (base + TimeDelta::minutes(5 * step), *v))
                .collect();
            let spec = ForecastSpec { horizon: TimeDelta::minutes(5 * horizon_steps), ..ForecastSpec::default() };
            let f = predict(&samples, now, &spec);
            if let Some(peak) = f.predicted_peak {
                let lo = samples.iter().map(|s| s.1).fold(f64::INFINITY, f64::min);
                let hi = samples.iter().map(|s| s.1).fold(f64::NEG_INFINITY, f64::max);
                prop_assert!(lo <= peak && peak <= hi);
            }
            if let Some(rise) = f.rise_at {
                prop_assert!(now <= rise && rise <= f.horizon_end);
                let end = f.peak_end.unwrap();
                prop_assert!(rise <= end && end <= f.horizon_end);
            }
        }
    }

    proptest! {
        /// The warm min is on the 0.5 grid, never above the peak it was read from (rounded
        /// up), and either within the waste budget or the lowest capacity.
        #[test]
        fn the_warm_min_stays_within_its_peak_and_its_budget(
            values in proptest::collection::vec(0.0f64..64.0, 3 * 288),
            now_offset in 0i64..288,
            budget in 0.0f64..0.5,
        ) {
            let base = t("2026-10-01T00:00:00Z");
            let samples: Vec<_> = values
                .iter()
                .enumerate()
                .map(|(k, v)| (base + TimeDelta::minutes(5 * k as i64), *v))
                .collect();
            let now = base + TimeDelta::days(3) + TimeDelta::minutes(5 * now_offset);
            let spec = ForecastSpec { warm_budget: budget, ..ForecastSpec::default() };
            let w = warmth(&samples, now, &spec).expect("three full days of history");
            prop_assert_eq!(w.seasonality, "daily");
            prop_assert!(w.from <= now && now < w.until);
            prop_assert_eq!((w.min * 2.0).fract(), 0.0);
            prop_assert!(w.min <= ((w.peak * 2.0).ceil() / 2.0).max(0.5));
            prop_assert!(w.waste <= budget + 1e-9 || w.min == 0.5, "{:?}", w);
        }

        /// The quorum's two readings: at least `n` values reach the nth highest, and at
        /// least `n` are at or below the nth lowest.
        #[test]
        fn nth_highest_and_lowest_are_reached_by_n_values(
            values in proptest::collection::vec(0.0f64..64.0, 1..10),
            n in 1usize..10,
        ) {
            let n = n.min(values.len());
            let high = nth_highest(&values, n);
            let low = nth_lowest(&values, n);
            prop_assert!(values.iter().filter(|v| **v >= high).count() >= n);
            prop_assert!(values.iter().filter(|v| **v > high).count() < n);
            prop_assert!(values.iter().filter(|v| **v <= low).count() >= n);
            prop_assert!(values.iter().filter(|v| **v < low).count() < n);
        }
    }

    /// Five days of 5-minute samples before `end`: 1 ACU, and `day_peak(days_ago)` every
    /// day from 09:00 to 17:00 UTC.
    fn working_days(
        end: DateTime<Utc>,
        day_peak: impl Fn(i64) -> f64,
    ) -> Vec<(DateTime<Utc>, f64)> {
        let mut out = Vec::new();
        let mut at = end - TimeDelta::days(5);
        while at < end {
            let days_ago = (end.date_naive() - at.date_naive()).num_days();
            let busy = (9..17).contains(&at.hour());
            out.push((at, if busy { day_peak(days_ago) } else { 1.0 }));
            at += TimeDelta::minutes(5);
        }
        out
    }

    #[test]
    fn a_day_like_the_others_is_warmed_in_full() {
        let now = t("2026-11-20T08:55:00Z");
        let w = warmth(&working_days(now, |_| 16.0), now, &ForecastSpec::default()).unwrap();
        assert_eq!((w.seasonality, w.level, w.min), ("daily", Some(1.0), 16.0));
        assert!(!w.explain().contains("last day"), "{}", w.explain());
    }

    #[test]
    fn a_pattern_that_stopped_is_no_longer_warmed_for() {
        // Busy at 16 ACU every day until yesterday, which stayed at 1 ACU all day.
        let now = t("2026-11-20T08:55:00Z");
        let stopped = working_days(now, |days_ago| if days_ago == 1 { 1.0 } else { 16.0 });
        let w = warmth(&stopped, now, &ForecastSpec::default()).unwrap();
        assert_eq!(w.peak, 16.0);
        assert_eq!(w.level, Some(1.0 / 16.0));
        assert_eq!(w.min, 1.0);
        assert!(
            w.explain().contains("the last day at 6 %"),
            "{}",
            w.explain()
        );

        // A quieter day (8 of the usual 16 ACU) halves the warm min, and no more.
        let quieter = working_days(now, |days_ago| if days_ago == 1 { 8.0 } else { 16.0 });
        let w = warmth(&quieter, now, &ForecastSpec::default()).unwrap();
        assert_eq!((w.level, w.min), (Some(0.5), 8.0));

        // A busier day does not raise it.
        let busier = working_days(now, |days_ago| if days_ago == 1 { 32.0 } else { 16.0 });
        let w = warmth(&busier, now, &ForecastSpec::default()).unwrap();
        assert_eq!((w.level, w.min), (Some(1.0), 16.0));
    }

    #[test]
    fn a_spike_does_not_keep_a_stopped_pattern_warm() {
        // As above, the pattern stopped yesterday, but one 5-minute job still reached
        // 16 ACU at noon: the day's level is read past it.
        let now = t("2026-11-20T08:55:00Z");
        let spike = t("2026-11-19T12:00:00Z");
        let stopped: Vec<_> = working_days(now, |days_ago| if days_ago == 1 { 1.0 } else { 16.0 })
            .into_iter()
            .map(|(at, v)| (at, if at == spike { 16.0 } else { v }))
            .collect();
        let w = warmth(&stopped, now, &ForecastSpec::default()).unwrap();
        assert_eq!((w.level, w.min), (Some(1.0 / 16.0), 1.0));
    }

    #[test]
    fn one_burst_among_two_days_is_not_warmed_for() {
        // Two days of history at 1 ACU; 09:00–10:00 reached 20 ACU on `burst_days` of them.
        let now = t("2026-11-20T08:55:00Z");
        let days = |burst_days: &[i64]| -> Vec<(DateTime<Utc>, f64)> {
            let mut out = Vec::new();
            let mut at = now - TimeDelta::days(2) - TimeDelta::hours(1);
            while at < now {
                let days_ago = (now.date_naive() - at.date_naive()).num_days();
                let burst = at.hour() == 9 && burst_days.contains(&days_ago);
                out.push((at, if burst { 20.0 } else { 1.0 }));
                at += TimeDelta::minutes(5);
            }
            out
        };
        for once in [[1], [2]] {
            let w = warmth(&days(&once), now, &ForecastSpec::default()).unwrap();
            assert_eq!(
                (w.days, w.peak, w.min),
                (2, 1.0, 1.0),
                "burst {once:?} days ago"
            );
        }
        let w = warmth(&days(&[1, 2]), now, &ForecastSpec::default()).unwrap();
        assert_eq!((w.days, w.peak, w.min), (2, 20.0, 20.0));

        // With one day known, that day is the pattern: a daily rise is warmed for from the
        // second day.
        let one_day: Vec<_> = days(&[1])
            .into_iter()
            .filter(|(at, _)| *at >= now - TimeDelta::days(1) - TimeDelta::hours(1))
            .collect();
        let w = warmth(&one_day, now, &ForecastSpec::default()).unwrap();
        assert_eq!((w.days, w.min), (1, 20.0));
    }

    /// 13 days of 5-minute samples before `now`: 1 ACU, and 20 ACU from 09:00 to 10:00 UTC
    /// on the days `busy(weekday)` says.
    fn bursts(
        now: DateTime<Utc>,
        busy: impl Fn(chrono::Weekday) -> bool,
    ) -> Vec<(DateTime<Utc>, f64)> {
        let mut out = Vec::new();
        let mut at = now - TimeDelta::days(13);
        while at < now {
            let burst = at.hour() == 9 && busy(at.weekday());
            out.push((at, if burst { 20.0 } else { 1.0 }));
            at += TimeDelta::minutes(5);
        }
        out
    }

    #[test]
    fn a_day_that_does_not_follow_its_pattern_is_warmed_for_one_block_at_most() {
        use chrono::Weekday;
        // Under two weeks of history, so the pattern is read daily; the rise comes Monday to
        // Thursday only. Four of the last seven days had it, so the budget allows warming
        // for it every day, and on Friday the first block of it is warmed.
        let weekdays = |day: Weekday| {
            matches!(
                day,
                Weekday::Mon | Weekday::Tue | Weekday::Wed | Weekday::Thu
            )
        };
        let friday = t("2026-11-20T08:55:00Z");
        let w = warmth(&bursts(friday, weekdays), friday, &ForecastSpec::default()).unwrap();
        assert_eq!(
            (w.seasonality, w.peak, w.min, w.held_back),
            ("daily", 20.0, 20.0, false)
        );

        // Half an hour on, the rise has not come: the call for the block before wasted
        // nineteen times what it used, and the next block is held back to what would have
        // wasted at most four times the budget (0.4) of it.
        let later = t("2026-11-20T09:25:00Z");
        let w = warmth(&bursts(later, weekdays), later, &ForecastSpec::default()).unwrap();
        assert_eq!(w.peak, 20.0);
        assert!(w.held_back, "{w:?}");
        assert_eq!(w.min, 1.0, "{w:?}");
        assert!(w.record.unwrap() <= 0.4 + 1e-9, "{w:?}");
        assert!(
            w.explain().contains("held back by its record"),
            "{}",
            w.explain()
        );

        // On a Thursday the rise came: the call was right, nothing is held back.
        let thursday = t("2026-11-19T09:25:00Z");
        let w = warmth(
            &bursts(thursday, weekdays),
            thursday,
            &ForecastSpec::default(),
        )
        .unwrap();
        assert_eq!((w.min, w.held_back, w.record), (20.0, false, Some(0.0)));
    }

    /// Samples every 5 minutes from `from` to `now`: 1 ACU, and 20 ACU from 09:00 to 10:00
    /// on New York's clock.
    fn new_york_mornings(from: DateTime<Utc>, now: DateTime<Utc>) -> Vec<(DateTime<Utc>, f64)> {
        let zone: Zone = "America/New_York".parse().unwrap();
        let mut out = Vec::new();
        let mut at = from;
        while at < now {
            let busy = at.with_timezone(&zone).hour() == 9;
            out.push((at, if busy { 20.0 } else { 1.0 }));
            at += TimeDelta::minutes(5);
        }
        out
    }

    #[test]
    fn a_day_ago_is_the_same_wall_clock_time_in_the_forecasts_zone() {
        let new_york = ForecastSpec {
            zone: "America/New_York".parse().unwrap(),
            ..ForecastSpec::default()
        };
        // New York's clocks went back at 02:00 on 1 November 2026: that day had 25 hours.
        let after = t("2026-11-02T14:00:00Z");
        assert_eq!(new_york.days_before(after, 1), t("2026-11-01T14:00:00Z"));
        assert_eq!(new_york.days_before(after, 2), t("2026-10-31T13:00:00Z"));
        assert_eq!(
            ForecastSpec::default().days_before(after, 2),
            t("2026-10-31T14:00:00Z")
        );
        // And went forward at 02:00 on 8 March: 02:30 that day did not exist, and is read
        // as the first instant after the jump.
        assert_eq!(
            new_york.days_before(t("2026-03-09T06:30:00Z"), 1),
            t("2026-03-08T07:00:00Z")
        );
    }

    #[test]
    fn a_clock_change_does_not_move_the_daily_rise() {
        // Five days of a rise at 09:00 New York time, across the change back to winter
        // time: on 2 November it comes at 14:00 UTC, on the days before the change at 13:00
        // (the sixth day back starts an hour after its own 09:00, so it is not counted).
        let now = t("2026-11-02T13:55:00Z");
        let history = new_york_mornings(now - TimeDelta::days(6), now);
        let new_york = ForecastSpec {
            zone: "America/New_York".parse().unwrap(),
            ..ForecastSpec::default()
        };
        let w = warmth(&history, now, &new_york).unwrap();
        assert_eq!((w.days, w.min), (5, 20.0), "{w:?}");
        // On UTC's clock the days disagree: four of five were already past their rise.
        let w = warmth(&history, now, &ForecastSpec::default()).unwrap();
        assert!(w.min < 20.0, "{w:?}");
    }

    #[test]
    fn a_weekly_rise_a_few_minutes_late_keeps_its_warmth() {
        // Every past Friday rose to 24 ACU at 18:00; this one has not yet at 18:05. The
        // last hour is not judged, so the block is still warmed.
        let now = t("2026-11-20T18:05:00Z");
        let late: Vec<_> = history(now, 24.0, |_| 1.0)
            .into_iter()
            .map(|(at, v)| {
                (
                    at,
                    if at >= t("2026-11-20T18:00:00Z") {
                        1.0
                    } else {
                        v
                    },
                )
            })
            .collect();
        let w = warmth(&late, now, &ForecastSpec::default()).unwrap();
        assert_eq!((w.seasonality, w.level, w.min), ("weekly", Some(1.0), 24.0));
    }

    #[test]
    fn two_weeks_of_history_switch_to_the_same_weekday() {
        let now = t(FRIDAY);
        let f = predict(&history(now, 24.0, |_| 1.0), now, &ForecastSpec::default());
        // The hour began 40 minutes ago: its start four weeks back is before this history.
        assert_eq!(
            f.warmth.map(|w| (w.seasonality, w.days)),
            Some(("weekly", 3))
        );
        let recent = history(now, 24.0, |k| if k <= 1 { 1.0 } else { 0.0 });
        let f = predict(&recent, now, &ForecastSpec::default());
        assert_eq!(f.warmth.map(|w| w.seasonality), Some("daily"));
    }
}
