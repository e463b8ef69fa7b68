//! A cluster of instances: one writer and readers with promotion tiers, replayed through
//! the same policies as [`replay`](super::replay::replay).
//!
//! Aurora scales each Serverless v2 instance on its own inside the cluster's one range,
//! except that readers in promotion tiers 0–1 follow the writer's capacity. CloudWatch
//! publishes each instance's metrics, each role's (`DBClusterIdentifier` + `Role`), and
//! the cluster's (`DBClusterIdentifier` alone), which is the **average over the
//! instances**. A policy's alarms and forecast read one of those series ([`Series`]); the
//! run reports the high alarm on both, so the diluted one can be seen next to the writer's.
//! Billing and unmet demand count every instance.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::cloudwatch::{AlarmState, Metrics, SimAlarm};
use super::replay::{PolicyResult, ReplayConfig, SimPolicy, Tally, TickContext, round};
use super::trace::{Sample, Trace, TraceError, csv_rows};
use acu_pilot_core::policy::provision::DEFAULT_READER_TIER;

/// The instances of a cluster besides its writer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Topology {
    /// One promotion tier (0–15) per reader.
    pub reader_tiers: Vec<i32>,
}

impl Topology {
    /// A writer alone: what [`replay`](super::replay::replay) models.
    pub fn single() -> Self {
        Self {
            reader_tiers: Vec::new(),
        }
    }

    /// The recipe's: `readers` readers at the provisioner's default tier (2).
    pub fn recipe(readers: usize) -> Self {
        Self {
            reader_tiers: vec![DEFAULT_READER_TIER; readers],
        }
    }

    /// Readers in tiers 0–1 follow the writer's capacity; tiers 2–15 scale on their own.
    pub fn follows_writer(tier: i32) -> bool {
        tier <= 1
    }
}

/// Demand per role. `reader` is each reader's own demand; without it readers are idle.
#[derive(Clone, Debug, PartialEq)]
pub struct RoleTrace {
    pub writer: Trace,
    pub reader: Option<Trace>,
}

impl RoleTrace {
    /// CSV with `timestamp,writer,reader` (each reader's demand), `timestamp,writer`, or
    /// the plain `timestamp,acu`, which means a single writer's demand.
    pub fn parse(text: &str) -> Result<Self, TraceError> {
        let (header, rows) = csv_rows(text)?;
        let column = |name: &str| {
            header
                .fields
                .iter()
                .position(|c| c.eq_ignore_ascii_case(name))
        };
        let Some(writer) = column("writer") else {
            return Ok(Self {
                writer: Trace::parse(text)?,
                reader: None,
            });
        };
        if header.line != 1 || column("timestamp") != Some(0) {
            return Err(TraceError::BadHeader {
                found: header.fields.join(","),
            });
        }
        let width = header.fields.len();
        Ok(Self {
            writer: Trace::from_columns(&rows, writer, width)?,
            reader: column("reader")
                .map(|reader| Trace::from_columns(&rows, reader, width))
                .transpose()?,
        })
    }

    fn reader_demand(&self, i: usize) -> f64 {
        self.reader
            .as_ref()
            .and_then(|r| r.samples().get(i))
            .map_or(0.0, |s| s.acu)
    }
}

/// Which series a policy's alarms and forecast read.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Series {
    /// `DBClusterIdentifier` alone: the average over the instances (acu-pilot's old alarms).
    ClusterAverage,
    /// `DBClusterIdentifier` + `Role=WRITER`: the writer's own (acu-pilot's alarms now).
    Writer,
}

/// One policy on one topology.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopologyRun {
    /// Billing and unmet demand over every instance.
    pub result: PolicyResult,
    pub series: Series,
    /// How often the high alarm went to ALARM reading the writer's series …
    pub high_alarms_on_writer: u32,
    /// … and reading the cluster average, in the same run.
    pub high_alarms_on_cluster_average: u32,
    /// The highest cluster-average capacity, and the writer's, in ACU.
    pub peak_cluster_average: f64,
    pub peak_writer: f64,
}

/// Replays a role trace through `policy` on `topology`: the policy ticks on the `series`
/// it reads (metrics and, for the forecast, the past demand of that series), and every
/// instance is modelled, billed and checked against its demand.
pub fn replay_topology(
    trace: &RoleTrace,
    topology: &Topology,
    config: &ReplayConfig,
    policy: &mut dyn SimPolicy,
    series: Series,
) -> TopologyRun {
    let model = &config.model;
    let samples = trace.writer.samples();
    let step = trace.writer.step();
    let step_secs = step.num_seconds() as f64;
    let substeps = (step_secs / f64::from(model.substep_secs.max(1)))
        .ceil()
        .max(1.0);
    let h = step_secs / substeps;
    let substeps = substeps as u32;
    let n = topology.reader_tiers.len();
    let instances = 1.0 + n as f64;

    // What the policy's forecast learns: the writer's demand, or the cluster's average.
    let past: Vec<Sample> = samples
        .iter()
        .enumerate()
        .map(|(i, s)| Sample {
            at: s.at,
            acu: match series {
                Series::Writer => s.acu,
                Series::ClusterAverage => (s.acu + trace.reader_demand(i) * n as f64) / instances,
            },
        })
        .collect();

    let delay = Duration::seconds(i64::from(config.metric_delay_secs));
    let (mut writer_metrics, mut cluster_metrics) = (Metrics::new(delay), Metrics::new(delay));
    let mut on_writer = SimAlarm::new(config.policy.high_alarm());
    let mut on_average = SimAlarm::new(config.policy.high_alarm());
    let (mut fired_writer, mut fired_average) = (0u32, 0u32);

    let mut range = policy.initial_range(config);
    let mut writer = model.settled(samples[0].acu, range);
    let mut readers: Vec<_> = topology
        .reader_tiers
        .iter()
        .map(|_| model.settled(trace.reader_demand(0), range))
        .collect();
    let mut tally = Tally::default();
    let (mut peak_average, mut peak_writer, mut modify_calls) = (0.0f64, 0.0f64, 0u32);
    let average = |writer: f64, readers: &[f64]| (writer + readers.iter().sum::<f64>()) / instances;

    for (i, sample) in samples.iter().enumerate() {
        let now: DateTime<Utc> = sample.at;
        let reader_caps: Vec<f64> = readers.iter().map(|r| r.capacity).collect();
        let (metrics, capacity) = match series {
            Series::Writer => (&writer_metrics, writer.capacity),
            Series::ClusterAverage => (&cluster_metrics, average(writer.capacity, &reader_caps)),
        };
        let ctx = TickContext::new(now, step, &past[..i], range, capacity, config, metrics);
        if let Some(next) = policy.on_tick(&ctx)
            && next != range
        {
            range = next;
            modify_calls += 1;
        }
        for (alarm, fired, metrics) in [
            (&mut on_writer, &mut fired_writer, &writer_metrics),
            (&mut on_average, &mut fired_average, &cluster_metrics),
        ] {
            if let Some(t) = alarm.evaluate(metrics, now)
                && t.state == AlarmState::Alarm
            {
                *fired += 1;
            }
        }

        let reader_demand = trace.reader_demand(i);
        for k in 0..substeps {
            let at = now + Duration::milliseconds((f64::from(k) * h * 1000.0).round() as i64);
            model.advance(&mut writer, sample.acu, range, h);
            let mut shortfall = (sample.acu - writer.capacity).max(0.0);
            for (state, tier) in readers.iter_mut().zip(&topology.reader_tiers) {
                if Topology::follows_writer(*tier) {
                    *state = writer;
                } else {
                    model.advance(state, reader_demand, range, h);
                }
                shortfall += (reader_demand - state.capacity).max(0.0);
            }
            let caps: Vec<f64> = readers.iter().map(|r| r.capacity).collect();
            let avg = average(writer.capacity, &caps);
            let served: Vec<f64> = caps.iter().map(|c| reader_demand.min(*c)).collect();
            let avg_served = average(sample.acu.min(writer.capacity), &served);
            let max = range.max.value();
            writer_metrics.record(at, h, writer.capacity, sample.acu, max);
            cluster_metrics.record(at, h, avg, avg_served, max);
            peak_average = peak_average.max(avg);
            peak_writer = peak_writer.max(writer.capacity);
            tally.add(writer.capacity + caps.iter().sum::<f64>(), shortfall, h);
        }
    }

    TopologyRun {
        result: tally.result(policy.name(), config, modify_calls),
        series,
        high_alarms_on_writer: fired_writer,
        high_alarms_on_cluster_average: fired_average,
        peak_cluster_average: round(peak_average, 3),
        peak_writer: round(peak_writer, 3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policies::{Autopilot, Functions};
    use crate::replay::replay;
    use acu_pilot_core::calendar::Calendar;
    use acu_pilot_core::config::Config;

    fn shipped(path: &str) -> String {
        let path = format!("{}/../examples/{path}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn autopilot(config: &ReplayConfig, calendar: &Calendar) -> Autopilot {
        Autopilot::new(Functions::All, config, &Config::default(), Some(calendar))
    }

    #[test]
    fn a_plain_acu_column_is_a_single_writer_and_role_columns_are_read_by_name() {
        let plain =
            RoleTrace::parse("timestamp,acu\n2026-11-27T00:00:00Z,2\n2026-11-27T00:01:00Z,3\n")
                .unwrap();
        assert_eq!(plain.reader, None);
        assert_eq!(plain.writer.samples()[1].acu, 3.0);
        let roles = RoleTrace::parse(
            "timestamp,reader,writer\n2026-11-27T00:00:00Z,1,8\n2026-11-27T00:01:00Z,1.5,9\n",
        )
        .unwrap();
        assert_eq!(roles.writer.samples()[1].acu, 9.0);
        assert_eq!(roles.reader.unwrap().samples()[1].acu, 1.5);
        let err = RoleTrace::parse("timestamp,writer\n2026-11-27T00:00:00Z,x\n").unwrap_err();
        assert_eq!(err.line(), 2);
    }

    #[test]
    fn tier_0_readers_follow_the_writer_and_are_billed_like_it_tier_2_readers_idle() {
        let trace = RoleTrace::parse(&shipped("traces/sales-day.csv")).unwrap();
        let config = ReplayConfig::default();
        let calendar = Calendar::parse(&shipped("calendar-sales-day.yaml")).unwrap();
        let run = |topology: Topology| {
            replay_topology(
                &trace,
                &topology,
                &config,
                &mut autopilot(&config, &calendar),
                Series::Writer,
            )
        };
        let single = run(Topology::single());
        let followers = run(Topology {
            reader_tiers: vec![0, 1],
        });
        let own = run(Topology::recipe(2));
        // Followers cost what the writer costs. Idle tier-2 readers cost at least their
        // floor and much less than followers; more than the floor only because a raised
        // min (the calendar's 24) holds every instance, readers included.
        // (Each figure is rounded to 0.001 ACU-hour.)
        assert!((followers.result.acu_hours - 3.0 * single.result.acu_hours).abs() < 0.01);
        let floor_hours = 2.0 * 0.5 * 24.0;
        let readers_hours = own.result.acu_hours - single.result.acu_hours;
        assert!(readers_hours >= floor_hours - 0.01, "{readers_hours}");
        assert!(
            readers_hours < 0.75 * (followers.result.acu_hours - single.result.acu_hours),
            "{readers_hours}"
        );
        // With followers the average is the writer: not diluted.
        assert_eq!(followers.peak_cluster_average, followers.peak_writer);
    }

    /// The acceptance test: the recipe's topology (a writer and two idle tier-2
    /// readers) on the shipped sales day. The high alarm on the cluster average never
    /// fires; on the writer's series it does; and acu-pilot reading the writer leaves
    /// within 10 % of the demand unmet that it leaves on a single instance.
    #[test]
    fn on_the_sales_day_the_diluted_alarm_never_fires_and_the_writers_does() {
        let trace_text = shipped("traces/sales-day.csv");
        let trace = RoleTrace::parse(&trace_text).unwrap();
        let config = ReplayConfig::default();
        let calendar = Calendar::parse(&shipped("calendar-sales-day.yaml")).unwrap();

        let single = replay(
            &Trace::parse(&trace_text).unwrap(),
            &config,
            &mut autopilot(&config, &calendar),
            &mut || {},
        );
        let recipe = Topology::recipe(2);
        let writer = replay_topology(
            &trace,
            &recipe,
            &config,
            &mut autopilot(&config, &calendar),
            Series::Writer,
        );
        let diluted = replay_topology(
            &trace,
            &recipe,
            &config,
            &mut autopilot(&config, &calendar),
            Series::ClusterAverage,
        );
        eprintln!(
            "sales day, recipe topology: single unmet {} ACU-min ({} ACU-h); writer-series \
             unmet {} ACU-min ({} ACU-h, {} high alarms on the writer, {} on the average, \
             peaks writer {} / average {}); cluster-average-series unmet {} ACU-min ({} ACU-h, \
             {} high alarms)",
            single.result.unmet_acu_minutes,
            single.result.acu_hours,
            writer.result.unmet_acu_minutes,
            writer.result.acu_hours,
            writer.high_alarms_on_writer,
            writer.high_alarms_on_cluster_average,
            writer.peak_writer,
            writer.peak_cluster_average,
            diluted.result.unmet_acu_minutes,
            diluted.result.acu_hours,
            diluted.high_alarms_on_cluster_average,
        );
        assert_eq!(writer.high_alarms_on_cluster_average, 0);
        assert_eq!(diluted.high_alarms_on_cluster_average, 0);
        assert!(writer.high_alarms_on_writer > 0);
        // The calendar's min of 24 holds every instance at 24 or more, so the average peaks
        // at (53.9 + 24 + 24) / 3 = 34 ACU: still short of 75 % of 64, while the writer
        // passes it.
        assert!(writer.peak_cluster_average < 0.75 * 64.0);
        assert!(writer.peak_writer > 0.75 * 64.0);
        let (a, b) = (
            writer.result.unmet_acu_minutes,
            single.result.unmet_acu_minutes,
        );
        assert!((a - b).abs() <= 0.1 * b, "{a} vs {b}");
    }
}
