//! The planners: given what exists, what to do next or what to wait for.

use super::*;

/// What exists, as far as the planners need to know.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// The requested (or, on teardown, the cluster's own) parameter group, when it exists.
    pub parameter_group: Option<ParameterGroup>,
    /// Whether acu-pilot created that parameter group (its tags say so).
    pub parameter_group_ours: bool,
    pub cluster: Option<ClusterDetails>,
    pub instances: Vec<Instance>,
    /// Names of this cluster's alarms that exist (among [`alarm_names`]).
    pub alarms: BTreeSet<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    CreateParameterGroup(ParameterGroupSpec),
    CreateCluster(Box<ClusterSpec>),
    CreateInstance(InstanceSpec),
    PutAlarm {
        spec: Box<AlarmSpec>,
        tags: Vec<(String, String)>,
    },
    /// Remove `acu-pilot:provisioning`: nothing is left to resume.
    FinishProvisioning,
    /// Tag the cluster `acu-pilot:decommissioning` so RDS events can resume the teardown.
    MarkDecommissioning {
        skip_final_snapshot: bool,
    },
    DeleteAlarms(Vec<String>),
    DeleteInstance(String),
    DisableDeletionProtection,
    DeleteCluster {
        final_snapshot: Option<String>,
    },
    DeleteParameterGroup(String),
}

impl Step {
    pub fn label(&self) -> String {
        match self {
            Step::CreateParameterGroup(spec) => {
                format!("create parameter group {} ({})", spec.name, spec.family)
            }
            Step::CreateCluster(spec) => format!("create cluster {}", spec.id),
            Step::CreateInstance(spec) => {
                format!("create instance {} (tier {})", spec.id, spec.promotion_tier)
            }
            Step::PutAlarm { spec, .. } => format!("create alarm {}", spec.name),
            Step::FinishProvisioning => format!("remove tag {PROVISIONING}"),
            Step::MarkDecommissioning { .. } => format!("tag {DECOMMISSIONING}"),
            Step::DeleteAlarms(names) => format!("delete alarms {}", names.join(", ")),
            Step::DeleteInstance(id) => format!("delete instance {id}"),
            Step::DisableDeletionProtection => "turn deletion protection off".to_owned(),
            Step::DeleteCluster {
                final_snapshot: Some(snapshot),
            } => format!("delete cluster with final snapshot {snapshot}"),
            Step::DeleteCluster {
                final_snapshot: None,
            } => "delete cluster without final snapshot".to_owned(),
            Step::DeleteParameterGroup(name) => format!("delete parameter group {name}"),
        }
    }

    /// Whether this step creates something (what a repeated request must never do).
    pub fn creates(&self) -> bool {
        matches!(
            self,
            Step::CreateParameterGroup(_)
                | Step::CreateCluster(_)
                | Step::CreateInstance(_)
                | Step::PutAlarm { .. }
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    Do(Step),
    /// AWS must finish something first; the next invocation continues.
    Wait(String),
    Complete,
}

/// The next move and everything still to do (including it), as labels for the report.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub next: Next,
    pub left: Vec<String>,
}

impl Plan {
    pub(super) fn complete() -> Self {
        Plan {
            next: Next::Complete,
            left: Vec::new(),
        }
    }
}

pub(super) fn is_available(status: &str) -> bool {
    status == "available"
}

pub(super) fn is_deleting(status: &str) -> bool {
    status == "deleting"
}

pub(super) fn managed_tag() -> (String, String) {
    (MANAGED.to_owned(), "true".to_owned())
}

/// Refuses a request that contradicts the cluster that exists under its id.
pub(super) fn check_conflicts(
    target: &Target,
    create: Option<&CreateSettings>,
    cluster: &ClusterDetails,
) -> Result<()> {
    let c = &cluster.cluster;
    let id = &target.cluster_id;
    if c.engine.aurora() != Some(target.engine) {
        return Err(Error::invalid(
            "engine",
            format!(
                "cluster {id} already exists with engine {}; this request asks for {}; nothing was changed",
                c.engine,
                target.engine.name()
            ),
        ));
    }
    if c.engine_version != target.engine_version {
        return Err(Error::invalid(
            "engine_version",
            format!(
                "cluster {id} already exists with version {}; this request asks for {}; nothing was changed",
                c.engine_version, target.engine_version
            ),
        ));
    }
    if !c.is_managed() {
        return Err(Error::invalid(
            "cluster_id",
            format!(
                "cluster {id} already exists and is not managed by acu-pilot; onboard it instead; nothing was changed"
            ),
        ));
    }
    if is_deleting(&c.status) || c.tags.contains_key(DECOMMISSIONING) {
        return Err(Error::invalid(
            "cluster_id",
            format!("cluster {id} is being decommissioned; nothing was changed"),
        ));
    }
    if let (Some(wanted), Some(actual)) = (
        create.and_then(|c| c.parameter_group.as_deref()),
        cluster.parameter_group.as_deref(),
    ) && wanted != actual
    {
        return Err(Error::invalid(
            "parameter_group",
            format!(
                "cluster {id} already uses parameter group {actual}; this request names {wanted}; nothing was changed"
            ),
        ));
    }
    Ok(())
}

pub(super) fn cluster_spec(
    target: &Target,
    create: &CreateSettings,
    seen: &Observed,
    now: DateTime<Utc>,
) -> ClusterSpec {
    let mut tags = vec![
        managed_tag(),
        (BASELINE.to_owned(), tags::format_baseline(target.range)),
        (PROVISIONING.to_owned(), target.followup.to_tag_value()),
    ];
    if target.auto_pause {
        tags.push((AUTO_PAUSE.to_owned(), "true".to_owned()));
    }
    if let Some(hours) = create.ttl_hours {
        let ttl = now + TimeDelta::seconds((hours * 3600.0).round() as i64);
        tags.push((TTL.to_owned(), tags::format_instant(ttl)));
    }
    if let Some(name) = &create.parameter_group
        && (seen.parameter_group.is_none() || seen.parameter_group_ours)
    {
        // Created by this provisioning (now, or by an attempt that stopped before the
        // cluster): the teardown deletes it with the cluster.
        tags.push((PARAMETER_GROUP.to_owned(), name.clone()));
    }
    ClusterSpec {
        id: target.cluster_id.clone(),
        engine: target.engine.name().to_owned(),
        engine_version: target.engine_version.clone(),
        master_username: master_username(target.engine).to_owned(),
        range: target.range,
        db_subnet_group: create.db_subnet_group.clone(),
        security_group_ids: create.security_group_ids.clone(),
        backup_retention_days: create.backup_retention_days,
        log_exports: create.log_exports.clone(),
        deletion_protection: create.deletion_protection,
        parameter_group: create.parameter_group.clone(),
        tags,
    }
}

pub(super) fn instance_spec(target: &Target, id: String, tier: i32) -> InstanceSpec {
    InstanceSpec {
        id,
        cluster_id: target.cluster_id.clone(),
        engine: target.engine.name().to_owned(),
        instance_class: "db.serverless".into(),
        promotion_tier: tier,
        performance_insights_days: target.followup.performance_insights_days,
        tags: vec![
            managed_tag(),
            (ALARM_CLUSTER.to_owned(), target.cluster_id.clone()),
        ],
    }
}

/// The next provisioning step. `create` is `None` when resuming from an RDS event, which
/// only ever continues a cluster that exists. A conflict is an error before any step.
pub fn plan_provision(
    target: &Target,
    create: Option<&CreateSettings>,
    seen: &Observed,
    now: DateTime<Utc>,
) -> Result<Plan> {
    let id = &target.cluster_id;
    let mut steps: Vec<Step> = Vec::new();
    // Why the first step cannot run yet, if it cannot.
    let mut blocked: Option<String> = None;

    match &seen.cluster {
        Some(cluster) => check_conflicts(target, create, cluster)?,
        None => {
            let Some(create) = create else {
                return Err(Error::ClusterNotFound {
                    cluster: id.clone(),
                });
            };
            if let Some(name) = &create.parameter_group {
                let family = engine::parameter_group_family(target.engine, &target.engine_version)
                    .ok_or_else(|| {
                        Error::invalid("parameter_group", "no family for this engine version")
                    })?;
                match &seen.parameter_group {
                    None => steps.push(Step::CreateParameterGroup(ParameterGroupSpec {
                        name: name.clone(),
                        family,
                        description: parameter_group_description(id),
                        tags: vec![managed_tag(), (ALARM_CLUSTER.to_owned(), id.clone())],
                    })),
                    Some(pg) if pg.family != family => {
                        return Err(Error::invalid(
                            "parameter_group",
                            format!(
                                "{name} exists with family {}; {} {} needs {family}; nothing was changed",
                                pg.family,
                                target.engine.name(),
                                target.engine_version
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
            steps.push(Step::CreateCluster(Box::new(cluster_spec(
                target, create, seen, now,
            ))));
        }
    }

    let cluster_status = seen.cluster.as_ref().map(|c| c.cluster.status.as_str());
    let has_instance = |iid: &str| seen.instances.iter().any(|i| i.id == iid);
    let mut wanted = vec![(writer_id(id), 1)];
    let tier = target.followup.reader_tier;
    wanted.extend((1..=target.followup.readers).map(|n| (reader_id(id, n), tier)));
    let missing_instances: Vec<Step> = wanted
        .iter()
        .filter(|(iid, _)| !has_instance(iid))
        .map(|(iid, tier)| Step::CreateInstance(instance_spec(target, iid.clone(), *tier)))
        .collect();
    if !missing_instances.is_empty() && steps.is_empty() {
        match cluster_status {
            Some(status) if !is_available(status) => {
                blocked = Some(format!("cluster {id} is {status}, not available"));
            }
            _ => {}
        }
    }
    steps.extend(missing_instances);

    for (spec, tags) in alarm_specs(id, target.range.max, target.followup.recipe_alarms) {
        if !seen.alarms.contains(&spec.name) {
            steps.push(Step::PutAlarm {
                spec: Box::new(spec),
                tags,
            });
        }
    }

    if steps.is_empty() {
        let cluster = seen
            .cluster
            .as_ref()
            .expect("no steps means the cluster exists");
        if !is_available(&cluster.cluster.status) {
            blocked = Some(format!(
                "cluster {id} is {}, not available",
                cluster.cluster.status
            ));
        } else if let Some(instance) = wanted.iter().find_map(|(iid, _)| {
            seen.instances
                .iter()
                .find(|i| &i.id == iid && !is_available(&i.status))
        }) {
            blocked = Some(format!(
                "instance {} is {}, not available",
                instance.id, instance.status
            ));
        }
        if blocked.is_none() && cluster.cluster.tags.contains_key(PROVISIONING) {
            steps.push(Step::FinishProvisioning);
        }
    }

    let mut left: Vec<String> = steps.iter().map(Step::label).collect();
    let next = match (blocked, steps.is_empty()) {
        (Some(reason), _) => {
            left.push(format!("wait: {reason}"));
            Next::Wait(reason)
        }
        (None, true) => return Ok(Plan::complete()),
        (None, false) => Next::Do(steps.remove(0)),
    };
    Ok(Plan { next, left })
}

/// The next teardown step, in the recipe's order: alarms, readers, writer, deletion
/// protection off, the cluster (with a final snapshot unless skipped), then the parameter
/// group if acu-pilot created it. Only clusters tagged `acu-pilot:managed=true`.
pub fn plan_decommission(
    cluster_id: &str,
    skip_final_snapshot: bool,
    seen: &Observed,
    now: DateTime<Utc>,
) -> Result<Plan> {
    let mut left = Vec::new();
    let our_group = seen
        .parameter_group
        .as_ref()
        .filter(|_| seen.parameter_group_ours)
        .map(|pg| pg.name.clone());
    let Some(details) = &seen.cluster else {
        return Ok(match our_group {
            Some(name) => {
                let step = Step::DeleteParameterGroup(name);
                Plan {
                    left: vec![step.label()],
                    next: Next::Do(step),
                }
            }
            None => Plan::complete(),
        });
    };
    let cluster = &details.cluster;
    if !cluster.is_managed() {
        return Err(Error::NotManaged {
            cluster: cluster_id.to_owned(),
        });
    }
    let deleting = is_deleting(&cluster.status);
    // Each step with what must be true before it runs (why it would wait).
    let mut steps: Vec<(Step, Option<String>)> = Vec::new();
    if !deleting && !cluster.tags.contains_key(DECOMMISSIONING) {
        steps.push((
            Step::MarkDecommissioning {
                skip_final_snapshot,
            },
            None,
        ));
    }
    if !seen.alarms.is_empty() {
        steps.push((
            Step::DeleteAlarms(seen.alarms.iter().cloned().collect()),
            None,
        ));
    }
    let writer = details
        .writer
        .clone()
        .filter(|w| seen.instances.iter().any(|i| &i.id == w))
        .or_else(|| {
            let named = writer_id(cluster_id);
            seen.instances
                .iter()
                .any(|i| i.id == named)
                .then_some(named)
        });
    let readers: Vec<&Instance> = seen
        .instances
        .iter()
        .filter(|i| Some(&i.id) != writer.as_ref())
        .collect();
    for reader in &readers {
        if !is_deleting(&reader.status) {
            steps.push((Step::DeleteInstance(reader.id.clone()), None));
        }
    }
    let readers_gone = (!readers.is_empty()).then(|| {
        format!(
            "readers of {cluster_id} are being deleted ({})",
            readers
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    if let Some(writer) = &writer
        && seen
            .instances
            .iter()
            .any(|i| &i.id == writer && !is_deleting(&i.status))
    {
        steps.push((Step::DeleteInstance(writer.clone()), readers_gone.clone()));
    }
    let instances_gone = (!seen.instances.is_empty()).then(|| {
        format!(
            "instances of {cluster_id} are being deleted ({})",
            seen.instances
                .iter()
                .map(|i| i.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    if details.deletion_protection {
        steps.push((Step::DisableDeletionProtection, instances_gone.clone()));
    }
    // Never from the decommissioning tag: its value is anyone's to write.
    let skip = skip_final_snapshot;
    if !deleting {
        steps.push((
            Step::DeleteCluster {
                final_snapshot: (!skip).then(|| final_snapshot_id(cluster_id, now)),
            },
            instances_gone.clone(),
        ));
    }
    left.extend(steps.iter().map(|(step, _)| step.label()));
    if let Some(name) = cluster.tags.get(PARAMETER_GROUP).cloned().or(our_group) {
        left.push(Step::DeleteParameterGroup(name).label());
    }
    let wait = |reason: String, mut left: Vec<String>| {
        left.push(format!("wait: {reason}"));
        Plan {
            next: Next::Wait(reason),
            left,
        }
    };
    if steps.is_empty() {
        let reason =
            instances_gone.unwrap_or_else(|| format!("cluster {cluster_id} is being deleted"));
        return Ok(wait(reason, left));
    }
    let (step, gate) = steps.remove(0);
    Ok(match gate {
        Some(reason) => wait(reason, left),
        None => Plan {
            next: Next::Do(step),
            left,
        },
    })
}

/// What onboarding writes: the tags that are missing or differ, and the missing alarms.
#[derive(Clone, Debug, PartialEq)]
pub struct OnboardPlan {
    pub baseline: CapacityRange,
    pub tags: Vec<(String, String)>,
    pub alarms: Vec<(AlarmSpec, Vec<(String, String)>)>,
}

impl OnboardPlan {
    pub fn changes(&self) -> bool {
        !self.tags.is_empty() || !self.alarms.is_empty()
    }
}

/// Onboarding an existing cluster: tags and alarms only. The baseline is the request's
/// (a bound it leaves out comes from the current range), else the baseline the cluster
/// already carries, else its current range.
pub fn plan_onboard(
    request: &OnboardRequest,
    cluster: &ClusterDetails,
    alarms: &BTreeSet<String>,
    now: DateTime<Utc>,
) -> Result<OnboardPlan> {
    let c = &cluster.cluster;
    let id = &request.cluster_id;
    // Onboarding is the owner's act: they tag the cluster acu-pilot:managed=true. An
    // event anyone may send never makes a cluster managed.
    if !c.is_managed() {
        return Err(Error::NotManaged {
            cluster: id.clone(),
        });
    }
    let engine = c.engine.aurora().ok_or_else(|| {
        Error::invalid(
            "cluster_id",
            format!(
                "cluster {id} runs {}, not Aurora MySQL or PostgreSQL",
                c.engine
            ),
        )
    })?;
    let current = c.range.ok_or_else(|| Error::NotServerless {
        cluster: id.clone(),
    })?;
    let existing = c.tags().baseline;
    let baseline = match (request.min_acu, request.max_acu) {
        (None, None) => existing.unwrap_or(current),
        (min, max) => CapacityRange::in_fields(
            "min_acu",
            "max_acu",
            min.unwrap_or(current.min),
            max.unwrap_or(current.max),
        )?,
    };
    check_auto_pause(engine, &c.engine_version, baseline.min)?;
    if request.auto_pause {
        check_auto_pause_opt_in(engine, &c.engine_version)?;
    }
    let mut tags = Vec::new();
    if request.auto_pause && !c.tags().auto_pause {
        tags.push((AUTO_PAUSE.to_owned(), "true".to_owned()));
    }
    if existing != Some(baseline) {
        tags.push((BASELINE.to_owned(), tags::format_baseline(baseline)));
    }
    if let Some(hours) = request.ttl_hours
        && !c.tags.contains_key(TTL)
    {
        let ttl = now + TimeDelta::seconds((hours * 3600.0).round() as i64);
        tags.push((TTL.to_owned(), tags::format_instant(ttl)));
    }
    let alarms = alarm_specs(id, baseline.max, request.recipe_alarms)
        .into_iter()
        .filter(|(spec, _)| !alarms.contains(&spec.name))
        .collect();
    Ok(OnboardPlan {
        baseline,
        tags,
        alarms,
    })
}

/// The target a managed cluster's `acu-pilot:provisioning` tag describes, for resuming
/// from an RDS event. `None` when there is nothing to resume.
pub fn resume_target(details: &ClusterDetails) -> Result<Option<Target>> {
    let c = &details.cluster;
    let Some(value) = c.tags.get(PROVISIONING) else {
        return Ok(None);
    };
    let followup = Followup::parse(value)?;
    let engine = c
        .engine
        .aurora()
        .ok_or_else(|| Error::invalid("engine", format!("cluster {} runs {}", c.id, c.engine)))?;
    let range = c
        .tags()
        .baseline
        .or(c.range)
        .ok_or_else(|| Error::MissingBaseline {
            cluster: c.id.clone(),
        })?;
    Ok(Some(Target {
        cluster_id: c.id.clone(),
        engine,
        engine_version: c.engine_version.clone(),
        range,
        auto_pause: c.tags().auto_pause,
        followup,
    }))
}
