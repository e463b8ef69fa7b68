//! The layered policies under simulation, built from the functions' own decisions:
//!
//! - `alarms-only`: simulated high and low alarms on the modelled metrics; each
//!   transition becomes a real [`events::AlarmTransition`] and goes through the
//!   alarm-handler's [`policy::alarm::decide`](acu_pilot_core::policy::alarm::decide).
//! - `prescale-only`: every 5 minutes, the real [`Calendar`] windows and the real
//!   [`predict`] (fed only the trace's past) go through
//!   [`plan_prescale`].
//! - `acu-pilot`: both, plus the janitor's expiry every 15 minutes.
//!
//! Each writes layers as tags on a [`SimCluster`] and reconciles only when a function
//! runs, as in production. The settings are the production defaults
//! ([`Config::default`]) unless the config file's `policy` section overrides them, with
//! the same `ACU_PILOT_*` names and validation as the functions' environment.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use serde::Serialize;

use super::cloudwatch::{AlarmSpec, AlarmState, Metric, SimAlarm, Statistic};
use super::cluster::SimCluster;
use super::replay::{
    PolicyResult, ReplayConfig, SimPolicy, SimReport, StaticPeak, StaticPolicy, StaticWide,
    TickContext, replay,
};
use super::settings::{CLUSTER_ID, ForecastHistory};
use super::trace::Trace;
use acu_pilot_core::calendar::Calendar;
use acu_pilot_core::capacity::CapacityRange;
use acu_pilot_core::config::Config;
use acu_pilot_core::desired::effective_guardrails;

use acu_pilot_core::events::{self, AlarmMetric, EventShape};
use acu_pilot_core::forecast::{ForecastSpec, predict};
use acu_pilot_core::history::{MetricHistory, Series};
use acu_pilot_core::policy::alarm::{decide, renews_boost};
use acu_pilot_core::policy::budget::{self, plan_budget};
use acu_pilot_core::policy::prescale::{LayerChange, plan_prescale};
use acu_pilot_core::policy::quiet::plan_quiet;
use acu_pilot_core::tags::{self, LayerKind};

/// The pre-scaler's and the janitor's schedules (template.yaml: `rate(5 minutes)`,
/// `rate(15 minutes)`).
pub const PRESCALE_EVERY_MINUTES: u32 = 5;
pub const JANITOR_EVERY_MINUTES: u32 = 15;

/// Which functions a layered policy runs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Functions {
    AlarmsOnly,
    PrescaleOnly,
    All,
}

impl Functions {
    pub fn name(self) -> &'static str {
        match self {
            Functions::AlarmsOnly => "alarms-only",
            Functions::PrescaleOnly => "prescale-only",
            Functions::All => "acu-pilot",
        }
    }

    fn alarms(self) -> bool {
        self != Functions::PrescaleOnly
    }

    fn prescale(self) -> bool {
        self != Functions::AlarmsOnly
    }

    fn janitor(self) -> bool {
        self == Functions::All
    }
}

/// A simulated alarm with the role the handler resolves for it and, while a boost has
/// moved its threshold, the original to restore.
struct RoleAlarm {
    alarm: SimAlarm,
    original: Option<f64>,
}

/// A layered policy: the real functions' decisions on a simulated cluster.
pub struct Autopilot {
    functions: Functions,
    config: Config,
    cluster: SimCluster,
    alarms: Vec<RoleAlarm>,
    calendar: Option<Calendar>,
    forecast: ForecastSpec,
    forecast_history: ForecastHistory,
    published: Published,
}

/// The writer's metrics as CloudWatch has published them so far, one value per forecast
/// period: read once each as it appears, not the whole lookback every tick (a published
/// datapoint never changes).
#[derive(Default)]
struct Published {
    history: MetricHistory,
}

impl Published {
    const SERIES: [Metric; 3] = [
        Metric::ServerlessDatabaseCapacity,
        Metric::CpuUtilization,
        Metric::AcuUtilization,
    ];

    /// Reads what was published since the last read; on the first, the last `lookback`.
    fn catch_up(&mut self, ctx: &TickContext<'_>, period: TimeDelta, lookback: TimeDelta) {
        let periods =
            |span: TimeDelta| (span.num_seconds() / period.num_seconds().max(1)) as usize + 1;
        for metric in Self::SERIES {
            let series = match metric {
                Metric::ServerlessDatabaseCapacity => &mut self.history.capacity,
                Metric::CpuUtilization => &mut self.history.cpu,
                Metric::AcuUtilization => &mut self.history.acu,
            };
            let newest = series.last().map(|(t, _)| *t);
            let count = periods(newest.map_or(lookback, |n| (ctx.now - n).min(lookback)));
            series.extend(
                ctx.datapoints(metric, Statistic::Average, period, count)
                    .into_iter()
                    .filter(|d| newest.is_none_or(|n| d.start > n))
                    .map(|d| (d.start, d.value)),
            );
            // Nothing older than the lookback is read again: months of trace stay small.
            let oldest = ctx.now - lookback - period;
            series.drain(..series.partition_point(|(t, _)| *t < oldest));
        }
    }

    fn since(&self, from: DateTime<Utc>) -> MetricHistory {
        let tail = |s: &Series| s[s.partition_point(|(t, _)| *t < from)..].to_vec();
        MetricHistory {
            capacity: tail(&self.history.capacity),
            cpu: tail(&self.history.cpu),
            acu: tail(&self.history.acu),
        }
    }
}

impl Autopilot {
    pub fn new(
        functions: Functions,
        replay: &ReplayConfig,
        config: &Config,
        calendar: Option<&Calendar>,
    ) -> Self {
        let alarms = if functions.alarms() {
            [replay.policy.high_alarm(), replay.policy.low_alarm()]
                .into_iter()
                .map(|spec| RoleAlarm {
                    alarm: SimAlarm::new(spec),
                    original: None,
                })
                .collect()
        } else {
            Vec::new()
        };
        let lead = acu_pilot_core::config::to_delta(config.prescale.lead);
        let mut cluster = SimCluster::new(CLUSTER_ID, replay.baseline, config.guardrails);
        if let Some(budget) = replay.policy.budget {
            // As the owner would: a tag, read by the same parser as in production.
            cluster
                .cluster
                .tags
                .insert(tags::BUDGET.to_owned(), budget.to_string());
        }
        Self {
            functions,
            config: config.clone(),
            cluster,
            alarms,
            calendar: calendar
                .filter(|_| functions.prescale())
                .map(|c| c.clone().with_default_lead(lead)),
            forecast: ForecastSpec::from_config(&config.prescale),
            forecast_history: replay.policy.forecast_history,
            published: Published::default(),
        }
    }

    /// `None` when the cluster's guardrail tags are refused: every function then leaves
    /// the cluster as it is, as production's MalformedTag does.
    fn guardrails(&self) -> Option<acu_pilot_core::capacity::Guardrails> {
        effective_guardrails(
            &self.config.guardrails,
            &self.cluster.tags(),
            &self.cluster.cluster,
        )
        .ok()
    }

    fn live(&self) -> CapacityRange {
        self.cluster
            .cluster
            .range
            .expect("a simulated cluster has a range")
    }

    /// The alarm-handler, once per transition the simulated CloudWatch reports.
    fn alarm_handler(&mut self, ctx: &TickContext<'_>) -> bool {
        let mut ran = false;
        for i in 0..self.alarms.len() {
            if let Some(change) = self.alarms[i].alarm.evaluate(ctx.metrics(), ctx.now) {
                ran |= self.handle_transition(i, &change, ctx.now);
            }
        }
        ran
    }

    /// One alarm event through the alarm-handler's decision, as production applies it.
    fn handle_transition(
        &mut self,
        i: usize,
        change: &super::cloudwatch::AlarmTransition,
        now: DateTime<Utc>,
    ) -> bool {
        let spec = &self.alarms[i].alarm.spec;
        let transition = to_event(spec, change);
        let Some((role, _)) = transition.role(None) else {
            return false;
        };
        let tags = self.cluster.tags();
        let Some(guardrails) = self.guardrails() else {
            return false;
        };
        let decision = decide(
            role,
            &transition,
            &tags,
            self.live(),
            &guardrails,
            &self.config.boost,
            now,
        );
        for kind in &decision.remove {
            self.cluster.remove_layer(*kind);
        }
        for layer in &decision.put {
            self.cluster.put_layer(layer);
        }
        if let Some(scale) = decision.threshold_scale
            && transition.watches_absolute_capacity()
        {
            // The handler moves an absolute threshold with max (PutMetricAlarm, which
            // also resets the alarm), and keeps the original to restore.
            let slot = &mut self.alarms[i];
            let threshold = slot.alarm.spec.threshold;
            slot.original.get_or_insert(threshold);
            slot.alarm.set_threshold(threshold * scale);
        }
        true
    }

    /// The pre-scaler's tick: calendar windows and forecast into the prescale layer.
    fn pre_scaler(&mut self, ctx: &TickContext<'_>) {
        let now = ctx.now;
        let Some(guardrails) = self.guardrails() else {
            return;
        };
        let tags = self.cluster.tags();
        let windows = self
            .calendar
            .as_ref()
            .map(|c| c.active_for(CLUSTER_ID, &self.cluster.cluster.tags, now))
            .unwrap_or_default();
        let window_refs: Vec<_> = windows.iter().collect();
        let forecast = self.config.prescale.forecast_enabled.then(|| {
            let from = now - self.forecast.lookback();
            let start = ctx.past.partition_point(|s| s.at < from);
            let history: Vec<(DateTime<Utc>, f64)> = match self.forecast_history {
                ForecastHistory::Demand => {
                    ctx.past[start..].iter().map(|s| (s.at, s.acu)).collect()
                }
                ForecastHistory::Capacity => {
                    self.published
                        .catch_up(ctx, self.forecast.period, self.forecast.lookback());
                    self.published.since(from).capacity
                }
                ForecastHistory::Metrics => {
                    self.published
                        .catch_up(ctx, self.forecast.period, self.forecast.lookback());
                    self.published.since(from).load().0
                }
            };
            predict(&history, now, &self.forecast)
        });
        let plan = plan_prescale(
            now,
            &window_refs,
            forecast.as_ref(),
            tags.layer(LayerKind::Prescale),
            &self.config.prescale,
            &guardrails,
        );
        match plan.change {
            LayerChange::Write(layer) => self.cluster.put_layer(&layer),
            LayerChange::Remove => self.cluster.remove_layer(LayerKind::Prescale),
            LayerChange::Keep | LayerChange::None => {}
        }
        // The quiet layer, as the pre-scaler writes it (its one writer).
        match plan_quiet(now, &window_refs, tags.layer(LayerKind::Quiet)).change {
            LayerChange::Write(layer) => self.cluster.put_layer(&layer),
            LayerChange::Remove => self.cluster.remove_layer(LayerKind::Quiet),
            LayerChange::Keep | LayerChange::None => {}
        }
        // The budget cap, from the writer's published capacity over the trailing day, as
        // the pre-scaler reads it.
        if let (Some(per_day), Some(baseline)) = (tags.budget, tags.baseline) {
            let period = self.forecast.period;
            self.published
                .catch_up(ctx, period, self.forecast.lookback().max(budget::WINDOW));
            let spent = budget::spent(
                &self.published.since(now - budget::WINDOW).capacity,
                period,
                now,
            );
            let plan = plan_budget(
                now,
                Some(per_day),
                spent,
                baseline,
                &guardrails,
                tags.layer(LayerKind::Budget),
            );
            match plan.change {
                LayerChange::Write(layer) => self.cluster.put_layer(&layer),
                LayerChange::Remove => self.cluster.remove_layer(LayerKind::Budget),
                LayerChange::Keep | LayerChange::None => {}
            }
        }
    }

    /// The janitor: a high alarm still in ALARM goes through the alarm-handler again
    /// (CloudWatch reports only changes, so without this a boost would expire under a
    /// firing alarm), then expired layers go.
    fn janitor(&mut self, now: DateTime<Utc>) {
        for i in 0..self.alarms.len() {
            let alarm = &self.alarms[i].alarm;
            if alarm.state() != AlarmState::Alarm
                || !renews_boost(&self.cluster.tags(), &alarm.spec.name)
            {
                continue;
            }
            let still_firing = super::cloudwatch::AlarmTransition {
                alarm: alarm.spec.name.clone(),
                at: now,
                previous: AlarmState::Alarm,
                state: AlarmState::Alarm,
                reason: "still in ALARM at the janitor's sweep".to_owned(),
                datapoints: Vec::new(),
            };
            self.handle_transition(i, &still_firing, now);
        }
        self.cluster.expire_layers(now);
    }

    fn restore_thresholds(&mut self, now: DateTime<Utc>) {
        let boosted = self
            .cluster
            .tags()
            .layer(LayerKind::Boost)
            .is_some_and(|b| b.is_active(now));
        if boosted {
            return;
        }
        for slot in &mut self.alarms {
            if let Some(original) = slot.original.take() {
                slot.alarm.set_threshold(original);
            }
        }
    }
}

impl SimPolicy for Autopilot {
    fn name(&self) -> &str {
        self.functions.name()
    }

    fn advises_baseline(&self) -> bool {
        self.functions == Functions::All
    }

    fn initial_range(&self, _: &ReplayConfig) -> CapacityRange {
        self.live()
    }

    fn on_tick(&mut self, ctx: &TickContext<'_>) -> Option<CapacityRange> {
        let now = ctx.now;
        // Each function ends in reconcile; nothing moves the range between runs.
        let mut ran = self.functions.alarms() && self.alarm_handler(ctx);
        let minute = now.minute() + 60 * now.hour();
        // A trace step over a minute may step over the schedule's minute: run on the
        // first tick at or after it.
        let due = |every: u32| {
            let step = ctx.step.num_minutes().max(1) as u32;
            minute % every < step.min(every)
        };
        if self.functions.prescale() && due(PRESCALE_EVERY_MINUTES) {
            self.pre_scaler(ctx);
            ran = true;
        }
        if self.functions.janitor() && due(JANITOR_EVERY_MINUTES) {
            self.janitor(now);
            ran = true;
        }
        self.restore_thresholds(now);
        if ran {
            self.cluster.reconcile(now)
        } else {
            None
        }
    }
}

/// The event the alarm-handler would receive for a simulated transition.
fn to_event(
    spec: &AlarmSpec,
    change: &super::cloudwatch::AlarmTransition,
) -> events::AlarmTransition {
    let state = |s: AlarmState| match s {
        AlarmState::Ok => events::AlarmState::Ok,
        AlarmState::Alarm => events::AlarmState::Alarm,
        AlarmState::InsufficientData => events::AlarmState::InsufficientData,
    };
    let comparison = spec.comparison;
    let role = comparison.role();
    let mut tags = BTreeMap::from([(tags::ALARM_CLUSTER.to_owned(), CLUSTER_ID.to_owned())]);
    if let Some(role) = role {
        tags.insert(tags::ALARM_ROLE.to_owned(), role.to_string());
    }
    events::AlarmTransition {
        alarm_name: spec.name.clone(),
        alarm_arn: Some(format!(
            "arn:aws:cloudwatch:us-east-1:000000000000:alarm:{}",
            spec.name
        )),
        state: state(change.state),
        previous_state: Some(state(change.previous)),
        state_timestamp: change.at,
        reason: Some(change.reason.clone()),
        metrics: vec![AlarmMetric {
            namespace: Some("AWS/RDS".into()),
            name: spec.metric.name().into(),
            dimensions: BTreeMap::from([(
                events::CLUSTER_DIMENSION.to_owned(),
                CLUSTER_ID.to_owned(),
            )]),
        }],
        is_metric_math: false,
        cluster: Some(CLUSTER_ID.into()),
        role_hint: role,
        comparison: Some(comparison),
        threshold: Some(spec.threshold),
        tags,
        shape: EventShape::EventBridge,
    }
}

/// What a calendar's quiet windows did to acu-pilot on a trace: the same run without
/// them, compared with the run with them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuietEffect {
    pub acu_hours_saved: f64,
    pub cost_saved: f64,
    /// Demand the quiet windows left unmet beyond what the run without them did.
    pub unmet_acu_minutes_added: f64,
    /// acu-pilot on the same trace and calendar without its quiet entries.
    pub without_quiet: PolicyResult,
}

/// `None` when the calendar has no quiet entry, or the report has no acu-pilot run.
pub fn quiet_effect(
    trace: &Trace,
    replay_config: &ReplayConfig,
    config: &Config,
    calendar: &Calendar,
    report: &SimReport,
) -> Option<QuietEffect> {
    let with_quiet = report
        .policies
        .iter()
        .find(|p| p.name == Functions::All.name())?;
    if !calendar.has_quiet() {
        return None;
    }
    let without = calendar.without_quiet();
    let mut autopilot = Autopilot::new(Functions::All, replay_config, config, Some(&without));
    let without_quiet = replay(trace, replay_config, &mut autopilot, &mut || {}).result;
    Some(QuietEffect {
        acu_hours_saved: without_quiet.acu_hours - with_quiet.acu_hours,
        cost_saved: without_quiet.cost - with_quiet.cost,
        unmet_acu_minutes_added: with_quiet.unmet_acu_minutes - without_quiet.unmet_acu_minutes,
        without_quiet,
    })
}

/// The policies of `acu-pilot simulate`, in report order (the replay adds `limit`).
pub fn all_policies(
    trace: &Trace,
    replay: &ReplayConfig,
    config: &Config,
    calendar: Option<&Calendar>,
) -> Vec<Box<dyn SimPolicy>> {
    let layered = |functions| -> Box<dyn SimPolicy> {
        Box::new(Autopilot::new(functions, replay, config, calendar))
    };
    vec![
        Box::new(StaticPolicy),
        Box::new(StaticWide),
        Box::new(StaticPeak::new(trace)),
        layered(Functions::AlarmsOnly),
        layered(Functions::PrescaleOnly),
        layered(Functions::All),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::compare;
    use crate::settings::PolicySettings;
    use acu_pilot_core::capacity::Acu;
    use acu_pilot_core::events::ComparisonOperator;
    use chrono::TimeDelta;

    fn shipped(path: &str) -> String {
        let path = format!("{}/../examples/{path}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// A user who chose a baseline max of 16, so the alarms have something to raise.
    fn tight() -> ReplayConfig {
        ReplayConfig {
            baseline: CapacityRange::new(Acu::HALF, Acu::new(16.0).unwrap()).unwrap(),
            ..ReplayConfig::default()
        }
    }

    fn run(trace: &str, calendar: Option<&str>, config: &Config) -> crate::SimReport {
        let trace = Trace::parse(&shipped(trace)).unwrap();
        let calendar = calendar.map(|c| Calendar::parse(&shipped(c)).unwrap());
        let replay = ReplayConfig {
            guardrails: config.guardrails,
            ..tight()
        };
        let mut policies = all_policies(&trace, &replay, config, calendar.as_ref());
        compare(&trace, &replay, &mut policies, &mut || {})
    }

    fn policy<'a>(report: &'a crate::SimReport, name: &str) -> &'a crate::PolicyResult {
        report.policies.iter().find(|p| p.name == name).unwrap()
    }

    /// Issue #17: the shipped weekend quiet window on the week trace saves ACU-hours and
    /// costs unmet demand; a hard cap, which no boost lifts, saves more and costs more.
    #[test]
    fn a_weekend_quiet_window_saves_acu_hours_at_a_cost_in_unmet_demand() {
        let trace = Trace::parse(&shipped("traces/week.csv")).unwrap();
        let replay = ReplayConfig::default();
        let config = Config::default();
        let effect = |yaml: &str| {
            let calendar = Calendar::parse(yaml).unwrap();
            let mut policies = all_policies(&trace, &replay, &config, Some(&calendar));
            let report = compare(&trace, &replay, &mut policies, &mut || {});
            quiet_effect(&trace, &replay, &config, &calendar, &report).unwrap()
        };
        let soft_yaml = shipped("calendar-week-quiet.yaml");
        let soft = effect(&soft_yaml);
        assert!(soft.acu_hours_saved > 1.0, "{soft:?}");
        assert!(soft.unmet_acu_minutes_added > 0.0, "{soft:?}");
        let hard = effect(&soft_yaml.replace("{max: 4}", "{max: 4, hard: true}"));
        assert!(hard.acu_hours_saved > soft.acu_hours_saved, "{hard:?}");
        assert!(
            hard.unmet_acu_minutes_added > soft.unmet_acu_minutes_added,
            "{hard:?}"
        );
        // Without quiet entries there is nothing to compare.
        let plain =
            Calendar::parse(&soft_yaml.replace("    quiet: {max: 4}\n", "    min: 1\n")).unwrap();
        let mut policies = all_policies(&trace, &replay, &config, Some(&plain));
        let report = compare(&trace, &replay, &mut policies, &mut || {});
        assert!(quiet_effect(&trace, &replay, &config, &plain, &report).is_none());
    }

    #[test]
    fn on_the_sales_day_acu_pilot_meets_more_demand_than_each_part_at_a_fraction_of_peak_cost() {
        let report = run(
            "traces/sales-day.csv",
            Some("calendar-sales-day.yaml"),
            &Config::default(),
        );
        let pilot = policy(&report, "acu-pilot");
        for other in ["static", "static-wide", "alarms-only", "prescale-only"] {
            let other = policy(&report, other);
            assert!(
                pilot.unmet_acu_minutes < other.unmet_acu_minutes,
                "{pilot:?} vs {other:?}"
            );
        }
        let peak = policy(&report, "static-peak");
        assert!(
            pilot.acu_hours <= 0.35 * peak.acu_hours,
            "{pilot:?} vs {peak:?}"
        );
    }

    #[test]
    fn a_boost_does_not_expire_under_a_high_alarm_that_is_still_firing() {
        // An hour at 4 ACU, then five hours at 30: longer than the boost's 2-hour TTL.
        // CloudWatch sends one ALARM transition; the janitor must keep the capacity up.
        let start = DateTime::parse_from_rfc3339("2026-11-27T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let samples = (0..360)
            .map(|minute| crate::trace::Sample {
                at: start + TimeDelta::minutes(minute),
                acu: if minute < 60 { 4.0 } else { 30.0 },
            })
            .collect();
        let trace = Trace::new(samples).unwrap();
        let config = Config::default();
        let replay = ReplayConfig {
            guardrails: config.guardrails,
            ..tight()
        };
        let mut policies = all_policies(&trace, &replay, &config, None);
        let report = compare(&trace, &replay, &mut policies, &mut || {});
        let pilot = report
            .runs
            .iter()
            .find(|r| r.result.name == "acu-pilot")
            .unwrap();
        let last = pilot.changes.last().expect("acu-pilot changed the range");
        assert!(last.to.max.value() >= 30.0, "{:?}", pilot.changes);
        assert!(
            pilot.result.unmet_acu_minutes < policy(&report, "static").unmet_acu_minutes / 4.0,
            "{:?}",
            pilot.result
        );
    }

    #[test]
    fn a_baseline_outgrown_every_day_is_hinted_and_taking_the_hint_meets_the_demand() {
        // Five days: 4 ACU, and 30 ACU every evening from 18:00 to 22:00.
        let start = DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let samples = (0..5 * 288)
            .map(|step| {
                let at = start + TimeDelta::minutes(5 * step);
                let evening = (18..22).contains(&at.hour());
                crate::trace::Sample {
                    at,
                    acu: if evening { 30.0 } else { 4.0 },
                }
            })
            .collect();
        let trace = Trace::new(samples).unwrap();
        let config = Config::default();
        let simulate = |baseline_max: f64| {
            let replay = ReplayConfig {
                guardrails: config.guardrails,
                baseline: CapacityRange::new(Acu::HALF, Acu::new(baseline_max).unwrap()).unwrap(),
                ..ReplayConfig::default()
            };
            let mut policies = all_policies(&trace, &replay, &config, None);
            compare(&trace, &replay, &mut policies, &mut || {})
        };
        let report = simulate(16.0);
        let hint = report.baseline_hint.clone().expect("a baseline hint");
        assert_eq!((hint.days_at_max, hint.days_with_data), (5, 5));
        assert!(hint.suggested_max.value() >= 30.0, "{hint:?}");

        let taken = simulate(hint.suggested_max.value());
        assert_eq!(taken.baseline_hint, None);
        let (before, after) = (policy(&report, "acu-pilot"), policy(&taken, "acu-pilot"));
        assert!(
            after.unmet_acu_minutes < before.unmet_acu_minutes / 4.0,
            "{before:?} → {after:?}"
        );
    }

    #[test]
    fn the_alarms_go_through_the_handler_s_decision_with_the_provisioner_s_alarm() {
        let report = run("traces/sales-day.csv", None, &Config::default());
        let run = &report.runs[3];
        assert_eq!(run.result.name, "alarms-only");
        // Two 5-minute periods over 75 %, published a minute late: 18:11. The default
        // step is ×1.5 (16 → 24); the alarm then stays in ALARM, so there is no second step.
        let first = &run.changes[0];
        assert_eq!(first.at.to_rfc3339(), "2026-11-27T18:11:00+00:00");
        assert_eq!(first.to.max.value(), 24.0);
        assert_eq!(run.changes.len(), 1, "{:?}", run.changes);
    }

    #[test]
    fn a_policy_default_changes_the_simulation() {
        let default = run("traces/sales-day.csv", None, &Config::default());
        let settings = PolicySettings {
            env: BTreeMap::from([("ACU_PILOT_BOOST_FACTOR".to_owned(), "2".to_owned())]),
            ..PolicySettings::default()
        };
        let doubled = run("traces/sales-day.csv", None, &settings.config().unwrap());
        let (a, b) = (
            policy(&default, "alarms-only"),
            policy(&doubled, "alarms-only"),
        );
        assert!(b.unmet_acu_minutes < a.unmet_acu_minutes, "{a:?} vs {b:?}");
        assert_eq!(doubled.runs[3].changes[0].to.max.value(), 32.0);
    }

    #[test]
    fn an_absolute_threshold_moves_with_max_so_the_alarm_fires_again() {
        // The recipe's high alarm: ServerlessDatabaseCapacity > 12 for 2 × 300 s.
        let trace = Trace::parse(&shipped("traces/sales-day.csv")).unwrap();
        let replay = ReplayConfig {
            policy: PolicySettings {
                high_alarm: Some(AlarmSpec {
                    name: "Aurora-sim-High-ACU".into(),
                    metric: Metric::ServerlessDatabaseCapacity,
                    statistic: Statistic::Average,
                    comparison: ComparisonOperator::GreaterThanThreshold,
                    threshold: 12.0,
                    period_secs: 300,
                    evaluation_periods: 2,
                    datapoints_to_alarm: 2,
                }),
                ..PolicySettings::default()
            },
            ..tight()
        };
        let mut policy = Autopilot::new(Functions::AlarmsOnly, &replay, &Config::default(), None);
        let run = crate::replay(&trace, &replay, &mut policy, &mut || {});
        let maxes: Vec<f64> = run.changes.iter().map(|c| c.to.max.value()).collect();
        // 16 → 24 (threshold 12 → 18, re-armed) → 36 → 54 (×1.5 each) while demand stays ~48.
        assert!(maxes.starts_with(&[24.0, 36.0, 54.0]), "{maxes:?}");
        // Once the last boost has expired, the original threshold is back.
        assert_eq!(policy.alarms[0].alarm.spec.threshold, 12.0);
    }

    #[test]
    fn the_forecast_sees_only_the_past_and_warms_from_the_second_day() {
        // One past day is the least a daily pattern is read from (the budget weighs it on
        // that day); the first day of the shipped week must be left alone, and the weekday
        // peaks warmed after it.
        let trace = Trace::parse(&shipped("traces/week.csv")).unwrap();
        let replay = ReplayConfig::default();
        let mut policy = Autopilot::new(Functions::PrescaleOnly, &replay, &Config::default(), None);
        let run = crate::replay(&trace, &replay, &mut policy, &mut || {});
        let second_day = trace.start() + chrono::Duration::days(1);
        assert!(!run.changes.is_empty());
        assert!(
            run.changes.iter().all(|c| c.at >= second_day),
            "{:?}",
            run.changes[0]
        );
        assert!(
            run.changes.iter().any(|c| c.to.min.value() >= 3.0),
            "{:?}",
            run.changes
        );
    }

    #[test]
    fn a_forecast_fed_the_capacity_alone_learns_the_min_it_held() {
        // 1 ACU for four days, and 20 ACU on the first morning 09:00–09:30. Fed the
        // demand, the fourth morning is not warmed (one day of three was busy). Fed the
        // capacity alone, the mornings the forecast warmed show their held min as used
        // capacity, so the fourth is warmed again, from the forecast's own warmth. Fed the
        // metrics production reads, CPUUtilization shows the held min unused.
        let start = DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let samples = (0..4 * 288)
            .map(|step| {
                let at = start + TimeDelta::minutes(5 * step);
                let busy = step < 288 && at.hour() == 9 && at.minute() < 30;
                crate::trace::Sample {
                    at,
                    acu: if busy { 20.0 } else { 1.0 },
                }
            })
            .collect();
        let trace = Trace::new(samples).unwrap();
        let fourth_morning_min = |forecast_history| {
            let replay = ReplayConfig {
                policy: PolicySettings {
                    forecast_history,
                    ..PolicySettings::default()
                },
                ..ReplayConfig::default()
            };
            let mut policy =
                Autopilot::new(Functions::PrescaleOnly, &replay, &Config::default(), None);
            let run = crate::replay(&trace, &replay, &mut policy, &mut || {});
            let morning = start + TimeDelta::days(3) + TimeDelta::hours(9);
            run.timeline
                .iter()
                .find(|p| p.at == morning)
                .map(|p| p.min)
                .unwrap()
        };
        assert!(fourth_morning_min(ForecastHistory::Demand) < 2.0);
        assert!(fourth_morning_min(ForecastHistory::Capacity) >= 19.0);
        // What production reads: the utilisations show the held min unused.
        assert!(fourth_morning_min(ForecastHistory::Metrics) < 2.0);
    }

    #[test]
    fn a_budget_caps_max_while_the_trailing_day_is_over_it_and_lets_go_after() {
        // Two days at 8 ACU of demand, then two at 1. A budget of 96 ACU-hours a day (4 ACU
        // around the clock) is passed on the first afternoon; the simulated pre-scaler
        // caps max at 4 until the trailing day falls under 90 % of the budget again.
        let start = DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let samples = (0..4 * 288)
            .map(|step| crate::trace::Sample {
                at: start + TimeDelta::minutes(5 * step),
                acu: if step < 2 * 288 { 8.0 } else { 1.0 },
            })
            .collect();
        let trace = Trace::new(samples).unwrap();
        let run_with = |budget| {
            let replay = ReplayConfig {
                baseline: CapacityRange::from_f64(0.5, 16.0).unwrap(),
                policy: PolicySettings {
                    budget,
                    ..PolicySettings::default()
                },
                ..ReplayConfig::default()
            };
            let mut config = Config::default();
            config.prescale.forecast_enabled = false;
            let mut policy = Autopilot::new(Functions::All, &replay, &config, None);
            crate::replay(&trace, &replay, &mut policy, &mut || {})
        };
        let free = run_with(None);
        let capped = run_with(Some(96.0));
        let max_at = |run: &crate::replay::PolicyRun, hours: i64| {
            let at = start + TimeDelta::hours(hours);
            run.timeline.iter().find(|p| p.at == at).unwrap().max
        };
        assert_eq!(max_at(&free, 30), 16.0);
        // The first day's 8 ACU pass 96 ACU-hours after 12 h; by 30 h it is capped.
        assert_eq!(max_at(&capped, 6), 16.0);
        assert_eq!(max_at(&capped, 30), 4.0);
        // From 48 h demand is 1 ACU; the trailing day falls under 86.4 ACU-h before
        // 72 h, and the cap goes.
        assert_eq!(max_at(&capped, 90), 16.0);
        // What the budget refused shows as unmet demand, and as ACU-hours saved.
        assert!(capped.result.unmet_acu_minutes > free.result.unmet_acu_minutes);
        assert!(capped.result.acu_hours < free.result.acu_hours);
    }

    /// The traces in the repository: the shipped examples and four real NAB series
    /// (`examples/traces/nab/`, MIT), imported at a 48-ACU peak.
    const BENCHMARK: [(&str, Option<&str>); 6] = [
        ("traces/nab/rds_cpu_utilization_cc0c53.csv", None),
        ("traces/nab/rds_cpu_utilization_e47b3b.csv", None),
        ("traces/nab/elb_request_count_8c0756.csv", None),
        ("traces/nab/nyc_taxi.csv", None),
        ("traces/week.csv", None),
        ("traces/sales-day.csv", Some("calendar-sales-day.yaml")),
    ];

    #[test]
    fn with_every_default_acu_pilot_beats_static_wide_on_every_trace_in_the_repository() {
        let config = Config::default();
        let replay = ReplayConfig {
            guardrails: config.guardrails,
            ..ReplayConfig::default()
        };
        for (file, calendar) in BENCHMARK {
            let trace = Trace::parse(&shipped(file)).unwrap();
            let calendar = calendar.map(|c| Calendar::parse(&shipped(c)).unwrap());
            let wide = crate::replay(&trace, &replay, &mut StaticWide, &mut || {}).result;
            let mut pilot = Autopilot::new(Functions::All, &replay, &config, calendar.as_ref());
            let run = crate::replay(&trace, &replay, &mut pilot, &mut || {});
            let mut calls_per_day = BTreeMap::new();
            for change in &run.changes {
                *calls_per_day.entry(change.at.date_naive()).or_insert(0) += 1;
            }
            assert!(
                calls_per_day.values().all(|calls| *calls <= 24),
                "{file}: {calls_per_day:?}"
            );
            let pilot = run.result;
            assert!(
                pilot.unmet_acu_minutes <= wide.unmet_acu_minutes,
                "{file}: {pilot:?} vs {wide:?}"
            );
            assert!(
                pilot.acu_hours <= 1.15 * wide.acu_hours,
                "{file}: {pilot:?} vs {wide:?}"
            );
            if calendar.is_some() {
                let untouched = crate::replay(&trace, &tight(), &mut StaticPolicy, &mut || {});
                assert!(
                    pilot.unmet_acu_minutes <= 0.1 * untouched.result.unmet_acu_minutes,
                    "{file}: {pilot:?} vs {:?}",
                    untouched.result
                );
            }
        }
    }

    #[test]
    fn policy_settings_are_checked_like_the_environment() {
        let bad = |k: &str, v: &str| {
            PolicySettings {
                env: BTreeMap::from([(k.to_owned(), v.to_owned())]),
                ..PolicySettings::default()
            }
            .config()
            .unwrap_err()
            .to_string()
        };
        let e = bad("ACU_PILOT_BOOST_FACTOR", "lots");
        assert!(e.contains("policy.env.ACU_PILOT_BOOST_FACTOR"), "{e}");
        let e = bad("ACU_PILOT_BOOST_FACTROR", "2");
        assert!(
            e.contains("policy.env.ACU_PILOT_BOOST_FACTROR") && e.contains("not a setting"),
            "{e}"
        );
        let file: std::result::Result<ReplayConfig, _> =
            serde_json::from_str(r#"{"policy": {"envv": {}}}"#);
        assert!(file.unwrap_err().to_string().contains("envv"));
    }
}
