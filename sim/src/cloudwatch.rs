//! What CloudWatch would show: the modelled capacity as `ServerlessDatabaseCapacity` and
//! `ACUUtilization` (capacity ÷ max × 100), at CloudWatch's one-minute resolution, and
//! alarms evaluated on those metrics with their period, evaluation periods and
//! datapoints-to-alarm, so alarm-driven policies react when and as production would.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// CloudWatch's standard resolution for the AWS/RDS metrics.
const RESOLUTION_SECS: i64 = 60;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Metric {
    ServerlessDatabaseCapacity,
    #[serde(rename = "ACUUtilization")]
    AcuUtilization,
    /// The share of max ACU's CPU the load used, as Aurora reports it: the model counts
    /// the load the capacity served (demand up to capacity) as its CPU.
    #[serde(rename = "CPUUtilization")]
    CpuUtilization,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::ServerlessDatabaseCapacity => "ServerlessDatabaseCapacity",
            Metric::AcuUtilization => "ACUUtilization",
            Metric::CpuUtilization => "CPUUtilization",
        }
    }
}

/// The alarm model is the core's, the one the alarm-handler reads real alarms into.
pub use acu_pilot_core::events::ComparisonOperator;
pub use acu_pilot_core::model::Statistic;

/// How CloudWatch's state reason words the comparison.
fn words(comparison: ComparisonOperator) -> &'static str {
    match comparison {
        ComparisonOperator::GreaterThanThreshold => "greater than",
        ComparisonOperator::GreaterThanOrEqualToThreshold => "greater than or equal to",
        ComparisonOperator::LessThanThreshold => "less than",
        ComparisonOperator::LessThanOrEqualToThreshold => "less than or equal to",
        ComparisonOperator::LessThanLowerOrGreaterThanUpperThreshold => "outside the band",
        ComparisonOperator::LessThanLowerThreshold => "less than the band",
        ComparisonOperator::GreaterThanUpperThreshold => "greater than the band",
    }
}

/// The simulator evaluates alarms against a threshold; an anomaly band would need
/// CloudWatch's model of the metric, so a spec asking for one is refused when read.
fn threshold_comparison<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<ComparisonOperator, D::Error> {
    let comparison = ComparisonOperator::deserialize(deserializer)?;
    match comparison.breaches(0.0, 0.0) {
        Some(_) => Ok(comparison),
        None => Err(serde::de::Error::custom(format!(
            "comparison {comparison} compares with an anomaly band; the simulator evaluates threshold alarms only"
        ))),
    }
}

/// One aggregated datapoint: the statistic over `[start, start + period)`.
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct Datapoint {
    pub start: DateTime<Utc>,
    pub value: f64,
}

#[derive(Copy, Clone, Debug)]
struct Minute {
    /// Epoch seconds of the minute's start.
    start: i64,
    secs: f64,
    capacity: Stats,
    utilization: Stats,
    cpu: Stats,
}

#[derive(Copy, Clone, Debug)]
struct Stats {
    weighted_sum: f64,
    max: f64,
    min: f64,
}

impl Stats {
    fn new() -> Self {
        Self {
            weighted_sum: 0.0,
            max: f64::NEG_INFINITY,
            min: f64::INFINITY,
        }
    }

    fn add(&mut self, value: f64, secs: f64) {
        self.weighted_sum += value * secs;
        self.max = self.max.max(value);
        self.min = self.min.min(value);
    }
}

/// The metric history of one simulated cluster. Queries take `now` and only return
/// datapoints CloudWatch would have published by then (period over, plus `delay`).
#[derive(Clone, Debug)]
pub struct Metrics {
    minutes: Vec<Minute>,
    recorded_until: i64,
    delay: Duration,
}

impl Metrics {
    /// `delay`: how long after a period ends its datapoint can be read (CloudWatch
    /// publishes RDS metrics about a minute late).
    pub fn new(delay: Duration) -> Self {
        Self {
            minutes: Vec::new(),
            recorded_until: i64::MIN,
            delay,
        }
    }

    /// Records `secs` seconds from `at` at `capacity` ACU serving `demand` ACU, with the
    /// range's `max`.
    pub fn record(&mut self, at: DateTime<Utc>, secs: f64, capacity: f64, demand: f64, max: f64) {
        let t = at.timestamp();
        let start = t.div_euclid(RESOLUTION_SECS) * RESOLUTION_SECS;
        if self.minutes.last().is_none_or(|m| m.start != start) {
            self.minutes.push(Minute {
                start,
                secs: 0.0,
                capacity: Stats::new(),
                utilization: Stats::new(),
                cpu: Stats::new(),
            });
        }
        let minute = self.minutes.last_mut().expect("pushed above");
        minute.secs += secs;
        minute.capacity.add(capacity, secs);
        minute.utilization.add(capacity / max * 100.0, secs);
        minute
            .cpu
            .add(demand.clamp(0.0, capacity) / max * 100.0, secs);
        self.recorded_until = self.recorded_until.max(t + secs.round() as i64);
    }

    /// Up to `count` of the latest published datapoints of `metric`, oldest first. A
    /// period with no recorded data is missing, as in CloudWatch.
    pub fn latest(
        &self,
        metric: Metric,
        statistic: Statistic,
        period: Duration,
        count: usize,
        now: DateTime<Utc>,
    ) -> Vec<Datapoint> {
        if self.minutes.is_empty() {
            return Vec::new();
        }
        let period = period.num_seconds().max(RESOLUTION_SECS);
        let visible = (now - self.delay).timestamp().min(self.recorded_until);
        let last_end = visible.div_euclid(period) * period;
        let mut points = Vec::with_capacity(count);
        for k in 0..count as i64 {
            let end = last_end - k * period;
            let start = end - period;
            let from = self.minutes.partition_point(|m| m.start < start);
            let to = self.minutes.partition_point(|m| m.start < end);
            if from == to {
                if start < self.minutes[0].start {
                    break;
                }
                continue;
            }
            let minutes = &self.minutes[from..to];
            let pick = |m: &Minute| match metric {
                Metric::ServerlessDatabaseCapacity => m.capacity,
                Metric::AcuUtilization => m.utilization,
                Metric::CpuUtilization => m.cpu,
            };
            let value = match statistic {
                Statistic::Average => {
                    let secs: f64 = minutes.iter().map(|m| m.secs).sum();
                    minutes.iter().map(|m| pick(m).weighted_sum).sum::<f64>() / secs
                }
                Statistic::Maximum => minutes.iter().map(|m| pick(m).max).fold(f64::MIN, f64::max),
                Statistic::Minimum => minutes.iter().map(|m| pick(m).min).fold(f64::MAX, f64::min),
                // One sample a minute at CloudWatch's standard resolution.
                Statistic::Sum => minutes.iter().map(|m| pick(m).weighted_sum / m.secs).sum(),
                Statistic::SampleCount => minutes.len() as f64,
            };
            points.push(Datapoint {
                start: DateTime::from_timestamp(start, 0).expect("in range"),
                value,
            });
        }
        points.reverse();
        points
    }
}

/// The same states the alarm-handler parses from real events.
pub use acu_pilot_core::events::AlarmState;

/// A metric alarm as PutMetricAlarm would define it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlarmSpec {
    pub name: String,
    pub metric: Metric,
    pub statistic: Statistic,
    #[serde(deserialize_with = "threshold_comparison")]
    pub comparison: ComparisonOperator,
    pub threshold: f64,
    pub period_secs: u32,
    pub evaluation_periods: u32,
    /// "M of N": how many of the last `evaluation_periods` datapoints must breach.
    pub datapoints_to_alarm: u32,
}

/// A state change, as the alarm-handler would receive it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlarmTransition {
    pub alarm: String,
    pub at: DateTime<Utc>,
    pub previous: AlarmState,
    pub state: AlarmState,
    pub reason: String,
    /// The datapoints the decision was made on, oldest first.
    pub datapoints: Vec<Datapoint>,
}

/// One simulated alarm and its state.
#[derive(Clone, Debug)]
pub struct SimAlarm {
    pub spec: AlarmSpec,
    state: AlarmState,
}

impl SimAlarm {
    pub fn new(spec: AlarmSpec) -> Self {
        Self {
            spec,
            state: AlarmState::InsufficientData,
        }
    }

    pub fn state(&self) -> AlarmState {
        self.state
    }

    /// Moves the threshold, as re-arming an absolute `ServerlessDatabaseCapacity` alarm
    /// after a max change does (PutMetricAlarm resets the state to INSUFFICIENT_DATA).
    pub fn set_threshold(&mut self, threshold: f64) {
        if self.spec.threshold != threshold {
            self.spec.threshold = threshold;
            self.state = AlarmState::InsufficientData;
        }
    }

    /// Evaluates the alarm at `now`; returns the transition if its state changed.
    /// Missing datapoints are treated as missing (CloudWatch's default): the alarm
    /// decides on what it has, and stays INSUFFICIENT_DATA until it has something.
    pub fn evaluate(&mut self, metrics: &Metrics, now: DateTime<Utc>) -> Option<AlarmTransition> {
        let spec = &self.spec;
        let points = metrics.latest(
            spec.metric,
            spec.statistic,
            Duration::seconds(i64::from(spec.period_secs)),
            spec.evaluation_periods as usize,
            now,
        );
        if points.is_empty() {
            return None;
        }
        let breaching = points
            .iter()
            .filter(|p| spec.comparison.breaches(p.value, spec.threshold) == Some(true))
            .count();
        let state = if breaching >= spec.datapoints_to_alarm.max(1) as usize {
            AlarmState::Alarm
        } else {
            AlarmState::Ok
        };
        if state == self.state {
            return None;
        }
        let values: Vec<String> = points.iter().map(|p| format!("{:.1}", p.value)).collect();
        let reason = format!(
            "Threshold Crossed: {breaching} out of the last {} datapoints [{}] were {} the threshold ({}) (minimum {} datapoints for OK -> ALARM transition).",
            points.len(),
            values.join(", "),
            words(spec.comparison),
            spec.threshold,
            spec.datapoints_to_alarm,
        );
        let previous = std::mem::replace(&mut self.state, state);
        Some(AlarmTransition {
            alarm: spec.name.clone(),
            at: now,
            previous,
            state,
            reason,
            datapoints: points,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minute: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T18:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(minute)
    }

    /// Records one value per minute for minutes `0..values.len()`, in 10 s pieces.
    fn metrics(values: &[f64], max: f64) -> Metrics {
        let mut m = Metrics::new(Duration::seconds(60));
        for (i, v) in values.iter().enumerate() {
            for s in 0..6 {
                m.record(t(i as i64) + Duration::seconds(10 * s), 10.0, *v, *v, max);
            }
        }
        m
    }

    fn high_alarm() -> AlarmSpec {
        AlarmSpec {
            name: "Aurora-shop-High-ACU".into(),
            metric: Metric::AcuUtilization,
            statistic: Statistic::Average,
            comparison: ComparisonOperator::GreaterThanThreshold,
            threshold: 90.0,
            period_secs: 60,
            evaluation_periods: 3,
            datapoints_to_alarm: 3,
        }
    }

    #[test]
    fn datapoints_aggregate_by_period_and_appear_only_after_the_delay() {
        let empty = Metrics::new(Duration::seconds(60));
        assert!(
            empty
                .latest(
                    Metric::AcuUtilization,
                    Statistic::Average,
                    Duration::seconds(60),
                    3,
                    t(0)
                )
                .is_empty()
        );
        let m = metrics(&[2.0, 4.0, 6.0, 8.0], 16.0);
        // At 18:02 the minute 18:00 ended at 18:01 and is published at 18:02.
        let points = m.latest(
            Metric::ServerlessDatabaseCapacity,
            Statistic::Average,
            Duration::seconds(60),
            5,
            t(2),
        );
        assert_eq!(
            points.iter().map(|p| p.value).collect::<Vec<_>>(),
            vec![2.0]
        );
        let points = m.latest(
            Metric::ServerlessDatabaseCapacity,
            Statistic::Average,
            Duration::seconds(120),
            5,
            t(10),
        );
        assert_eq!(
            points.iter().map(|p| p.value).collect::<Vec<_>>(),
            vec![3.0, 7.0]
        );
        assert_eq!(points[1].start, t(2));
        let points = m.latest(
            Metric::AcuUtilization,
            Statistic::Maximum,
            Duration::seconds(120),
            1,
            t(10),
        );
        assert_eq!(points[0].value, 50.0);
        let per_minute = |statistic| {
            m.latest(
                Metric::ServerlessDatabaseCapacity,
                statistic,
                Duration::seconds(120),
                1,
                t(10),
            )[0]
            .value
        };
        assert_eq!(per_minute(Statistic::Sum), 14.0);
        assert_eq!(per_minute(Statistic::SampleCount), 2.0);
    }

    #[test]
    fn a_spec_is_read_in_the_core_model_and_an_anomaly_band_is_refused() {
        let spec = |comparison: &str| {
            serde_json::from_value::<AlarmSpec>(serde_json::json!({
                "name": "Aurora-shop-High-ACU", "metric": "ACUUtilization", "statistic": "Average",
                "comparison": comparison, "threshold": 90.0, "period_secs": 60,
                "evaluation_periods": 3, "datapoints_to_alarm": 3,
            }))
        };
        assert_eq!(
            spec("GreaterThanThreshold").unwrap(),
            high_alarm(),
            "the same spec as the core's types"
        );
        let err = spec("LessThanLowerOrGreaterThanUpperThreshold").unwrap_err();
        assert!(err.to_string().contains("anomaly band"), "{err}");
    }

    #[test]
    fn an_alarm_fires_after_its_evaluation_periods_and_clears() {
        let values = [8.0, 15.0, 15.0, 15.0, 4.0, 4.0];
        let m = metrics(&values, 16.0);
        let mut alarm = SimAlarm::new(high_alarm());
        let mut transitions = Vec::new();
        for minute in 0..=8 {
            if let Some(tr) = alarm.evaluate(&m, t(minute)) {
                transitions.push((minute, tr.previous, tr.state));
            }
        }
        // Minute 1's 93.75 % is published at 18:03; three breaching minutes at 18:05.
        assert_eq!(
            transitions,
            vec![
                (2, AlarmState::InsufficientData, AlarmState::Ok),
                (5, AlarmState::Ok, AlarmState::Alarm),
                (6, AlarmState::Alarm, AlarmState::Ok),
            ]
        );
    }

    #[test]
    fn raising_max_lowers_utilization_and_a_moved_threshold_rearms() {
        let mut alarm = SimAlarm::new(high_alarm());
        let m = metrics(&[15.0, 15.0, 15.0], 16.0);
        let fired = alarm.evaluate(&m, t(4)).unwrap();
        assert_eq!(fired.state, AlarmState::Alarm);
        assert!(
            fired.reason.contains("3 out of the last 3"),
            "{}",
            fired.reason
        );
        let m = metrics(&[15.0, 15.0, 15.0], 24.0);
        assert_eq!(alarm.evaluate(&m, t(4)).unwrap().state, AlarmState::Ok);
        alarm.set_threshold(95.0);
        assert_eq!(alarm.state(), AlarmState::InsufficientData);
    }
}
