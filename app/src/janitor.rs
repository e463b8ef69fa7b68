//! The janitor's sweep over every managed cluster: expire layers, reconcile, report (and
//! in enforce mode repair) drift, put moved alarm thresholds back, delete orphaned
//! alarms, and decommission clusters past their TTL.
//!
//! API economy: one paginated DescribeDBClusters for the managed clusters (tags come with
//! it, so no per-cluster describe) and DescribeAlarms (100 per page) for the two alarm
//! name prefixes acu-pilot's IAM policy allows (`acu-pilot-`, `Aurora-`). DescribeAlarms
//! carries no tags, and reading them is one ListTagsForResource per alarm, so tags are read
//! only for the alarms this sweep may act on ([`needs_tags`]): a candidate orphan (its
//! `DBClusterIdentifier` is no managed cluster), a firing high alarm whose boost to renew,
//! a moved threshold to restore (and, whatever the cluster shows, the absolute high alarms
//! of the clusters in this sweep's slice of a 10-hour cycle), an old-shape alarm to report. Every action still checks
//! the tags it read (the `acu-pilot:cluster` tag, the created-by proof before a delete);
//! the dimension only decides whose tags are worth reading. An unchanged fleet is then
//! O(clusters / 100) calls; the unfiltered DescribeDBClusters that tells an orphan from an
//! unmanaged cluster's alarm runs only when a proven candidate orphan exists. Alarms named
//! otherwise are never ours, so they are never listed. Writes happen only for a cluster
//! with something to change.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::provisioner::Decommissioner;
use crate::reconcile::cluster_guardrails;
use crate::{alarm_thresholds, announce};
use acu_pilot_core::capacity::CapacityRange;
use acu_pilot_core::config::Config;
use acu_pilot_core::error::{Error, Result};
use acu_pilot_core::events::{
    AlarmMetric, AlarmRole, AlarmState, AlarmTransition, CLUSTER_DIMENSION, EventShape,
};
use acu_pilot_core::ownership::{self, CREATED_BY, OwnershipKey, Resource};
use acu_pilot_core::policy::janitor::{self as policy, RangeVerdict};
use acu_pilot_core::policy::provision;
use acu_pilot_core::tags::{self, ClusterTags, LayerKind};
use acu_pilot_ports::{Alarm, Alarms, Cluster, ClusterIds, Clusters, Notifier, Ports};

/// The only alarm names acu-pilot creates (and may touch, per the template's IAM policy).
pub const ALARM_PREFIXES: [&str; 2] = ["acu-pilot-", "Aurora-"];

/// A decommissioner that never tears anything down, for sweeps that must not (tests and
/// benchmarks of the rest of the sweep): an expired cluster is reported in `errors`
/// (code `DecommissionUnavailable`) and left running.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoDecommission;

impl Decommissioner for NoDecommission {
    fn ownership(&self) -> Option<&OwnershipKey> {
        None
    }

    async fn decommission(&self, cluster: &Cluster, _now: DateTime<Utc>) -> Result<()> {
        Err(Error::Aws {
            operation: "Decommission",
            code: Some("DecommissionUnavailable".into()),
            message: format!(
                "cluster {} is past its acu-pilot:ttl, but this sweep may not decommission",
                cluster.id
            ),
            retryable: false,
        })
    }
}

/// Which clusters a sweep covers: all managed ones (the schedule), or only those named in
/// the event's `clusters` (or `detail.clusters`), e.g. from `acu-pilot invoke janitor`.
/// The listing is the same either way; the names only filter it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Scope {
    pub clusters: Option<BTreeSet<String>>,
}

impl Scope {
    pub fn from_event(event: &Value) -> Result<Self> {
        let names = event
            .get("clusters")
            .or_else(|| event.get("detail").and_then(|d| d.get("clusters")));
        let Some(names) = names else {
            return Ok(Scope::default());
        };
        let clusters: BTreeSet<String> = serde_json::from_value(names.clone())
            .map_err(|e| Error::invalid("clusters", format!("expected a list of ids: {e}")))?;
        Ok(Scope {
            clusters: Some(clusters),
        })
    }

    fn covers(&self, id: &str) -> bool {
        self.clusters.as_ref().is_none_or(|ids| ids.contains(id))
    }
}

/// One failure, named by cluster (and alarm, when it was one).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepError {
    pub cluster: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm: Option<String>,
    pub code: String,
    pub message: String,
}

impl SweepError {
    fn new(cluster: &str, alarm: Option<&str>, err: &Error) -> Self {
        SweepError {
            cluster: cluster.to_owned(),
            alarm: alarm.map(str::to_owned),
            code: err.code(),
            message: err.to_string(),
        }
    }
}

/// What happened to one cluster. Only clusters with something to report are listed.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ClusterReport {
    pub cluster: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<CapacityRange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired: Option<CapacityRange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<RangeVerdict>,
    pub changed: bool,
    pub drift: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expired_layers: Vec<LayerKind>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub thresholds_restored: Vec<String>,
    /// This cluster's alarms that still read the cluster-wide average, which idle readers
    /// dilute (`provision::is_diluted`): reported always, made role-aware in enforce mode.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diluted_alarms: Vec<String>,
    /// Those of them rewritten to read the writer's series (in a dry run: that would be).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alarms_made_role_aware: Vec<String>,
    pub decommissioned: bool,
    /// Past its `acu-pilot:ttl`, but not provably created by acu-pilot: kept, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_refused: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ClusterReport {
    fn is_noteworthy(&self) -> bool {
        self.changed
            || self.drift
            || self.decommissioned
            || self.ttl_refused.is_some()
            || self.error.is_some()
            || !self.expired_layers.is_empty()
            || !self.thresholds_restored.is_empty()
            || !self.diluted_alarms.is_empty()
    }
}

/// The sweep's result: the handler's return value, its log line and its `Janitor Sweep` event.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub clusters_seen: usize,
    pub changed: usize,
    pub drifted: usize,
    pub expired_layers: usize,
    pub thresholds_restored: usize,
    /// Alarms of the old, diluted shape seen (see [`ClusterReport::diluted_alarms`]).
    pub diluted_alarms: usize,
    pub alarms_deleted: usize,
    pub decommissioned: usize,
    pub dry_run: bool,
    pub enforce: bool,
    pub errors: Vec<SweepError>,
    pub clusters: Vec<ClusterReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deleted_alarms: Vec<String>,
}

/// The Lambda / CLI entry point; expired clusters go through the provisioner's teardown.
pub async fn handle(
    event: Value,
    now: DateTime<Utc>,
    ports: &impl Ports,
    config: &Config,
) -> Result<Value> {
    let scope = Scope::from_event(&event)?;
    let decommissioner = crate::provisioner::Provisioner::new(ports, config.dry_run).await?;
    let summary = sweep(
        ports.clusters(),
        ports.alarms(),
        ports.notifier(),
        &decommissioner,
        config,
        &scope,
        now,
    )
    .await?;
    // The summary is already published; a sweep where too many clusters failed must also
    // fail the invocation, so the on-failure destination and the Errors alarm see it.
    let failed: BTreeSet<&str> = summary
        .errors
        .iter()
        .map(|e| e.cluster.as_str())
        .filter(|c| !c.is_empty())
        .collect();
    if summary.clusters_seen > 0
        && failed.len() as f64 > config.janitor.max_error_share * summary.clusters_seen as f64
    {
        return Err(Error::SweepFailed {
            failed: failed.len(),
            seen: summary.clusters_seen,
        });
    }
    crate::response(&summary)
}

/// The janitor's sweep of one fleet target ([`crate::fleet`]): [`handle`] in the target's
/// account.
#[derive(Clone, Copy, Debug, Default)]
pub struct JanitorSweep;

impl crate::fleet::TargetSweep for JanitorSweep {
    const FUNCTION: &'static str = "janitor";

    fn managed_clusters(report: &Value) -> Option<usize> {
        report.get("clusters_seen")?.as_u64().map(|n| n as usize)
    }

    fn run<'a, P: Ports>(
        &'a self,
        event: Value,
        now: DateTime<Utc>,
        ports: &'a P,
        config: &'a Config,
    ) -> impl std::future::Future<Output = Result<Value>> + 'a {
        handle(event, now, ports, config)
    }
}

/// An alarm with the tags ListTagsForResource gave for it.
#[derive(Clone, Debug)]
struct TaggedAlarm {
    alarm: Alarm,
    tags: BTreeMap<String, String>,
}

impl TaggedAlarm {
    fn cluster(&self) -> Option<&str> {
        self.tags
            .get(tags::ALARM_CLUSTER)
            .map(|id| id.trim())
            .filter(|id| !id.is_empty())
    }
}

/// One sweep. Fails only when the managed clusters cannot be listed at all; everything
/// after that is isolated per cluster (and per alarm) and lands in `errors`.
#[tracing::instrument(skip_all, fields(dry_run = config.dry_run, enforce = config.janitor.enforce))]
pub async fn sweep(
    clusters: &(impl Clusters + ClusterIds),
    alarms: &impl Alarms,
    notifier: &impl Notifier,
    decommissioner: &impl Decommissioner,
    config: &Config,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Result<Summary> {
    let concurrency = config.janitor.concurrency.max(1);
    let every_managed: Vec<Cluster> = clusters.list_managed().await?;
    let mut errors = Vec::new();

    // Alarms are listed after the managed clusters: a cluster created in between has
    // alarms whose dimension names no listed cluster, so they are candidate orphans whose
    // tags are read, and the unfiltered listing of existing clusters (after this one) keeps
    // them.
    let ours = match our_alarms(alarms, &every_managed, scope, now, concurrency).await {
        Ok((tagged, alarm_errors)) => {
            errors.extend(alarm_errors);
            Some(
                tagged
                    .into_iter()
                    .filter(|a| a.cluster().is_some_and(|id| scope.covers(id)))
                    .collect::<Vec<_>>(),
            )
        }
        Err(err) => {
            errors.push(SweepError::new("", None, &err));
            None
        }
    };
    // An alarm of a listed managed cluster is no orphan, whatever else is listed.
    let managed_ids: BTreeSet<String> = every_managed.iter().map(|c| c.id.clone()).collect();
    let managed: Vec<Cluster> = every_managed
        .into_iter()
        .filter(|c| scope.covers(&c.id))
        .collect();
    let mut by_cluster: BTreeMap<&str, Vec<&TaggedAlarm>> = BTreeMap::new();
    for alarm in ours.iter().flatten() {
        if let Some(id) = alarm.cluster() {
            by_cluster.entry(id).or_default().push(alarm);
        }
    }

    let ctx = Ctx {
        clusters,
        alarms,
        notifier,
        decommissioner,
        config,
        now,
    };
    let no_alarms = Vec::new();
    let outcomes: Vec<(ClusterReport, Option<SweepError>)> = stream::iter(&managed)
        .map(|cluster| {
            let theirs = by_cluster.get(cluster.id.as_str()).unwrap_or(&no_alarms);
            ctx.sweep_cluster(cluster, theirs)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let (mut reports, cluster_errors): (Vec<ClusterReport>, Vec<Option<SweepError>>) =
        outcomes.into_iter().unzip();
    reports.sort_by(|a, b| a.cluster.cmp(&b.cluster));
    let mut cluster_errors: Vec<SweepError> = cluster_errors.into_iter().flatten().collect();
    cluster_errors.sort_by(|a, b| a.cluster.cmp(&b.cluster));

    let mut deleted_alarms = Vec::new();
    if let Some(ours) = &ours {
        match delete_orphans(
            clusters,
            alarms,
            ours,
            &managed_ids,
            decommissioner.ownership(),
            config.dry_run,
        )
        .await
        {
            Ok(names) => deleted_alarms = names,
            Err((cluster, alarm, err)) => {
                errors.push(SweepError::new(&cluster, alarm.as_deref(), &err))
            }
        }
    }

    let mut summary = Summary {
        clusters_seen: managed.len(),
        alarms_deleted: deleted_alarms.len(),
        deleted_alarms,
        dry_run: config.dry_run,
        enforce: config.janitor.enforce,
        ..Summary::default()
    };
    for report in &reports {
        summary.changed += usize::from(report.changed);
        summary.drifted += usize::from(report.drift);
        summary.decommissioned += usize::from(report.decommissioned);
        summary.expired_layers += report.expired_layers.len();
        summary.thresholds_restored += report.thresholds_restored.len();
        summary.diluted_alarms += report.diluted_alarms.len();
    }
    cluster_errors.append(&mut errors);
    summary.errors = cluster_errors;
    summary.clusters = reports.into_iter().filter(|r| r.is_noteworthy()).collect();

    let detail = serde_json::to_value(&summary).unwrap_or_else(|e| json!({"error": e.to_string()}));
    announce(notifier, "Janitor Sweep", detail).await;
    crate::emf::emit(
        "janitor",
        &[
            ("Changes", summary.changed as f64),
            ("Drift", summary.drifted as f64),
            ("Errors", summary.errors.len() as f64),
        ],
        now.timestamp_millis(),
    );
    Ok(summary)
}

struct Ctx<'a, C, A, N, D> {
    clusters: &'a C,
    alarms: &'a A,
    notifier: &'a N,
    decommissioner: &'a D,
    config: &'a Config,
    now: DateTime<Utc>,
}

impl<C, A, N, D> Ctx<'_, C, A, N, D>
where
    C: Clusters,
    A: Alarms,
    N: Notifier,
    D: Decommissioner,
{
    async fn sweep_cluster(
        &self,
        cluster: &Cluster,
        alarms: &[&TaggedAlarm],
    ) -> (ClusterReport, Option<SweepError>) {
        let mut report = ClusterReport {
            cluster: cluster.id.clone(),
            ..ClusterReport::default()
        };
        match self.handle_cluster(cluster, alarms, &mut report).await {
            Ok(()) => (report, None),
            Err(err) => {
                tracing::warn!(cluster = %cluster.id, code = %err.code(), error = %err, "cluster not handled");
                report.error = Some(err.code());
                (report, Some(SweepError::new(&cluster.id, None, &err)))
            }
        }
    }

    /// A high alarm still in ALARM whose boost is on the cluster goes through the
    /// alarm-handler again, as a repeated ALARM at `now` (see
    /// [`acu_pilot_core::policy::alarm::renews_boost`]): inside the cooldown that changes nothing,
    /// after it the boost steps and its expiry moves. Returns whether the handler ran.
    async fn renew_firing_boosts(
        &self,
        cluster: &Cluster,
        alarms: &[&TaggedAlarm],
    ) -> Result<bool> {
        if !cluster.is_available() {
            return Ok(false);
        }
        let tags = cluster.tags();
        let mut ran = false;
        for tagged in alarms {
            let alarm = &tagged.alarm;
            let high = alarm.role(Some(&tagged.tags)) == Some(AlarmRole::High);
            if alarm.state.as_deref() != Some("ALARM")
                || !high
                || alarm.is_metric_math
                || !acu_pilot_core::policy::alarm::renews_boost(&tags, &alarm.spec.name)
            {
                continue;
            }
            let outcome = crate::alarm_handler::apply(
                self.clusters,
                self.notifier,
                self.alarms,
                self.config,
                still_firing(tagged, &cluster.id, self.now),
                self.now,
            )
            .await?;
            tracing::info!(
                cluster = %cluster.id,
                alarm = %alarm.spec.name,
                decision = ?outcome.decision,
                "high alarm still in ALARM: presented to the alarm-handler again"
            );
            ran = true;
        }
        Ok(ran)
    }

    /// The keys among `keys` whose value is still the one this sweep read. RDS has no
    /// conditional tag write, so a fresh layer written between this re-read and the
    /// removal can still be lost: that window is milliseconds instead of the sweep's
    /// length, an expired layer left in place is inert (desired() ignores it), and the
    /// one layer whose writer sends no new event, a boost under a still-firing alarm, is
    /// renewed by the next sweep even when its tag is gone (`renews_boost`).
    async fn still_as_read(&self, cluster: &Cluster, keys: &[String]) -> Result<Vec<String>> {
        let now = self.clusters.describe(&cluster.id).await?;
        let (kept, changed): (Vec<&String>, Vec<&String>) = keys
            .iter()
            .partition(|key| now.tags.get(*key) == cluster.tags.get(*key));
        for key in changed {
            tracing::info!(cluster = %cluster.id, tag = %key, "rewritten since it was read: kept");
        }
        Ok(kept.into_iter().cloned().collect())
    }

    async fn handle_cluster(
        &self,
        cluster: &Cluster,
        alarms: &[&TaggedAlarm],
        report: &mut ClusterReport,
    ) -> Result<()> {
        let (config, now) = (self.config, self.now);
        if let Some(problem) = &cluster.range_problem {
            return Err(Error::invalid(
                "ServerlessV2ScalingConfiguration",
                problem.clone(),
            ));
        }
        let renewed;
        let cluster = if self.renew_firing_boosts(cluster, alarms).await? {
            // The handler rewrote the boost tag: continue from what the cluster has now.
            renewed = self.clusters.describe(&cluster.id).await?;
            &renewed
        } else {
            cluster
        };
        let tags = cluster.tags();
        let guardrails = cluster_guardrails(config, &tags, cluster)?;
        let plan = policy::plan_cluster(&cluster.id, &tags, cluster.range, now, &guardrails)?;
        report.live = Some(plan.live);
        report.desired = Some(plan.desired);
        report.verdict = Some(plan.verdict);

        let refusal = ownership::refusal(
            self.decommissioner.ownership(),
            Resource::Cluster(&cluster.resource_id),
            cluster.tags.get(CREATED_BY).map(String::as_str),
        );
        if plan.decommission
            && let Some(reason) = refusal
        {
            // A TTL is a tag anyone who may tag can write: alone it never deletes.
            tracing::warn!(cluster = %cluster.id, reason, "past its acu-pilot:ttl but not created by acu-pilot: kept");
            report.ttl_refused = Some(reason.to_owned());
        } else if plan.decommission {
            if !config.dry_run {
                self.decommissioner.decommission(cluster, now).await?;
            }
            report.decommissioned = true;
            return Ok(());
        }
        if !cluster.is_available() {
            return Err(Error::NotAvailable {
                cluster: cluster.id.clone(),
                status: cluster.status.clone(),
            });
        }

        let expired_keys = plan.expired_tag_keys();
        let mut current = cluster.clone();
        current.tags.retain(|key, _| !expired_keys.contains(key));

        if plan.verdict == RangeVerdict::Drift {
            report.drift = true;
            announce(
                self.notifier,
                "Drift Detected",
                json!({
                    "cluster": cluster.id,
                    "live": plan.live,
                    "desired": plan.desired,
                    "enforce": config.janitor.enforce,
                    "action": if config.janitor.enforce { "restore" } else { "report" },
                    "dry_run": config.dry_run,
                }),
            )
            .await;
        }
        if plan.writes_range(config.janitor.enforce) {
            // Verified with one more read, as after every write (issue #13 case 5).
            let done =
                crate::reconcile::converge(self.clusters, self.notifier, config, &current, now)
                    .await?;
            report.changed = done.changed;
            if done.changed && !config.dry_run {
                crate::emf::emit_range("janitor", &cluster.id, done.after, now.timestamp_millis());
            }
        }
        // Before the expired boost's tag goes: that tag is what makes the next sweep read
        // this cluster's alarm tags again (`needs_tags`), so a failed restore is retried.
        report.thresholds_restored =
            restore_alarm_thresholds(self.alarms, &current.tags(), alarms, now, config.dry_run)
                .await?;
        // After the range: if the modify failed, the expired tag stays and still explains
        // the live range next time, instead of that range turning into "drift".
        if !expired_keys.is_empty() {
            if !config.dry_run {
                let still = self.still_as_read(cluster, &expired_keys).await?;
                if !still.is_empty() {
                    self.clusters.remove_tags(&cluster.arn, &still).await?;
                }
            }
            report.expired_layers = plan.expired.clone();
        }
        // After the threshold restore, which writes the alarm as it was listed.
        (report.diluted_alarms, report.alarms_made_role_aware) =
            self.diluted_alarms(&cluster.id, alarms).await?;
        Ok(())
    }

    /// Reports this cluster's alarms that read the diluted cluster-wide average and, in
    /// enforce mode, rewrites each to read the writer's series with every other setting
    /// kept. The alarm is read again first, so a threshold moved or restored since the
    /// listing is what is kept.
    async fn diluted_alarms(
        &self,
        cluster_id: &str,
        alarms: &[&TaggedAlarm],
    ) -> Result<(Vec<String>, Vec<String>)> {
        let (mut diluted, mut repaired) = (Vec::new(), Vec::new());
        for tagged in alarms {
            let spec = &tagged.alarm.spec;
            if tagged.alarm.is_metric_math
                || !provision::is_diluted(spec)
                || spec.dimensions.get(CLUSTER_DIMENSION).map(String::as_str) != Some(cluster_id)
            {
                continue;
            }
            tracing::warn!(
                cluster = cluster_id,
                alarm = %spec.name,
                enforce = self.config.janitor.enforce,
                "alarm reads the cluster-wide average, which idle readers dilute: see docs/alarms.md"
            );
            diluted.push(spec.name.clone());
            if !self.config.janitor.enforce {
                continue;
            }
            let current = if self.config.dry_run {
                Some(tagged.alarm.clone())
            } else {
                self.alarms.describe(&spec.name).await?
            };
            let Some(fixed) = current.and_then(|a| provision::role_aware(&a.spec)) else {
                continue;
            };
            if !self.config.dry_run {
                self.alarms.put(&fixed, &[]).await?;
            }
            announce(
                self.notifier,
                "Alarm Made Role-Aware",
                json!({
                    "cluster": cluster_id,
                    "alarm": fixed.name,
                    "dimensions": fixed.dimensions,
                    "dry_run": self.config.dry_run,
                }),
            )
            .await;
            repaired.push(fixed.name);
        }
        Ok((diluted, repaired))
    }
}

/// Puts back thresholds the alarm-handler moved with max, once the cluster has no active
/// boost, with the alarm-handler's own restore and the tags this sweep already read.
async fn restore_alarm_thresholds(
    alarms: &impl Alarms,
    cluster_tags: &ClusterTags,
    ours: &[&TaggedAlarm],
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<Vec<String>> {
    if !alarm_thresholds::boost_is_over(cluster_tags, now) {
        return Ok(Vec::new());
    }
    let mut restored = Vec::new();
    for tagged in ours.iter().filter(|t| t.alarm.is_absolute_high()) {
        if let Some(change) =
            alarm_thresholds::restore_with_tags(alarms, &tagged.alarm, &tagged.tags, dry_run)
                .await?
        {
            restored.push(change.alarm);
        }
    }
    Ok(restored)
}

/// Our alarms with their tags, for those this sweep may act on ([`needs_tags`]). A
/// listing failure fails the alarm half of the sweep; a failure to read one alarm's tags
/// only skips that alarm.
async fn our_alarms(
    alarms: &impl Alarms,
    managed: &[Cluster],
    scope: &Scope,
    now: DateTime<Utc>,
    concurrency: usize,
) -> Result<(Vec<TaggedAlarm>, Vec<SweepError>)> {
    let mut listed = Vec::new();
    for prefix in ALARM_PREFIXES {
        listed.extend(alarms.list(Some(prefix)).await?);
    }
    let managed: BTreeMap<&str, &Cluster> = managed.iter().map(|c| (c.id.as_str(), c)).collect();
    listed.retain(|alarm| needs_tags(alarm, &managed, scope, now));
    let results: Vec<(Alarm, Result<BTreeMap<String, String>>)> = stream::iter(listed)
        .map(|alarm| async move {
            let tags = alarms.tags(&alarm.arn).await;
            (alarm, tags)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut tagged = Vec::new();
    let mut errors = Vec::new();
    for (alarm, tags) in results {
        match tags {
            Ok(tags) => tagged.push(TaggedAlarm { alarm, tags }),
            Err(err) => errors.push(SweepError::new("", Some(&alarm.spec.name), &err)),
        }
    }
    tagged.retain(|a| a.cluster().is_some());
    tagged.sort_by(|a, b| a.alarm.spec.name.cmp(&b.alarm.spec.name));
    Ok((tagged, errors))
}

/// Whether the sweep may act on `alarm`, judged from what DescribeAlarms and
/// DescribeDBClusters already gave (its dimension, state, threshold; the cluster's tags and
/// range), so its tags are worth one ListTagsForResource. Errs towards reading: a wrong
/// `true` costs a call, a wrong `false` defers an action. Every action checks the tags.
fn needs_tags(
    alarm: &Alarm,
    managed: &BTreeMap<&str, &Cluster>,
    scope: &Scope,
    now: DateTime<Utc>,
) -> bool {
    let watched = alarm
        .spec
        .dimensions
        .get(CLUSTER_DIMENSION)
        .map(String::as_str);
    let Some(cluster) = watched.and_then(|id| managed.get(id)) else {
        // No managed cluster by that dimension: a candidate orphan (or an alarm on an
        // unmanaged cluster, which the existence check keeps). A scoped sweep reads only
        // those that name one of its clusters, by dimension or in the alarm's name.
        return match &scope.clusters {
            None => true,
            Some(ids) => ids
                .iter()
                .any(|id| watched == Some(id.as_str()) || alarm.spec.name.contains(id.as_str())),
        };
    };
    if !scope.covers(&cluster.id) || alarm.is_metric_math {
        return false;
    }
    let tags = cluster.tags();
    // No tags yet: they are what this decides whether to read.
    let high = alarm.role(None) == Some(AlarmRole::High);
    // A firing high alarm whose boost the sweep renews (or gives back).
    let renews = cluster.is_available()
        && high
        && alarm.state.as_deref() == Some("ALARM")
        && acu_pilot_core::policy::alarm::renews_boost(&tags, &alarm.spec.name);
    // A threshold the alarm-handler may have moved with max, once the boost is over: the
    // boost (expired, removed after the restore) or the economy layer that ended it is
    // still on the cluster, or the threshold is one the live max can never cross.
    // Nothing else reveals a boost removed by hand, with no economy layer, that left a
    // moved threshold below max: each sweep also reads a rotating slice of the fleet's
    // absolute high alarms, so every one is checked at least once in ten hours.
    let restores = alarm.is_absolute_high()
        && alarm_thresholds::boost_is_over(&tags, now)
        && (tags.layer(LayerKind::Boost).is_some()
            || tags.layer(LayerKind::Economy).is_some()
            || cluster
                .range
                .is_some_and(|r| alarm.spec.threshold >= r.max.value())
            || policy::threshold_recheck_due(&cluster.id, now));
    // An old-shape alarm, reported on every sweep until it is replaced.
    let diluted = provision::is_diluted(&alarm.spec);
    renews || restores || diluted
}

/// Deletes our alarms whose cluster is in no DescribeDBClusters listing.
async fn delete_orphans(
    clusters: &impl ClusterIds,
    alarms: &impl Alarms,
    ours: &[TaggedAlarm],
    managed_ids: &BTreeSet<String>,
    key: Option<&OwnershipKey>,
    dry_run: bool,
) -> std::result::Result<Vec<String>, (String, Option<String>, Error)> {
    // `acu-pilot:cluster` is a tag anyone who may tag an alarm can write: only an alarm
    // that also carries acu-pilot's proof of creation is ours to delete. The unfiltered
    // listing runs only for such an alarm whose cluster is not a managed one.
    let ours: Vec<&TaggedAlarm> = ours
        .iter()
        .filter(|a| a.cluster().is_none_or(|id| !managed_ids.contains(id)))
        .filter(|a| {
            let name = a.alarm.spec.name.as_str();
            let refusal = ownership::refusal(
                key,
                Resource::Alarm(name),
                a.tags.get(CREATED_BY).map(String::as_str),
            );
            refusal.is_none()
        })
        .collect();
    if ours.is_empty() {
        return Ok(Vec::new());
    }
    let existing = clusters
        .list_ids()
        .await
        .map_err(|e| (String::new(), None, e))?;
    let orphans = policy::orphan_alarms(
        ours.iter().map(|a| (a.alarm.spec.name.as_str(), &a.tags)),
        &existing,
    );
    if orphans.is_empty() {
        return Ok(orphans);
    }
    for name in &orphans {
        tracing::info!(alarm = %name, dry_run, "orphaned acu-pilot alarm: its cluster no longer exists");
    }
    if !dry_run {
        alarms
            .delete(&orphans)
            .await
            .map_err(|e| (String::new(), orphans.first().cloned(), e))?;
    }
    Ok(orphans)
}

/// A high alarm still in ALARM at `now`, as the alarm-handler's decision takes it: the
/// renewal goes through the one code path alarm events take, with no event to forge.
fn still_firing(tagged: &TaggedAlarm, cluster_id: &str, now: DateTime<Utc>) -> AlarmTransition {
    let alarm = &tagged.alarm;
    let mut dimensions = alarm.spec.dimensions.clone();
    dimensions
        .entry(CLUSTER_DIMENSION.to_owned())
        .or_insert_with(|| cluster_id.to_owned());
    AlarmTransition {
        alarm_name: alarm.spec.name.clone(),
        alarm_arn: Some(alarm.arn.clone()),
        state: AlarmState::Alarm,
        previous_state: Some(AlarmState::Alarm),
        state_timestamp: now,
        reason: Some("still in ALARM at the janitor's sweep".to_owned()),
        metrics: vec![AlarmMetric {
            namespace: Some(alarm.spec.namespace.clone()),
            name: alarm.spec.metric.clone(),
            dimensions,
        }],
        is_metric_math: false,
        cluster: Some(cluster_id.to_owned()),
        role_hint: Some(AlarmRole::High),
        comparison: alarm.spec.comparison.parse().ok(),
        threshold: Some(alarm.spec.threshold),
        tags: tagged.tags.clone(),
        shape: EventShape::JanitorSweep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// In-memory clusters: ModifyDBCluster fails for the ids in `failing`.
    #[derive(Default)]
    struct Fleet {
        clusters: Mutex<Vec<Cluster>>,
        failing: BTreeSet<String>,
        writes: Mutex<Vec<String>>,
    }

    impl Clusters for Fleet {
        async fn describe(&self, id: &str) -> Result<Cluster> {
            let all = self.clusters.lock().unwrap();
            all.iter()
                .find(|c| c.id == id)
                .cloned()
                .ok_or(Error::ClusterNotFound { cluster: id.into() })
        }
        async fn modify_range(&self, id: &str, range: CapacityRange) -> Result<()> {
            if self.failing.contains(id) {
                return Err(Error::Aws {
                    operation: "ModifyDBCluster",
                    code: Some("ThrottlingException".into()),
                    message: "slow down".into(),
                    retryable: true,
                });
            }
            self.writes.lock().unwrap().push(format!("modify {id}"));
            let mut all = self.clusters.lock().unwrap();
            if let Some(c) = all.iter_mut().find(|c| c.id == id) {
                c.range = Some(range);
            }
            Ok(())
        }
        async fn put_tags(&self, arn: &str, _tags: &[(String, String)]) -> Result<()> {
            self.writes.lock().unwrap().push(format!("tag {arn}"));
            Ok(())
        }
        async fn remove_tags(&self, arn: &str, keys: &[String]) -> Result<()> {
            self.writes.lock().unwrap().push(format!("untag {arn}"));
            let mut all = self.clusters.lock().unwrap();
            if let Some(c) = all.iter_mut().find(|c| c.arn == arn) {
                c.tags.retain(|k, _| !keys.contains(k));
            }
            Ok(())
        }
        async fn list_managed(&self) -> Result<Vec<Cluster>> {
            Ok(self.clusters.lock().unwrap().clone())
        }
    }

    impl ClusterIds for Fleet {
        async fn list_ids(&self) -> Result<BTreeSet<String>> {
            Ok(self
                .clusters
                .lock()
                .unwrap()
                .iter()
                .map(|c| c.id.clone())
                .collect())
        }
    }

    struct NoAlarms;

    impl Alarms for NoAlarms {
        async fn describe(&self, _name: &str) -> Result<Option<Alarm>> {
            Ok(None)
        }
        async fn put(
            &self,
            _spec: &acu_pilot_ports::AlarmSpec,
            _tags: &[(String, String)],
        ) -> Result<()> {
            unreachable!("no alarms")
        }
        async fn tags(&self, _arn: &str) -> Result<BTreeMap<String, String>> {
            Ok(BTreeMap::new())
        }
        async fn tag(&self, _arn: &str, _tags: &[(String, String)]) -> Result<()> {
            unreachable!("no alarms")
        }
        async fn untag(&self, _arn: &str, _keys: &[String]) -> Result<()> {
            unreachable!("no alarms")
        }
        async fn list(&self, _prefix: Option<&str>) -> Result<Vec<Alarm>> {
            Ok(Vec::new())
        }
        async fn delete(&self, _names: &[String]) -> Result<()> {
            unreachable!("no alarms")
        }
    }

    #[derive(Default)]
    struct Events(Mutex<Vec<String>>);

    impl Notifier for Events {
        async fn publish(&self, detail_type: &str, _detail: &Value) -> Result<()> {
            self.0.lock().unwrap().push(detail_type.to_owned());
            Ok(())
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T19:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn boosted(id: &str) -> Cluster {
        Cluster {
            id: id.into(),
            arn: format!("arn:{id}"),
            status: "available".into(),
            engine: "aurora-mysql".into(),
            engine_version: "8.0.mysql_aurora.3.09.0".into(),
            range: Some(CapacityRange::from_f64(0.5, 24.0).unwrap()),
            tags: BTreeMap::from([
                (tags::MANAGED.into(), "true".into()),
                (tags::BASELINE.into(), "min=0.5 max=16".into()),
                (
                    "acu-pilot:boost".into(),
                    "max=24 until=2026-11-25T18:00:00Z by=alarm:x".into(),
                ),
            ]),
            members: vec![format!("{id}-writer")],
            range_problem: None,
            resource_id: String::new(),
        }
    }

    async fn run(fleet: &Fleet, config: &Config, events: &Events) -> Summary {
        sweep(
            fleet,
            &NoAlarms,
            events,
            &NoDecommission,
            config,
            &Scope::default(),
            now(),
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_failed_modify_is_isolated_and_keeps_the_expired_tag_for_next_time() {
        let fleet = Fleet {
            clusters: Mutex::new(vec![boosted("a"), boosted("b")]),
            failing: BTreeSet::from(["a".to_owned()]),
            ..Fleet::default()
        };
        let events = Events::default();
        let summary = run(&fleet, &Config::default(), &events).await;
        assert_eq!(summary.clusters_seen, 2);
        assert_eq!(summary.changed, 1);
        assert_eq!(summary.errors.len(), 1);
        assert_eq!(summary.errors[0].cluster, "a");
        assert_eq!(summary.errors[0].code, "ThrottlingException");
        let a = fleet.describe("a").await.unwrap();
        assert!(
            a.tags.contains_key("acu-pilot:boost"),
            "kept to explain the range"
        );
        let b = fleet.describe("b").await.unwrap();
        assert!(!b.tags.contains_key("acu-pilot:boost"));
        assert_eq!(b.range.unwrap().to_string(), "0.5–16 ACU");
        assert_eq!(
            events.0.lock().unwrap().last().map(String::as_str),
            Some("Janitor Sweep")
        );

        // The retry sees a's boost as expiry, not drift, and finishes the job.
        let fleet = Fleet {
            clusters: Mutex::new(fleet.clusters.lock().unwrap().clone()),
            ..Fleet::default()
        };
        let summary = run(&fleet, &Config::default(), &events).await;
        assert_eq!((summary.changed, summary.drifted), (1, 0));
        assert!(summary.errors.is_empty());
    }

    #[tokio::test]
    async fn dry_run_writes_nothing_but_reports_everything() {
        let fleet = Fleet {
            clusters: Mutex::new(vec![boosted("a")]),
            ..Fleet::default()
        };
        let config = Config {
            dry_run: true,
            ..Config::default()
        };
        let events = Events::default();
        let summary = run(&fleet, &config, &events).await;
        assert_eq!((summary.changed, summary.expired_layers), (1, 1));
        assert!(fleet.writes.lock().unwrap().is_empty());
        assert!(
            events
                .0
                .lock()
                .unwrap()
                .contains(&"Capacity Change Planned".to_owned())
        );
    }

    #[test]
    fn the_scope_comes_from_the_event_or_its_detail() {
        assert_eq!(Scope::from_event(&json!({})).unwrap(), Scope::default());
        // What the 15-minute EventBridge schedule sends: a sweep of everything.
        let scheduled = json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-25T19:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/acu-pilot-janitor"],
            "detail": {}
        });
        assert_eq!(Scope::from_event(&scheduled).unwrap(), Scope::default());
        let scoped = Scope::from_event(&json!({"detail": {"clusters": ["a"]}})).unwrap();
        assert!(scoped.covers("a") && !scoped.covers("b"));
        let err = Scope::from_event(&json!({"clusters": "a"})).unwrap_err();
        assert!(err.to_string().contains("clusters"));
    }
}
