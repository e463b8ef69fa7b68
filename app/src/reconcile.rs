//! Reconcile: read the cluster, compute the desired range, write only if it differs.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use acu_pilot_core::capacity::{CapacityRange, Guardrails};
use acu_pilot_core::config::Config;
use acu_pilot_core::desired::{desired, effective_guardrails};
use acu_pilot_core::error::{Error, Result};
use acu_pilot_core::tags::{ClusterTags, Layer};
use acu_pilot_ports::{Cluster, Clusters, Notifier};

/// What reconcile found and did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reconciled {
    pub cluster: String,
    pub before: CapacityRange,
    pub after: CapacityRange,
    pub changed: bool,
    pub dry_run: bool,
    /// The active layers that explain `after`.
    pub layers: Vec<Layer>,
    pub reason: String,
}

/// Describe the cluster, then [`reconcile_cluster`].
pub async fn reconcile(
    clusters: &impl Clusters,
    notifier: &impl Notifier,
    config: &Config,
    cluster_id: &str,
    now: DateTime<Utc>,
) -> Result<Reconciled> {
    let cluster = clusters.describe(cluster_id).await?;
    reconcile_cluster(clusters, notifier, config, &cluster, now).await
}

/// Compute the desired range of a cluster already read (with the tags it has now) and
/// call ModifyDBCluster only if the live range differs. Nothing is written for a cluster
/// that is unmanaged, has a malformed acu-pilot tag, or is not `available`.
/// How many times [`converge`] re-plans when another function wrote in the meantime.
const CONVERGE_ROUNDS: usize = 3;

/// [`reconcile_cluster`] after a function's own tag write, then one DescribeDBClusters to
/// check that nobody wrote in between: if the acu-pilot tags or the range differ from what
/// the plan was made on and gave, it plans again on the fresh read (at most
/// [`CONVERGE_ROUNDS`] times). Whichever function verifies last sees every tag written
/// before its read, so the range ends as the final tags say (issue #13 case 5). A dry run
/// writes nothing and verifies nothing.
pub async fn converge(
    clusters: &impl Clusters,
    notifier: &impl Notifier,
    config: &Config,
    cluster: &Cluster,
    now: DateTime<Utc>,
) -> Result<Reconciled> {
    let mut current = cluster.clone();
    let mut result = reconcile_cluster(clusters, notifier, config, &current, now).await?;
    if config.dry_run {
        return Ok(result);
    }
    for _ in 0..CONVERGE_ROUNDS {
        let fresh = clusters.describe(&current.id).await?;
        if ours(&fresh) == ours(&current) && fresh.range == Some(result.after) {
            return Ok(result);
        }
        tracing::info!(cluster = %fresh.id, "another function wrote meanwhile; planning again on a fresh read");
        current = fresh;
        let again = reconcile_cluster(clusters, notifier, config, &current, now).await?;
        // One report for the whole call: from the first range to the last.
        result = Reconciled {
            before: result.before,
            changed: result.changed || again.changed,
            ..again
        };
    }
    Ok(result)
}

fn ours(cluster: &Cluster) -> Vec<(&String, &String)> {
    cluster
        .tags
        .iter()
        .filter(|(key, _)| key.starts_with(acu_pilot_core::tags::PREFIX))
        .collect()
}

#[tracing::instrument(skip_all, fields(cluster = %cluster.id))]
pub async fn reconcile_cluster(
    clusters: &impl Clusters,
    notifier: &impl Notifier,
    config: &Config,
    cluster: &Cluster,
    now: DateTime<Utc>,
) -> Result<Reconciled> {
    let plan = plan(config, cluster, now)?;
    // Even with nothing to change: a cluster that cannot take a change now must be
    // visible as such (and retried), not reported as healthy.
    if !cluster.is_available() {
        return Err(Error::NotAvailable {
            cluster: cluster.id.clone(),
            status: cluster.status.clone(),
        });
    }
    if !plan.changed {
        tracing::info!(range = %plan.before, "range already as desired; nothing to do");
        return Ok(plan);
    }
    let detail_type = if config.dry_run {
        "Capacity Change Planned"
    } else {
        clusters.modify_range(&cluster.id, plan.after).await?;
        "Capacity Changed"
    };
    announce_change(notifier, detail_type, &plan).await;
    Ok(plan)
}

/// The configured guardrails as this cluster's tags narrow them; a guardrail tag that
/// would widen them refuses the cluster as MalformedTag, as every other bad tag does.
pub fn cluster_guardrails(
    config: &Config,
    tags: &ClusterTags,
    cluster: &Cluster,
) -> Result<Guardrails> {
    effective_guardrails(&config.guardrails, tags, cluster).map_err(|source| Error::MalformedTag {
        cluster: cluster.id.clone(),
        source,
    })
}

/// The pure half of reconcile: what would change, and why. Used by `plan` and dry runs.
pub fn plan(config: &Config, cluster: &Cluster, now: DateTime<Utc>) -> Result<Reconciled> {
    if !cluster.is_managed() {
        return Err(Error::NotManaged {
            cluster: cluster.id.clone(),
        });
    }
    let tags = cluster.tags();
    if let Some(problem) = tags.problems.first() {
        return Err(Error::MalformedTag {
            cluster: cluster.id.clone(),
            source: problem.clone(),
        });
    }
    if let Some(problem) = &cluster.range_problem {
        return Err(Error::invalid(
            "ServerlessV2ScalingConfiguration",
            problem.clone(),
        ));
    }
    let before = cluster.range.ok_or_else(|| Error::NotServerless {
        cluster: cluster.id.clone(),
    })?;
    let baseline = tags.baseline.ok_or_else(|| Error::MissingBaseline {
        cluster: cluster.id.clone(),
    })?;
    let guardrails = cluster_guardrails(config, &tags, cluster)?;
    let after = desired(baseline, &tags.layers, now, &guardrails);
    let layers: Vec<Layer> = tags
        .layers
        .iter()
        .filter(|layer| layer.is_active(now))
        .cloned()
        .collect();
    let reason = if layers.is_empty() {
        format!("baseline {baseline}, no active layer")
    } else {
        let names: Vec<String> = layers
            .iter()
            .map(|l| {
                format!(
                    "{} by {} until {}",
                    l.kind,
                    l.by,
                    acu_pilot_core::tags::format_instant(l.until)
                )
            })
            .collect();
        format!("baseline {baseline} + {}", names.join(", "))
    };
    Ok(Reconciled {
        cluster: cluster.id.clone(),
        before,
        changed: after != before,
        after,
        dry_run: config.dry_run,
        layers,
        reason,
    })
}

async fn announce_change(notifier: &impl Notifier, detail_type: &str, plan: &Reconciled) {
    super::announce(
        notifier,
        detail_type,
        json!({
            "cluster": plan.cluster,
            "before": plan.before,
            "after": plan.after,
            "layers": plan.layers,
            "reason": plan.reason,
            "dry_run": plan.dry_run,
        }),
    )
    .await;
}
