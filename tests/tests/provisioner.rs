//! Provisioner acceptance (issue 6) against the emulator: provision, repeat, resume,
//! onboard, decommission, conflicts and invalid requests, with every request recorded.
//!
//! The emulator neither stores `EnableCloudwatchLogsExports` nor takes the final snapshot
//! `DeleteDBCluster` asks for (tests/README.md lists its gaps), so those are checked in the recorded request
//! bodies, not read back.

use std::collections::BTreeMap;

use acu_pilot_aws::CallRecorder;
use acu_pilot_core::config::Config;
use acu_pilot_core::error::Error;
use acu_pilot_lambda::Deps;
use acu_pilot_tests::*;
use aws_sdk_rds::types::Filter;
use serde_json::{Value, json};

/// The provisioner's entry point over the deployed adapters, as its Lambda main calls it.
async fn handle(
    event: Value,
    now: chrono::DateTime<chrono::Utc>,
    deps: &Deps,
) -> Result<Value, Error> {
    acu_pilot_app::provisioner::handle(event, now, &deps.aws, &deps.config).await
}

/// The emulator's default VPC security group (like an account's default VPC).
const SECURITY_GROUP: &str = "sg-00000001";

fn now() -> chrono::DateTime<chrono::Utc> {
    at("2026-11-25T19:00:00Z")
}

/// A DB subnet group on the emulator's default VPC subnets.
async fn subnet_group(name: &str) -> String {
    let result = rds()
        .await
        .create_db_subnet_group()
        .db_subnet_group_name(name)
        .db_subnet_group_description("acu-pilot tests")
        .subnet_ids("subnet-00000001")
        .subnet_ids("subnet-00000002")
        .send()
        .await;
    if let Err(err) = result {
        let already = err
            .as_service_error()
            .is_some_and(|e| e.is_db_subnet_group_already_exists_fault());
        assert!(already, "create subnet group: {err:?}");
    }
    name.to_owned()
}

async fn deps(config: Config) -> (Deps, CallRecorder) {
    let (aws, calls) = recorded_aws(&config).await;
    (Deps { config, aws }, calls)
}

async fn request(id: &str, extra: Value) -> Value {
    let mut request = json!({
        "action": "provision",
        "cluster_id": id,
        "db_subnet_group": subnet_group(&format!("{id}-subnets")).await,
        "security_group_ids": [SECURITY_GROUP],
    });
    for (k, v) in extra.as_object().expect("extra is an object") {
        request[k] = v.clone();
    }
    request
}

/// A form-encoded RDS request body as key → value (percent-decoded enough for our keys).
fn params(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(text: &str) -> String {
    text.replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%3D", "=")
        .replace('+', " ")
}

fn body_of(calls: &CallRecorder, operation: &str) -> BTreeMap<String, String> {
    let call = calls
        .calls()
        .into_iter()
        .find(|c| c.operation == operation)
        .unwrap_or_else(|| panic!("no {operation} call"));
    params(&call.body)
}

fn no_password_anywhere(calls: &CallRecorder) {
    for call in calls.calls() {
        for key in params(&call.body).keys() {
            assert!(
                !key.eq_ignore_ascii_case("MasterUserPassword"),
                "{} sent a password",
                call.operation
            );
        }
        assert!(
            !call.body.contains("&MasterUserPassword=")
                && !call.body.starts_with("MasterUserPassword="),
            "{} sent a password",
            call.operation
        );
    }
}

fn creates(calls: &CallRecorder) -> Vec<String> {
    calls
        .writes()
        .into_iter()
        .filter(|op| op.starts_with("Create") || op == "PutMetricAlarm")
        .collect()
}

async fn alarm_tags(arn: &str) -> BTreeMap<String, String> {
    alarm_tags_of(arn).await
}

#[tokio::test]
async fn provision_creates_everything_with_the_exact_settings_and_a_repeat_creates_nothing() {
    let id = unique_id("prov");
    let pg = format!("{id}-params");
    let (deps, calls) = deps(Config::default()).await;
    let event = request(
        &id,
        json!({"readers": 2, "parameter_group": pg, "ttl_hours": 24, "max_acu": 32}),
    )
    .await;

    let out = handle(event.clone(), now(), &deps).await.unwrap();
    assert_eq!(out["status"], "complete", "{out:#}");
    assert!(
        out["writer_endpoint"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
    assert!(
        out["reader_endpoint"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
    eprintln!("provision API calls: {:?}", calls.counts());
    assert_eq!(
        calls.writes(),
        vec![
            "CreateDBClusterParameterGroup",
            "CreateDBCluster",
            // acu-pilot's proof of creation, over the resource id AWS just assigned.
            "AddTagsToResource",
            "CreateDBInstance",
            "CreateDBInstance",
            "CreateDBInstance",
            "PutMetricAlarm",
            "PutMetricAlarm",
            "RemoveTagsFromResource",
            "PutEvents",
        ]
    );
    no_password_anywhere(&calls);

    // The CreateDBCluster request, as sent.
    let create = body_of(&calls, "CreateDBCluster");
    assert_eq!(create["ManageMasterUserPassword"], "true");
    assert_eq!(create["MasterUsername"], "admin");
    assert_eq!(create["BackupRetentionPeriod"], "7");
    assert_eq!(create["DeletionProtection"], "true");
    assert_eq!(create["EnableCloudwatchLogsExports.member.1"], "error");
    assert_eq!(create["EnableCloudwatchLogsExports.member.2"], "general");
    assert_eq!(create["EnableCloudwatchLogsExports.member.3"], "slowquery");
    assert_eq!(create["DBSubnetGroupName"], format!("{id}-subnets"));
    assert_eq!(
        create["VpcSecurityGroupIds.VpcSecurityGroupId.1"],
        SECURITY_GROUP
    );
    assert_eq!(create["DBClusterParameterGroupName"], pg);
    let create_tags: BTreeMap<&str, &str> = (1..=10)
        .filter_map(|n| {
            Some((
                create.get(&format!("Tags.Tag.{n}.Key"))?.as_str(),
                create.get(&format!("Tags.Tag.{n}.Value"))?.as_str(),
            ))
        })
        .collect();
    assert_eq!(
        create_tags["acu-pilot:managed"], "true",
        "tagged in the same call"
    );
    let pg_create = body_of(&calls, "CreateDBClusterParameterGroup");
    assert_eq!(pg_create["Tags.Tag.1.Key"], "acu-pilot:managed");
    assert_eq!(pg_create["Tags.Tag.1.Value"], "true");
    for call in calls
        .calls()
        .iter()
        .filter(|c| c.operation == "CreateDBInstance")
    {
        let p = params(&call.body);
        assert_eq!(p["Tags.Tag.1.Key"], "acu-pilot:managed");
        assert_eq!(p["EnablePerformanceInsights"], "true");
        assert_eq!(p["PerformanceInsightsRetentionPeriod"], "7");
    }

    // The cluster, read back.
    let rds = rds().await;
    let cluster = rds
        .describe_db_clusters()
        .db_cluster_identifier(&id)
        .send()
        .await
        .unwrap()
        .db_clusters()[0]
        .clone();
    assert_eq!(cluster.engine(), Some("aurora-mysql"));
    assert_eq!(cluster.engine_version(), Some("8.0.mysql_aurora.3.09.0"));
    let scaling = cluster.serverless_v2_scaling_configuration().unwrap();
    assert_eq!(
        (scaling.min_capacity(), scaling.max_capacity()),
        (Some(0.5), Some(32.0))
    );
    assert_eq!(cluster.backup_retention_period(), Some(7));
    assert_eq!(cluster.deletion_protection(), Some(true));
    assert_eq!(cluster.db_cluster_parameter_group(), Some(pg.as_str()));
    assert_eq!(
        cluster.db_subnet_group(),
        Some(format!("{id}-subnets").as_str())
    );
    assert_eq!(cluster.master_username(), Some("admin"));
    assert!(
        cluster.master_user_secret().is_some(),
        "RDS manages the password"
    );
    assert_eq!(
        cluster.vpc_security_groups()[0].vpc_security_group_id(),
        Some(SECURITY_GROUP)
    );
    let tags = cluster_tags(&id).await;
    assert_eq!(tags["acu-pilot:managed"], "true");
    assert_eq!(tags["acu-pilot:baseline"], "min=0.5 max=32");
    assert_eq!(tags["acu-pilot:ttl"], "2026-11-26T19:00:00Z");
    assert_eq!(tags["acu-pilot:parameter-group"], pg);
    assert!(
        !tags.contains_key("acu-pilot:provisioning"),
        "finished: {tags:?}"
    );

    // Instances: writer tier 1, readers tier 2, db.serverless, Performance Insights 7 days.
    let instances = rds
        .describe_db_instances()
        .filters(Filter::builder().name("db-cluster-id").values(&id).build())
        .send()
        .await
        .unwrap();
    let mut seen: Vec<(String, i32)> = instances
        .db_instances()
        .iter()
        .filter(|i| i.db_cluster_identifier() == Some(id.as_str()))
        .map(|i| {
            assert_eq!(i.db_instance_class(), Some("db.serverless"));
            assert_eq!(i.performance_insights_enabled(), Some(true));
            assert_eq!(i.performance_insights_retention_period(), Some(7));
            (
                i.db_instance_identifier().unwrap().to_owned(),
                i.promotion_tier().unwrap(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (format!("{id}-reader"), 2),
            (format!("{id}-reader-2"), 2),
            (format!("{id}-writer"), 1),
        ]
    );
    let writer = cluster
        .db_cluster_members()
        .iter()
        .find(|m| m.is_cluster_writer() == Some(true))
        .and_then(|m| m.db_instance_identifier());
    assert_eq!(writer, Some(format!("{id}-writer").as_str()));

    // The parameter group: family from the engine, tagged as ours.
    let group = rds
        .describe_db_cluster_parameter_groups()
        .db_cluster_parameter_group_name(&pg)
        .send()
        .await
        .unwrap()
        .db_cluster_parameter_groups()[0]
        .clone();
    assert_eq!(group.db_parameter_group_family(), Some("aurora-mysql8.0"));

    // Alarms.
    let cw = cloudwatch().await;
    let alarms = cw
        .describe_alarms()
        .alarm_names(format!("acu-pilot-{id}-high"))
        .alarm_names(format!("Aurora-{id}-Low-ACU"))
        .send()
        .await
        .unwrap();
    let by_name: BTreeMap<&str, _> = alarms
        .metric_alarms()
        .iter()
        .map(|a| (a.alarm_name().unwrap(), a))
        .collect();
    let high = by_name[format!("acu-pilot-{id}-high").as_str()];
    assert_eq!(high.metric_name(), Some("ACUUtilization"));
    assert_eq!(high.threshold(), Some(75.0));
    assert_eq!(
        high.comparison_operator().unwrap().as_str(),
        "GreaterThanOrEqualToThreshold"
    );
    assert_eq!(
        (high.period(), high.evaluation_periods()),
        (Some(300), Some(2))
    );
    let low = by_name[format!("Aurora-{id}-Low-ACU").as_str()];
    // Both read the writer's own series, not the cluster average idle readers dilute.
    for alarm in [high, low] {
        let dimensions: BTreeMap<&str, &str> = alarm
            .dimensions()
            .iter()
            .map(|d| (d.name().unwrap(), d.value().unwrap()))
            .collect();
        assert_eq!(
            dimensions,
            BTreeMap::from([("DBClusterIdentifier", id.as_str()), ("Role", "WRITER")])
        );
    }
    assert_eq!(low.metric_name(), Some("ServerlessDatabaseCapacity"));
    assert_eq!(low.threshold(), Some(1.0));
    assert_eq!(
        low.comparison_operator().unwrap().as_str(),
        "LessThanThreshold"
    );
    assert_eq!(
        (low.period(), low.evaluation_periods()),
        (Some(900), Some(4))
    );
    for (alarm, role) in [(high, "high"), (low, "low")] {
        let tags = alarm_tags(alarm.alarm_arn().unwrap()).await;
        assert_eq!(tags["acu-pilot:cluster"], id);
        assert_eq!(tags["acu-pilot:role"], role);
    }

    // The same request again: reads only, and the endpoints.
    calls.clear();
    let again = handle(event, now(), &deps).await.unwrap();
    assert_eq!(again["status"], "complete");
    assert_eq!(again["steps_done"], json!([]));
    assert!(again["writer_endpoint"].as_str().is_some());
    assert_eq!(
        calls.writes(),
        Vec::<String>::new(),
        "{:?}",
        calls.operations()
    );
    eprintln!("repeat API calls: {:?}", calls.counts());
    assert!(calls.calls().len() <= 4, "{:?}", calls.operations());
}

#[tokio::test]
async fn recipe_alarms_scale_the_absolute_threshold_with_max() {
    let id = unique_id("prov-recipe");
    let (deps, _calls) = deps(Config::default()).await;
    let event = request(
        &id,
        json!({"recipe_alarms": true, "max_acu": 32, "readers": 0}),
    )
    .await;
    let out = handle(event, now(), &deps).await.unwrap();
    assert_eq!(out["status"], "complete");
    let alarm = cloudwatch()
        .await
        .describe_alarms()
        .alarm_names(format!("Aurora-{id}-High-ACU"))
        .send()
        .await
        .unwrap()
        .metric_alarms()[0]
        .clone();
    assert_eq!(alarm.metric_name(), Some("ServerlessDatabaseCapacity"));
    assert_eq!(alarm.threshold(), Some(24.0));
    assert_eq!(
        alarm.comparison_operator().unwrap().as_str(),
        "GreaterThanThreshold"
    );
    assert_eq!(
        (alarm.period(), alarm.evaluation_periods()),
        (Some(300), Some(2))
    );
}

#[tokio::test]
async fn a_stopped_cluster_leaves_the_rest_in_progress_and_an_rds_event_finishes_it() {
    let id = unique_id("prov-resume");
    let (deps, calls) = deps(Config::default()).await;
    let event = request(&id, json!({"readers": 1})).await;
    handle(event.clone(), now(), &deps).await.unwrap();

    // As if provisioning had stopped after the writer: the reader is missing, the
    // provisioning tag still there, and the cluster not available.
    let rds = rds().await;
    rds.delete_db_instance()
        .db_instance_identifier(format!("{id}-reader"))
        .send()
        .await
        .unwrap();
    let arn = rds
        .describe_db_clusters()
        .db_cluster_identifier(&id)
        .send()
        .await
        .unwrap()
        .db_clusters()[0]
        .db_cluster_arn()
        .unwrap()
        .to_owned();
    rds.add_tags_to_resource()
        .resource_name(&arn)
        .tags(
            aws_sdk_rds::types::Tag::builder()
                .key("acu-pilot:provisioning")
                .value("readers=1 pi=7 alarms=default")
                .build(),
        )
        .send()
        .await
        .unwrap();
    rds.stop_db_cluster()
        .db_cluster_identifier(&id)
        .send()
        .await
        .unwrap();

    calls.clear();
    let writer_event = json!({
        "source": "aws.rds", "detail-type": "RDS DB Instance Event",
        "detail": {"SourceType": "DB_INSTANCE", "SourceIdentifier": format!("{id}-writer"),
                   "Message": "DB instance created", "EventID": "RDS-EVENT-0005"}
    });
    let waiting = handle(writer_event, now(), &deps).await.unwrap();
    assert_eq!(waiting["status"], "in_progress", "{waiting:#}");
    assert!(waiting["waiting_for"].as_str().unwrap().contains("stopped"));
    assert_eq!(
        waiting["steps_left"][0],
        format!("create instance {id}-reader (tier 2)")
    );
    assert!(creates(&calls).is_empty(), "{:?}", calls.operations());
    // A retry of the request says the same, and changes nothing.
    let retry = handle(event, now(), &deps).await.unwrap();
    assert_eq!(retry["status"], "in_progress");
    assert_eq!(calls.writes(), Vec::<String>::new());

    rds.start_db_cluster()
        .db_cluster_identifier(&id)
        .send()
        .await
        .unwrap();
    calls.clear();
    let cluster_event = json!({
        "source": "aws.rds", "detail-type": "RDS DB Cluster Event",
        "detail": {"SourceType": "CLUSTER", "SourceIdentifier": id,
                   "Message": "DB cluster started", "EventID": "RDS-EVENT-0151"}
    });
    let done = handle(cluster_event.clone(), now(), &deps).await.unwrap();
    assert_eq!(done["status"], "complete", "{done:#}");
    assert_eq!(
        calls.writes(),
        vec!["CreateDBInstance", "RemoveTagsFromResource", "PutEvents"]
    );
    assert!(
        !cluster_tags(&id)
            .await
            .contains_key("acu-pilot:provisioning")
    );
    // Nothing left to resume: the next event is ignored.
    calls.clear();
    let ignored = handle(cluster_event, now(), &deps).await.unwrap();
    assert_eq!(ignored["status"], "ignored");
    assert_eq!(calls.writes(), Vec::<String>::new());
}

/// Issue #13, case 1: one `Onboard Cluster` event about a cluster its owner never opted
/// in changes nothing, and the pre-scaler's next tick has nothing to manage.
#[tokio::test]
async fn an_onboard_event_never_takes_a_cluster_its_owner_did_not_opt_in() {
    let id = unique_id("victim");
    create_cluster(&id, 4.0, 64.0, &[]).await;
    let (deps, calls) = deps(Config::default()).await;
    let event = json!({"source": "acu-pilot", "detail-type": "Onboard Cluster",
        "detail": {"cluster_id": id, "min_acu": 0.5, "max_acu": 1}});
    let err = handle(event, now(), &deps).await.unwrap_err();
    assert!(matches!(err, Error::NotManaged { .. }), "{err}");
    assert_eq!(calls.writes(), Vec::<String>::new());
    assert!(
        !cluster_tags(&id)
            .await
            .keys()
            .any(|k| k.starts_with("acu-pilot:"))
    );
    // What every function's reconcile (the pre-scaler's tick among them) does with it.
    let err = acu_pilot_app::reconcile(
        &deps.aws.clusters,
        &deps.aws.notifier,
        &deps.config,
        &id,
        now(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::NotManaged { .. }), "{err}");
    assert_eq!(live_range(&id).await, (4.0, 64.0));
}

/// Issue #13, case 2: even a cluster its owner opted in is never torn down by a
/// Decommission request, its owner's alarms are kept, and no request skips the final
/// snapshot.
#[tokio::test]
async fn decommission_never_deletes_a_cluster_acu_pilot_did_not_create() {
    let id = unique_id("owned");
    let arn = create_cluster(&id, 4.0, 64.0, &[("acu-pilot:managed", "true")]).await;
    rds()
        .await
        .modify_db_cluster()
        .db_cluster_identifier(&id)
        .deletion_protection(true)
        .send()
        .await
        .unwrap();
    let owners_alarm = format!("Aurora-{id}-High-ACU");
    cloudwatch()
        .await
        .put_metric_alarm()
        .alarm_name(&owners_alarm)
        .namespace("AWS/RDS")
        .metric_name("ServerlessDatabaseCapacity")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
        .period(300)
        .evaluation_periods(2)
        .threshold(48.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
    let (deps, calls) = deps(Config::default()).await;
    let onboard = json!({"source": "acu-pilot", "detail-type": "Onboard Cluster",
        "detail": {"cluster_id": id, "min_acu": 4, "max_acu": 64}});
    handle(onboard, now(), &deps).await.unwrap();
    calls.clear();
    let err = handle(
        json!({"source": "acu-pilot", "detail-type": "Decommission Cluster",
            "detail": {"cluster_id": id}}),
        now(),
        &deps,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::NotOwned { .. }), "{err}");
    assert_eq!(err.error_type(), "NotOwned");
    assert_eq!(calls.writes(), Vec::<String>::new());
    // A forged created-by tag changes nothing.
    rds()
        .await
        .add_tags_to_resource()
        .resource_name(&arn)
        .tags(
            aws_sdk_rds::types::Tag::builder()
                .key("acu-pilot:created-by")
                .value(format!("v1.{}", "0".repeat(64)))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let err = handle(
        json!({"action": "decommission", "cluster_id": id}),
        now(),
        &deps,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::NotOwned { .. }), "{err}");
    assert_eq!(calls.writes(), Vec::<String>::new());
    assert!(find_alarm(&owners_alarm).await.is_some());
    assert_eq!(live_range(&id).await, (4.0, 64.0));

    let err = handle(
        json!({"action": "decommission", "cluster_id": id, "skip_final_snapshot": true}),
        now(),
        &deps,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("skip_final_snapshot"), "{err}");
}

#[tokio::test]
async fn onboarding_a_cluster_its_owner_tagged_writes_tags_and_alarms_only() {
    let id = unique_id("onboard");
    create_cluster(&id, 1.0, 8.0, &[("acu-pilot:managed", "true")]).await;
    let (deps, calls) = deps(Config::default()).await;
    let event = json!({"source": "acu-pilot", "detail-type": "Onboard Cluster", "detail": {"cluster_id": id}});
    let out = handle(event.clone(), now(), &deps).await.unwrap();
    assert_eq!(out["status"], "complete");
    assert_eq!(out["baseline"], "min=1 max=8");
    assert_eq!(
        calls.writes(),
        vec![
            "AddTagsToResource",
            "PutMetricAlarm",
            "PutMetricAlarm",
            "PutEvents"
        ]
    );
    let tags = cluster_tags(&id).await;
    assert_eq!(tags["acu-pilot:managed"], "true");
    assert_eq!(tags["acu-pilot:baseline"], "min=1 max=8");
    assert_eq!(
        live_range(&id).await,
        (1.0, 8.0),
        "the range is not touched"
    );
    no_password_anywhere(&calls);

    calls.clear();
    let again = handle(event, now(), &deps).await.unwrap();
    assert_eq!(again["steps_done"], json!([]));
    assert_eq!(calls.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn decommission_removes_everything_in_the_recipe_order() {
    let id = unique_id("decom");
    let pg = format!("{id}-params");
    let (deps, calls) = deps(Config::default()).await;
    let event = request(&id, json!({"readers": 2, "parameter_group": pg})).await;
    assert_eq!(
        handle(event, now(), &deps).await.unwrap()["status"],
        "complete"
    );

    calls.clear();
    let out = handle(
        json!({"action": "decommission", "cluster_id": id}),
        at("2026-11-25T19:42:00Z"),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(out["status"], "complete", "{out:#}");
    eprintln!("decommission API calls: {:?}", calls.counts());
    assert_eq!(
        calls.writes(),
        vec![
            "AddTagsToResource",
            "DeleteAlarms",
            "DeleteDBInstance",
            "DeleteDBInstance",
            "DeleteDBInstance",
            "ModifyDBCluster",
            "DeleteDBCluster",
            "DeleteDBClusterParameterGroup",
            "PutEvents",
        ]
    );
    let deleted: Vec<String> = calls
        .calls()
        .iter()
        .filter(|c| c.operation == "DeleteDBInstance")
        .map(|c| params(&c.body)["DBInstanceIdentifier"].clone())
        .collect();
    assert_eq!(
        deleted,
        vec![
            format!("{id}-reader"),
            format!("{id}-reader-2"),
            format!("{id}-writer")
        ],
        "readers before the writer"
    );
    let modify = body_of(&calls, "ModifyDBCluster");
    let keys: Vec<&str> = modify.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        vec![
            "Action",
            "DBClusterIdentifier",
            "DeletionProtection",
            "Version"
        ],
        "only deletion protection"
    );
    assert_eq!(modify["DeletionProtection"], "false");
    let delete = body_of(&calls, "DeleteDBCluster");
    assert_eq!(
        delete["FinalDBSnapshotIdentifier"],
        format!("{id}-final-202611251942")
    );
    assert_eq!(delete["SkipFinalSnapshot"], "false");
    assert_eq!(out["final_snapshot"], format!("{id}-final-202611251942"));
    no_password_anywhere(&calls);

    let rds = rds().await;
    assert!(
        rds.describe_db_clusters()
            .db_cluster_identifier(&id)
            .send()
            .await
            .is_err()
    );
    assert!(
        rds.describe_db_cluster_parameter_groups()
            .db_cluster_parameter_group_name(&pg)
            .send()
            .await
            .is_err()
    );
    let alarms = cloudwatch()
        .await
        .describe_alarms()
        .alarm_names(format!("acu-pilot-{id}-high"))
        .alarm_names(format!("Aurora-{id}-Low-ACU"))
        .send()
        .await
        .unwrap();
    assert!(alarms.metric_alarms().is_empty());

    // Again: nothing left, nothing done.
    calls.clear();
    let again = handle(
        json!({"action": "decommission", "cluster_id": id}),
        now(),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(again["status"], "complete");
    assert_eq!(calls.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn decommission_refuses_a_cluster_that_is_not_ours() {
    let id = unique_id("decom-foreign");
    create_cluster(&id, 0.5, 8.0, &[]).await;
    let (deps, calls) = deps(Config::default()).await;
    let err = handle(
        json!({"action": "decommission", "cluster_id": id}),
        now(),
        &deps,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::NotManaged { .. }), "{err}");
    assert_eq!(calls.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn a_conflicting_request_is_rejected_and_nothing_changes() {
    let id = unique_id("conflict");
    let (deps, calls) = deps(Config::default()).await;
    handle(request(&id, json!({"readers": 0})).await, now(), &deps)
        .await
        .unwrap();
    let tags_before = cluster_tags(&id).await;

    calls.clear();
    let other_engine = request(
        &id,
        json!({"engine": "aurora-postgresql", "engine_version": "16.3"}),
    )
    .await;
    let err = handle(other_engine, now(), &deps).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field, .. } if field == "engine"),
        "{err}"
    );
    assert!(err.to_string().contains("nothing was changed"));
    assert_eq!(calls.writes(), Vec::<String>::new());
    assert_eq!(cluster_tags(&id).await, tags_before);

    // Same id as a cluster acu-pilot does not manage: onboard it, don't provision over it.
    let foreign = unique_id("conflict-foreign");
    create_cluster(&foreign, 0.5, 8.0, &[]).await;
    calls.clear();
    let err = handle(request(&foreign, json!({})).await, now(), &deps)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("onboard"), "{err}");
    assert_eq!(calls.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn invalid_requests_are_rejected_before_any_aws_call() {
    let (deps, calls) = deps(Config::default()).await;
    for (extra, field) in [
        (json!({"engine": "mysql"}), "engine"),
        (json!({"max_acu": 300}), "max_acu"),
        (
            json!({"min_acu": 0, "engine_version": "8.0.mysql_aurora.3.04.0"}),
            "min_acu",
        ),
        (json!({"db_subnet_group": null}), "db_subnet_group"),
        (json!({"colour": "blue"}), "colour"),
    ] {
        let mut event = json!({
            "action": "provision",
            "cluster_id": "never-created",
            "db_subnet_group": "any",
            "security_group_ids": [SECURITY_GROUP],
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                event.as_object_mut().unwrap().remove(k);
            } else {
                event[k] = v.clone();
            }
        }
        let err = handle(event, now(), &deps).await.unwrap_err();
        assert_eq!(err.error_type(), "InvalidInput");
        assert!(err.to_string().contains(field), "{field}: {err}");
        assert!(
            calls.calls().is_empty(),
            "{field}: {:?}",
            calls.operations()
        );
    }
}

#[tokio::test]
async fn the_subnet_group_and_security_groups_default_from_the_configuration() {
    let id = unique_id("prov-defaults");
    let group = subnet_group(&format!("{id}-subnets")).await;
    let vars: std::collections::HashMap<String, String> = [
        ("ACU_PILOT_SUBNET_GROUP".to_owned(), group.clone()),
        (
            "ACU_PILOT_SECURITY_GROUP_IDS".to_owned(),
            SECURITY_GROUP.to_owned(),
        ),
    ]
    .into();
    let (deps, calls) = deps(Config::from_map(&vars).unwrap()).await;
    let out = handle(
        json!({"action": "provision", "cluster_id": id, "readers": 0}),
        now(),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(out["status"], "complete");
    let create = body_of(&calls, "CreateDBCluster");
    assert_eq!(create["DBSubnetGroupName"], group);
    assert_eq!(
        create["VpcSecurityGroupIds.VpcSecurityGroupId.1"],
        SECURITY_GROUP
    );
}

#[tokio::test]
async fn the_cli_provisions_from_the_fixture_files() {
    for (name, key) in [
        ("provision-request.json", "detail"),
        ("provision-direct.json", ""),
    ] {
        let id = unique_id("cli-prov");
        let mut event = fixture(name, &id);
        if name == "provision-direct.json" {
            event["cluster_id"] = json!(id);
        }
        let request = if key.is_empty() { &event } else { &event[key] };
        subnet_group(request["db_subnet_group"].as_str().unwrap()).await;
        let path = std::env::temp_dir().join(format!("{id}.json"));
        std::fs::write(&path, event.to_string()).unwrap();
        let key = ownership_key_parameter().await;
        let (ok, stdout, stderr) = cli_with_env(
            &[
                "invoke",
                "provisioner",
                "--event",
                path.to_str().unwrap(),
                "--now",
                "2026-11-25T19:00:00Z",
            ],
            &[("ACU_PILOT_OWNERSHIP_KEY_PARAMETER", key)],
        );
        assert!(ok, "{name}: {stderr}");
        let out: Value = serde_json::from_str(&stdout).expect("JSON on stdout");
        assert_eq!(out["status"], "complete", "{name}: {out:#}");
        let tags = cluster_tags(&id).await;
        assert_eq!(tags["acu-pilot:managed"], "true");
        assert!(tags["acu-pilot:created-by"].starts_with("v1."), "{tags:?}");
    }
}

/// The ownership key is read on the first invocation that needs it, not when the adapters
/// are built: a function's start-up makes no AWS call before its first poll of the Runtime
/// API. An unreadable key fails that invocation with an error naming the parameter, and is
/// not remembered: the next invocation reads again, and once read the key is kept.
#[tokio::test]
async fn the_ownership_key_is_read_on_first_use_and_a_failed_read_is_retried() {
    use acu_pilot_core::ownership::{OwnershipKey, Resource};
    let name = format!("/acu-pilot-tests/{}", unique_id("lazy-key"));
    let config = Config {
        ownership_key_parameter: Some(name.clone()),
        ..Config::default()
    };
    let calls = CallRecorder::default();
    let aws = acu_pilot_aws::Aws::recorded(sdk_config().await, &config, &calls);
    let deps = Deps { config, aws };
    assert!(calls.operations().is_empty(), "{:?}", calls.operations());

    let decommission = json!({"action": "decommission", "cluster_id": unique_id("lazy-key")});
    let err = handle(decommission.clone(), now(), &deps)
        .await
        .expect_err("the parameter does not exist yet");
    assert!(err.to_string().contains(&name), "{err}");
    assert_eq!(calls.count("GetParameter"), 1);
    assert!(calls.writes().is_empty(), "{:?}", calls.writes());

    let secret = "lazy-key-0123456789abcdef0123456789abcdef";
    ssm()
        .await
        .put_parameter()
        .name(&name)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .value(secret)
        .send()
        .await
        .expect("put the parameter");
    // Past the key, decommissioning a cluster that is not there has nothing left to do.
    for _ in 0..2 {
        let out = handle(decommission.clone(), now(), &deps)
            .await
            .expect("the key is readable now");
        assert_eq!(out["status"], "complete", "{out}");
    }
    assert_eq!(calls.count("GetParameter"), 2, "{:?}", calls.operations());
    let key = deps
        .aws
        .ownership_key()
        .await
        .expect("read")
        .expect("configured");
    let expected = OwnershipKey::from_secret(secret).expect("long enough");
    let cluster = Resource::Cluster("cluster-LAZY");
    assert_eq!(key.proof(cluster), expected.proof(cluster));
    assert_eq!(calls.count("GetParameter"), 2);
}
