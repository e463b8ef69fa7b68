//! The alarm-handler's policy: one alarm transition and a cluster's tags in, the layers to
//! write or remove out. Pure: the caller reads the tags and the live range, and writes.
//!
//! Duplicate deliveries are recognised without any state beyond the layer itself: a layer
//! written for an alarm transition records that transition's state timestamp in `at`
//! (whole seconds, as the tag keeps it), and a transition of the same alarm whose timestamp
//! is not newer changes nothing. Cooldown is measured from that same `at`.

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;

use crate::capacity::{Acu, CapacityRange, Guardrails};
use crate::config::{BoostConfig, to_delta};
use crate::desired::desired;
use crate::events::{AlarmRole, AlarmState, AlarmTransition};
use crate::tags::{ClusterTags, Layer, LayerKind, format_instant, sanitize_by};

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionKind {
    Boost,
    Economy,
    None,
    Ignored,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlarmDecision {
    pub decision: DecisionKind,
    /// One sentence for the log and the handler's output.
    pub reason: String,
    /// Layers to write, each replacing the cluster's layer of its kind.
    pub put: Vec<Layer>,
    /// Layer kinds to delete.
    pub remove: Vec<LayerKind>,
    /// Max is at the ceiling, now or already: the `Capacity Ceiling Reached` event.
    pub ceiling_reached: bool,
    /// new max ÷ old max when a boost moves max: an absolute `ServerlessDatabaseCapacity`
    /// threshold must move by the same ratio, or the high alarm can never fire again.
    pub threshold_scale: Option<f64>,
}

impl AlarmDecision {
    fn nothing(decision: DecisionKind, reason: impl Into<String>) -> Self {
        AlarmDecision {
            decision,
            reason: reason.into(),
            put: Vec::new(),
            remove: Vec::new(),
            ceiling_reached: false,
            threshold_scale: None,
        }
    }

    /// Whether the decision writes anything.
    pub fn changes(&self) -> bool {
        !self.put.is_empty() || !self.remove.is_empty()
    }

    /// The cluster's layers once the decision is written: `remove` deleted, `put` replacing
    /// its kind. For the handler's `after` and for tests.
    pub fn apply(&self, layers: &[Layer]) -> Vec<Layer> {
        let replaced = |kind: LayerKind| {
            self.remove.contains(&kind) || self.put.iter().any(|layer| layer.kind == kind)
        };
        let mut after: Vec<Layer> = layers
            .iter()
            .filter(|layer| !replaced(layer.kind))
            .cloned()
            .chain(self.put.iter().cloned())
            .collect();
        after.sort_by_key(|layer| layer.kind);
        after
    }
}

/// The `by` of the layers an alarm writes, as it reads back from the tag.
pub fn alarm_by(alarm_name: &str) -> String {
    sanitize_by(&format!("alarm:{alarm_name}"))
}

/// Whether the janitor must present `alarm_name`, still in ALARM, to the alarm-handler
/// again: it set the cluster's boost, or there is no boost at all (the tag was lost in a
/// race, or removed by hand), and CloudWatch sends no new transition while an alarm keeps
/// firing — without this the boost would expire under a firing alarm, and an
/// ACUUtilization alarm (relative to max) would then never fire again.
pub fn renews_boost(tags: &ClusterTags, alarm_name: &str) -> bool {
    tags.layer(LayerKind::Boost)
        .is_none_or(|boost| boost.by == alarm_by(alarm_name))
}

/// Decides what one alarm transition does to one cluster.
///
/// `tags` are the cluster's parsed tags, `live` its range now (the baseline when it has no
/// `acu-pilot:baseline` tag), `guardrails` the effective ones for this cluster (any
/// `acu-pilot:ceiling`/`floor` overrides already applied).
pub fn decide(
    role: AlarmRole,
    t: &AlarmTransition,
    tags: &ClusterTags,
    live: CapacityRange,
    guardrails: &Guardrails,
    cfg: &BoostConfig,
    now: DateTime<Utc>,
) -> AlarmDecision {
    if !tags.managed {
        return AlarmDecision::nothing(
            DecisionKind::Ignored,
            "the cluster is not managed by acu-pilot (no acu-pilot:managed=true tag)",
        );
    }
    let seen = Seen {
        by: alarm_by(&t.alarm_name),
        stamp: t.state_timestamp.trunc_subsecs(0),
    };
    match (role, t.state) {
        (_, AlarmState::InsufficientData) => AlarmDecision::nothing(
            DecisionKind::None,
            format!("{role} alarm has INSUFFICIENT_DATA: nothing to act on"),
        ),
        (AlarmRole::High, AlarmState::Ok) => AlarmDecision::nothing(
            DecisionKind::None,
            "high alarm back to OK, as expected once max rose: the boost ends by expiry or by the low alarm",
        ),
        (AlarmRole::High, AlarmState::Alarm) => boost(&seen, tags, live, guardrails, cfg, now),
        (AlarmRole::Low, AlarmState::Alarm) => economy(&seen, tags, guardrails, cfg, now),
        (AlarmRole::Low, AlarmState::Ok) => end_economy(&seen, tags),
    }
}

/// The transition being decided: who writes for it and its state timestamp.
struct Seen {
    by: String,
    stamp: DateTime<Utc>,
}

impl Seen {
    /// This transition, or a later one of the same alarm, already wrote `layer`.
    fn already_wrote(&self, layer: &Layer) -> bool {
        layer.by == self.by && layer.at.is_some_and(|at| self.stamp <= at)
    }

    fn duplicate(&self) -> AlarmDecision {
        AlarmDecision::nothing(
            DecisionKind::None,
            format!(
                "duplicate: the transition of {} already applied",
                format_instant(self.stamp)
            ),
        )
    }
}

fn boost(
    seen: &Seen,
    tags: &ClusterTags,
    live: CapacityRange,
    guardrails: &Guardrails,
    cfg: &BoostConfig,
    now: DateTime<Utc>,
) -> AlarmDecision {
    let existing = tags.layer(LayerKind::Boost);
    if existing.is_some_and(|b| seen.already_wrote(b)) {
        return seen.duplicate();
    }
    if tags
        .layers
        .iter()
        .any(|l| l.kind == LayerKind::Pin && l.is_active(now))
    {
        return AlarmDecision::nothing(
            DecisionKind::None,
            "an operator's pin holds the range; a boost would not change it",
        );
    }
    if let Some(at) = existing.filter(|b| b.is_active(now)).and_then(|b| b.at) {
        let cooldown = to_delta(cfg.cooldown);
        if now.signed_duration_since(at) < cooldown {
            return AlarmDecision::nothing(
                DecisionKind::None,
                format!(
                    "cooldown: the last step was at {}, less than {} ago",
                    format_instant(at),
                    crate::config::format_duration(cfg.cooldown)
                ),
            );
        }
    }
    let baseline = tags.baseline.unwrap_or(live);
    let current = desired(baseline, &tags.layers, now, guardrails).max;
    let ceiling = guardrails.ceiling;
    if current >= ceiling {
        return AlarmDecision {
            ceiling_reached: true,
            ..AlarmDecision::nothing(
                DecisionKind::None,
                format!("max is already at the ceiling, {ceiling} ACU"),
            )
        };
    }
    let new_max = step_up(current, cfg, ceiling);
    if new_max <= current {
        return AlarmDecision::nothing(
            DecisionKind::None,
            "the step factor and minimum step add nothing to max",
        );
    }
    let min = (cfg.min_fraction > 0.0)
        .then(|| Acu::ceil_step(cfg.min_fraction * new_max.value()).min(new_max));
    // Never shorten a boost someone gave a longer life.
    let until = later(now, cfg.ttl).max(existing.map_or(now, |b| b.until));
    let ceiling_reached = new_max >= ceiling;
    let reason = format!(
        "high alarm: max {current} → {new_max} ACU{}{} until {}",
        min.map(|m| format!(", min {m}")).unwrap_or_default(),
        if ceiling_reached {
            " (the ceiling)"
        } else {
            ""
        },
        format_instant(until)
    );
    AlarmDecision {
        decision: DecisionKind::Boost,
        reason,
        put: vec![Layer {
            hard: false,
            kind: LayerKind::Boost,
            min,
            max: Some(new_max),
            until,
            by: seen.by.clone(),
            at: Some(seen.stamp),
        }],
        remove: Vec::new(),
        ceiling_reached,
        threshold_scale: Some(new_max.value() / current.value()),
    }
}

/// `max(current × factor, current + min_step)`, up to the half-ACU grid, capped at the ceiling.
pub fn step_up(current: Acu, cfg: &BoostConfig, ceiling: Acu) -> Acu {
    let factor = if cfg.step_factor.is_finite() {
        cfg.step_factor.max(1.0)
    } else {
        1.0
    };
    let by_factor = Acu::ceil_step(current.value() * factor);
    by_factor
        .max(current.saturating_add(cfg.min_step))
        .min(ceiling)
}

fn economy(
    seen: &Seen,
    tags: &ClusterTags,
    guardrails: &Guardrails,
    cfg: &BoostConfig,
    now: DateTime<Utc>,
) -> AlarmDecision {
    if tags
        .layer(LayerKind::Economy)
        .is_some_and(|e| seen.already_wrote(e))
    {
        return seen.duplicate();
    }
    // A boost written for a later transition than this one is newer news: keep it.
    let remove: Vec<LayerKind> = tags
        .layer(LayerKind::Boost)
        .filter(|b| b.at.is_none_or(|at| at < seen.stamp))
        .map(|_| LayerKind::Boost)
        .into_iter()
        .collect();
    let until = later(now, cfg.economy_ttl);
    let reason = format!(
        "low alarm: min may fall to the floor, {} ACU, until {}{}",
        guardrails.lowest_min(),
        format_instant(until),
        if remove.is_empty() {
            ""
        } else {
            "; the boost ends"
        }
    );
    AlarmDecision {
        decision: DecisionKind::Economy,
        reason,
        put: vec![Layer {
            hard: false,
            kind: LayerKind::Economy,
            min: None,
            max: None,
            until,
            by: seen.by.clone(),
            at: Some(seen.stamp),
        }],
        remove,
        ceiling_reached: false,
        threshold_scale: None,
    }
}

fn end_economy(seen: &Seen, tags: &ClusterTags) -> AlarmDecision {
    match tags.layer(LayerKind::Economy) {
        None => AlarmDecision::nothing(
            DecisionKind::None,
            "low alarm back to OK and there is no economy layer to end",
        ),
        Some(e) if e.at.is_some_and(|at| at > seen.stamp) => AlarmDecision::nothing(
            DecisionKind::None,
            format!(
                "low alarm OK of {} is older than the economy layer (written for {}): stale delivery",
                format_instant(seen.stamp),
                e.at.map(format_instant).unwrap_or_default()
            ),
        ),
        Some(_) => AlarmDecision {
            remove: vec![LayerKind::Economy],
            ..AlarmDecision::nothing(DecisionKind::Economy, "low alarm back to OK: economy ends")
        },
    }
}

fn later(now: DateTime<Utc>, duration: std::time::Duration) -> DateTime<Utc> {
    now.checked_add_signed(to_delta(duration))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{AlarmMetric, EventShape};
    use crate::tags::{BASELINE, MANAGED, format_baseline};
    use chrono::Duration;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const HIGH: &str = "Aurora-shop-db-High-ACU";
    const LOW: &str = "Aurora-shop-db-Low-ACU";

    fn acu(v: f64) -> Acu {
        Acu::new(v).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn now() -> DateTime<Utc> {
        at("2026-11-25T18:01:00Z")
    }

    fn transition(name: &str, state: AlarmState, stamp: &str) -> AlarmTransition {
        AlarmTransition {
            alarm_name: name.into(),
            alarm_arn: None,
            state,
            previous_state: None,
            state_timestamp: at(stamp),
            reason: None,
            metrics: vec![AlarmMetric {
                namespace: Some("AWS/RDS".into()),
                name: "ServerlessDatabaseCapacity".into(),
                dimensions: BTreeMap::from([("DBClusterIdentifier".into(), "shop-db".into())]),
            }],
            is_metric_math: false,
            cluster: Some("shop-db".into()),
            role_hint: None,
            comparison: None,
            threshold: Some(12.0),
            tags: BTreeMap::new(),
            shape: EventShape::EventBridge,
        }
    }

    fn high(state: AlarmState) -> AlarmTransition {
        transition(HIGH, state, "2026-11-25T18:00:40.123Z")
    }

    fn low(state: AlarmState) -> AlarmTransition {
        transition(LOW, state, "2026-11-26T02:55:41.407Z")
    }

    fn tags_with(baseline: &str, layers: &[Layer]) -> ClusterTags {
        let values: Vec<(String, String)> = layers
            .iter()
            .map(|l| (l.kind.tag_key().to_owned(), l.to_tag_value()))
            .collect();
        let mut pairs = vec![(MANAGED, "true"), (BASELINE, baseline)];
        pairs.extend(values.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let tags = ClusterTags::parse(pairs);
        assert!(tags.problems.is_empty(), "{:?}", tags.problems);
        tags
    }

    fn base_tags() -> ClusterTags {
        tags_with("min=0.5 max=16", &[])
    }

    fn live() -> CapacityRange {
        CapacityRange::new(acu(0.5), acu(16.0)).unwrap()
    }

    fn cfg() -> BoostConfig {
        crate::config::Config::default().boost
    }

    fn g() -> Guardrails {
        Guardrails::new(acu(0.5), acu(64.0), false).unwrap()
    }

    fn run(role: AlarmRole, t: &AlarmTransition, tags: &ClusterTags) -> AlarmDecision {
        decide(role, t, tags, live(), &g(), &cfg(), now())
    }

    /// Writes a decision the way the service does (through the tag values) and reads back.
    fn written(tags: &ClusterTags, d: &AlarmDecision) -> ClusterTags {
        let baseline = tags.baseline.map(format_baseline).unwrap();
        tags_with(&baseline, &d.apply(&tags.layers))
    }

    #[test]
    fn high_alarm_boosts_max_by_half_and_reports_the_threshold_ratio() {
        let d = run(AlarmRole::High, &high(AlarmState::Alarm), &base_tags());
        assert_eq!(d.decision, DecisionKind::Boost);
        assert_eq!(d.put.len(), 1);
        let layer = &d.put[0];
        assert_eq!(layer.kind, LayerKind::Boost);
        assert_eq!((layer.min, layer.max), (None, Some(acu(24.0))));
        assert_eq!(layer.until, now() + Duration::hours(2));
        assert_eq!(layer.by, "alarm:Aurora-shop-db-High-ACU");
        assert_eq!(layer.at, Some(at("2026-11-25T18:00:40Z")));
        assert!(d.remove.is_empty() && !d.ceiling_reached);
        assert_eq!(d.threshold_scale, Some(1.5));
        assert!(d.reason.contains("16 → 24"), "{}", d.reason);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["decision"], "boost");
    }

    #[test]
    fn the_step_is_at_least_the_minimum_and_on_the_half_grid() {
        let c = cfg();
        let ceiling = acu(64.0);
        assert_eq!(step_up(acu(2.0), &c, ceiling), acu(4.0));
        assert_eq!(step_up(acu(5.0), &c, ceiling), acu(7.5));
        assert_eq!(step_up(acu(5.5), &c, ceiling), acu(8.5));
        assert_eq!(step_up(acu(48.0), &c, ceiling), acu(64.0));
    }

    #[test]
    fn with_a_min_fraction_min_rises_with_max() {
        let c = BoostConfig {
            min_fraction: 0.25,
            ..cfg()
        };
        let d = decide(
            AlarmRole::High,
            &high(AlarmState::Alarm),
            &base_tags(),
            live(),
            &g(),
            &c,
            now(),
        );
        assert_eq!(d.put[0].min, Some(acu(6.0)));
    }

    #[test]
    fn the_ceiling_caps_the_step_and_then_stops_it() {
        let tags = tags_with("min=0.5 max=48", &[]);
        let d = run(AlarmRole::High, &high(AlarmState::Alarm), &tags);
        assert_eq!(d.put[0].max, Some(acu(64.0)));
        assert!(d.ceiling_reached);
        assert!(d.reason.contains("ceiling"), "{}", d.reason);

        let tags = tags_with("min=0.5 max=64", &[]);
        let d = run(AlarmRole::High, &high(AlarmState::Alarm), &tags);
        assert_eq!(d.decision, DecisionKind::None);
        assert!(d.ceiling_reached && !d.changes());
        assert!(d.reason.contains("ceiling"), "{}", d.reason);
    }

    #[test]
    fn a_repeated_alarm_inside_the_cooldown_waits_and_after_it_steps_again() {
        let first = run(AlarmRole::High, &high(AlarmState::Alarm), &base_tags());
        let tags = written(&base_tags(), &first);
        let again = transition(HIGH, AlarmState::Alarm, "2026-11-25T18:05:40Z");
        let d = decide(
            AlarmRole::High,
            &again,
            &tags,
            live(),
            &g(),
            &cfg(),
            at("2026-11-25T18:06:00Z"),
        );
        assert_eq!(d.decision, DecisionKind::None);
        assert!(d.reason.starts_with("cooldown"), "{}", d.reason);
        assert!(!d.changes());

        let later = transition(HIGH, AlarmState::Alarm, "2026-11-25T18:20:40Z");
        let d = decide(
            AlarmRole::High,
            &later,
            &tags,
            live(),
            &g(),
            &cfg(),
            at("2026-11-25T18:21:00Z"),
        );
        assert_eq!(d.decision, DecisionKind::Boost);
        assert_eq!(d.put[0].max, Some(acu(36.0)));
        assert_eq!(d.threshold_scale, Some(1.5));
    }

    #[test]
    fn duplicate_deliveries_change_nothing_even_after_the_cooldown() {
        let t = high(AlarmState::Alarm);
        let first = run(AlarmRole::High, &t, &base_tags());
        let tags = written(&base_tags(), &first);
        for later in [
            now(),
            now() + Duration::minutes(30),
            now() + Duration::hours(5),
        ] {
            let d = decide(AlarmRole::High, &t, &tags, live(), &g(), &cfg(), later);
            assert!(!d.changes(), "{d:?}");
            assert!(d.reason.starts_with("duplicate"), "{}", d.reason);
        }
    }

    #[test]
    fn high_ok_and_insufficient_data_do_nothing() {
        for (role, t) in [
            (AlarmRole::High, high(AlarmState::Ok)),
            (AlarmRole::High, high(AlarmState::InsufficientData)),
            (AlarmRole::Low, low(AlarmState::InsufficientData)),
        ] {
            let d = run(role, &t, &base_tags());
            assert_eq!(d.decision, DecisionKind::None);
            assert!(!d.changes());
        }
    }

    #[test]
    fn low_alarm_writes_economy_and_ends_the_boost() {
        let boosted = written(
            &base_tags(),
            &run(AlarmRole::High, &high(AlarmState::Alarm), &base_tags()),
        );
        let later = at("2026-11-26T02:56:00Z");
        let d = decide(
            AlarmRole::Low,
            &low(AlarmState::Alarm),
            &boosted,
            live(),
            &g(),
            &cfg(),
            later,
        );
        assert_eq!(d.decision, DecisionKind::Economy);
        assert_eq!(d.remove, vec![LayerKind::Boost]);
        let eco = &d.put[0];
        assert_eq!(
            (eco.kind, eco.min, eco.max),
            (LayerKind::Economy, None, None)
        );
        assert_eq!(eco.until, later + Duration::hours(24));
        let after = written(&boosted, &d);
        assert!(after.layer(LayerKind::Boost).is_none());
        let range = desired(after.baseline.unwrap(), &after.layers, later, &g());
        assert_eq!((range.min, range.max), (acu(0.5), acu(16.0)));

        let again = decide(
            AlarmRole::Low,
            &low(AlarmState::Alarm),
            &after,
            live(),
            &g(),
            &cfg(),
            later,
        );
        assert!(!again.changes(), "{again:?}");
    }

    #[test]
    fn low_ok_removes_economy_once() {
        let eco = run(AlarmRole::Low, &low(AlarmState::Alarm), &base_tags());
        let tags = written(&base_tags(), &eco);
        let ok = transition(LOW, AlarmState::Ok, "2026-11-26T07:15:42Z");
        let d = run(AlarmRole::Low, &ok, &tags);
        assert_eq!(d.decision, DecisionKind::Economy);
        assert_eq!(d.remove, vec![LayerKind::Economy]);
        assert!(d.put.is_empty());
        let after = written(&tags, &d);
        let d = run(AlarmRole::Low, &ok, &after);
        assert_eq!(d.decision, DecisionKind::None);
        assert!(!d.changes());
    }

    #[test]
    fn a_stale_low_ok_does_not_end_a_newer_economy() {
        let tags = written(
            &base_tags(),
            &run(AlarmRole::Low, &low(AlarmState::Alarm), &base_tags()),
        );
        let stale = transition(LOW, AlarmState::Ok, "2026-11-26T01:00:00Z");
        let d = run(AlarmRole::Low, &stale, &tags);
        assert!(!d.changes(), "{d:?}");
    }

    #[test]
    fn an_unmanaged_cluster_is_ignored() {
        let tags = ClusterTags::parse([(BASELINE, "min=0.5 max=16")]);
        let d = run(AlarmRole::High, &high(AlarmState::Alarm), &tags);
        assert_eq!(d.decision, DecisionKind::Ignored);
        assert!(!d.changes());
        assert_eq!(serde_json::to_value(&d).unwrap()["decision"], "ignored");
    }

    #[test]
    fn without_a_baseline_the_live_range_is_stepped_from() {
        let tags = ClusterTags::parse([(MANAGED, "true")]);
        let live = CapacityRange::new(acu(1.0), acu(8.0)).unwrap();
        let d = decide(
            AlarmRole::High,
            &high(AlarmState::Alarm),
            &tags,
            live,
            &g(),
            &cfg(),
            now(),
        );
        assert_eq!(d.put[0].max, Some(acu(12.0)));
    }

    #[test]
    fn a_long_alarm_name_still_fits_the_tag_and_still_deduplicates() {
        let name = format!("Aurora-shop-db-High-ACU-{}", "x".repeat(240));
        let t = transition(&name, AlarmState::Alarm, "2026-11-25T18:00:40.999Z");
        let d = run(AlarmRole::High, &t, &base_tags());
        assert!(d.put[0].to_tag_value().len() <= 256);
        let tags = written(&base_tags(), &d);
        assert!(!run(AlarmRole::High, &t, &tags).changes());
    }

    fn any_acu() -> impl Strategy<Value = Acu> {
        (0u16..=512).prop_map(|h| Acu::from_halves(h).unwrap())
    }

    fn any_guardrails() -> impl Strategy<Value = Guardrails> {
        (0u16..=8, 2u16..=512).prop_map(|(floor, ceiling)| {
            Guardrails::new(
                Acu::from_halves(floor.min(ceiling)).unwrap(),
                Acu::from_halves(ceiling).unwrap(),
                false,
            )
            .unwrap()
        })
    }

    fn any_baseline() -> impl Strategy<Value = CapacityRange> {
        (any_acu(), 2u16..=512).prop_map(|(min, max)| {
            let max = Acu::from_halves(max).unwrap();
            CapacityRange::new(min.min(max), max).unwrap()
        })
    }

    fn any_cfg() -> impl Strategy<Value = BoostConfig> {
        (
            1.0f64..4.0,
            0u16..=16,
            prop::option::of(0.05f64..1.0),
            0u64..=3600,
        )
            .prop_map(|(factor, step, fraction, cooldown)| BoostConfig {
                step_factor: factor,
                min_step: Acu::from_halves(step).unwrap(),
                min_fraction: fraction.unwrap_or(0.0),
                cooldown: std::time::Duration::from_secs(cooldown),
                ..cfg()
            })
    }

    fn any_layer() -> impl Strategy<Value = Layer> {
        (
            prop::sample::select(LayerKind::ALL.to_vec()),
            prop::option::of(any_acu()),
            prop::option::of(any_acu()),
            -180i64..180,
            prop::option::of(-120i64..120),
            prop::bool::ANY,
        )
            .prop_map(|(kind, min, max, until, at_minutes, ours)| {
                let (min, max) = match (min, max) {
                    (Some(a), Some(b)) => (Some(a.min(b)), Some(a.max(b).max(Acu::ONE))),
                    (None, None) if kind != LayerKind::Economy => (None, Some(Acu::ONE)),
                    // A max below 1 ACU is a malformed layer (Aurora's least max), not an input.
                    (min, max) => (min, max.map(|m| m.max(Acu::ONE))),
                };
                // A budget cap states a max and nothing else.
                let (min, max) = if kind == LayerKind::Budget {
                    (None, max.or(min).map(|m| m.max(Acu::ONE)))
                } else {
                    (min, max)
                };
                Layer {
                    hard: false,
                    kind,
                    min,
                    max,
                    until: now() + Duration::minutes(until),
                    by: if ours {
                        alarm_by(HIGH)
                    } else {
                        "calendar:x".into()
                    },
                    at: at_minutes.map(|m| now() + Duration::minutes(m)),
                }
            })
    }

    fn any_tags() -> impl Strategy<Value = ClusterTags> {
        (any_baseline(), prop::collection::vec(any_layer(), 0..4)).prop_map(|(base, layers)| {
            let mut seen = Vec::new();
            let layers: Vec<Layer> = layers
                .into_iter()
                .filter(|l| {
                    let fresh = !seen.contains(&l.kind);
                    seen.push(l.kind);
                    fresh
                })
                .collect();
            tags_with(&format_baseline(base), &layers)
        })
    }

    fn any_transition() -> impl Strategy<Value = (AlarmRole, AlarmTransition)> {
        (
            prop::sample::select(vec![AlarmRole::High, AlarmRole::Low]),
            prop::sample::select(vec![
                AlarmState::Ok,
                AlarmState::Alarm,
                AlarmState::InsufficientData,
            ]),
            -90i64..30,
            0u32..1000,
        )
            .prop_map(|(role, state, minutes, millis)| {
                let name = if role == AlarmRole::High { HIGH } else { LOW };
                let stamp =
                    now() + Duration::minutes(minutes) + Duration::milliseconds(millis.into());
                let mut t = transition(name, state, "2026-11-25T18:00:00Z");
                t.state_timestamp = stamp;
                (role, t)
            })
    }

    proptest! {
        #[test]
        fn a_boost_never_exceeds_the_ceiling_stays_on_the_grid_and_never_lowers_max(
            tags in any_tags(),
            g in any_guardrails(),
            c in any_cfg(),
            (_, t) in any_transition(),
        ) {
            let t = AlarmTransition { state: AlarmState::Alarm, ..t };
            let base = tags.baseline.unwrap();
            let old = desired(base, &tags.layers, now(), &g).max;
            let d = decide(AlarmRole::High, &t, &tags, base, &g, &c, now());
            for layer in &d.put {
                let max = layer.max.unwrap();
                prop_assert!(max <= g.ceiling);
                prop_assert!(max > old);
                prop_assert_eq!((max.value() * 2.0).fract(), 0.0);
                prop_assert!(layer.min.is_none_or(|min| min <= max));
                let scale = d.threshold_scale.unwrap();
                prop_assert!((scale * old.value() - max.value()).abs() < 1e-9);
                let after = written(&tags, &d);
                let range = desired(after.baseline.unwrap(), &after.layers, now(), &g);
                // An active budget cap refuses the boost: the layer is written (it acts
                // the moment the cap goes) but the range stays under the cap.
                match after.layers.iter().filter(|l| l.kind == LayerKind::Budget && l.is_active(now())).filter_map(|l| l.max).min() {
                    Some(cap) => prop_assert!(range.max <= cap.max(Acu::ONE)),
                    None => prop_assert_eq!(range.max, max),
                }
            }
            if old >= g.ceiling {
                prop_assert!(!d.changes());
            }
        }

        #[test]
        fn a_transition_applied_once_changes_nothing_the_second_time(
            tags in any_tags(),
            g in any_guardrails(),
            c in any_cfg(),
            (role, t) in any_transition(),
            later_minutes in 0i64..600,
        ) {
            let base = tags.baseline.unwrap();
            let first = decide(role, &t, &tags, base, &g, &c, now());
            let after = written(&tags, &first);
            let same_time = decide(role, &t, &after, base, &g, &c, now());
            prop_assert!(!same_time.changes(), "{:?} then {:?}", first, same_time);
            if first.changes() {
                let later = now() + Duration::minutes(later_minutes);
                let again = decide(role, &t, &after, base, &g, &c, later);
                prop_assert!(!again.changes(), "{:?} then {:?}", first, again);
            }
        }
    }
}
