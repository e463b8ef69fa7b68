//! The provisioner: stands up, onboards and decommissions clusters, one step at a time.
//!
//! Each invocation reads what exists, asks the pure planners in
//! [`policy::provision`](acu_pilot_core::policy::provision) for the next step, runs it, and repeats
//! until everything is done or AWS must finish something first. Then it returns
//! `in_progress` with the steps left instead of sleeping: the next invocation (a retry, or
//! the RDS lifecycle event that says the cluster or instance is ready) continues from what
//! it finds.

use std::collections::BTreeSet;
use std::future::Future;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::announce;
use acu_pilot_core::config::Config;
use acu_pilot_core::error::{Error, Result};
use acu_pilot_core::events::CLUSTER_DIMENSION;
use acu_pilot_core::ownership::{self, CREATED_BY, OwnershipKey, Resource};
use acu_pilot_core::policy::provision::{
    self, DECOMMISSIONING, DecommissionRequest, Defaults, Incoming, Next, Observed, OnboardRequest,
    PARAMETER_GROUP, PROVISIONING, Plan, ProvisionRequest, RdsEvent, RdsSource, Step, Target,
};
use acu_pilot_core::tags::{ALARM_CLUSTER, MANAGED};
use acu_pilot_ports::{Alarm, Alarms, Cluster, Clusters, Notifier, Ports, Provisioning};

/// Steps one invocation may take; far more than a provisioning has, so only a planner
/// bug could reach it.
const MAX_STEPS: usize = 64;
/// Re-reads of the cluster after acting, to notice what AWS finished at once.
const MAX_REFRESHES: usize = 4;

/// The ports the provisioner works through, and whether it may write.
pub struct Provisioner<'a, P, C, A, N> {
    pub provisioning: &'a P,
    pub clusters: &'a C,
    pub alarms: &'a A,
    pub notifier: &'a N,
    /// Plan and report, change nothing.
    pub dry_run: bool,
    /// The key of the proof of creation: what it creates is tagged with a proof made with
    /// it, and only what verifies under it is ever destroyed.
    pub ownership: Option<&'a OwnershipKey>,
}

impl<'a, P, C, A, N> Provisioner<'a, P, C, A, N> {
    /// The provisioner over a function's ports bundle. Fails when the ownership key is
    /// configured but cannot be read ([`Ports::ownership`]).
    pub async fn new<X>(ports: &'a X, dry_run: bool) -> Result<Self>
    where
        X: Ports<Provisioning = P, Clusters = C, Alarms = A, Notifier = N>,
    {
        Ok(Provisioner {
            provisioning: ports.provisioning(),
            clusters: ports.clusters(),
            alarms: ports.alarms(),
            notifier: ports.notifier(),
            dry_run,
            ownership: ports.ownership().await?,
        })
    }
}

impl<P, C, A, N> Provisioner<'_, P, C, A, N> {
    /// The tags of an alarm acu-pilot creates: the plan's, plus the proof of creation
    /// that alone lets a later teardown or orphan sweep delete it.
    fn alarm_tags(&self, name: &str, tags: &[(String, String)]) -> Vec<(String, String)> {
        let mut tags = tags.to_vec();
        if let Some(key) = self.ownership {
            tags.push((CREATED_BY.to_owned(), key.proof(Resource::Alarm(name))));
        }
        tags
    }

    /// Refuses a destructive action on a cluster acu-pilot cannot prove it created.
    fn check_created(&self, cluster: &Cluster) -> Result<()> {
        match ownership::refusal(
            self.ownership,
            Resource::Cluster(&cluster.resource_id),
            cluster.tags.get(CREATED_BY).map(String::as_str),
        ) {
            None => Ok(()),
            Some(reason) => {
                tracing::warn!(cluster = %cluster.id, reason, "refused: not created by acu-pilot");
                Err(Error::NotOwned {
                    resource: format!("cluster {}", cluster.id),
                    reason,
                })
            }
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Complete,
    InProgress,
    /// Dry run: `steps_left` is what would be done.
    Planned,
    /// An RDS event about a cluster with nothing of ours to continue.
    Ignored,
}

/// What an invocation reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    pub action: &'static str,
    pub cluster_id: String,
    pub status: Status,
    pub steps_done: Vec<String>,
    pub steps_left: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writer_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reader_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_snapshot: Option<String>,
}

impl Outcome {
    fn new(action: &'static str, cluster_id: &str, status: Status) -> Self {
        Outcome {
            action,
            cluster_id: cluster_id.to_owned(),
            status,
            steps_done: Vec::new(),
            steps_left: Vec::new(),
            waiting_for: None,
            writer_endpoint: None,
            reader_endpoint: None,
            baseline: None,
            final_snapshot: None,
        }
    }
}

/// The Lambda entry point (also `acu-pilot invoke provisioner`).
#[tracing::instrument(skip_all)]
pub async fn handle(
    event: Value,
    now: DateTime<Utc>,
    ports: &impl Ports,
    config: &Config,
) -> Result<Value> {
    let defaults = Defaults {
        db_subnet_group: config.provisioner.subnet_group.clone(),
        security_group_ids: config.provisioner.security_group_ids.clone(),
    };
    let incoming = provision::parse(&event, &defaults)?;
    // An unreadable ownership key counts in the metrics as a failed run: it is read on the
    // first invocation that needs it, not at start-up.
    let result = match Provisioner::new(ports, config.dry_run).await {
        Ok(ports) => run(&ports, incoming, now).await,
        Err(err) => Err(err),
    };
    let (changes, errors) = match &result {
        Ok(outcome) => (outcome.steps_done.len(), 0),
        Err(_) => (0, 1),
    };
    crate::emf::emit(
        "provisioner",
        &[("Changes", changes as f64), ("Errors", errors as f64)],
        now.timestamp_millis(),
    );
    let outcome = result?;
    crate::response(&outcome)
}

/// Runs one parsed request.
pub async fn run<P, C, A, N>(
    ports: &Provisioner<'_, P, C, A, N>,
    incoming: Incoming,
    now: DateTime<Utc>,
) -> Result<Outcome>
where
    P: Provisioning,
    C: Clusters,
    A: Alarms,
    N: Notifier,
{
    match incoming {
        Incoming::Provision(request) => provision(ports, &request, now).await,
        Incoming::Onboard(request) => onboard(ports, &request, now).await,
        Incoming::Decommission(request) => decommission(ports, &request, now).await,
        Incoming::Resume(event) => resume(ports, &event, now).await,
    }
}

/// What is being driven to completion.
enum Job<'r> {
    Provision {
        target: &'r Target,
        create: Option<&'r provision::CreateSettings>,
    },
    Decommission {
        cluster_id: &'r str,
        skip_final_snapshot: bool,
    },
}

impl Job<'_> {
    fn cluster_id(&self) -> &str {
        match self {
            Job::Provision { target, .. } => &target.cluster_id,
            Job::Decommission { cluster_id, .. } => cluster_id,
        }
    }

    fn plan(&self, seen: &Observed, now: DateTime<Utc>) -> Result<Plan> {
        match self {
            Job::Provision { target, create } => {
                provision::plan_provision(target, *create, seen, now)
            }
            Job::Decommission {
                cluster_id,
                skip_final_snapshot,
            } => provision::plan_decommission(cluster_id, *skip_final_snapshot, seen, now),
        }
    }
}

fn no_key() -> Error {
    Error::Config {
        variable: "ACU_PILOT_OWNERSHIP_KEY_PARAMETER".into(),
        message: "creating a cluster needs the ownership key, or acu-pilot could never prove it created it".into(),
    }
}

/// The alarms of this cluster a teardown may delete: among its possible names, those
/// tagged as this cluster's and carrying acu-pilot's proof of creation. An alarm of the
/// same name that its owner made is never ours to delete.
async fn created_alarms(
    alarms: &impl Alarms,
    cluster_id: &str,
    key: Option<&OwnershipKey>,
) -> Result<BTreeSet<String>> {
    let mut ours = BTreeSet::new();
    for alarm in named_alarms(alarms, cluster_id).await? {
        let name = alarm.spec.name;
        let tags = alarms.tags(&alarm.arn).await?;
        let refusal = ownership::refusal(
            key,
            Resource::Alarm(&name),
            tags.get(CREATED_BY).map(String::as_str),
        );
        if tags.get(ALARM_CLUSTER).map(String::as_str) == Some(cluster_id) && refusal.is_none() {
            ours.insert(name);
        } else {
            tracing::info!(alarm = %name, cluster = cluster_id, "alarm kept: not created by acu-pilot");
        }
    }
    Ok(ours)
}

/// The names among this cluster's possible alarms that exist: two prefix listings
/// rather than one call per name, filtered to exact names (`Aurora-shop-` also lists
/// `Aurora-shop-2-…`).
async fn existing_alarms(alarms: &impl Alarms, cluster_id: &str) -> Result<BTreeSet<String>> {
    Ok(named_alarms(alarms, cluster_id)
        .await?
        .into_iter()
        .map(|alarm| alarm.spec.name)
        .collect())
}

async fn named_alarms(alarms: &impl Alarms, cluster_id: &str) -> Result<Vec<Alarm>> {
    let ours: BTreeSet<String> = provision::alarm_names(cluster_id).into_iter().collect();
    let mut found = Vec::new();
    for prefix in [
        format!("acu-pilot-{cluster_id}-"),
        format!("Aurora-{cluster_id}-"),
    ] {
        for alarm in alarms.list(Some(&prefix)).await? {
            if ours.contains(&alarm.spec.name) {
                found.push(alarm);
            }
        }
    }
    Ok(found)
}

/// Whether acu-pilot created this parameter group for this cluster: its tags name the
/// cluster and carry acu-pilot's proof of creation.
async fn group_is_ours(
    provisioning: &impl Provisioning,
    group: &acu_pilot_ports::ParameterGroup,
    cluster_id: &str,
    key: Option<&OwnershipKey>,
) -> Result<bool> {
    if group.arn.is_empty() {
        return Ok(false);
    }
    let tags = provisioning.tags(&group.arn).await?;
    let proven = ownership::refusal(
        key,
        Resource::ParameterGroup(&group.name),
        tags.get(CREATED_BY).map(String::as_str),
    )
    .is_none();
    Ok(proven
        && tags.get(MANAGED).is_some_and(|v| v == "true")
        && tags.get(ALARM_CLUSTER).is_some_and(|v| v == cluster_id))
}

async fn refresh<P: Provisioning>(
    provisioning: &P,
    cluster_id: &str,
    seen: &mut Observed,
) -> Result<()> {
    let group_tag = seen
        .cluster
        .as_ref()
        .and_then(|c| c.cluster.tags.get(PARAMETER_GROUP).cloned());
    seen.cluster = provisioning.cluster(cluster_id).await?;
    seen.instances = match &seen.cluster {
        Some(_) => provisioning.instances(cluster_id).await?,
        None => Vec::new(),
    };
    if seen.cluster.is_none()
        && seen.parameter_group.is_none()
        && let Some(name) = group_tag
    {
        // The cluster is gone; the group its tag said we created is next.
        seen.parameter_group = provisioning.parameter_group(&name).await?;
        seen.parameter_group_ours = seen.parameter_group.is_some();
    }
    Ok(())
}

/// Runs one step in AWS and records its effect in `seen`, so the next plan needs no
/// re-read. Returns the label for `steps_done`.
async fn execute<P, C, A, N>(
    ports: &Provisioner<'_, P, C, A, N>,
    cluster_id: &str,
    step: &Step,
    seen: &mut Observed,
    outcome: &mut Outcome,
) -> Result<String>
where
    P: Provisioning,
    C: Clusters,
    A: Alarms,
    N: Notifier,
{
    let arn = seen
        .cluster
        .as_ref()
        .map(|c| c.cluster.arn.clone())
        .unwrap_or_default();
    let mut label = step.label();
    match step {
        Step::CreateParameterGroup(spec) => {
            let key = ports.ownership.ok_or_else(no_key)?;
            let mut spec = spec.clone();
            spec.tags.push((
                CREATED_BY.to_owned(),
                key.proof(Resource::ParameterGroup(&spec.name)),
            ));
            seen.parameter_group = Some(ports.provisioning.create_parameter_group(&spec).await?);
            seen.parameter_group_ours = true;
        }
        Step::CreateCluster(spec) => {
            let mut created = ports.provisioning.create_cluster(spec).await?;
            seen.instances.clear();
            // The proof is over the resource id AWS has just assigned, so it can only be
            // written now. Should this write fail, the cluster stays unproven: never torn
            // down by acu-pilot, which is the safe way to be wrong.
            let key = ports.ownership.ok_or_else(no_key)?;
            let resource_id = created.cluster.resource_id.clone();
            if resource_id.is_empty() {
                return Err(Error::invalid(
                    "DbClusterResourceId",
                    format!("CreateDBCluster returned none for {cluster_id}"),
                ));
            }
            let proof = key.proof(Resource::Cluster(&resource_id));
            ports
                .clusters
                .put_tags(
                    &created.cluster.arn,
                    &[(CREATED_BY.to_owned(), proof.clone())],
                )
                .await?;
            created.cluster.tags.insert(CREATED_BY.to_owned(), proof);
            seen.cluster = Some(created);
        }
        Step::CreateInstance(spec) => {
            // The instance carries its cluster's proof: the template's IAM lets acu-pilot
            // delete only instances tagged with one, and an onboarded cluster's own
            // instances never are.
            let mut spec = spec.clone();
            if let Some(proof) = seen
                .cluster
                .as_ref()
                .and_then(|c| c.cluster.tags.get(CREATED_BY))
            {
                spec.tags.push((CREATED_BY.to_owned(), proof.clone()));
            }
            let instance = ports.provisioning.create_instance(&spec).await?;
            seen.instances.push(instance);
        }
        Step::PutAlarm { spec, tags } => {
            ports
                .alarms
                .put(spec, &ports.alarm_tags(&spec.name, tags))
                .await?;
            seen.alarms.insert(spec.name.clone());
        }
        Step::FinishProvisioning => {
            ports
                .clusters
                .remove_tags(&arn, &[PROVISIONING.to_owned()])
                .await?;
            if let Some(c) = seen.cluster.as_mut() {
                c.cluster.tags.remove(PROVISIONING);
            }
        }
        Step::MarkDecommissioning {
            skip_final_snapshot,
        } => {
            let value = provision::decommissioning_tag_value(*skip_final_snapshot).to_owned();
            ports
                .clusters
                .put_tags(&arn, &[(DECOMMISSIONING.to_owned(), value.clone())])
                .await?;
            if let Some(c) = seen.cluster.as_mut() {
                c.cluster.tags.insert(DECOMMISSIONING.to_owned(), value);
            }
        }
        Step::DeleteAlarms(names) => {
            ports.alarms.delete(names).await?;
            seen.alarms.retain(|n| !names.contains(n));
        }
        Step::DeleteInstance(id) => {
            ports.provisioning.delete_instance(id).await?;
            if let Some(i) = seen.instances.iter_mut().find(|i| &i.id == id) {
                i.status = "deleting".into();
            }
        }
        Step::DisableDeletionProtection => {
            ports
                .provisioning
                .disable_deletion_protection(cluster_id)
                .await?;
            if let Some(c) = seen.cluster.as_mut() {
                c.deletion_protection = false;
            }
        }
        Step::DeleteCluster { final_snapshot } => {
            ports
                .provisioning
                .delete_cluster(cluster_id, final_snapshot.as_deref())
                .await?;
            outcome.final_snapshot = final_snapshot.clone();
            if let Some(c) = seen.cluster.as_mut() {
                c.cluster.status = "deleting".into();
            }
        }
        Step::DeleteParameterGroup(name) => {
            match ports.provisioning.delete_parameter_group(name).await {
                Ok(()) => {}
                // Another cluster uses it now: it is no longer only ours to delete.
                Err(err) if err.aws_code() == Some("InvalidDBParameterGroupState") => {
                    tracing::warn!(parameter_group = %name, error = %err, "parameter group still in use; kept");
                    label = format!("keep parameter group {name} (still in use)");
                }
                Err(err) => return Err(err),
            }
            seen.parameter_group = None;
            seen.parameter_group_ours = false;
        }
    }
    tracing::info!(cluster = cluster_id, step = %label, "provisioner step");
    Ok(label)
}

/// Plans and runs steps until the job is complete or must wait on AWS.
async fn drive<P, C, A, N>(
    ports: &Provisioner<'_, P, C, A, N>,
    job: &Job<'_>,
    seen: &mut Observed,
    outcome: &mut Outcome,
    now: DateTime<Utc>,
) -> Result<()>
where
    P: Provisioning,
    C: Clusters,
    A: Alarms,
    N: Notifier,
{
    let cluster_id = job.cluster_id().to_owned();
    let mut acted_since_refresh = false;
    let mut refreshes = 0;
    for _ in 0..MAX_STEPS {
        let plan = job.plan(seen, now)?;
        match plan.next {
            Next::Complete => {
                outcome.status = Status::Complete;
                outcome.steps_left.clear();
                return Ok(());
            }
            Next::Do(_) if ports.dry_run => {
                outcome.status = Status::Planned;
                outcome.steps_left = plan.left;
                return Ok(());
            }
            Next::Do(step) => {
                let label = execute(ports, &cluster_id, &step, seen, outcome).await?;
                outcome.steps_done.push(label);
                acted_since_refresh = true;
            }
            Next::Wait(_) if acted_since_refresh && refreshes < MAX_REFRESHES => {
                // AWS may have finished at once (or at least moved on): look before
                // handing over to the next invocation.
                refresh(ports.provisioning, &cluster_id, seen).await?;
                acted_since_refresh = false;
                refreshes += 1;
            }
            Next::Wait(reason) => {
                outcome.status = Status::InProgress;
                outcome.waiting_for = Some(reason);
                outcome.steps_left = plan.left;
                return Ok(());
            }
        }
    }
    Err(Error::invalid(
        "cluster_id",
        format!("{cluster_id}: no end after {MAX_STEPS} steps; nothing more was done"),
    ))
}

fn endpoints(outcome: &mut Outcome, seen: &Observed) {
    if let Some(c) = &seen.cluster {
        outcome.writer_endpoint = c.endpoint.clone();
        outcome.reader_endpoint = c.reader_endpoint.clone();
    }
}

/// Provisions a cluster, or continues provisioning it. A request repeated after
/// completion reads, creates nothing, and reports the endpoints.
pub async fn provision<P, C, A, N>(
    ports: &Provisioner<'_, P, C, A, N>,
    request: &ProvisionRequest,
    now: DateTime<Utc>,
) -> Result<Outcome>
where
    P: Provisioning,
    C: Clusters,
    A: Alarms,
    N: Notifier,
{
    let target = &request.target;
    let id = &target.cluster_id;
    let mut seen = Observed {
        cluster: ports.provisioning.cluster(id).await?,
        ..Observed::default()
    };
    if seen.cluster.is_some() {
        // A conflict is refused before reading (let alone changing) anything else.
        provision::plan_provision(target, Some(&request.create), &seen, now)?;
        seen.instances = ports.provisioning.instances(id).await?;
        seen.alarms = existing_alarms(ports.alarms, id).await?;
    } else {
        if ports.ownership.is_none() && !ports.dry_run {
            return Err(no_key());
        }
        check_engine_limits(ports.provisioning, target).await?;
        if let Some(name) = &request.create.parameter_group {
            seen.parameter_group = ports.provisioning.parameter_group(name).await?;
            if let Some(pg) = &seen.parameter_group {
                seen.parameter_group_ours =
                    group_is_ours(ports.provisioning, pg, id, ports.ownership).await?;
            }
        }
    }
    let job = Job::Provision {
        target,
        create: Some(&request.create),
    };
    continue_provisioning(ports, &job, target, seen, now, "provision").await
}

async fn continue_provisioning<P, C, A, N>(
    ports: &Provisioner<'_, P, C, A, N>,
    job: &Job<'_>,
    target: &Target,
    mut seen: Observed,
    now: DateTime<Utc>,
    action: &'static str,
) -> Result<Outcome>
where
    P: Provisioning,
    C: Clusters,
    A: Alarms,
    N: Notifier,
{
    let mut outcome = Outcome::new(action, &target.cluster_id, Status::InProgress);
    outcome.baseline = Some(acu_pilot_core::tags::format_baseline(target.range));
    drive(ports, job, &mut seen, &mut outcome, now).await?;
    endpoints(&mut outcome, &seen);
    if outcome.status == Status::Complete && !outcome.steps_done.is_empty() {
        announce(
            ports.notifier,
            "Cluster Provisioned",
            json!({
                "cluster": target.cluster_id,
                "engine": target.engine.name(),
                "engine_version": target.engine_version,
                "baseline": outcome.baseline,
                "readers": target.followup.readers,
                "writer_endpoint": outcome.writer_endpoint,
                "reader_endpoint": outcome.reader_endpoint,
                "steps_done": outcome.steps_done,
            }),
        )
        .await;
    }
    Ok(outcome)
}

/// Where DescribeDBEngineVersions gives Serverless v2 limits for the version, the range
/// must fit them; where it does not answer, the table in [`acu_pilot_core::engine`] (already
/// applied at parse time) stands.
async fn check_engine_limits(provisioning: &impl Provisioning, target: &Target) -> Result<()> {
    match provisioning
        .engine_limits(target.engine, &target.engine_version)
        .await
    {
        Ok(Some(limits)) => provision::check_engine_limits(
            target.range,
            target.auto_pause,
            limits.min_capacity,
            limits.max_capacity,
        ),
        Ok(None) => Ok(()),
        Err(err) => {
            tracing::warn!(error = %err, "DescribeDBEngineVersions did not answer; using the version table");
            Ok(())
        }
    }
}

/// Onboards an existing cluster: tags (managed, baseline, TTL), missing alarms, and
/// existing alarms of acu-pilot's names made to read the writer's series when they still
/// read the cluster-wide average idle readers dilute (see docs/alarms.md).
pub async fn onboard<P, C, A, N>(
    ports: &Provisioner<'_, P, C, A, N>,
    request: &OnboardRequest,
    now: DateTime<Utc>,
) -> Result<Outcome>
where
    P: Provisioning,
    C: Clusters,
    A: Alarms,
    N: Notifier,
{
    let id = &request.cluster_id;
    let details = ports
        .provisioning
        .cluster(id)
        .await?
        .ok_or_else(|| Error::ClusterNotFound {
            cluster: id.clone(),
        })?;
    let named = named_alarms(ports.alarms, id).await?;
    let alarms: BTreeSet<String> = named.iter().map(|a| a.spec.name.clone()).collect();
    let plan = provision::plan_onboard(request, &details, &alarms, now)?;
    let repairs: Vec<_> = named
        .iter()
        .filter(|a| !a.is_metric_math)
        .filter(|a| a.spec.dimensions.get(CLUSTER_DIMENSION) == Some(id))
        .filter_map(|a| provision::role_aware(&a.spec))
        .collect();
    let mut outcome = Outcome::new("onboard", id, Status::Complete);
    outcome.baseline = Some(acu_pilot_core::tags::format_baseline(plan.baseline));
    outcome.writer_endpoint = details.endpoint.clone();
    outcome.reader_endpoint = details.reader_endpoint.clone();
    let mut labels: Vec<String> = plan
        .tags
        .iter()
        .map(|(k, v)| format!("tag {k}={v}"))
        .collect();
    labels.extend(
        plan.alarms
            .iter()
            .map(|(spec, _)| format!("create alarm {}", spec.name)),
    );
    labels.extend(
        repairs
            .iter()
            .map(|spec| format!("make alarm {} read the writer", spec.name)),
    );
    if ports.dry_run {
        outcome.status = if labels.is_empty() {
            Status::Complete
        } else {
            Status::Planned
        };
        outcome.steps_left = labels;
        return Ok(outcome);
    }
    ports
        .clusters
        .put_tags(&details.cluster.arn, &plan.tags)
        .await?;
    for (spec, tags) in &plan.alarms {
        ports
            .alarms
            .put(spec, &ports.alarm_tags(&spec.name, tags))
            .await?;
    }
    // A rewrite keeps the alarm's tags (PutMetricAlarm ignores tags on an existing alarm).
    for spec in &repairs {
        ports.alarms.put(spec, &[]).await?;
    }
    outcome.steps_done = labels;
    if plan.changes() || !repairs.is_empty() {
        announce(
            ports.notifier,
            "Cluster Onboarded",
            json!({
                "cluster": id,
                "baseline": outcome.baseline,
                "steps_done": outcome.steps_done,
            }),
        )
        .await;
    }
    Ok(outcome)
}

/// Tears a managed cluster down in the recipe's order: alarms, readers, writer,
/// deletion protection off, the cluster (final snapshot `<id>-final-<yyyymmddhhmm>` unless
/// skipped), then the parameter group if acu-pilot created it. Refuses clusters not
/// tagged `acu-pilot:managed=true`. Resumable: with deletions under way it returns
/// `in_progress`, and calling it again continues. The janitor's TTL clean-up calls this.
pub async fn decommission<P, C, A, N>(
    ports: &Provisioner<'_, P, C, A, N>,
    request: &DecommissionRequest,
    now: DateTime<Utc>,
) -> Result<Outcome>
where
    P: Provisioning,
    C: Clusters,
    A: Alarms,
    N: Notifier,
{
    let id = &request.cluster_id;
    let mut seen = Observed {
        cluster: ports.provisioning.cluster(id).await?,
        ..Observed::default()
    };
    match &seen.cluster {
        Some(details) => {
            if !details.cluster.is_managed() {
                return Err(Error::NotManaged {
                    cluster: id.clone(),
                });
            }
            ports.check_created(&details.cluster)?;
            seen.instances = ports.provisioning.instances(id).await?;
            seen.alarms = created_alarms(ports.alarms, id, ports.ownership).await?;
        }
        None => find_our_group(ports.provisioning, id, ports.ownership, &mut seen).await?,
    }
    let job = Job::Decommission {
        cluster_id: id,
        skip_final_snapshot: request.skip_final_snapshot,
    };
    let mut outcome = Outcome::new("decommission", id, Status::InProgress);
    drive(ports, &job, &mut seen, &mut outcome, now).await?;
    if outcome.status == Status::Complete && !outcome.steps_done.is_empty() {
        announce(
            ports.notifier,
            "Cluster Decommissioned",
            json!({
                "cluster": id,
                "final_snapshot": outcome.final_snapshot,
                "steps_done": outcome.steps_done,
            }),
        )
        .await;
    }
    Ok(outcome)
}

/// After the cluster is gone, the parameter group acu-pilot created for it is found by
/// the description it was given, and confirmed by its own tags.
async fn find_our_group(
    provisioning: &impl Provisioning,
    cluster_id: &str,
    key: Option<&OwnershipKey>,
    seen: &mut Observed,
) -> Result<()> {
    let description = provision::parameter_group_description(cluster_id);
    for group in provisioning.parameter_groups().await? {
        if group.description == description
            && group_is_ours(provisioning, &group, cluster_id, key).await?
        {
            seen.parameter_group = Some(group);
            seen.parameter_group_ours = true;
            return Ok(());
        }
    }
    Ok(())
}

/// An RDS lifecycle event: continue the provisioning or teardown the cluster's tags say
/// is unfinished; anything else (not ours, nothing pending) is ignored.
async fn resume<P, C, A, N>(
    ports: &Provisioner<'_, P, C, A, N>,
    event: &RdsEvent,
    now: DateTime<Utc>,
) -> Result<Outcome>
where
    P: Provisioning,
    C: Clusters,
    A: Alarms,
    N: Notifier,
{
    let cluster_id = match event.source {
        RdsSource::Cluster => Some(event.source_id.clone()),
        RdsSource::Instance => match provision::cluster_of_instance(&event.source_id) {
            Some(cluster) => Some(cluster.to_owned()),
            None => ports
                .provisioning
                .instance(&event.source_id)
                .await?
                .and_then(|i| i.cluster_id),
        },
    };
    let Some(cluster_id) = cluster_id else {
        return Ok(Outcome::new("resume", &event.source_id, Status::Ignored));
    };
    let ignored = || Outcome::new("resume", &cluster_id, Status::Ignored);
    let Some(details) = ports.provisioning.cluster(&cluster_id).await? else {
        // A teardown's last step waits for the cluster to be gone.
        let mut seen = Observed::default();
        find_our_group(ports.provisioning, &cluster_id, ports.ownership, &mut seen).await?;
        if seen.parameter_group.is_none() {
            return Ok(ignored());
        }
        return decommission(
            ports,
            &DecommissionRequest {
                cluster_id,
                skip_final_snapshot: true,
            },
            now,
        )
        .await;
    };
    if !details.cluster.is_managed() {
        return Ok(ignored());
    }
    if details.cluster.tags.contains_key(DECOMMISSIONING) {
        // The tag only says a teardown is under way; its value is anyone's to write, so
        // it never decides whether a final snapshot is taken.
        let request = DecommissionRequest {
            cluster_id: cluster_id.clone(),
            skip_final_snapshot: false,
        };
        return decommission(ports, &request, now).await;
    }
    let Some(target) = provision::resume_target(&details)? else {
        return Ok(ignored());
    };
    let mut seen = Observed {
        cluster: Some(details),
        ..Observed::default()
    };
    seen.instances = ports.provisioning.instances(&cluster_id).await?;
    seen.alarms = existing_alarms(ports.alarms, &cluster_id).await?;
    let job = Job::Provision {
        target: &target,
        create: None,
    };
    continue_provisioning(ports, &job, &target, seen, now, "resume").await
}

/// Decommissions a cluster whose `acu-pilot:ttl` has passed. The provisioner owns the one
/// implementation (final snapshot unless the tags say otherwise); the janitor only decides.
pub trait Decommissioner: Send + Sync {
    /// The key proofs of creation are checked with: the janitor destroys only what
    /// verifies under it (clusters past their TTL, orphaned alarms). `None`: nothing.
    fn ownership(&self) -> Option<&OwnershipKey>;

    fn decommission(
        &self,
        cluster: &Cluster,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The janitor's TTL clean-up goes through the same teardown (with a final snapshot).
/// A teardown still under way is not an error: the next sweep continues it.
impl<P, C, A, N> Decommissioner for Provisioner<'_, P, C, A, N>
where
    P: Provisioning,
    C: Clusters,
    A: Alarms,
    N: Notifier,
{
    fn ownership(&self) -> Option<&OwnershipKey> {
        self.ownership
    }

    async fn decommission(&self, cluster: &Cluster, now: DateTime<Utc>) -> Result<()> {
        let request = DecommissionRequest {
            cluster_id: cluster.id.clone(),
            skip_final_snapshot: false,
        };
        decommission(self, &request, now).await.map(|_| ())
    }
}
