//! The one pure function every acu-pilot function ends in: baseline + active layers →
//! the range the cluster should have now.

use chrono::{DateTime, Utc};

use crate::capacity::{Acu, CapacityRange, Guardrails};
use crate::engine::supports_auto_pause;
use crate::model::Cluster;
use crate::tags::{AUTO_PAUSE, CEILING, ClusterTags, FLOOR, Layer, LayerKind, TagError};

/// The one rule. A pin beats everything; otherwise
///
/// - `resting = min(baseline.min, economy active ? economy.min or floor, quiet active ?
///   quiet.min or floor)`: economy and quiet only ever lower min;
/// - `min = max(resting, prescale.min, boost.min)`: a pre-scale (a sale) and a boost (real
///   demand) win on min over a quiet window (a quiet night);
/// - `max = max(baseline.max, boost.max, prescale.max, min)`;
/// - a quiet layer's `max` is a cap on both: `min` and `max` are cut to it. A soft cap
///   (the default) is lifted to the active boost's `max`/`min` (demand is real); a hard cap
///   (`hard=true`) is lifted by nothing but a pin;
/// - a budget layer's `max` (written while the spend budget is exceeded) is a hard cap on
///   both, like a hard quiet cap;
///
/// then clamped to the guardrails. Layers whose `until` has passed have no effect, and
/// their order does not matter (two layers of one kind combine by max; of two quiet caps,
/// the lower holds, and one hard one makes the cap hard). Without an active quiet layer
/// or budget layer this is exactly the rule before quiet windows existed.
pub fn desired(
    baseline: CapacityRange,
    layers: &[Layer],
    now: DateTime<Utc>,
    guardrails: &Guardrails,
) -> CapacityRange {
    let active = |kind: LayerKind| {
        layers
            .iter()
            .filter(move |layer| layer.kind == kind && layer.is_active(now))
    };
    let highest =
        |kind: LayerKind, pick: fn(&Layer) -> Option<Acu>| active(kind).filter_map(pick).max();

    let pinned = active(LayerKind::Pin).next().is_some();
    let (min, max) = if pinned {
        (
            highest(LayerKind::Pin, |l| l.min).unwrap_or(baseline.min),
            highest(LayerKind::Pin, |l| l.max).unwrap_or(baseline.max),
        )
    } else {
        let lowered = |kind: LayerKind| {
            active(kind)
                .next()
                .map(|_| highest(kind, |l| l.min).unwrap_or(guardrails.floor))
        };
        let resting_min = [lowered(LayerKind::Economy), lowered(LayerKind::Quiet)]
            .into_iter()
            .flatten()
            .fold(baseline.min, Acu::min);
        let boost = (
            highest(LayerKind::Boost, |l| l.min),
            highest(LayerKind::Boost, |l| l.max),
        );
        let min = [
            Some(resting_min),
            highest(LayerKind::Prescale, |l| l.min),
            boost.0,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(resting_min);
        let max = [
            Some(baseline.max),
            boost.1,
            highest(LayerKind::Prescale, |l| l.max),
            Some(min),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(baseline.max);
        // The quiet cap: the lowest active quiet max; hard if any quiet layer says so,
        // else lifted to what a boost asks for.
        let hard = active(LayerKind::Quiet).any(|l| l.hard);
        let cap = active(LayerKind::Quiet).filter_map(|l| l.max).min();
        let cap = match cap {
            Some(cap) if !hard => Some(
                [Some(cap), boost.0, boost.1]
                    .into_iter()
                    .flatten()
                    .fold(cap, Acu::max),
            ),
            other => other,
        };
        // The budget cap is hard like a hard quiet cap: it is the owner's stated refusal
        // of demand, so neither a boost nor a sale lifts it. Under both caps, the lower holds.
        let budget = active(LayerKind::Budget).filter_map(|l| l.max).min();
        let cap = match (cap, budget) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match cap {
            Some(cap) => (min.min(cap), max.min(cap)),
            None => (min, max),
        }
    };
    clamp(min, max, guardrails)
}

/// The guardrails: 1 ≤ max ≤ ceiling, floor ≤ min ≤ max, min 0 only with auto-pause.
pub fn clamp(min: Acu, max: Acu, guardrails: &Guardrails) -> CapacityRange {
    let max = max.clamp(Acu::ONE, guardrails.ceiling.max(Acu::ONE));
    let min = min.max(guardrails.lowest_min()).min(max);
    CapacityRange { min, max }
}

/// The configured guardrails, narrowed by the cluster's own tags and engine: a cluster
/// may lower its ceiling or raise its floor with tags, and min 0 needs both the
/// configuration and an engine version that supports auto-pause.
///
/// A tag that would widen the configured range (a ceiling above `ACU_PILOT_CEILING`, a
/// floor below `ACU_PILOT_FLOOR`) or contradict it (a floor above the ceiling) is an
/// error naming the tag, never clamped: a clamp would run the cluster at a range nobody
/// asked for, and the caller refuses the cluster as MalformedTag instead.
pub fn effective_guardrails(
    config: &Guardrails,
    tags: &ClusterTags,
    cluster: &Cluster,
) -> Result<Guardrails, TagError> {
    let ceiling = match tags.ceiling {
        Some(ceiling) if ceiling > config.ceiling => {
            return Err(TagError::malformed(
                CEILING,
                format!(
                    "{ceiling} is above the configured ceiling {} (ACU_PILOT_CEILING); a tag may lower the ceiling, not raise it",
                    config.ceiling
                ),
            ));
        }
        Some(ceiling) if ceiling < Acu::ONE => {
            return Err(TagError::malformed(
                CEILING,
                format!("{ceiling} is below 1 ACU, the least max Aurora accepts"),
            ));
        }
        Some(ceiling) => ceiling,
        None => config.ceiling,
    };
    let floor = match tags.floor {
        Some(floor) if floor < config.floor => {
            return Err(TagError::malformed(
                FLOOR,
                format!(
                    "{floor} is below the configured floor {} (ACU_PILOT_FLOOR); a tag may raise the floor, not lower it",
                    config.floor
                ),
            ));
        }
        Some(floor) if floor > ceiling => {
            let source = if tags.ceiling.is_some() {
                format!("{CEILING}={ceiling}")
            } else {
                format!("the configured ceiling {ceiling} (ACU_PILOT_CEILING)")
            };
            return Err(TagError::malformed(
                FLOOR,
                format!("{floor} is above {source}"),
            ));
        }
        Some(floor) => floor,
        // A ceiling tag below the configured floor contradicts it as much as a floor tag
        // above the ceiling does.
        None if config.floor > ceiling => {
            return Err(TagError::malformed(
                CEILING,
                format!(
                    "{ceiling} is below the configured floor {} (ACU_PILOT_FLOOR)",
                    config.floor
                ),
            ));
        }
        None => config.floor,
    };
    let engine_pauses = cluster
        .engine
        .aurora()
        .is_some_and(|engine| supports_auto_pause(engine, &cluster.engine_version));
    if tags.auto_pause && !engine_pauses {
        return Err(TagError::malformed(
            AUTO_PAUSE,
            format!(
                "{} {} cannot auto-pause (min 0 needs Aurora MySQL 3.08.0+ or PostgreSQL 13.15/14.12/15.7/16.3+)",
                cluster.engine, cluster.engine_version
            ),
        ));
    }
    // The owner's opt-in lowers this cluster's floor to 0 unless a floor tag says otherwise.
    let floor = if tags.auto_pause && tags.floor.is_none() {
        Acu::ZERO
    } else {
        floor
    };
    Ok(Guardrails {
        floor,
        ceiling,
        allow_auto_pause: (config.allow_auto_pause || tags.auto_pause) && engine_pauses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    fn acu(v: f64) -> Acu {
        Acu::new(v).unwrap()
    }

    /// The layers of `kind` active at [`now`].
    fn live(layers: &[Layer], kind: LayerKind) -> impl Iterator<Item = &Layer> {
        layers
            .iter()
            .filter(move |l| l.kind == kind && l.is_active(now()))
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T19:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn layer(kind: LayerKind, min: Option<f64>, max: Option<f64>, minutes_left: i64) -> Layer {
        Layer {
            hard: false,
            kind,
            min: min.map(acu),
            max: max.map(acu),
            until: now() + Duration::minutes(minutes_left),
            by: "test".into(),
            at: None,
        }
    }

    fn baseline() -> CapacityRange {
        CapacityRange::new(acu(0.5), acu(16.0)).unwrap()
    }

    #[test]
    fn no_layers_gives_the_baseline() {
        assert_eq!(
            desired(baseline(), &[], now(), &Guardrails::default()),
            baseline()
        );
    }

    #[test]
    fn a_live_boost_raises_max_and_an_expired_one_does_not() {
        let g = Guardrails::default();
        let live = [layer(LayerKind::Boost, None, Some(24.0), 10)];
        assert_eq!(desired(baseline(), &live, now(), &g).max, acu(24.0));
        let expired = [layer(LayerKind::Boost, None, Some(24.0), 0)];
        assert_eq!(desired(baseline(), &expired, now(), &g), baseline());
    }

    #[test]
    fn prescale_raises_min_and_lifts_max_when_it_must() {
        let g = Guardrails::default();
        let r = desired(
            baseline(),
            &[layer(LayerKind::Prescale, Some(20.0), None, 5)],
            now(),
            &g,
        );
        assert_eq!((r.min, r.max), (acu(20.0), acu(20.0)));
    }

    #[test]
    fn economy_lets_min_fall_to_the_floor_but_not_below_prescale() {
        let g = Guardrails::new(acu(0.5), acu(64.0), false).unwrap();
        let base = CapacityRange::new(acu(4.0), acu(16.0)).unwrap();
        let eco = layer(LayerKind::Economy, None, None, 30);
        assert_eq!(
            desired(base, std::slice::from_ref(&eco), now(), &g).min,
            acu(0.5)
        );
        let pre = layer(LayerKind::Prescale, Some(8.0), None, 30);
        assert_eq!(desired(base, &[eco, pre], now(), &g).min, acu(8.0));
    }

    #[test]
    fn the_ceiling_caps_every_layer_and_min_zero_needs_auto_pause() {
        let g = Guardrails::new(Acu::ZERO, acu(32.0), false).unwrap();
        let base = CapacityRange::new(Acu::ZERO, acu(16.0)).unwrap();
        let r = desired(
            base,
            &[layer(LayerKind::Boost, None, Some(100.0), 5)],
            now(),
            &g,
        );
        assert_eq!((r.min, r.max), (acu(0.5), acu(32.0)));
        let g = Guardrails::new(Acu::ZERO, acu(32.0), true).unwrap();
        assert_eq!(desired(base, &[], now(), &g).min, Acu::ZERO);
    }

    fn quiet(min: Option<f64>, max: Option<f64>, hard: bool) -> Layer {
        Layer {
            hard,
            ..layer(LayerKind::Quiet, min, max, 60)
        }
    }

    #[test]
    fn a_quiet_window_lowers_min_to_its_value_or_the_floor_and_caps_max() {
        let g = Guardrails::new(acu(0.5), acu(64.0), false).unwrap();
        let base = CapacityRange::new(acu(4.0), acu(32.0)).unwrap();
        let r = desired(base, &[quiet(None, Some(2.0), false)], now(), &g);
        assert_eq!((r.min, r.max), (acu(0.5), acu(2.0)));
        let r = desired(base, &[quiet(Some(1.0), None, false)], now(), &g);
        assert_eq!((r.min, r.max), (acu(1.0), acu(32.0)));
        // Quiet never raises min: a quiet min above the baseline's is no quiet at all.
        let r = desired(base, &[quiet(Some(8.0), None, false)], now(), &g);
        assert_eq!(r.min, acu(4.0));
        // Min 0 only where auto-pause is allowed; otherwise the floor.
        let paused = desired(base, &[quiet(Some(0.0), Some(2.0), false)], now(), &g);
        assert_eq!(paused.min, acu(0.5));
        let g0 = Guardrails::new(Acu::ZERO, acu(64.0), true).unwrap();
        let paused = desired(base, &[quiet(Some(0.0), Some(2.0), false)], now(), &g0);
        assert_eq!((paused.min, paused.max), (Acu::ZERO, acu(2.0)));
        // Expired: the baseline again.
        let gone = Layer {
            until: now(),
            ..quiet(None, Some(2.0), true)
        };
        assert_eq!(desired(base, &[gone], now(), &g), base);
    }

    #[test]
    fn a_sale_beats_a_quiet_night_on_min_up_to_the_cap() {
        let g = Guardrails::new(acu(0.5), acu(64.0), false).unwrap();
        let base = CapacityRange::new(acu(4.0), acu(32.0)).unwrap();
        let sale = layer(LayerKind::Prescale, Some(8.0), None, 60);
        let r = desired(
            base,
            &[quiet(None, Some(16.0), false), sale.clone()],
            now(),
            &g,
        );
        assert_eq!((r.min, r.max), (acu(8.0), acu(16.0)));
        // A cap below the sale's min holds, soft or hard: only a boost or a pin lifts it.
        let r = desired(base, &[quiet(None, Some(4.0), false), sale], now(), &g);
        assert_eq!((r.min, r.max), (acu(4.0), acu(4.0)));
    }

    #[test]
    fn a_boost_lifts_a_soft_cap_and_not_a_hard_one() {
        let g = Guardrails::new(acu(0.5), acu(64.0), false).unwrap();
        let base = CapacityRange::new(acu(4.0), acu(32.0)).unwrap();
        let boost = layer(LayerKind::Boost, None, Some(48.0), 60);
        let soft = desired(
            base,
            &[quiet(None, Some(2.0), false), boost.clone()],
            now(),
            &g,
        );
        assert_eq!((soft.min, soft.max), (acu(0.5), acu(48.0)));
        let hard = desired(
            base,
            &[quiet(None, Some(2.0), true), boost.clone()],
            now(),
            &g,
        );
        assert_eq!((hard.min, hard.max), (acu(0.5), acu(2.0)));
        // A pin beats even a hard cap.
        let pin = layer(LayerKind::Pin, Some(8.0), Some(8.0), 60);
        let pinned = desired(base, &[quiet(None, Some(2.0), true), boost, pin], now(), &g);
        assert_eq!((pinned.min, pinned.max), (acu(8.0), acu(8.0)));
    }

    fn budget_cap(max: f64) -> Layer {
        layer(LayerKind::Budget, None, Some(max), 60)
    }

    #[test]
    fn a_budget_cap_holds_against_a_boost_and_a_sale_and_yields_to_a_pin() {
        let g = Guardrails::new(acu(0.5), acu(64.0), false).unwrap();
        let base = CapacityRange::new(acu(2.0), acu(32.0)).unwrap();
        let r = desired(base, &[budget_cap(4.0)], now(), &g);
        assert_eq!((r.min, r.max), (acu(2.0), acu(4.0)));
        let boost = layer(LayerKind::Boost, Some(8.0), Some(48.0), 60);
        let sale = layer(LayerKind::Prescale, Some(16.0), None, 60);
        let r = desired(base, &[budget_cap(4.0), boost, sale.clone()], now(), &g);
        assert_eq!((r.min, r.max), (acu(4.0), acu(4.0)));
        // Under a soft quiet cap and a budget cap, the lower holds, boost or not.
        let soft = quiet(None, Some(8.0), false);
        let boost = layer(LayerKind::Boost, None, Some(48.0), 60);
        let r = desired(base, &[soft, budget_cap(6.0), boost], now(), &g);
        assert_eq!(r.max, acu(6.0));
        let pin = layer(LayerKind::Pin, Some(8.0), Some(16.0), 60);
        let r = desired(base, &[budget_cap(4.0), pin], now(), &g);
        assert_eq!((r.min, r.max), (acu(8.0), acu(16.0)));
        // Expired, it is gone.
        let gone = layer(LayerKind::Budget, None, Some(4.0), 0);
        assert_eq!(desired(base, &[gone, sale], now(), &g).max, acu(32.0));
    }

    #[test]
    fn a_pin_wins_over_everything() {
        let g = Guardrails::default();
        let layers = [
            layer(LayerKind::Boost, Some(8.0), Some(48.0), 30),
            layer(LayerKind::Prescale, Some(16.0), None, 30),
            layer(LayerKind::Pin, Some(2.0), Some(4.0), 30),
        ];
        let r = desired(baseline(), &layers, now(), &g);
        assert_eq!((r.min, r.max), (acu(2.0), acu(4.0)));
    }

    fn cluster() -> Cluster {
        Cluster {
            engine: "aurora-postgresql".into(),
            engine_version: "16.4".into(),
            ..Cluster::default()
        }
    }

    fn guardrails_for(tags: &[(&str, &str)]) -> Result<Guardrails, TagError> {
        let config = Guardrails::new(acu(0.5), acu(64.0), false).unwrap();
        effective_guardrails(
            &config,
            &ClusterTags::parse(tags.iter().copied()),
            &cluster(),
        )
    }

    /// Issue #17: the owner's `acu-pilot:auto-pause=true` allows min 0 on this cluster
    /// (floor 0 unless a floor tag raises it) where its engine version can pause, and is
    /// a malformed tag where it cannot.
    #[test]
    fn the_auto_pause_tag_opts_one_cluster_in_where_its_engine_pauses() {
        let g = guardrails_for(&[("acu-pilot:auto-pause", "true")]).unwrap();
        assert_eq!((g.floor, g.allow_auto_pause), (Acu::ZERO, true));
        let base = CapacityRange::new(acu(4.0), acu(16.0)).unwrap();
        let quiet_to_zero = quiet(Some(0.0), Some(2.0), false);
        let r = desired(base, std::slice::from_ref(&quiet_to_zero), now(), &g);
        assert_eq!((r.min, r.max), (Acu::ZERO, acu(2.0)));
        let g =
            guardrails_for(&[("acu-pilot:auto-pause", "true"), ("acu-pilot:floor", "1")]).unwrap();
        assert_eq!((g.floor, g.allow_auto_pause), (acu(1.0), true));
        let g = guardrails_for(&[("acu-pilot:auto-pause", "false")]).unwrap();
        assert_eq!((g.floor, g.allow_auto_pause), (acu(0.5), false));
        let tags = ClusterTags::parse([("acu-pilot:auto-pause", "yes")]);
        assert!(
            tags.problems[0]
                .to_string()
                .contains("acu-pilot:auto-pause")
        );
        let older = Cluster {
            engine: "aurora-mysql".into(),
            engine_version: "8.0.mysql_aurora.3.04.0".into(),
            ..Cluster::default()
        };
        let config = Guardrails::new(acu(0.5), acu(64.0), false).unwrap();
        let err = effective_guardrails(
            &config,
            &ClusterTags::parse([("acu-pilot:auto-pause", "true")]),
            &older,
        )
        .unwrap_err();
        assert!(err.to_string().contains("cannot auto-pause"), "{err}");
    }

    /// Issue #13 case 10: a guardrail tag outside the configured guardrails, or one that
    /// contradicts the other, is an error naming the tag, never clamped into a range.
    #[test]
    fn contradictory_or_widening_guardrail_tags_are_errors_not_clamped() {
        for (tags, tag, message) in [
            (
                vec![(CEILING, "128")],
                CEILING,
                "128 is above the configured ceiling 64 (ACU_PILOT_CEILING)",
            ),
            (
                vec![(FLOOR, "96")],
                FLOOR,
                "96 is above the configured ceiling 64 (ACU_PILOT_CEILING)",
            ),
            (
                vec![(FLOOR, "0")],
                FLOOR,
                "0 is below the configured floor 0.5 (ACU_PILOT_FLOOR)",
            ),
        ] {
            let err = guardrails_for(&tags).unwrap_err();
            assert_eq!(err.tag(), tag, "{tags:?}");
            assert!(err.to_string().contains(message), "{err}");
        }
        // Tags parsed elsewhere (or built by hand) still meet the same checks here.
        let config = Guardrails::new(acu(0.5), acu(64.0), false).unwrap();
        let by_hand = ClusterTags {
            floor: Some(acu(32.0)),
            ceiling: Some(acu(8.0)),
            ..ClusterTags::default()
        };
        let err = effective_guardrails(&config, &by_hand, &cluster()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tag acu-pilot:floor: 32 is above acu-pilot:ceiling=8"
        );
        let zero = ClusterTags {
            ceiling: Some(Acu::ZERO),
            ..ClusterTags::default()
        };
        assert_eq!(
            effective_guardrails(&config, &zero, &cluster())
                .unwrap_err()
                .tag(),
            CEILING
        );
    }

    /// Found by the property test (hostile_input): a ceiling tag under the configured
    /// floor was returned as guardrails with the floor above the ceiling.
    #[test]
    fn a_ceiling_tag_below_the_configured_floor_is_an_error() {
        let config = Guardrails::new(acu(2.0), acu(64.0), false).unwrap();
        let tags = ClusterTags::parse([(CEILING, "1")]);
        let err = effective_guardrails(&config, &tags, &cluster()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tag acu-pilot:ceiling: 1 is below the configured floor 2 (ACU_PILOT_FLOOR)"
        );
    }

    #[test]
    fn guardrail_tags_may_narrow_the_configured_range() {
        let g = guardrails_for(&[(CEILING, "32"), (FLOOR, "2")]).unwrap();
        assert_eq!((g.floor, g.ceiling), (acu(2.0), acu(32.0)));
        let g = guardrails_for(&[(CEILING, "64"), (FLOOR, "64")]).unwrap();
        assert_eq!((g.floor, g.ceiling), (acu(64.0), acu(64.0)));
        let g = guardrails_for(&[]).unwrap();
        assert_eq!((g.floor, g.ceiling), (acu(0.5), acu(64.0)));
    }

    fn any_acu() -> impl Strategy<Value = Acu> {
        (0u16..=512).prop_map(|h| Acu::from_halves(h).unwrap())
    }

    fn any_kind() -> impl Strategy<Value = LayerKind> {
        prop::sample::select(LayerKind::ALL.to_vec())
    }

    fn any_layer() -> impl Strategy<Value = Layer> {
        (
            any_kind(),
            prop::option::of(any_acu()),
            prop::option::of(any_acu()),
            -120i64..120,
            any::<bool>(),
        )
            .prop_map(|(kind, min, max, minutes, hard)| Layer {
                // Only a quiet layer can carry hard=true (the tag parser refuses it elsewhere).
                hard: hard && kind == LayerKind::Quiet,
                kind,
                min,
                max,
                until: now() + Duration::minutes(minutes),
                by: "prop".into(),
                at: None,
            })
    }

    fn any_baseline() -> impl Strategy<Value = CapacityRange> {
        (any_acu(), any_acu()).prop_filter_map("invalid range", |(a, b)| {
            CapacityRange::new(a.min(b), a.max(b)).ok()
        })
    }

    fn any_guardrails() -> impl Strategy<Value = Guardrails> {
        (any_acu(), (2u16..=512), any::<bool>()).prop_filter_map(
            "floor above ceiling",
            |(floor, ceiling, auto_pause)| {
                Guardrails::new(floor, Acu::from_halves(ceiling).unwrap(), auto_pause).ok()
            },
        )
    }

    proptest! {
        #[test]
        fn desired_is_always_a_valid_range_inside_the_guardrails(
            base in any_baseline(),
            layers in prop::collection::vec(any_layer(), 0..6),
            g in any_guardrails(),
        ) {
            let r = desired(base, &layers, now(), &g);
            prop_assert!(r.min <= r.max);
            prop_assert!(Acu::ONE <= r.max && r.max <= g.ceiling && g.ceiling <= Acu::MAX);
            prop_assert!(CapacityRange::new(r.min, r.max).is_ok());
            prop_assert!(r.min >= g.floor.min(r.max));
            if !g.allow_auto_pause {
                prop_assert!(r.min >= Acu::HALF);
            }
        }

        #[test]
        fn an_active_pin_wins(
            base in any_baseline(),
            layers in prop::collection::vec(any_layer(), 0..6),
            pin in any_layer(),
            g in any_guardrails(),
        ) {
            let pin = Layer { kind: LayerKind::Pin, until: now() + Duration::minutes(1), ..pin };
            let mut all: Vec<Layer> = layers.into_iter().filter(|l| l.kind != LayerKind::Pin).collect();
            all.push(pin.clone());
            let expected = clamp(pin.min.unwrap_or(base.min), pin.max.unwrap_or(base.max), &g);
            prop_assert_eq!(desired(base, &all, now(), &g), expected);
        }

        #[test]
        fn min_is_never_below_an_active_prescale(
            base in any_baseline(),
            layers in prop::collection::vec(any_layer(), 0..6),
            g in any_guardrails(),
        ) {
            let r = desired(base, &layers, now(), &g);
            let pinned = layers.iter().any(|l| l.kind == LayerKind::Pin && l.is_active(now()));
            // A quiet cap holds min down too (a cap below a sale's min is the documented rule).
            let capped = layers.iter().any(|l| matches!(l.kind, LayerKind::Quiet | LayerKind::Budget) && l.max.is_some() && l.is_active(now()));
            for pre in layers.iter().filter(|l| l.kind == LayerKind::Prescale && l.is_active(now())) {
                if let (Some(min), false) = (pre.min, pinned || capped) {
                    prop_assert!(r.min >= min.min(g.ceiling));
                }
            }
        }

        #[test]
        fn expired_layers_have_no_effect(
            base in any_baseline(),
            layers in prop::collection::vec(any_layer(), 0..6),
            g in any_guardrails(),
        ) {
            let live: Vec<Layer> = layers.iter().filter(|l| l.is_active(now())).cloned().collect();
            prop_assert_eq!(desired(base, &layers, now(), &g), desired(base, &live, now(), &g));
        }

        #[test]
        fn the_order_of_layers_does_not_matter(
            base in any_baseline(),
            mut layers in prop::collection::vec(any_layer(), 0..6),
            g in any_guardrails(),
        ) {
            let forward = desired(base, &layers, now(), &g);
            layers.reverse();
            prop_assert_eq!(forward, desired(base, &layers, now(), &g));
            let half = layers.len() / 2;
            layers.rotate_left(half);
            prop_assert_eq!(forward, desired(base, &layers, now(), &g));
        }

        #[test]
        fn a_hard_cap_is_never_exceeded_unless_pinned(
            base in any_baseline(),
            layers in prop::collection::vec(any_layer(), 0..6),
            g in any_guardrails(),
        ) {
            let live = |kind| live(&layers, kind);
            let r = desired(base, &layers, now(), &g);
            if live(LayerKind::Pin).next().is_none()
                && live(LayerKind::Quiet).any(|l| l.hard)
                && let Some(cap) = live(LayerKind::Quiet).filter_map(|l| l.max).min()
            {
                // The guardrails' least max (1 ACU) is the only thing above a cap.
                prop_assert!(r.max <= cap.max(Acu::ONE) && r.min <= r.max);
            }
        }

        #[test]
        fn a_budget_cap_is_never_exceeded_unless_pinned(
            base in any_baseline(),
            layers in prop::collection::vec(any_layer(), 0..6),
            g in any_guardrails(),
        ) {
            let live = |kind| live(&layers, kind);
            let r = desired(base, &layers, now(), &g);
            if live(LayerKind::Pin).next().is_none()
                && let Some(cap) = live(LayerKind::Budget).filter_map(|l| l.max).min()
            {
                // A boost, a sale, a soft quiet cap: nothing lifts it but the guardrails'
                // least max (1 ACU).
                prop_assert!(r.max <= cap.max(Acu::ONE), "{r:?} above the budget cap {cap}");
                prop_assert!(r.min <= r.max);
            }
        }

        #[test]
        fn a_budget_layer_never_raises_min_or_max(
            base in any_baseline(),
            layers in prop::collection::vec(any_layer(), 0..6),
            g in any_guardrails(),
        ) {
            let without: Vec<Layer> = layers.iter().filter(|l| l.kind != LayerKind::Budget).cloned().collect();
            let (r, w) = (desired(base, &layers, now(), &g), desired(base, &without, now(), &g));
            prop_assert!(r.min <= w.min && r.max <= w.max);
        }

        #[test]
        fn a_soft_cap_is_exceeded_only_by_a_boost(
            base in any_baseline(),
            layers in prop::collection::vec(any_layer(), 0..6),
            g in any_guardrails(),
        ) {
            let live = |kind| live(&layers, kind);
            let r = desired(base, &layers, now(), &g);
            let unpinned = live(LayerKind::Pin).next().is_none();
            if let (true, Some(cap)) = (unpinned, live(LayerKind::Quiet).filter_map(|l| l.max).min())
                && r.max > cap.max(Acu::ONE)
            {
                let boost = live(LayerKind::Boost).flat_map(|l| [l.min, l.max]).flatten().max();
                prop_assert!(boost.is_some_and(|b| r.max <= b.max(Acu::ONE)), "{r:?} above cap {cap} without a boost");
            }
        }

        #[test]
        fn without_a_quiet_layer_the_rule_is_what_it_was(
            base in any_baseline(),
            layers in prop::collection::vec(any_layer(), 0..6),
            g in any_guardrails(),
        ) {
            let layers: Vec<Layer> = layers.into_iter().filter(|l| !matches!(l.kind, LayerKind::Quiet | LayerKind::Budget)).collect();
            prop_assert_eq!(desired(base, &layers, now(), &g), before_quiet(base, &layers, now(), &g));
        }

        #[test]
        fn a_quiet_layer_never_raises_min_or_max_above_the_rule_without_it(
            base in any_baseline(),
            layers in prop::collection::vec(any_layer(), 0..6),
            g in any_guardrails(),
        ) {
            let without: Vec<Layer> = layers.iter().filter(|l| l.kind != LayerKind::Quiet).cloned().collect();
            let (r, w) = (desired(base, &layers, now(), &g), desired(base, &without, now(), &g));
            prop_assert!(r.min <= w.min && r.max <= w.max);
        }
    }

    /// The rule as it was before quiet windows (commit 035c804), kept as the reference
    /// the property test compares against.
    fn before_quiet(
        baseline: CapacityRange,
        layers: &[Layer],
        now: DateTime<Utc>,
        guardrails: &Guardrails,
    ) -> CapacityRange {
        let active = |kind: LayerKind| {
            layers
                .iter()
                .filter(move |layer| layer.kind == kind && layer.is_active(now))
        };
        let highest =
            |kind: LayerKind, pick: fn(&Layer) -> Option<Acu>| active(kind).filter_map(pick).max();
        if active(LayerKind::Pin).next().is_some() {
            return clamp(
                highest(LayerKind::Pin, |l| l.min).unwrap_or(baseline.min),
                highest(LayerKind::Pin, |l| l.max).unwrap_or(baseline.max),
                guardrails,
            );
        }
        let resting_min = if active(LayerKind::Economy).next().is_some() {
            highest(LayerKind::Economy, |l| l.min)
                .unwrap_or(guardrails.floor)
                .min(baseline.min)
        } else {
            baseline.min
        };
        let min = [
            Some(resting_min),
            highest(LayerKind::Prescale, |l| l.min),
            highest(LayerKind::Boost, |l| l.min),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(resting_min);
        let max = [
            Some(baseline.max),
            highest(LayerKind::Boost, |l| l.max),
            highest(LayerKind::Prescale, |l| l.max),
            Some(min),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(baseline.max);
        clamp(min, max, guardrails)
    }
}
