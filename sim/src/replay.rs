//! The replay engine: steps through a trace, asks a policy for a range at each sample
//! (a policy sees only the past), moves the modelled capacity, and accounts cost and
//! shortfall.
//!
//! At each sample time `t`: the policy ticks (it sees samples before `t` and the
//! CloudWatch datapoints published by `t`); a changed range is applied at once (one
//! ModifyDBCluster call; Aurora applies a range change immediately); then the model runs
//! through `[t, t + step)` at the sample's demand in sub-steps, and each sub-step's
//! capacity is billed and compared with demand.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::MODEL_NOTE;
use super::cloudwatch::{Datapoint, Metric, Metrics, Statistic};
use super::model::{AuroraModel, ModelError};
use super::settings::PolicySettings;
use super::trace::{Sample, Trace};
use acu_pilot_core::capacity::{Acu, CapacityRange, Guardrails};
use acu_pilot_core::policy::advice::{BaselineHint, baseline_hint};

/// Everything a replay needs besides the trace and the policies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplayConfig {
    pub model: AuroraModel,
    /// Default 0.12: Aurora Standard in us-east-1 (Amazon Aurora pricing page; check it
    /// for other regions and I/O-Optimized).
    pub price_per_acu_hour: f64,
    /// The range a cluster has when nothing changes it: `static` keeps it, layered
    /// policies use it as the baseline. Default 0.5–64, the provisioner's.
    pub baseline: CapacityRange,
    /// How long after a period ends CloudWatch publishes its datapoint. Default 60 s.
    pub metric_delay_secs: u32,
    /// The guardrails layered policies are clamped to (from the deployment's config).
    #[serde(skip)]
    pub guardrails: Guardrails,
    /// The layered policies' settings and simulated alarms (default: production's).
    pub policy: PolicySettings,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        Self {
            model: AuroraModel::default(),
            price_per_acu_hour: 0.12,
            baseline: CapacityRange {
                min: Acu::HALF,
                max: Acu::new(64.0).expect("on the grid"),
            },
            metric_delay_secs: 60,
            guardrails: Guardrails::default(),
            policy: PolicySettings::default(),
        }
    }
}

impl ReplayConfig {
    pub fn validate(&self) -> Result<(), ModelError> {
        self.model.validate()?;
        if !(self.price_per_acu_hour.is_finite() && self.price_per_acu_hour >= 0.0) {
            return Err(ModelError {
                field: "price_per_acu_hour",
                message: format!("{} must be a number ≥ 0", self.price_per_acu_hour),
            });
        }
        Ok(())
    }
}

/// What a policy sees at a tick: the present and the past, never the future.
pub struct TickContext<'a> {
    pub now: DateTime<Utc>,
    /// The trace's step: the time until the next tick.
    pub step: Duration,
    /// The demand samples strictly before `now` (a slice of the trace: later samples are
    /// not reachable from here).
    pub past: &'a [Sample],
    /// The live range.
    pub range: CapacityRange,
    /// The modelled capacity now.
    pub capacity: f64,
    pub config: &'a ReplayConfig,
    metrics: &'a Metrics,
}

impl<'a> TickContext<'a> {
    /// A tick over `metrics`: for engines other than [`replay`] (the cluster-of-instances
    /// replay in [`topology`](super::topology) hands each policy the series its alarms read).
    pub fn new(
        now: DateTime<Utc>,
        step: Duration,
        past: &'a [Sample],
        range: CapacityRange,
        capacity: f64,
        config: &'a ReplayConfig,
        metrics: &'a Metrics,
    ) -> Self {
        Self {
            now,
            step,
            past,
            range,
            capacity,
            config,
            metrics,
        }
    }
}

impl TickContext<'_> {
    /// The latest `count` datapoints CloudWatch has published by `now`, oldest first.
    pub fn datapoints(
        &self,
        metric: Metric,
        statistic: Statistic,
        period: Duration,
        count: usize,
    ) -> Vec<Datapoint> {
        self.metrics
            .latest(metric, statistic, period, count, self.now)
    }

    /// The metric history, for [`SimAlarm::evaluate`](super::SimAlarm::evaluate) (which
    /// takes `now` and sees only what is published by then).
    pub fn metrics(&self) -> &Metrics {
        self.metrics
    }
}

/// A policy under simulation. The layered ones hold a [`SimCluster`](super::SimCluster)
/// and the real policy functions, and return `Some(cluster.desired(now))`.
pub trait SimPolicy {
    fn name(&self) -> &str;

    /// The range before the first tick; setting it is not counted as a call.
    fn initial_range(&self, config: &ReplayConfig) -> CapacityRange {
        config.baseline
    }

    /// The range the cluster should have from `ctx.now`, or `None` to leave it. Returning
    /// the live range is not a call either: reconcile only modifies on a difference.
    fn on_tick(&mut self, ctx: &TickContext<'_>) -> Option<CapacityRange>;

    /// Whether the report's baseline advice is read off this policy's run: the one that
    /// manages the cluster the way production would.
    fn advises_baseline(&self) -> bool {
        false
    }
}

/// `static`: the range is never touched.
pub struct StaticPolicy;

impl SimPolicy for StaticPolicy {
    fn name(&self) -> &str {
        "static"
    }

    fn on_tick(&mut self, _: &TickContext<'_>) -> Option<CapacityRange> {
        None
    }
}

/// `static-wide`: the guardrails' floor to ceiling, never touched. Aurora bills the
/// capacity it uses, not max, so this is the range a user would try first: the yardstick
/// every policy must beat on unmet demand at a similar cost.
pub struct StaticWide;

impl SimPolicy for StaticWide {
    fn name(&self) -> &str {
        "static-wide"
    }

    fn initial_range(&self, config: &ReplayConfig) -> CapacityRange {
        let g = &config.guardrails;
        CapacityRange {
            min: g.floor.max(Acu::HALF).min(g.ceiling),
            max: g.ceiling,
        }
    }

    fn on_tick(&mut self, _: &TickContext<'_>) -> Option<CapacityRange> {
        None
    }
}

/// The name of the physical limit in the report.
pub const LIMIT: &str = "limit";

/// `limit`: capacity exactly equal to demand, never below 0.5 ACU, with no scaling lag.
/// Not a policy and not the model: the ACU-hours nothing can beat with nothing unmet.
pub fn limit(trace: &Trace, config: &ReplayConfig) -> PolicyRun {
    let step_secs = trace.step().num_seconds() as f64;
    let timeline: Vec<TimelinePoint> = trace
        .samples()
        .iter()
        .map(|s| {
            let capacity = s.acu.max(Acu::HALF.value());
            TimelinePoint {
                at: s.at,
                demand: s.acu,
                capacity,
                min: capacity,
                max: capacity,
            }
        })
        .collect();
    let acu_hours = timeline.iter().map(|p| p.capacity).sum::<f64>() * step_secs / 3600.0;
    PolicyRun {
        result: PolicyResult {
            name: LIMIT.to_owned(),
            acu_hours: round(acu_hours, 3),
            cost: round(acu_hours * config.price_per_acu_hour, 4),
            unmet_acu_minutes: 0.0,
            unmet_minutes: 0.0,
            worst_shortfall_acu: 0.0,
            modify_calls: 0,
        },
        timeline,
        changes: Vec::new(),
    }
}

/// `static-peak`: min = max = the trace's peak, rounded up to the 0.5 grid. It knows the
/// future (the peak): the yardstick for cost, not a policy anyone can run.
pub struct StaticPeak {
    range: CapacityRange,
}

impl StaticPeak {
    pub fn new(trace: &Trace) -> Self {
        let peak = Acu::ceil_step(trace.peak()).max(Acu::ONE);
        Self {
            range: CapacityRange {
                min: peak,
                max: peak,
            },
        }
    }
}

impl SimPolicy for StaticPeak {
    fn name(&self) -> &str {
        "static-peak"
    }

    fn initial_range(&self, _: &ReplayConfig) -> CapacityRange {
        self.range
    }

    fn on_tick(&mut self, _: &TickContext<'_>) -> Option<CapacityRange> {
        None
    }
}

/// The figures reported per policy (`--json` shape).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyResult {
    pub name: String,
    pub acu_hours: f64,
    pub cost: f64,
    /// Demand above capacity, integrated over time.
    pub unmet_acu_minutes: f64,
    /// Time during which demand exceeded capacity.
    pub unmet_minutes: f64,
    pub worst_shortfall_acu: f64,
    /// Range changes: ModifyDBCluster calls in production.
    pub modify_calls: u32,
}

/// One point of a policy's timeline, at a sample time (capacity at the end of its step).
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct TimelinePoint {
    pub at: DateTime<Utc>,
    pub demand: f64,
    pub capacity: f64,
    pub min: f64,
    pub max: f64,
}

#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct RangeChange {
    pub at: DateTime<Utc>,
    pub from: CapacityRange,
    pub to: CapacityRange,
}

/// A policy's full run: the figures, the timeline to plot, the range changes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyRun {
    pub result: PolicyResult,
    pub timeline: Vec<TimelinePoint>,
    pub changes: Vec<RangeChange>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceSummary {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub step_secs: i64,
    pub samples: usize,
    pub peak_acu: f64,
}

/// The `--json` report: `{"note", "model", "price_per_acu_hour", "trace", "policies"}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SimReport {
    /// Says the figures come from a model.
    pub note: &'static str,
    pub model: AuroraModel,
    pub price_per_acu_hour: f64,
    pub metric_delay_secs: u32,
    pub trace: TraceSummary,
    pub policies: Vec<PolicyResult>,
    /// `acu-pilot plan`'s baseline advice, from the capacity the `acu-pilot` policy gives
    /// this trace: what `plan` would read from CloudWatch with acu-pilot running (boosts
    /// let capacity show demand above the baseline max).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_hint: Option<BaselineHint>,
    /// The timelines, for the plot; not part of the JSON.
    #[serde(skip)]
    pub runs: Vec<PolicyRun>,
}

/// Replays `trace` through one policy. `progress` is called after each sample.
pub fn replay(
    trace: &Trace,
    config: &ReplayConfig,
    policy: &mut dyn SimPolicy,
    progress: &mut dyn FnMut(),
) -> PolicyRun {
    let model = &config.model;
    let samples = trace.samples();
    let step_secs = trace.step().num_seconds() as f64;
    let substeps = (step_secs / f64::from(model.substep_secs.max(1)))
        .ceil()
        .max(1.0);
    let h = step_secs / substeps;
    let substeps = substeps as u32;

    let mut range = policy.initial_range(config);
    let mut state = model.settled(samples[0].acu, range);
    let mut metrics = Metrics::new(Duration::seconds(i64::from(config.metric_delay_secs)));
    let mut timeline = Vec::with_capacity(samples.len());
    let mut changes = Vec::new();
    let mut tally = Tally::default();

    for (i, sample) in samples.iter().enumerate() {
        let now = sample.at;
        let ctx = TickContext {
            now,
            step: trace.step(),
            past: &samples[..i],
            range,
            capacity: state.capacity,
            config,
            metrics: &metrics,
        };
        if let Some(next) = policy.on_tick(&ctx)
            && next != range
        {
            changes.push(RangeChange {
                at: now,
                from: range,
                to: next,
            });
            range = next;
        }
        for k in 0..substeps {
            let at = now + Duration::milliseconds((f64::from(k) * h * 1000.0).round() as i64);
            model.advance(&mut state, sample.acu, range, h);
            metrics.record(at, h, state.capacity, sample.acu, range.max.value());
            tally.add(state.capacity, sample.acu - state.capacity, h);
        }
        timeline.push(TimelinePoint {
            at: now,
            demand: sample.acu,
            capacity: state.capacity,
            min: range.min.value(),
            max: range.max.value(),
        });
        progress();
    }

    PolicyRun {
        result: tally.result(policy.name(), config, changes.len() as u32),
        timeline,
        changes,
    }
}

/// Replays `trace` through every policy, in order, then adds the physical [`limit`].
/// `progress` is called after each sample of each policy (`trace.samples().len() ×
/// policies.len()` calls in all).
pub fn compare(
    trace: &Trace,
    config: &ReplayConfig,
    policies: &mut [Box<dyn SimPolicy>],
    progress: &mut dyn FnMut(),
) -> SimReport {
    let advising = policies.iter().position(|policy| policy.advises_baseline());
    let mut runs: Vec<PolicyRun> = policies
        .iter_mut()
        .map(|policy| replay(trace, config, policy.as_mut(), progress))
        .collect();
    runs.push(limit(trace, config));
    SimReport {
        note: MODEL_NOTE,
        model: config.model.clone(),
        price_per_acu_hour: config.price_per_acu_hour,
        metric_delay_secs: config.metric_delay_secs,
        trace: TraceSummary {
            start: trace.start(),
            end: trace.end(),
            step_secs: trace.step().num_seconds(),
            samples: trace.samples().len(),
            peak_acu: trace.peak(),
        },
        policies: runs.iter().map(|run| run.result.clone()).collect(),
        baseline_hint: advising.and_then(|i| managed_baseline_hint(trace, config, &runs[i])),
        runs,
    }
}

fn managed_baseline_hint(
    trace: &Trace,
    config: &ReplayConfig,
    managed: &PolicyRun,
) -> Option<BaselineHint> {
    let capacity: Vec<(DateTime<Utc>, f64)> = managed
        .timeline
        .iter()
        .map(|point| (point.at, point.capacity))
        .collect();
    baseline_hint(
        &capacity,
        trace.step().num_seconds() as f64 / 60.0,
        config.baseline.max,
        config.guardrails.ceiling,
    )
}

/// What a run bills and leaves unmet, summed over its substeps.
#[derive(Default)]
pub(crate) struct Tally {
    acu_secs: f64,
    unmet_acu_secs: f64,
    unmet_secs: f64,
    worst_shortfall: f64,
}

impl Tally {
    /// `capacity` is what is billed for `secs`; a `shortfall` within float noise of zero
    /// is not unmet demand.
    pub(crate) fn add(&mut self, capacity: f64, shortfall: f64, secs: f64) {
        self.acu_secs += capacity * secs;
        if shortfall > 1e-9 {
            self.unmet_acu_secs += shortfall * secs;
            self.unmet_secs += secs;
            self.worst_shortfall = self.worst_shortfall.max(shortfall);
        }
    }

    pub(crate) fn result(
        &self,
        name: &str,
        config: &ReplayConfig,
        modify_calls: u32,
    ) -> PolicyResult {
        let acu_hours = self.acu_secs / 3600.0;
        PolicyResult {
            name: name.to_owned(),
            acu_hours: round(acu_hours, 3),
            cost: round(acu_hours * config.price_per_acu_hour, 4),
            unmet_acu_minutes: round(self.unmet_acu_secs / 60.0, 3),
            unmet_minutes: round(self.unmet_secs / 60.0, 3),
            worst_shortfall_acu: round(self.worst_shortfall, 3),
            modify_calls,
        }
    }
}

pub(crate) fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{TraceKind, generate};

    fn tiny_trace(demands: &[f64]) -> Trace {
        let start = DateTime::parse_from_rfc3339("2026-11-27T18:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        Trace::new(
            demands
                .iter()
                .enumerate()
                .map(|(i, acu)| Sample {
                    at: start + Duration::minutes(i as i64),
                    acu: *acu,
                })
                .collect(),
        )
        .unwrap()
    }

    fn range(min: f64, max: f64) -> CapacityRange {
        CapacityRange::from_f64(min, max).unwrap()
    }

    /// Linear rates and one sub-step per minute, so the figures can be worked by hand.
    fn hand_config() -> ReplayConfig {
        ReplayConfig {
            model: AuroraModel {
                headroom: 1.0,
                base_up_acu_per_min: 0.5,
                up_fraction_per_min: 0.0,
                base_down_acu_per_min: 0.25,
                down_fraction_per_min: 0.0,
                down_delay_secs: 0,
                substep_secs: 60,
            },
            baseline: range(0.5, 2.0),
            ..ReplayConfig::default()
        }
    }

    #[test]
    fn the_figures_add_up_on_a_hand_computed_trace() {
        // Demand 1, 3, 1 for a minute each inside 0.5–2 ACU. Capacity starts settled at 1;
        // minute 2 climbs 0.5 toward the 2-ACU cap: 1.5 (1.5 ACU short); minute 3 steps
        // down 0.25: 1.25. ACU-minutes 1 + 1.5 + 1.25 = 3.75 → 0.0625 ACU-h → $0.0075.
        let run = replay(
            &tiny_trace(&[1.0, 3.0, 1.0]),
            &hand_config(),
            &mut StaticPolicy,
            &mut || {},
        );
        assert_eq!(
            run.result,
            PolicyResult {
                name: "static".into(),
                acu_hours: 0.063,
                cost: 0.0075,
                unmet_acu_minutes: 1.5,
                unmet_minutes: 1.0,
                worst_shortfall_acu: 1.5,
                modify_calls: 0,
            }
        );
        let capacities: Vec<f64> = run.timeline.iter().map(|p| p.capacity).collect();
        assert_eq!(capacities, vec![1.0, 1.5, 1.25]);
    }

    struct Scripted {
        ranges: Vec<Option<CapacityRange>>,
        seen: Vec<(usize, Option<DateTime<Utc>>, DateTime<Utc>)>,
    }

    impl SimPolicy for Scripted {
        fn name(&self) -> &str {
            "scripted"
        }

        fn on_tick(&mut self, ctx: &TickContext<'_>) -> Option<CapacityRange> {
            self.seen
                .push((ctx.past.len(), ctx.past.last().map(|s| s.at), ctx.now));
            self.ranges.get(self.seen.len() - 1).copied().flatten()
        }
    }

    #[test]
    fn only_range_changes_count_as_calls_and_policies_see_only_the_past() {
        let trace = tiny_trace(&[1.0, 1.0, 1.0, 1.0, 1.0]);
        let mut policy = Scripted {
            ranges: vec![
                None,
                Some(range(4.0, 8.0)),
                Some(range(4.0, 8.0)),
                Some(range(0.5, 2.0)),
                Some(range(0.5, 2.0)),
            ],
            seen: Vec::new(),
        };
        let run = replay(&trace, &hand_config(), &mut policy, &mut || {});
        assert_eq!(run.result.modify_calls, 2);
        assert_eq!(run.changes[0].to, range(4.0, 8.0));
        for (i, (past, last, now)) in policy.seen.iter().enumerate() {
            assert_eq!(*past, i);
            assert!(last.is_none_or(|at| at < *now));
        }
        // Raising min to 4 is climbed at 0.5 ACU/min and billed.
        assert_eq!(run.timeline[1].capacity, 1.5);
    }

    #[test]
    fn static_peak_meets_all_demand_and_static_does_not_on_the_sales_day() {
        let trace = generate(TraceKind::SalesDay, 42);
        // A range chosen tight, 0.5–16: the sale outgrows it.
        let config = ReplayConfig {
            baseline: range(0.5, 16.0),
            ..ReplayConfig::default()
        };
        let mut policies: Vec<Box<dyn SimPolicy>> =
            vec![Box::new(StaticPolicy), Box::new(StaticPeak::new(&trace))];
        let mut ticks = 0;
        let report = compare(&trace, &config, &mut policies, &mut || ticks += 1);
        assert_eq!(ticks, 2 * 1440);
        let [stat, peak, _limit] = &report.policies[..] else {
            panic!("two policies")
        };
        assert_eq!(peak.unmet_acu_minutes, 0.0);
        assert_eq!(peak.unmet_minutes, 0.0);
        assert_eq!(peak.modify_calls, 0);
        let peak_acu = Acu::ceil_step(trace.peak()).value();
        assert!((peak.acu_hours - peak_acu * 24.0).abs() < 0.01);
        // static is capped at 16 ACU through a ~48-ACU sale.
        assert!(stat.worst_shortfall_acu > 30.0, "{stat:?}");
        assert!(stat.unmet_minutes >= 55.0, "{stat:?}");
        assert!(stat.acu_hours < peak.acu_hours / 5.0, "{stat:?}");
    }

    /// The shape the real alarm policy plugs into: a simulated alarm on the modelled
    /// metrics, a layer written as a tag, the range from `desired()`. The boost rule here
    /// is a stand-in (double max for two hours), not the alarm-handler's.
    struct DoubleMaxOnAlarm {
        alarm: crate::SimAlarm,
        cluster: crate::SimCluster,
    }

    impl SimPolicy for DoubleMaxOnAlarm {
        fn name(&self) -> &str {
            "double-max-on-alarm"
        }

        fn on_tick(&mut self, ctx: &TickContext<'_>) -> Option<CapacityRange> {
            use crate::AlarmState;
            use acu_pilot_core::tags::{Layer, LayerKind};
            if let Some(change) = self.alarm.evaluate(ctx.metrics(), ctx.now)
                && change.state == AlarmState::Alarm
            {
                let max = Acu::ceil_step(ctx.range.max.value() * 2.0);
                self.cluster.put_layer(&Layer {
                    hard: false,
                    kind: LayerKind::Boost,
                    min: None,
                    max: Some(max),
                    until: ctx.now + Duration::hours(2),
                    by: format!("alarm:{}", change.alarm),
                    at: Some(ctx.now),
                });
            }
            self.cluster.reconcile(ctx.now)
        }
    }

    #[test]
    fn an_alarm_driven_layered_policy_plugs_in_and_beats_static() {
        use crate::{AlarmSpec, ComparisonOperator, SimAlarm, SimCluster};
        let trace = generate(TraceKind::SalesDay, 42);
        let config = ReplayConfig {
            baseline: range(0.5, 16.0),
            ..ReplayConfig::default()
        };
        let alarm = SimAlarm::new(AlarmSpec {
            name: "Aurora-shop-High-ACU".into(),
            metric: Metric::AcuUtilization,
            statistic: Statistic::Average,
            comparison: ComparisonOperator::GreaterThanThreshold,
            threshold: 90.0,
            period_secs: 60,
            evaluation_periods: 2,
            datapoints_to_alarm: 2,
        });
        let cluster = SimCluster::new("shop", config.baseline, config.guardrails);
        let mut policies: Vec<Box<dyn SimPolicy>> = vec![
            Box::new(StaticPolicy),
            Box::new(DoubleMaxOnAlarm { alarm, cluster }),
        ];
        let report = compare(&trace, &config, &mut policies, &mut || {});
        let [stat, alarmed, _limit] = &report.policies[..] else {
            panic!("two policies")
        };
        assert!(alarmed.modify_calls >= 2, "{alarmed:?}");
        assert!(
            alarmed.unmet_acu_minutes < stat.unmet_acu_minutes / 2.0,
            "{alarmed:?} vs {stat:?}"
        );
        let run = &report.runs[1];
        assert!(run.changes[0].at > DateTime::parse_from_rfc3339("2026-11-27T18:00:00Z").unwrap());
        assert_eq!(run.changes[0].to.max, Acu::new(32.0).unwrap());
    }

    #[test]
    fn the_json_report_has_the_promised_shape() {
        let trace = tiny_trace(&[1.0, 3.0, 1.0]);
        let mut policies: Vec<Box<dyn SimPolicy>> = vec![Box::new(StaticPolicy)];
        let report = compare(&trace, &ReplayConfig::default(), &mut policies, &mut || {});
        let json = serde_json::to_value(&report).unwrap();
        assert!(json["note"].as_str().unwrap().contains("model"));
        assert_eq!(json["model"]["up_fraction_per_min"], 0.7);
        let policy = json["policies"][0].as_object().unwrap();
        let keys: Vec<&str> = policy.keys().map(String::as_str).collect();
        for key in [
            "name",
            "acu_hours",
            "cost",
            "unmet_acu_minutes",
            "unmet_minutes",
            "worst_shortfall_acu",
            "modify_calls",
        ] {
            assert!(keys.contains(&key), "{key} missing from {keys:?}");
        }
        assert!(json.get("runs").is_none());
    }

    #[test]
    fn a_config_file_may_set_only_what_it_changes() {
        let config: ReplayConfig = serde_json::from_str(
            r#"{"price_per_acu_hour": 0.2, "baseline": {"min": 1, "max": 32}, "model": {"headroom": 1.1}}"#,
        )
        .unwrap();
        assert_eq!(config.price_per_acu_hour, 0.2);
        assert_eq!(config.baseline, range(1.0, 32.0));
        assert_eq!(config.model.headroom, 1.1);
        assert_eq!(config.model.substep_secs, 10);
        config.validate().unwrap();
        assert!(serde_json::from_str::<ReplayConfig>(r#"{"prise": 1}"#).is_err());
    }

    /// `cargo test -p acu-pilot --lib regenerate_example_traces -- --ignored` rewrites them.
    #[test]
    #[ignore]
    fn regenerate_example_traces() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/traces");
        std::fs::create_dir_all(dir).unwrap();
        for kind in [TraceKind::SalesDay, TraceKind::Week] {
            let path = format!("{dir}/{}.csv", kind.name());
            std::fs::write(path, generate(kind, 42).to_csv()).unwrap();
        }
    }

    #[test]
    fn the_shipped_example_traces_are_the_generator_s_seed_42() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/traces");
        for kind in [TraceKind::SalesDay, TraceKind::Week] {
            let path = format!("{dir}/{}.csv", kind.name());
            let shipped = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(shipped, generate(kind, 42).to_csv(), "{path} is stale");
            Trace::parse(&shipped).unwrap();
        }
    }
}
