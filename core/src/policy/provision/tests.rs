use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::model::Cluster;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T19:04:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn defaults() -> Defaults {
    Defaults {
        db_subnet_group: Some("default-subnets".into()),
        security_group_ids: vec!["sg-0default".into()],
    }
}

fn direct(extra: Value) -> Value {
    let mut request = json!({
        "action": "provision",
        "cluster_id": "shop-db",
        "db_subnet_group": "shop-subnets",
        "security_group_ids": ["sg-0123"],
    });
    for (k, v) in extra.as_object().unwrap() {
        request[k] = v.clone();
    }
    request
}

fn provision(extra: Value) -> Result<ProvisionRequest> {
    match parse(&direct(extra), &Defaults::default())? {
        Incoming::Provision(p) => Ok(p),
        other => panic!("not a provision: {other:?}"),
    }
}

fn field_of(err: Error) -> String {
    match err {
        Error::InvalidInput { field, .. } => field,
        Error::Capacity(e) => e.field,
        other => panic!("not an input error: {other}"),
    }
}

#[test]
fn an_eventbridge_request_gets_the_issue_defaults() {
    let event = json!({
        "version": "0", "id": "1", "source": "acu-pilot", "account": "1", "time": "2026-11-25T19:00:00Z",
        "region": "us-east-1", "resources": [], "detail-type": "Provision Cluster",
        "detail": {"cluster_id": "shop-db"}
    });
    let Incoming::Provision(p) = parse(&event, &defaults()).unwrap() else {
        panic!()
    };
    assert_eq!(p.target.engine, Engine::AuroraMysql);
    assert_eq!(p.target.engine_version, "8.0.mysql_aurora.3.09.0");
    assert_eq!(p.target.range.to_string(), "0.5–64 ACU");
    assert_eq!(
        p.target.followup,
        Followup {
            readers: 1,
            reader_tier: 2,
            performance_insights_days: 7,
            recipe_alarms: false
        }
    );
    assert_eq!(p.create.db_subnet_group, "default-subnets");
    assert_eq!(p.create.security_group_ids, vec!["sg-0default"]);
    assert_eq!(p.create.backup_retention_days, 7);
    assert_eq!(p.create.log_exports, vec!["error", "general", "slowquery"]);
    assert!(p.create.deletion_protection);
    assert_eq!(p.create.parameter_group, None);
    assert_eq!(p.create.ttl_hours, None);
}

#[test]
fn a_direct_invoke_carries_the_action_and_postgres_gets_its_log() {
    let p =
        provision(json!({"engine": "aurora-postgresql", "engine_version": "16.3", "min_acu": 0}))
            .unwrap();
    assert_eq!(p.target.engine, Engine::AuroraPostgresql);
    assert_eq!(p.target.range.min, Acu::ZERO);
    assert_eq!(p.create.log_exports, vec!["postgresql"]);
    assert_eq!(p.create.db_subnet_group, "shop-subnets");
    let Incoming::Decommission(d) = parse(
        &json!({"action": "decommission", "cluster_id": "shop-db", "skip_final_snapshot": false}),
        &defaults(),
    )
    .unwrap() else {
        panic!()
    };
    assert!(!d.skip_final_snapshot);
    // Whoever may send a request may not lose a database for good through it.
    let err = parse(
        &json!({"action": "decommission", "cluster_id": "shop-db", "skip_final_snapshot": true}),
        &defaults(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("skip_final_snapshot"), "{err}");
    let Incoming::Onboard(o) = parse(
        &json!({"source": "acu-pilot", "detail-type": "Onboard Cluster", "detail": {"cluster_id": "legacy", "max_acu": 32}}),
        &defaults(),
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(o.max_acu, Some(Acu::new(32.0).unwrap()));
    assert_eq!(o.min_acu, None);
}

#[test]
fn every_invalid_request_names_its_field() {
    for (extra, field) in [
        (json!({"engine": "mysql"}), "engine"),
        (json!({"max_acu": 300}), "max_acu"),
        (json!({"max_acu": 0.5}), "max_acu"),
        (json!({"min_acu": 0.3}), "min_acu"),
        (json!({"min_acu": 80}), "min_acu"),
        (
            json!({"min_acu": 0, "engine_version": "8.0.mysql_aurora.3.04.0"}),
            "min_acu",
        ),
        (
            json!({"engine_version": "5.7.mysql_aurora.2.11.2"}),
            "engine_version",
        ),
        (json!({"db_subnet_group": ""}), "db_subnet_group"),
        (json!({"security_group_ids": []}), "security_group_ids"),
        (
            json!({"security_group_ids": ["web"]}),
            "security_group_ids[0]",
        ),
        (json!({"readers": 16}), "readers"),
        (json!({"readers": -1}), "readers"),
        (json!({"reader_tier": 16}), "reader_tier"),
        (json!({"reader_tier": -1}), "reader_tier"),
        (json!({"reader_tier": "two"}), "reader_tier"),
        (json!({"backup_retention_days": 0}), "backup_retention_days"),
        (
            json!({"log_exports": ["error", "postgresql"]}),
            "log_exports[1]",
        ),
        (
            json!({"performance_insights_days": 8}),
            "performance_insights_days",
        ),
        (json!({"ttl_hours": 0}), "ttl_hours"),
        (json!({"ttl_hours": -2}), "ttl_hours"),
        (json!({"cluster_id": "9lives"}), "cluster_id"),
        (json!({"cluster_id": "a--b"}), "cluster_id"),
        (json!({"parameter_group": "bad_name"}), "parameter_group"),
        (json!({"max_acus": 8}), "max_acus"),
        (
            json!({"MasterUserPassword": "hunter2"}),
            "MasterUserPassword",
        ),
        (json!({"deletion_protection": "yes"}), "deletion_protection"),
    ] {
        let err = provision(extra.clone()).expect_err(&extra.to_string());
        assert_eq!(field_of(err), field, "{extra}");
    }
    let missing = parse(
        &json!({"action": "provision", "cluster_id": "x"}),
        &Defaults::default(),
    )
    .unwrap_err();
    assert_eq!(field_of(missing), "db_subnet_group");
    let no_id = parse(&json!({"action": "provision"}), &defaults()).unwrap_err();
    assert_eq!(field_of(no_id), "cluster_id");
    let no_action = parse(&json!({"cluster_id": "x"}), &defaults()).unwrap_err();
    assert_eq!(field_of(no_action), "action");
    let bad_type = parse(
        &json!({"source": "acu-pilot", "detail-type": "Resize Cluster", "detail": {}}),
        &defaults(),
    )
    .unwrap_err();
    assert_eq!(field_of(bad_type), "detail-type");
    let pg_without_version = provision(json!({"engine": "aurora-postgresql"})).unwrap_err();
    assert_eq!(field_of(pg_without_version), "engine_version");
}

#[test]
fn rds_events_resume_the_cluster_they_name() {
    let event = json!({
        "source": "aws.rds", "detail-type": "RDS DB Instance Event",
        "detail": {"EventCategories": ["creation"], "SourceType": "DB_INSTANCE",
                   "SourceArn": "arn:aws:rds:us-east-1:123456789012:db:shop-db-reader-2",
                   "Message": "DB instance created", "SourceIdentifier": "shop-db-reader-2",
                   "EventID": "RDS-EVENT-0005"}
    });
    let Incoming::Resume(e) = parse(&event, &Defaults::default()).unwrap() else {
        panic!()
    };
    assert_eq!(e.source, RdsSource::Instance);
    assert_eq!(e.source_id, "shop-db-reader-2");
    assert_eq!(cluster_of_instance("shop-db-reader-2"), Some("shop-db"));
    assert_eq!(cluster_of_instance("shop-db-reader"), Some("shop-db"));
    assert_eq!(cluster_of_instance("shop-db-writer"), Some("shop-db"));
    assert_eq!(cluster_of_instance("shop-db-instance-1"), None);
    assert_eq!(cluster_of_instance("-writer"), None);
}

#[test]
fn alarms_follow_the_recipe_and_scale_with_max() {
    let specs = alarm_specs("shop", Acu::new(32.0).unwrap(), true);
    let (high, high_tags) = &specs[0];
    assert_eq!(high.name, "Aurora-shop-High-ACU");
    assert_eq!(high.metric, "ServerlessDatabaseCapacity");
    assert_eq!(high.threshold, 24.0);
    assert_eq!((high.period, high.evaluation_periods), (300, 2));
    assert_eq!(high.comparison, "GreaterThanThreshold");
    assert_eq!(
        high_tags,
        &vec![
            ("acu-pilot:cluster".to_owned(), "shop".to_owned()),
            ("acu-pilot:role".to_owned(), "high".to_owned())
        ]
    );
    let (low, low_tags) = &specs[1];
    assert_eq!(low.name, "Aurora-shop-Low-ACU");
    assert_eq!(
        (low.period, low.evaluation_periods, low.threshold),
        (900, 4, 1.0)
    );
    assert_eq!(low.comparison, "LessThanThreshold");
    assert_eq!(low_tags[1].1, "low");
    assert_eq!(low.dimensions["DBClusterIdentifier"], "shop");
    let default = &alarm_specs("shop", Acu::new(16.0).unwrap(), false)[0].0;
    assert_eq!(default.name, "acu-pilot-shop-high");
    assert_eq!(default.metric, "ACUUtilization");
    assert_eq!(default.threshold, 75.0);
    assert_eq!(default.comparison, "GreaterThanOrEqualToThreshold");
}

#[test]
fn every_alarm_reads_the_writer_not_the_diluted_cluster_average() {
    for recipe in [false, true] {
        for (spec, _) in alarm_specs("shop", Acu::new(16.0).unwrap(), recipe) {
            assert_eq!(
                spec.dimensions,
                BTreeMap::from([
                    ("DBClusterIdentifier".to_owned(), "shop".to_owned()),
                    ("Role".to_owned(), "WRITER".to_owned()),
                ]),
                "{}",
                spec.name
            );
            assert!(!is_diluted(&spec), "{}", spec.name);
            assert_eq!(role_aware(&spec), None);
        }
    }
}

#[test]
fn an_old_shape_alarm_is_diluted_and_its_repair_keeps_everything_but_the_dimensions() {
    let (mut old, _) = alarm_specs("shop", Acu::new(16.0).unwrap(), true).remove(0);
    old.dimensions = BTreeMap::from([("DBClusterIdentifier".to_owned(), "shop".to_owned())]);
    // A threshold the alarm-handler moved with max, and the user's own action, survive.
    old.threshold = 18.0;
    old.alarm_actions = vec!["arn:aws:sns:us-east-1:123456789012:pager".to_owned()];
    assert!(is_diluted(&old));
    let repaired = role_aware(&old).expect("old shape");
    assert_eq!(repaired.dimensions["Role"], "WRITER");
    assert_eq!(repaired.dimensions["DBClusterIdentifier"], "shop");
    assert_eq!(
        AlarmSpec {
            dimensions: old.dimensions.clone(),
            ..repaired
        },
        old
    );
    // Other metrics, namespaces and dimension sets are somebody else's business.
    for other in [
        AlarmSpec {
            metric: "CPUUtilization".into(),
            ..old.clone()
        },
        AlarmSpec {
            namespace: "Custom".into(),
            ..old.clone()
        },
        AlarmSpec {
            dimensions: BTreeMap::from([("DBInstanceIdentifier".into(), "shop-writer".into())]),
            ..old.clone()
        },
    ] {
        assert!(!is_diluted(&other), "{other:?}");
    }
}

// ---------------------------------------------------------------- a tiny model of AWS

/// Applies a step the way AWS would, with creations immediately `status`.
fn apply(seen: &mut Observed, step: &Step, status: &str) {
    match step {
        Step::CreateParameterGroup(spec) => {
            seen.parameter_group = Some(ParameterGroup {
                name: spec.name.clone(),
                family: spec.family.clone(),
                description: spec.description.clone(),
                arn: format!("arn:pg:{}", spec.name),
            });
            seen.parameter_group_ours = true;
        }
        Step::CreateCluster(spec) => {
            seen.cluster = Some(details(
                &spec.id,
                status,
                &spec.engine,
                &spec.engine_version,
                spec.tags.iter().cloned().collect(),
            ));
            seen.cluster.as_mut().unwrap().deletion_protection = spec.deletion_protection;
            seen.cluster.as_mut().unwrap().parameter_group = spec.parameter_group.clone();
        }
        Step::CreateInstance(spec) => seen.instances.push(Instance {
            id: spec.id.clone(),
            cluster_id: Some(spec.cluster_id.clone()),
            status: status.into(),
            instance_class: spec.instance_class.clone(),
            promotion_tier: Some(spec.promotion_tier),
            performance_insights: true,
            performance_insights_days: Some(spec.performance_insights_days),
        }),
        Step::PutAlarm { spec, .. } => {
            seen.alarms.insert(spec.name.clone());
        }
        Step::FinishProvisioning => {
            seen.cluster
                .as_mut()
                .unwrap()
                .cluster
                .tags
                .remove(PROVISIONING);
        }
        Step::MarkDecommissioning {
            skip_final_snapshot,
        } => {
            seen.cluster.as_mut().unwrap().cluster.tags.insert(
                DECOMMISSIONING.into(),
                decommissioning_tag_value(*skip_final_snapshot).into(),
            );
        }
        Step::DeleteAlarms(names) => names.iter().for_each(|n| {
            seen.alarms.remove(n);
        }),
        Step::DeleteInstance(id) => seen.instances.retain(|i| &i.id != id),
        Step::DisableDeletionProtection => {
            seen.cluster.as_mut().unwrap().deletion_protection = false;
        }
        Step::DeleteCluster { .. } => {
            let tags = seen.cluster.take().unwrap().cluster.tags;
            seen.parameter_group_ours = tags.contains_key(PARAMETER_GROUP);
        }
        Step::DeleteParameterGroup(_) => seen.parameter_group = None,
    }
}

fn details(
    id: &str,
    status: &str,
    engine: &str,
    version: &str,
    tags: BTreeMap<String, String>,
) -> ClusterDetails {
    ClusterDetails {
        cluster: Cluster {
            id: id.into(),
            arn: format!("arn:cluster:{id}"),
            status: status.into(),
            engine: engine.into(),
            engine_version: version.into(),
            range: Some(CapacityRange::from_f64(0.5, 16.0).unwrap()),
            tags,
            members: vec![],
            range_problem: None,
            resource_id: String::new(),
        },
        endpoint: Some(format!("{id}.cluster")),
        reader_endpoint: Some(format!("{id}.cluster-ro")),
        parameter_group: None,
        deletion_protection: false,
        writer: None,
    }
}

/// Drives the provisioning planner against instant AWS; returns the steps taken.
fn drive(request: &ProvisionRequest, seen: &mut Observed) -> Vec<Step> {
    let mut taken = Vec::new();
    for _ in 0..50 {
        let plan = plan_provision(&request.target, Some(&request.create), seen, now()).unwrap();
        match plan.next {
            Next::Do(step) => {
                apply(seen, &step, "available");
                taken.push(step);
            }
            Next::Complete => return taken,
            Next::Wait(reason) => panic!("instant AWS never waits: {reason}"),
        }
    }
    panic!("no completion in 50 steps")
}

fn full_request() -> ProvisionRequest {
    provision(json!({"readers": 2, "parameter_group": "shop-params", "ttl_hours": 48})).unwrap()
}

#[test]
fn provisioning_creates_everything_in_the_recipe_order_then_nothing() {
    let request = full_request();
    let mut seen = Observed::default();
    let taken = drive(&request, &mut seen);
    let labels: Vec<String> = taken.iter().map(Step::label).collect();
    assert_eq!(
        labels,
        vec![
            "create parameter group shop-params (aurora-mysql8.0)",
            "create cluster shop-db",
            "create instance shop-db-writer (tier 1)",
            "create instance shop-db-reader (tier 2)",
            "create instance shop-db-reader-2 (tier 2)",
            "create alarm acu-pilot-shop-db-high",
            "create alarm Aurora-shop-db-Low-ACU",
            "remove tag acu-pilot:provisioning",
        ]
    );
    let Step::CreateCluster(spec) = &taken[1] else {
        panic!()
    };
    let tags: BTreeMap<_, _> = spec.tags.iter().cloned().collect();
    assert_eq!(tags["acu-pilot:managed"], "true");
    assert_eq!(tags["acu-pilot:baseline"], "min=0.5 max=64");
    assert_eq!(tags["acu-pilot:ttl"], "2026-11-27T19:04:00Z");
    assert_eq!(tags["acu-pilot:parameter-group"], "shop-params");
    assert_eq!(
        tags["acu-pilot:provisioning"],
        "readers=2 pi=7 alarms=default"
    );
    assert_eq!(spec.master_username, "admin");
    let Step::CreateParameterGroup(pg) = &taken[0] else {
        panic!()
    };
    assert!(
        pg.tags
            .contains(&("acu-pilot:managed".into(), "true".into()))
    );
    // The same request again: nothing to do.
    let again = plan_provision(&request.target, Some(&request.create), &seen, now()).unwrap();
    assert_eq!(again, Plan::complete());
}

#[test]
fn the_readers_tier_is_chosen_by_the_request_and_survives_a_resume() {
    let request = provision(json!({"readers": 2, "reader_tier": 0})).unwrap();
    assert_eq!(request.target.followup.reader_tier, 0);
    let mut seen = Observed::default();
    let labels: Vec<String> = drive(&request, &mut seen).iter().map(Step::label).collect();
    assert!(labels.contains(&"create instance shop-db-reader (tier 0)".to_owned()));
    assert!(labels.contains(&"create instance shop-db-reader-2 (tier 0)".to_owned()));
    // The provisioning tag carries a chosen tier, so an RDS event resumes with it ...
    let tag = request.target.followup.to_tag_value();
    assert_eq!(tag, "readers=2 pi=7 alarms=default tier=0");
    assert_eq!(Followup::parse(&tag).unwrap().reader_tier, 0);
    // ... and a tag written before the tier could be chosen means the recipe's tier 2.
    let old = Followup::parse("readers=1 pi=7 alarms=default").unwrap();
    assert_eq!(old.reader_tier, DEFAULT_READER_TIER);
    assert_eq!(old.to_tag_value(), "readers=1 pi=7 alarms=default");
    assert!(Followup::parse("readers=1 pi=7 alarms=default tier=16").is_err());
}

#[test]
fn a_cluster_that_is_not_available_makes_the_rest_wait_with_the_steps_left() {
    let request = full_request();
    let mut seen = Observed::default();
    for _ in 0..2 {
        let Next::Do(step) = plan_provision(&request.target, Some(&request.create), &seen, now())
            .unwrap()
            .next
        else {
            panic!()
        };
        apply(&mut seen, &step, "creating");
    }
    let plan = plan_provision(&request.target, Some(&request.create), &seen, now()).unwrap();
    assert_eq!(
        plan.next,
        Next::Wait("cluster shop-db is creating, not available".into())
    );
    assert_eq!(plan.left.len(), 6, "{:?}", plan.left);
    assert_eq!(plan.left[0], "create instance shop-db-writer (tier 1)");
    // Resuming from an RDS event (no creation settings) once it is available.
    seen.cluster.as_mut().unwrap().cluster.status = "available".into();
    let target = resume_target(seen.cluster.as_ref().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(target, request.target);
    let plan = plan_provision(&target, None, &seen, now()).unwrap();
    assert!(matches!(plan.next, Next::Do(Step::CreateInstance(ref s)) if s.id == "shop-db-writer"));
    // Instances still creating: everything is issued, completion waits for them.
    let mut steps = 0;
    while let Next::Do(step) = plan_provision(&target, None, &seen, now()).unwrap().next {
        apply(&mut seen, &step, "creating");
        steps += 1;
    }
    assert_eq!(steps, 5);
    let plan = plan_provision(&target, None, &seen, now()).unwrap();
    assert_eq!(
        plan.next,
        Next::Wait("instance shop-db-writer is creating, not available".into())
    );
    seen.instances
        .iter_mut()
        .for_each(|i| i.status = "available".into());
    let plan = plan_provision(&target, None, &seen, now()).unwrap();
    assert_eq!(plan.next, Next::Do(Step::FinishProvisioning));
}

#[test]
fn a_conflicting_request_is_an_error_that_names_the_field() {
    let request = full_request();
    let mut seen = Observed {
        cluster: Some(details(
            "shop-db",
            "available",
            "aurora-postgresql",
            "16.3",
            [(MANAGED.to_owned(), "true".to_owned())].into(),
        )),
        ..Observed::default()
    };
    let err = plan_provision(&request.target, Some(&request.create), &seen, now()).unwrap_err();
    assert_eq!(field_of(err), "engine");
    seen.cluster = Some(details(
        "shop-db",
        "available",
        "aurora-mysql",
        "8.0.mysql_aurora.3.08.0",
        [(MANAGED.to_owned(), "true".to_owned())].into(),
    ));
    let err = plan_provision(&request.target, Some(&request.create), &seen, now()).unwrap_err();
    assert_eq!(field_of(err), "engine_version");
    seen.cluster = Some(details(
        "shop-db",
        "available",
        "aurora-mysql",
        "8.0.mysql_aurora.3.09.0",
        BTreeMap::new(),
    ));
    let err = plan_provision(&request.target, Some(&request.create), &seen, now()).unwrap_err();
    assert!(err.to_string().contains("onboard"), "{err}");
}

#[test]
fn decommission_runs_the_recipe_cleanup_in_order() {
    let request = full_request();
    let mut seen = Observed::default();
    drive(&request, &mut seen);
    seen.cluster.as_mut().unwrap().writer = Some("shop-db-writer".into());
    let mut labels = Vec::new();
    for _ in 0..20 {
        let plan = plan_decommission("shop-db", false, &seen, now()).unwrap();
        match plan.next {
            Next::Do(step) => {
                labels.push(step.label());
                apply(&mut seen, &step, "available");
            }
            Next::Complete => break,
            Next::Wait(r) => panic!("{r}"),
        }
    }
    assert_eq!(
        labels,
        vec![
            "tag acu-pilot:decommissioning",
            "delete alarms Aurora-shop-db-Low-ACU, acu-pilot-shop-db-high",
            "delete instance shop-db-reader",
            "delete instance shop-db-reader-2",
            "delete instance shop-db-writer",
            "turn deletion protection off",
            "delete cluster with final snapshot shop-db-final-202611251904",
            "delete parameter group shop-params",
        ]
    );
}

#[test]
fn decommission_waits_while_instances_are_deleting() {
    let request = full_request();
    let mut seen = Observed::default();
    drive(&request, &mut seen);
    seen.alarms.clear();
    seen.cluster
        .as_mut()
        .unwrap()
        .cluster
        .tags
        .insert(DECOMMISSIONING.into(), "skip-final-snapshot".into());
    for i in seen
        .instances
        .iter_mut()
        .filter(|i| i.id.contains("reader"))
    {
        i.status = "deleting".into();
    }
    let plan = plan_decommission("shop-db", false, &seen, now()).unwrap();
    assert!(
        matches!(plan.next, Next::Wait(ref r) if r.contains("readers")),
        "{plan:?}"
    );
    assert_eq!(plan.left[0], "delete instance shop-db-writer");
    seen.instances.retain(|i| i.id == "shop-db-writer");
    seen.instances[0].status = "deleting".into();
    let plan = plan_decommission("shop-db", false, &seen, now()).unwrap();
    assert!(matches!(plan.next, Next::Wait(ref r) if r.contains("instances")));
    seen.instances.clear();
    let plan = plan_decommission("shop-db", false, &seen, now()).unwrap();
    assert_eq!(plan.next, Next::Do(Step::DisableDeletionProtection));
    seen.cluster.as_mut().unwrap().deletion_protection = false;
    let plan = plan_decommission("shop-db", false, &seen, now()).unwrap();
    // The decommissioning tag is anyone's to write: it never skips the final snapshot.
    assert_eq!(
        plan.next,
        Next::Do(Step::DeleteCluster {
            final_snapshot: Some("shop-db-final-202611251904".into())
        })
    );
    seen.cluster.as_mut().unwrap().cluster.status = "deleting".into();
    let plan = plan_decommission("shop-db", false, &seen, now()).unwrap();
    assert!(matches!(plan.next, Next::Wait(ref r) if r.contains("being deleted")));
    assert_eq!(plan.left[0], "delete parameter group shop-params");
}

#[test]
fn decommission_refuses_clusters_that_are_not_ours() {
    let seen = Observed {
        cluster: Some(details(
            "legacy",
            "available",
            "aurora-mysql",
            "8.0.mysql_aurora.3.09.0",
            BTreeMap::new(),
        )),
        ..Observed::default()
    };
    let err = plan_decommission("legacy", false, &seen, now()).unwrap_err();
    assert!(matches!(err, Error::NotManaged { .. }));
    assert_eq!(
        plan_decommission("gone", false, &Observed::default(), now()).unwrap(),
        Plan::complete()
    );
}

#[test]
fn onboarding_refuses_an_engine_acu_pilot_does_not_know_naming_it() {
    let request = OnboardRequest {
        cluster_id: "graph".into(),
        min_acu: None,
        max_acu: None,
        recipe_alarms: true,
        ttl_hours: None,
        auto_pause: false,
    };
    let managed = BTreeMap::from([("acu-pilot:managed".to_owned(), "true".to_owned())]);
    let cluster = details("graph", "available", "neptune", "1.3.2.0", managed);
    let err = plan_onboard(&request, &cluster, &BTreeSet::new(), now()).unwrap_err();
    assert!(
        err.to_string().contains("runs neptune, not Aurora"),
        "{err}"
    );
}

#[test]
fn onboarding_takes_the_live_range_as_baseline_once() {
    let request = OnboardRequest {
        cluster_id: "legacy".into(),
        min_acu: None,
        max_acu: None,
        auto_pause: false,
        recipe_alarms: true,
        ttl_hours: None,
    };
    let mut cluster = details(
        "legacy",
        "available",
        "aurora-mysql",
        "8.0.mysql_aurora.3.09.0",
        BTreeMap::new(),
    );
    // Not opted in by its owner: an onboard request alone never makes it managed.
    let err = plan_onboard(&request, &cluster, &BTreeSet::new(), now()).unwrap_err();
    assert_eq!(err.error_type(), "NotManaged");
    cluster
        .cluster
        .tags
        .insert("acu-pilot:managed".into(), "true".into());
    let plan = plan_onboard(&request, &cluster, &BTreeSet::new(), now()).unwrap();
    assert_eq!(
        plan.tags,
        vec![("acu-pilot:baseline".to_owned(), "min=0.5 max=16".to_owned())]
    );
    assert_eq!(plan.alarms.len(), 2);
    assert_eq!(plan.alarms[0].0.name, "Aurora-legacy-High-ACU");
    cluster.cluster.tags.extend(plan.tags.iter().cloned());
    let names = plan.alarms.iter().map(|(s, _)| s.name.clone()).collect();
    let again = plan_onboard(&request, &cluster, &names, now()).unwrap();
    assert!(!again.changes(), "{again:?}");
    let wider = OnboardRequest {
        max_acu: Some(Acu::new(32.0).unwrap()),
        ..request
    };
    let plan = plan_onboard(&wider, &cluster, &names, now()).unwrap();
    assert_eq!(
        plan.tags,
        vec![("acu-pilot:baseline".to_owned(), "min=0.5 max=32".to_owned())]
    );
}

/// Issue #17: a per-cluster opt-in to auto-pause, refused where the version cannot pause.
#[test]
fn requests_and_onboard_accept_an_auto_pause_opt_in_only_where_the_engine_pauses() {
    let p = provision(json!({"auto_pause": true})).unwrap();
    assert!(p.target.auto_pause);
    let spec = cluster_spec(&p.target, &p.create, &Observed::default(), now());
    assert!(
        spec.tags
            .contains(&("acu-pilot:auto-pause".to_owned(), "true".to_owned()))
    );
    let err = provision(json!({"auto_pause": true, "engine_version": "8.0.mysql_aurora.3.04.0"}))
        .unwrap_err();
    assert!(err.to_string().contains("auto_pause"), "{err}");
    assert!(!provision(json!({})).unwrap().target.auto_pause);

    let request = OnboardRequest {
        cluster_id: "legacy".into(),
        min_acu: None,
        max_acu: None,
        auto_pause: true,
        recipe_alarms: false,
        ttl_hours: None,
    };
    let managed = BTreeMap::from([("acu-pilot:managed".to_owned(), "true".to_owned())]);
    let older = details(
        "legacy",
        "available",
        "aurora-mysql",
        "8.0.mysql_aurora.3.04.0",
        managed.clone(),
    );
    let err = plan_onboard(&request, &older, &BTreeSet::new(), now()).unwrap_err();
    assert!(err.to_string().contains("auto_pause"), "{err}");
    let mut pausing = details(
        "legacy",
        "available",
        "aurora-mysql",
        "8.0.mysql_aurora.3.09.0",
        managed,
    );
    let plan = plan_onboard(&request, &pausing, &BTreeSet::new(), now()).unwrap();
    assert!(
        plan.tags
            .contains(&("acu-pilot:auto-pause".to_owned(), "true".to_owned()))
    );
    pausing.cluster.tags.extend(plan.tags.iter().cloned());
    let again = plan_onboard(&request, &pausing, &BTreeSet::new(), now()).unwrap();
    assert!(again.tags.is_empty(), "{again:?}");
}

#[test]
fn the_final_snapshot_is_named_for_the_iam_policy() {
    assert_eq!(final_snapshot_id("shop", now()), "shop-final-202611251904");
}

proptest! {
    #[test]
    fn the_followup_tag_reads_back(readers in 0u32..=15, reader_tier in 0i32..=15, pi in prop::sample::select(vec![7, 31, 62, 731]), recipe: bool) {
        let f = Followup { readers, reader_tier, performance_insights_days: pi, recipe_alarms: recipe };
        prop_assert_eq!(Followup::parse(&f.to_tag_value()).unwrap(), f);
    }

    /// Whatever part of a provisioning already exists, continuing never recreates it,
    /// creates each missing piece exactly once, and ends complete.
    #[test]
    fn resuming_from_any_partial_state_creates_only_what_is_missing(
        readers in 0u32..4,
        done in 0usize..12,
        skip in prop::collection::vec(any::<bool>(), 12),
    ) {
        let request = provision(json!({"readers": readers, "parameter_group": "p"})).unwrap();
        let mut seen = Observed::default();
        let all = drive(&request, &mut Observed::default());
        // Replay a prefix, skipping some instance/alarm steps as if created out of order.
        let mut existing = Vec::new();
        for (i, step) in all.iter().take(done).enumerate() {
            let optional = matches!(step, Step::PutAlarm { .. } | Step::CreateInstance(_));
            if optional && skip[i] && seen.cluster.is_some() {
                continue;
            }
            apply(&mut seen, step, "available");
            existing.push(step.label());
        }
        let rest = drive(&request, &mut seen);
        for step in &rest {
            prop_assert!(!existing.contains(&step.label()) || !step.creates(), "recreated {}", step.label());
        }
        let created: BTreeSet<String> = existing.iter().cloned().chain(rest.iter().map(Step::label)).collect();
        for step in &all {
            prop_assert!(created.contains(&step.label()), "never created {}", step.label());
        }
        prop_assert_eq!(plan_provision(&request.target, Some(&request.create), &seen, now()).unwrap(), Plan::complete());
    }

    #[test]
    fn valid_ranges_are_accepted_and_out_of_range_max_names_max_acu(max in 1u32..600) {
        let result = provision(json!({"max_acu": max}));
        if max <= 256 {
            prop_assert!(result.is_ok());
        } else {
            prop_assert_eq!(field_of(result.unwrap_err()), "max_acu");
        }
    }
}

/// Where DescribeDBEngineVersions answers, its smallest min decides whether the version
/// can pause, for an opt-in as for a min-0 range.
#[test]
fn an_auto_pause_opt_in_needs_a_version_whose_smallest_min_is_zero() {
    let range = CapacityRange::new(Acu::HALF, Acu::new(16.0).unwrap()).unwrap();
    assert!(check_engine_limits(range, true, 0.0, 256.0).is_ok());
    let err = check_engine_limits(range, true, 0.5, 256.0).unwrap_err();
    assert!(err.to_string().contains("auto_pause"), "{err}");
    assert!(check_engine_limits(range, false, 0.5, 256.0).is_ok());
}
