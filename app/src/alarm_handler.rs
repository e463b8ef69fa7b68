//! The alarm-handler: one CloudWatch alarm transition, in any of its three shapes, becomes
//! at most one tag write on the cluster, then reconcile.
//!
//! API economy per event: one DescribeDBClusters; one DescribeAlarms only when the event
//! does not say the role (or an absolute threshold must move, which needs every setting
//! of the alarm); one tag write (two when a layer is put and another removed); one
//! ModifyDBCluster; one PutEvents (two when the step reaches the ceiling). A duplicate
//! delivery writes nothing. The cluster is read once: reconcile runs on the in-memory
//! copy with the new tags.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::alarm_thresholds::{ThresholdChange, move_threshold};
use crate::reconcile::{cluster_guardrails, converge, plan, reconcile_cluster};
use acu_pilot_core::capacity::CapacityRange;
use acu_pilot_core::config::Config;
use acu_pilot_core::error::{Error, Result};
use acu_pilot_core::events::{
    AlarmRole, AlarmTransition, ComparisonOperator, EventShape, RoleSource,
};
use acu_pilot_core::policy::alarm::{AlarmDecision, DecisionKind, decide};
use acu_pilot_core::tags::LayerKind;
use acu_pilot_ports::{Alarm, Alarms, Cluster, Clusters, Notifier, Ports};

pub const FUNCTION: &str = "alarm-handler";
pub const CEILING_REACHED: &str = "Capacity Ceiling Reached";

/// What one invocation decided and did: the handler's JSON output.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlarmOutcome {
    pub cluster: Option<String>,
    pub alarm: String,
    /// e.g. `OK → ALARM`.
    pub transition: String,
    pub shape: EventShape,
    pub role: Option<AlarmRole>,
    pub role_source: Option<RoleSource>,
    pub decision: DecisionKind,
    pub reason: String,
    /// The live range before, and the desired range after (written unless `dry_run`).
    pub before: Option<CapacityRange>,
    pub after: Option<CapacityRange>,
    /// Whether the range changes (in a dry run: would change).
    pub changed: bool,
    /// Layer tags written (or, in a dry run, that would be).
    pub put: Vec<String>,
    pub removed: Vec<LayerKind>,
    pub ceiling_reached: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<ThresholdChange>,
    /// The reconcile's explanation of `after`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_reason: Option<String>,
    pub dry_run: bool,
}

/// The Lambda / `acu-pilot invoke alarm-handler` entry point.
pub async fn handle(
    event: Value,
    now: DateTime<Utc>,
    ports: &impl Ports,
    config: &Config,
) -> Result<Value> {
    let outcome = run(
        ports.clusters(),
        ports.notifier(),
        ports.alarms(),
        config,
        &event,
        now,
    )
    .await;
    let now_ms = now.timestamp_millis();
    match &outcome {
        Ok(o) => {
            crate::emf::emit(
                FUNCTION,
                &[
                    ("Changes", f64::from(u8::from(o.changed && !o.dry_run))),
                    ("Errors", 0.0),
                    ("CeilingReached", f64::from(u8::from(o.ceiling_reached))),
                ],
                now_ms,
            );
            if let (Some(cluster), Some(after)) = (&o.cluster, o.after) {
                crate::emf::emit_range(FUNCTION, cluster, after, now_ms);
            }
        }
        Err(err) => {
            tracing::error!(error = %err, error_type = err.error_type(), "alarm event not handled");
            crate::emf::emit(
                FUNCTION,
                &[("Changes", 0.0), ("Errors", 1.0), ("CeilingReached", 0.0)],
                now_ms,
            );
        }
    }
    let outcome = outcome?;
    crate::response(&outcome)
}

/// The handler over the ports: parse, resolve cluster and role, decide, write the layer
/// tags, move an absolute threshold, reconcile. A bad event fails before any AWS call.
pub async fn run(
    clusters: &impl Clusters,
    notifier: &impl Notifier,
    alarms: &impl Alarms,
    config: &Config,
    event: &Value,
    now: DateTime<Utc>,
) -> Result<AlarmOutcome> {
    let t = acu_pilot_core::events::parse_event(event).map_err(Error::from)?;
    apply(clusters, notifier, alarms, config, t, now).await
}

/// The decision for one transition, however it arrived: an alarm event parsed by
/// [`run`], or the janitor's typed renewal of a high alarm still in ALARM.
#[tracing::instrument(skip_all, fields(alarm, cluster))]
pub async fn apply(
    clusters: &impl Clusters,
    notifier: &impl Notifier,
    alarms: &impl Alarms,
    config: &Config,
    t: AlarmTransition,
    now: DateTime<Utc>,
) -> Result<AlarmOutcome> {
    let span = tracing::Span::current();
    span.record("alarm", t.alarm_name.as_str());
    let mut out = AlarmOutcome::new(&t, config.dry_run);

    let Some(cluster_id) = t.cluster.clone() else {
        return Ok(out.ignored(
            "the alarm names no cluster: no DBClusterIdentifier dimension and no acu-pilot:cluster tag",
        ));
    };
    span.record("cluster", cluster_id.as_str());
    out.cluster = Some(cluster_id.clone());

    let mut described: Option<Alarm> = None;
    if t.needs_describe_for_role() {
        described = alarms.describe(&t.alarm_name).await?;
    }
    let described_comparison = described
        .as_ref()
        .and_then(|a| a.spec.comparison.parse::<ComparisonOperator>().ok());
    let Some((role, source)) = t.role(described_comparison) else {
        return Ok(out.ignored(
            "the alarm's role is unknown: no acu-pilot:role tag, no one-sided comparison, not named Aurora-<cluster>-High-ACU / -Low-ACU",
        ));
    };
    out.role = Some(role);
    out.role_source = Some(source);

    let cluster = match clusters.describe(&cluster_id).await {
        Ok(cluster) => cluster,
        Err(Error::ClusterNotFound { .. }) => {
            return Ok(out.ignored(format!("cluster {cluster_id} does not exist")));
        }
        Err(err) => return Err(err),
    };
    out.before = cluster.range;
    if !cluster.is_managed() {
        return Ok(out.ignored(format!(
            "cluster {cluster_id} is not managed by acu-pilot (no acu-pilot:managed=true tag)"
        )));
    }
    // Refuse what reconcile would refuse (malformed tag, no baseline, not serverless)
    // before writing anything: nothing half-applied.
    plan(config, &cluster, now)?;
    let tags = cluster.tags();
    let live = cluster.range.ok_or_else(|| Error::NotServerless {
        cluster: cluster_id.clone(),
    })?;
    let guardrails = cluster_guardrails(config, &tags, &cluster)?;
    let decision = decide(role, &t, &tags, live, &guardrails, &config.boost, now);
    tracing::info!(
        decision = ?decision.decision,
        role = %role,
        role_source = ?source,
        transition = %out.transition,
        reason = %decision.reason,
        "alarm decision"
    );
    out.decision = decision.decision;
    out.reason = decision.reason.clone();
    out.ceiling_reached = decision.ceiling_reached;

    let (updated, put) = write_layers(clusters, &cluster, &decision, config.dry_run).await?;
    out.put = put
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    out.removed = decision.remove.clone();

    if let Some(scale) = decision.threshold_scale
        && role == AlarmRole::High
        && t.watches_absolute_capacity()
    {
        let alarm = match described {
            Some(alarm) => Some(alarm),
            None => alarms.describe(&t.alarm_name).await?,
        };
        match alarm.filter(Alarm::is_absolute_high) {
            Some(alarm) => {
                let known = t
                    .tags
                    .contains_key(acu_pilot_core::tags::ALARM_ORIGINAL_THRESHOLD)
                    .then_some(&t.tags);
                // A threshold that cannot be moved and restored (not finite, or an original
                // no tag can hold) is left as it is: checked before anything was written to
                // the alarm, it does not undo the layer, which is the intent.
                out.threshold = match move_threshold(alarms, &alarm, known, scale, config.dry_run)
                    .await
                {
                    Ok(change) => Some(change),
                    Err(err @ Error::InvalidInput { .. }) => {
                        tracing::warn!(alarm = %t.alarm_name, error = %err, "threshold not moved");
                        None
                    }
                    Err(err) => return Err(err),
                };
            }
            None => tracing::warn!(
                alarm = %t.alarm_name,
                "the event describes an absolute capacity alarm, but CloudWatch has no such metric alarm; threshold left"
            ),
        }
    }

    // Planned on the copy with the new tags: no second DescribeDBClusters. Reconcile (and
    // its availability check) only when there is a range to change.
    // After a tag write, converge: plan on the copy with the new tags, then verify with
    // one read that no other function wrote meanwhile (and plan again if one did).
    let result = if updated.tags != cluster.tags {
        converge(clusters, notifier, config, &updated, now).await?
    } else {
        let planned = plan(config, &updated, now)?;
        if planned.changed {
            reconcile_cluster(clusters, notifier, config, &updated, now).await?
        } else {
            planned
        }
    };
    out.after = Some(result.after);
    out.changed = result.changed;
    out.range_reason = Some(result.reason.clone());

    if decision.ceiling_reached {
        super::announce(
            notifier,
            CEILING_REACHED,
            json!({
                "cluster": cluster_id,
                "alarm": t.alarm_name,
                "ceiling": guardrails.ceiling,
                "max": result.after.max,
                "reason": decision.reason,
                "dry_run": config.dry_run,
            }),
        )
        .await;
    }
    Ok(out)
}

/// Writes the decision's layer tags (one AddTagsToResource for every put layer, one
/// RemoveTagsFromResource for every removed one) and returns the cluster as it now is,
/// with the values written. Every value is read back by the tag parser before the first
/// write: one that could not be (an `until` past year 9999) fails the event, nothing
/// written. In a dry run nothing is written, and the returned copy shows what would be.
async fn write_layers(
    clusters: &impl Clusters,
    cluster: &Cluster,
    decision: &AlarmDecision,
    dry_run: bool,
) -> Result<(Cluster, Vec<(String, String)>)> {
    let put: Vec<(String, String)> = decision
        .put
        .iter()
        .map(|layer| {
            let key = layer.kind.tag_key();
            layer
                .tag_value()
                .map(|value| (key.to_owned(), value))
                .map_err(|e| Error::invalid(key, e.to_string()))
        })
        .collect::<Result<_>>()?;
    let remove: Vec<String> = decision
        .remove
        .iter()
        .map(|kind| kind.tag_key().to_owned())
        .filter(|key| cluster.tags.contains_key(key))
        .collect();
    if !dry_run {
        if !put.is_empty() {
            clusters.put_tags(&cluster.arn, &put).await?;
        }
        if !remove.is_empty() {
            clusters.remove_tags(&cluster.arn, &remove).await?;
        }
    }
    let mut tags: BTreeMap<String, String> = cluster.tags.clone();
    for key in &remove {
        tags.remove(key);
    }
    tags.extend(put.iter().cloned());
    Ok((
        Cluster {
            tags,
            ..cluster.clone()
        },
        put,
    ))
}

impl AlarmOutcome {
    fn new(t: &AlarmTransition, dry_run: bool) -> Self {
        let transition = match t.previous_state {
            Some(previous) => format!("{previous} → {}", t.state),
            None => format!("→ {}", t.state),
        };
        AlarmOutcome {
            cluster: None,
            alarm: t.alarm_name.clone(),
            transition,
            shape: t.shape,
            role: None,
            role_source: None,
            decision: DecisionKind::None,
            reason: String::new(),
            before: None,
            after: None,
            changed: false,
            put: Vec::new(),
            removed: Vec::new(),
            ceiling_reached: false,
            threshold: None,
            range_reason: None,
            dry_run,
        }
    }

    fn ignored(mut self, reason: impl Into<String>) -> Self {
        self.decision = DecisionKind::Ignored;
        self.reason = reason.into();
        self.after = self.before;
        tracing::info!(decision = "ignored", reason = %self.reason, transition = %self.transition, "alarm decision");
        self
    }
}
