//! The janitor's decisions for one cluster and for the fleet's alarms: which layer tags
//! have expired, whether the live range is explained by the autopilot's own layers or
//! has drifted, whether the cluster is past its TTL, and which alarms are orphans.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::capacity::{CapacityRange, Guardrails};
use crate::desired::desired;
use crate::error::Error;
use crate::tags::{self, ClusterTags, Layer, LayerKind};

/// How the live range relates to the desired one.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeVerdict {
    /// Live is desired: nothing to write.
    InSync,
    /// Live differs, but it is a range the autopilot's own layers produce (a layer that
    /// just expired, or one that is not applied yet): reconcile puts it right, in every mode.
    Pending,
    /// Live differs and no combination of the cluster's layers explains it: someone (a
    /// person, an IaC deploy) changed it. Reported always, put back only in enforce mode.
    Drift,
}

/// What the janitor should do with one cluster.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClusterPlan {
    /// Layers whose `until` has passed: their tags are removed.
    pub expired: Vec<LayerKind>,
    /// `acu-pilot:ttl` has passed: decommission (and nothing else).
    pub decommission: bool,
    pub live: CapacityRange,
    pub desired: CapacityRange,
    pub verdict: RangeVerdict,
}

impl ClusterPlan {
    /// The tag keys to remove.
    pub fn expired_tag_keys(&self) -> Vec<String> {
        self.expired
            .iter()
            .map(|k| k.tag_key().to_owned())
            .collect()
    }

    /// Whether the range should be written, given the janitor's enforce setting.
    pub fn writes_range(&self, enforce: bool) -> bool {
        match self.verdict {
            RangeVerdict::InSync => false,
            RangeVerdict::Pending => true,
            RangeVerdict::Drift => enforce,
        }
    }
}

/// Plans one managed cluster. A malformed acu-pilot tag, a missing baseline or a
/// cluster without a serverless v2 range is an error: the cluster is reported and left
/// exactly as it is (no tag removed, no range written, no decommission).
pub fn plan_cluster(
    cluster_id: &str,
    tags: &ClusterTags,
    live: Option<CapacityRange>,
    now: DateTime<Utc>,
    guardrails: &Guardrails,
) -> Result<ClusterPlan, Error> {
    if let Some(problem) = tags.problems.first() {
        return Err(Error::MalformedTag {
            cluster: cluster_id.to_owned(),
            source: problem.clone(),
        });
    }
    let baseline = tags.baseline.ok_or_else(|| Error::MissingBaseline {
        cluster: cluster_id.to_owned(),
    })?;
    let live = live.ok_or_else(|| Error::NotServerless {
        cluster: cluster_id.to_owned(),
    })?;
    let expired: Vec<LayerKind> = tags
        .layers
        .iter()
        .filter(|layer| !layer.is_active(now))
        .map(|layer| layer.kind)
        .collect();
    let desired_now = desired(baseline, &tags.layers, now, guardrails);
    let verdict = if live == desired_now {
        RangeVerdict::InSync
    } else if explained_by_layers(baseline, &tags.layers, live, now, guardrails) {
        RangeVerdict::Pending
    } else {
        RangeVerdict::Drift
    };
    Ok(ClusterPlan {
        expired,
        decommission: tags.ttl.is_some_and(|ttl| now >= ttl),
        live,
        desired: desired_now,
        verdict,
    })
}

/// Whether `live` is what desired() gives for some subset of the cluster's layers, each
/// taken as active: the range an expired layer left behind, or the range from before a
/// new layer was applied. The subset is what makes it robust to the order layers came
/// and went in; at most four layers (one tag per kind) keep it to sixteen evaluations.
fn explained_by_layers(
    baseline: CapacityRange,
    layers: &[Layer],
    live: CapacityRange,
    now: DateTime<Utc>,
    guardrails: &Guardrails,
) -> bool {
    let forever: Vec<Layer> = layers
        .iter()
        .map(|layer| Layer {
            until: DateTime::<Utc>::MAX_UTC,
            ..layer.clone()
        })
        .collect();
    let n = forever.len().min(8);
    (0u32..(1 << n)).any(|mask| {
        let subset: Vec<Layer> = (0..n)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| forever[i].clone())
            .collect();
        desired(baseline, &subset, now, guardrails) == live
    })
}

/// Alarms tagged as ours (`acu-pilot:cluster`) whose cluster no longer exists. An alarm
/// without that tag is never returned, whatever its name.
pub fn orphan_alarms<'a>(
    alarms: impl IntoIterator<Item = (&'a str, &'a BTreeMap<String, String>)>,
    existing_clusters: &BTreeSet<String>,
) -> Vec<String> {
    alarms
        .into_iter()
        .filter(|(_, tags)| {
            tags.get(tags::ALARM_CLUSTER)
                .map(|id| id.trim())
                .is_some_and(|id| !id.is_empty() && !existing_clusters.contains(id))
        })
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// How often every absolute high alarm's threshold is checked even when nothing on its
/// cluster points at a moved threshold: a boost removed by hand, with no economy layer,
/// leaves a moved threshold below max that no other signal reveals.
pub const THRESHOLD_RECHECK_CYCLE_SECS: i64 = 10 * 3600;

/// The stretch of that cycle one sweep covers: the janitor's 15-minute schedule plus a
/// margin, so a sweep that starts a little late still covers what its predecessor did not
/// (an alarm may then be read twice in one cycle, never skipped).
pub const THRESHOLD_RECHECK_WINDOW_SECS: i64 = 18 * 60;

/// Whether a sweep at `now` re-reads the tags of `cluster_id`'s absolute high alarms. Each
/// cluster has a fixed point in the 10-hour cycle (a stable hash of its id, so it does not
/// move between processes or releases); the sweep whose window ends at or just after that
/// point covers it. About 1/33 of the fleet per sweep.
pub fn threshold_recheck_due(cluster_id: &str, now: DateTime<Utc>) -> bool {
    let point = (fnv1a(cluster_id.as_bytes()) % THRESHOLD_RECHECK_CYCLE_SECS as u64) as i64;
    (now.timestamp() - point).rem_euclid(THRESHOLD_RECHECK_CYCLE_SECS)
        < THRESHOLD_RECHECK_WINDOW_SECS
}

/// 64-bit FNV-1a: std's hasher is allowed to change between releases, and the slot of a
/// cluster must not.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_cluster_is_due_for_a_threshold_recheck_once_a_cycle_of_15_minute_sweeps() {
        let start = DateTime::parse_from_rfc3339("2026-11-25T00:07:13Z")
            .unwrap()
            .with_timezone(&Utc);
        let sweeps = THRESHOLD_RECHECK_CYCLE_SECS / 900;
        for id in ["shop", "orders-prod", "a", "cluster-0999", ""] {
            let due: Vec<i64> = (0..2 * sweeps)
                .filter(|k| threshold_recheck_due(id, start + Duration::seconds(k * 900)))
                .collect();
            // Once or twice a cycle (the margin), never a gap longer than a cycle.
            assert!(due.len() >= 2 && due.len() <= 4, "{id}: {due:?}");
            assert!(
                due.windows(2).all(|w| w[1] - w[0] <= sweeps),
                "{id}: {due:?}"
            );
            assert!(due[0] < sweeps, "{id}: {due:?}");
        }
    }

    #[test]
    fn a_cluster_keeps_its_point_in_the_recheck_cycle() {
        // Pinned: the point must not move with a toolchain or a release.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    use super::*;
    use crate::capacity::Acu;
    use chrono::Duration;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T19:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn range(min: f64, max: f64) -> CapacityRange {
        CapacityRange::from_f64(min, max).unwrap()
    }

    fn tags(pairs: &[(&str, String)]) -> ClusterTags {
        let mut all = vec![
            ("acu-pilot:managed", "true".to_owned()),
            ("acu-pilot:baseline", "min=0.5 max=16".to_owned()),
        ];
        all.extend(pairs.iter().map(|(k, v)| (*k, v.clone())));
        ClusterTags::parse(all.iter().map(|(k, v)| (*k, v.as_str())))
    }

    fn until(minutes: i64) -> String {
        tags::format_instant(now() + Duration::minutes(minutes))
    }

    fn plan(t: &ClusterTags, live: CapacityRange) -> ClusterPlan {
        plan_cluster("shop", t, Some(live), now(), &Guardrails::default()).unwrap()
    }

    #[test]
    fn an_expired_boost_is_removed_and_its_range_is_pending_not_drift() {
        let t = tags(&[(
            "acu-pilot:boost",
            format!("max=24 until={} by=alarm:x", until(-1)),
        )]);
        let p = plan(&t, range(0.5, 24.0));
        assert_eq!(p.expired, vec![LayerKind::Boost]);
        assert_eq!(p.expired_tag_keys(), vec!["acu-pilot:boost".to_owned()]);
        assert_eq!(p.desired, range(0.5, 16.0));
        assert_eq!(p.verdict, RangeVerdict::Pending);
        assert!(p.writes_range(false));
    }

    #[test]
    fn a_hand_changed_range_is_drift_written_only_when_enforcing() {
        let p = plan(&tags(&[]), range(2.0, 32.0));
        assert_eq!(p.verdict, RangeVerdict::Drift);
        assert!(!p.writes_range(false));
        assert!(p.writes_range(true));
        assert!(p.expired.is_empty());
    }

    #[test]
    fn an_active_prescale_window_is_not_drift() {
        let t = tags(&[(
            "acu-pilot:prescale",
            format!("min=8 until={} by=calendar:sale", until(60)),
        )]);
        let applied = plan(&t, range(8.0, 16.0));
        assert_eq!(applied.verdict, RangeVerdict::InSync);
        // Tagged by the pre-scaler but not yet applied: reconcile's job, not drift.
        let not_yet = plan(&t, range(0.5, 16.0));
        assert_eq!(not_yet.verdict, RangeVerdict::Pending);
    }

    #[test]
    fn in_sync_needs_nothing() {
        let p = plan(&tags(&[]), range(0.5, 16.0));
        assert_eq!(p.verdict, RangeVerdict::InSync);
        assert!(!p.writes_range(true));
        assert!(!p.decommission);
    }

    #[test]
    fn ttl_in_the_past_decommissions_and_in_the_future_keeps() {
        let past = tags(&[("acu-pilot:ttl", until(-5))]);
        assert!(plan(&past, range(0.5, 16.0)).decommission);
        let ahead = tags(&[("acu-pilot:ttl", until(5))]);
        assert!(!plan(&ahead, range(0.5, 16.0)).decommission);
    }

    #[test]
    fn a_malformed_tag_is_an_error_naming_the_tag() {
        let t = tags(&[("acu-pilot:boost", "max=lots until=soon".to_owned())]);
        let err = plan_cluster(
            "shop",
            &t,
            Some(range(0.5, 16.0)),
            now(),
            &Guardrails::default(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "MalformedTag");
        assert!(err.to_string().contains("acu-pilot:boost"), "{err}");
        // A malformed TTL must not decommission anything either.
        let t = tags(&[("acu-pilot:ttl", "yesterday".to_owned())]);
        assert!(
            plan_cluster(
                "shop",
                &t,
                Some(range(0.5, 16.0)),
                now(),
                &Guardrails::default()
            )
            .is_err()
        );
    }

    #[test]
    fn missing_baseline_and_non_serverless_are_errors() {
        let t = ClusterTags::parse([("acu-pilot:managed", "true")]);
        let err = plan_cluster(
            "shop",
            &t,
            Some(range(0.5, 16.0)),
            now(),
            &Guardrails::default(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "MissingBaseline");
        let err =
            plan_cluster("shop", &tags(&[]), None, now(), &Guardrails::default()).unwrap_err();
        assert_eq!(err.code(), "NotServerless");
    }

    #[test]
    fn orphans_are_only_tagged_alarms_of_missing_clusters() {
        let tagged = |id: &str| BTreeMap::from([(tags::ALARM_CLUSTER.to_owned(), id.to_owned())]);
        let live = tagged("shop");
        let gone = tagged("old-shop");
        let untagged = BTreeMap::from([("team".to_owned(), "db".to_owned())]);
        let empty = tagged(" ");
        let existing = BTreeSet::from(["shop".to_owned()]);
        let orphans = orphan_alarms(
            [
                ("acu-pilot-shop-high", &live),
                ("acu-pilot-old-shop-high", &gone),
                ("Aurora-untagged", &untagged),
                ("acu-pilot-empty", &empty),
            ],
            &existing,
        );
        assert_eq!(orphans, vec!["acu-pilot-old-shop-high".to_owned()]);
    }

    fn arb_layer(kind: LayerKind) -> impl Strategy<Value = Option<Layer>> {
        proptest::option::of((
            proptest::option::of(1u16..=64),
            proptest::option::of(2u16..=128),
            -120i64..120,
        ))
        .prop_map(move |spec| {
            let (min, max, minutes) = spec?;
            let (min, max) = match kind {
                LayerKind::Economy => (min, None),
                _ if min.is_none() && max.is_none() => (None, Some(32)),
                _ => (min, max),
            };
            let (min, max) = match (min, max) {
                (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
                other => other,
            };
            Some(Layer {
                hard: false,
                kind,
                min: min.and_then(Acu::from_halves),
                max: max.and_then(Acu::from_halves),
                until: now() + Duration::minutes(minutes),
                by: "prop".into(),
                at: None,
            })
        })
    }

    fn arb_case() -> impl Strategy<Value = (ClusterTags, CapacityRange)> {
        (
            (1u16..=32, 2u16..=128),
            arb_layer(LayerKind::Boost),
            arb_layer(LayerKind::Economy),
            arb_layer(LayerKind::Prescale),
            arb_layer(LayerKind::Pin),
            (1u16..=200, 2u16..=300),
        )
            .prop_map(|((bmin, bmax), b, e, p, pin, (lmin, lmax))| {
                let baseline = CapacityRange::new(
                    Acu::from_halves(bmin.min(bmax)).unwrap(),
                    Acu::from_halves(bmax.max(bmin).max(2)).unwrap(),
                )
                .unwrap();
                let live = CapacityRange::new(
                    Acu::from_halves(lmin.min(lmax)).unwrap(),
                    Acu::from_halves(lmax.max(lmin).max(2)).unwrap(),
                )
                .unwrap();
                let mut t = ClusterTags {
                    managed: true,
                    baseline: Some(baseline),
                    ..ClusterTags::default()
                };
                t.layers = [b, e, p, pin].into_iter().flatten().collect();
                (t, live)
            })
    }

    /// What the service does with a plan, applied to the in-memory state.
    fn apply(t: &ClusterTags, p: &ClusterPlan, enforce: bool) -> (ClusterTags, CapacityRange) {
        let mut t = t.clone();
        t.layers.retain(|l| !p.expired.contains(&l.kind));
        let live = if p.writes_range(enforce) {
            p.desired
        } else {
            p.live
        };
        (t, live)
    }

    proptest! {
        #[test]
        fn applying_the_plan_then_planning_again_has_nothing_to_write(
            (t, live) in arb_case(),
            enforce in any::<bool>(),
        ) {
            let g = Guardrails::default();
            let first = plan_cluster("c", &t, Some(live), now(), &g).unwrap();
            let (t2, live2) = apply(&t, &first, enforce);
            let second = plan_cluster("c", &t2, Some(live2), now(), &g).unwrap();
            prop_assert!(second.expired.is_empty());
            prop_assert!(!second.writes_range(enforce), "{second:?}");
            prop_assert_eq!(second.desired, first.desired);
        }

        #[test]
        fn in_sync_exactly_when_live_is_desired((t, live) in arb_case()) {
            let p = plan_cluster("c", &t, Some(live), now(), &Guardrails::default()).unwrap();
            prop_assert_eq!(p.verdict == RangeVerdict::InSync, live == p.desired);
        }

        #[test]
        fn whatever_desired_gave_before_an_expiry_is_never_drift((t, _) in arb_case()) {
            let g = Guardrails::default();
            let earlier = now() - Duration::minutes(121);
            let live = desired(t.baseline.unwrap(), &t.layers, earlier, &g);
            let p = plan_cluster("c", &t, Some(live), now(), &g).unwrap();
            prop_assert_ne!(p.verdict, RangeVerdict::Drift);
        }

        #[test]
        fn expired_layers_are_exactly_the_inactive_ones((t, live) in arb_case()) {
            let p = plan_cluster("c", &t, Some(live), now(), &Guardrails::default()).unwrap();
            let inactive: Vec<LayerKind> =
                t.layers.iter().filter(|l| !l.is_active(now())).map(|l| l.kind).collect();
            prop_assert_eq!(p.expired, inactive);
        }
    }
}
