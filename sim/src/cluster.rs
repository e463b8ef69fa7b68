//! A simulated managed cluster whose state lives on its tags, as in production: policies
//! write layers as tag values, and the range is what [`desired`] makes of the parsed
//! tags. Going through the tag text (not a `Vec<Layer>`) means the simulation also runs
//! the real tag format and parser, truncation to seconds included.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use acu_pilot_core::capacity::{CapacityRange, Guardrails};
use acu_pilot_core::desired::{desired, effective_guardrails};
use acu_pilot_core::engine::{ClusterEngine, Engine};
use acu_pilot_core::model::Cluster;
use acu_pilot_core::tags::{self, ClusterTags, Layer, LayerKind, TagError};

#[derive(Clone, Debug)]
pub struct SimCluster {
    /// The cluster as DescribeDBClusters would return it: `range` is the live range and
    /// `tags` the acu-pilot tags. Policies that take a [`Cluster`] get this one.
    pub cluster: Cluster,
    pub guardrails: Guardrails,
}

impl SimCluster {
    /// A managed cluster at `baseline`, with no layers.
    pub fn new(id: &str, baseline: CapacityRange, guardrails: Guardrails) -> Self {
        let tags = BTreeMap::from([
            (tags::MANAGED.to_owned(), "true".to_owned()),
            (tags::BASELINE.to_owned(), tags::format_baseline(baseline)),
        ]);
        Self {
            cluster: Cluster {
                id: id.to_owned(),
                arn: format!("arn:aws:rds:us-east-1:000000000000:cluster:{id}"),
                status: "available".to_owned(),
                engine: ClusterEngine::Aurora(Engine::AuroraPostgresql),
                engine_version: "16.4".to_owned(),
                range: Some(baseline),
                tags,
                members: vec![format!("{id}-writer")],
                range_problem: None,
                resource_id: String::new(),
            },
            guardrails,
        }
    }

    pub fn tags(&self) -> ClusterTags {
        self.cluster.tags()
    }

    /// Writes a layer as its tag, replacing the one of the same kind (one tag per kind).
    pub fn put_layer(&mut self, layer: &Layer) {
        self.cluster
            .tags
            .insert(layer.kind.tag_key().to_owned(), layer.to_tag_value());
    }

    pub fn remove_layer(&mut self, kind: LayerKind) {
        self.cluster.tags.remove(kind.tag_key());
    }

    /// Drops the layer tags whose expiry has passed, as the janitor does.
    pub fn expire_layers(&mut self, now: DateTime<Utc>) -> Vec<LayerKind> {
        let expired: Vec<LayerKind> = self
            .tags()
            .layers
            .iter()
            .filter(|layer| !layer.is_active(now))
            .map(|layer| layer.kind)
            .collect();
        for kind in &expired {
            self.remove_layer(*kind);
        }
        expired
    }

    /// The range the cluster should have at `now`: the same [`desired`] every function
    /// ends in, on the parsed tags. The guardrails' ceiling and floor may be narrowed per
    /// cluster by tags, as in production, through [`effective_guardrails`]: a tag it
    /// refuses is the error, as it is every function's MalformedTag.
    pub fn desired(&self, now: DateTime<Utc>) -> Result<CapacityRange, TagError> {
        let tags = self.tags();
        let baseline = tags
            .baseline
            .or(self.cluster.range)
            .expect("a simulated cluster always has a baseline tag");
        let guardrails = effective_guardrails(&self.guardrails, &tags, &self.cluster)?;
        Ok(desired(baseline, &tags.layers, now, &guardrails))
    }

    /// Reconciles: sets the live range to the desired one; returns it if it changed (one
    /// ModifyDBCluster call in production). A cluster whose guardrail tags are refused
    /// keeps its range, as the functions leave it.
    pub fn reconcile(&mut self, now: DateTime<Utc>) -> Option<CapacityRange> {
        let want = self.desired(now).ok()?;
        if self.cluster.range == Some(want) {
            return None;
        }
        self.cluster.range = Some(want);
        Some(want)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use acu_pilot_core::capacity::Acu;
    use chrono::Duration;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T17:30:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn acu(v: f64) -> Acu {
        Acu::new(v).unwrap()
    }

    #[test]
    fn layers_on_tags_go_through_desired_and_expire() {
        let baseline = CapacityRange::new(acu(0.5), acu(16.0)).unwrap();
        let mut sim = SimCluster::new("shop", baseline, Guardrails::default());
        assert_eq!(sim.reconcile(now()), None);
        let prescale = Layer {
            hard: false,
            kind: LayerKind::Prescale,
            min: Some(acu(24.0)),
            max: Some(acu(48.0)),
            until: now() + Duration::minutes(90),
            by: "calendar:black-friday".into(),
            at: None,
        };
        sim.put_layer(&prescale);
        assert_eq!(sim.tags().layer(LayerKind::Prescale), Some(&prescale));
        let want = CapacityRange::new(acu(24.0), acu(48.0)).unwrap();
        assert_eq!(sim.reconcile(now()), Some(want));
        assert_eq!(sim.reconcile(now()), None, "a repeat changes nothing");

        let later = now() + Duration::minutes(91);
        assert_eq!(
            sim.desired(later).unwrap(),
            baseline,
            "an expired layer has no effect"
        );
        assert_eq!(sim.expire_layers(later), vec![LayerKind::Prescale]);
        assert!(sim.tags().layers.is_empty());
        assert_eq!(sim.reconcile(later), Some(baseline));
    }

    #[test]
    fn a_ceiling_tag_above_the_configured_one_is_refused_and_the_range_kept() {
        let baseline = CapacityRange::new(acu(0.5), acu(16.0)).unwrap();
        let mut sim = SimCluster::new("shop", baseline, Guardrails::default());
        sim.cluster
            .tags
            .insert(tags::CEILING.to_owned(), "128".to_owned());
        assert_eq!(sim.desired(now()).unwrap_err().tag(), tags::CEILING);
        assert_eq!(sim.reconcile(now()), None);
        assert_eq!(sim.cluster.range, Some(baseline));
    }

    #[test]
    fn a_ceiling_tag_caps_the_range() {
        let baseline = CapacityRange::new(acu(0.5), acu(16.0)).unwrap();
        let mut sim = SimCluster::new("shop", baseline, Guardrails::default());
        sim.cluster
            .tags
            .insert(tags::CEILING.to_owned(), "32".to_owned());
        sim.put_layer(&Layer {
            hard: false,
            kind: LayerKind::Boost,
            min: None,
            max: Some(acu(64.0)),
            until: now() + Duration::minutes(10),
            by: "alarm:high".into(),
            at: Some(now()),
        });
        assert_eq!(sim.desired(now()).unwrap().max, acu(32.0));
    }
}
