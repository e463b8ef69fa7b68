//! The pre-scaler and the janitor over a fleet of accounts, in the emulator: a hub and two
//! spoke accounts (a 12-digit access key id is the account there, and an assumed-role
//! session acts in the role's account), swept through the Lambda entry point
//! (`acu_pilot_lambda::handle`), the tick's fan-out queue on the wire.
//!
//! The hub here is an account of its own, not the emulator's default: a tick sweeps every
//! cluster its targets hold, and other test binaries share the emulator's default account.
//!
//! What the emulator cannot show: it grants AssumeRole on a role that does not exist. The
//! target without the spoke role is refused by the real STS client on a mocked wire
//! (aws-smithy-mocks), everything else of that sweep running in the emulator.

use acu_pilot_aws::{Aws, CallRecorder, SdkConfig};
use acu_pilot_core::config::Config;
use acu_pilot_lambda::{Deps, Function, handle};
use acu_pilot_tests::*;
use aws_sdk_sts::operation::assume_role::AssumeRoleOutput;
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use serde_json::{Value, json};

const HUB: &str = "500000000000";
const SPOKES: [&str; 2] = ["511111111111", "522222222222"];
/// An account of the organisation that never deployed the spoke stack.
const NO_ROLE: &str = "533333333333";
const REGION: &str = "us-east-1";
const NOW: &str = "2026-11-25T19:00:00Z";
/// An expired boost: the janitor removes it and puts the range back to the baseline.
const EXPIRED_BOOST: &str = "max=24 until=2026-11-25T18:00:00Z by=alarm:high";

/// `${SpokeRoleName}-<function>`, as template.yaml sets `ACU_PILOT_SPOKE_ROLE`.
fn spoke_role(function: Function) -> String {
    format!("acu-pilot-spoke-{}", function.name())
}

/// The hub's targets list, in an SSM parameter of the hub, as an operator keeps it.
async fn targets_parameter(hub: &SdkConfig, name: &str, accounts: &[&str]) -> String {
    let name = format!("/acu-pilot-tests/{name}/targets");
    let text = accounts
        .iter()
        .map(|a| format!("{a}:{REGION}"))
        .collect::<Vec<_>>()
        .join("\n");
    aws_sdk_ssm::Client::new(hub)
        .put_parameter()
        .name(&name)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .value(text)
        .overwrite(true)
        .send()
        .await
        .expect("put the targets parameter");
    name
}

/// The function's FIFO fan-out queue in the hub, as template.yaml creates it.
async fn target_queue(hub: &SdkConfig, name: &str) -> String {
    aws_sdk_sqs::Client::new(hub)
        .create_queue()
        .queue_name(format!("{name}.fifo"))
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .expect("create the queue")
        .queue_url()
        .expect("a queue url")
        .to_owned()
}

/// What the queue's event source mapping hands the function: every message waiting.
async fn queued_batch(hub: &SdkConfig, queue: &str, expected: usize) -> Value {
    let sqs = aws_sdk_sqs::Client::new(hub);
    let mut records = Vec::new();
    for _ in 0..10 {
        let out = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        for m in out.messages() {
            records.push(json!({
                "eventSource": "aws:sqs",
                "messageId": m.message_id().unwrap(),
                "body": m.body().unwrap(),
            }));
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .expect("delete");
        }
        if records.len() >= expected {
            break;
        }
    }
    assert_eq!(records.len(), expected, "{records:#?}");
    json!({ "Records": records })
}

/// The hub's function as its main builds it: the hub's own credentials, every request
/// recorded.
fn hub_deps(sdk: SdkConfig, config: Config) -> (Deps, CallRecorder) {
    let recorder = CallRecorder::default();
    let mut aws = Aws::recorded(sdk, &config, &recorder);
    aws.set_ownership_key(Some(ownership_key()));
    (Deps { config, aws }, recorder)
}

struct Fleet {
    hub: SdkConfig,
    spokes: Vec<SdkConfig>,
    /// The same cluster id in every account, managed, with an expired boost.
    id: String,
    /// In the first spoke: never opted in, but carrying what would make either function act.
    unmanaged: String,
}

impl Fleet {
    async fn new(prefix: &str) -> Fleet {
        let hub = account_sdk_config(HUB).await;
        let mut spokes = Vec::new();
        for account in SPOKES {
            spokes.push(account_sdk_config(account).await);
        }
        let id = unique_id(prefix);
        let unmanaged = unique_id(&format!("{prefix}-unmanaged"));
        for sdk in std::iter::once(&hub).chain(&spokes) {
            create_managed_in(sdk, &id, 0.5, 24.0, &[("acu-pilot:boost", EXPIRED_BOOST)]).await;
        }
        create_cluster_in(
            &spokes[0],
            &unmanaged,
            0.5,
            24.0,
            &[
                ("acu-pilot:baseline", "min=0.5 max=16"),
                ("acu-pilot:boost", EXPIRED_BOOST),
            ],
        )
        .await;
        Fleet {
            hub,
            spokes,
            id,
            unmanaged,
        }
    }

    fn every_account(&self) -> impl Iterator<Item = &SdkConfig> {
        std::iter::once(&self.hub).chain(&self.spokes)
    }

    /// The tick's event: the scheduler's, scoped to this test's clusters (the janitor
    /// reads `clusters`; the pre-scaler's calendar names only them).
    fn tick(&self) -> Value {
        json!({"id": unique_id("tick"), "detail-type": "Scheduled Event", "clusters": [self.id, self.unmanaged]})
    }

    async fn assert_unmanaged_untouched(&self) {
        assert_eq!(
            live_range_in(&self.spokes[0], &self.unmanaged).await,
            (0.5, 24.0)
        );
        let tags = cluster_tags_in(&self.spokes[0], &self.unmanaged).await;
        assert_eq!(
            tags.get("acu-pilot:boost").map(String::as_str),
            Some(EXPIRED_BOOST)
        );
        assert!(!tags.contains_key("acu-pilot:prescale"), "{tags:?}");
    }
}

fn outcome<'a>(summary: &'a Value, target: &str) -> &'a Value {
    summary["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .find(|o| o["target"] == target)
        .unwrap_or_else(|| panic!("no outcome for {target}: {summary:#}"))
}

#[tokio::test]
async fn the_janitor_and_the_pre_scaler_sweep_the_hub_and_two_spokes_through_the_queue() {
    let fleet = Fleet::new("fleet-sweep").await;
    for (sdk, function) in fleet
        .spokes
        .iter()
        .flat_map(|s| [(s, Function::Janitor), (s, Function::PreScaler)])
    {
        create_spoke_role(sdk, &spoke_role(function), HUB).await;
    }
    let accounts = [HUB, SPOKES[0], SPOKES[1]];
    let targets = targets_parameter(&fleet.hub, &fleet.id, &accounts).await;
    let calendar = std::env::temp_dir().join(format!("acu-pilot-calendar-{}.yaml", fleet.id));
    std::fs::write(
        &calendar,
        format!(
            "events:\n  - name: sale\n    start: 2026-11-25T18:30\n    duration: 2h\n    clusters: [{}, {}]\n    min: 4\n",
            fleet.id, fleet.unmanaged
        ),
    )
    .expect("write the calendar");

    // The janitor: the tick queues one message per target, the queue's batch sweeps them.
    let queue = target_queue(&fleet.hub, &format!("{}-janitor", fleet.id)).await;
    let mut config = Config {
        spoke_role: Some(spoke_role(Function::Janitor)),
        targets_parameter: Some(targets.clone()),
        target_queue_url: Some(queue.clone()),
        ..Config::default()
    };
    let (deps, calls) = hub_deps(fleet.hub.clone(), config.clone());
    let tick = handle(Function::Janitor, fleet.tick(), at(NOW), &deps)
        .await
        .unwrap_or_else(|e| panic!("janitor tick: {e}"));
    assert_eq!(
        (tick["targets"].as_u64(), tick["queued"].as_u64()),
        (Some(3), Some(3)),
        "{tick:#}"
    );
    assert_eq!(calls.count("SendMessageBatch"), 1, "{:?}", calls.counts());
    assert_eq!(
        calls.count("DescribeDBClusters"),
        0,
        "the tick itself sweeps nothing"
    );
    for sdk in fleet.every_account() {
        assert_eq!(
            live_range_in(sdk, &fleet.id).await,
            (0.5, 24.0),
            "not yet swept"
        );
    }

    let batch = queued_batch(&fleet.hub, &queue, 3).await;
    let (deps, calls) = hub_deps(fleet.hub.clone(), config.clone());
    let swept = handle(Function::Janitor, batch, at(NOW), &deps)
        .await
        .unwrap_or_else(|e| panic!("janitor batch: {e}"));
    assert_eq!(swept["swept"], 3, "{swept:#}");
    assert_eq!(swept["batchItemFailures"], json!([]), "{swept:#}");
    for account in accounts {
        let mine = outcome(&swept, &format!("{account}/{REGION}"));
        assert_eq!(mine["result"]["expired_layers"], 1, "{account}: {mine:#}");
    }
    for sdk in fleet.every_account() {
        assert_eq!(
            live_range_in(sdk, &fleet.id).await,
            (0.5, 16.0),
            "boost expired everywhere"
        );
        assert!(
            !cluster_tags_in(sdk, &fleet.id)
                .await
                .contains_key("acu-pilot:boost")
        );
    }
    // The hub's own account with the function's credentials, each spoke through its role,
    // assumed once in this invocation.
    assert_eq!(calls.count("AssumeRole"), 2, "{:?}", calls.counts());
    fleet.assert_unmanaged_untouched().await;

    // The pre-scaler, through its own queue and role: the calendar (the hub's) raises min
    // in every account.
    let queue = target_queue(&fleet.hub, &format!("{}-pre-scaler", fleet.id)).await;
    config.spoke_role = Some(spoke_role(Function::PreScaler));
    config.target_queue_url = Some(queue.clone());
    config.prescale.calendar_file = Some(calendar.display().to_string());
    config.prescale.forecast_enabled = false;
    let (deps, _) = hub_deps(fleet.hub.clone(), config.clone());
    let tick = handle(Function::PreScaler, fleet.tick(), at(NOW), &deps)
        .await
        .unwrap_or_else(|e| panic!("pre-scaler tick: {e}"));
    assert_eq!(tick["queued"], 3, "{tick:#}");
    let batch = queued_batch(&fleet.hub, &queue, 3).await;
    let (deps, calls) = hub_deps(fleet.hub.clone(), config);
    let swept = handle(Function::PreScaler, batch, at(NOW), &deps)
        .await
        .unwrap_or_else(|e| panic!("pre-scaler batch: {e}"));
    assert_eq!(swept["swept"], 3, "{swept:#}");
    for sdk in fleet.every_account() {
        assert_eq!(
            live_range_in(sdk, &fleet.id).await,
            (4.0, 16.0),
            "pre-scaled everywhere"
        );
        let tag = &cluster_tags_in(sdk, &fleet.id).await["acu-pilot:prescale"];
        assert!(tag.starts_with("min=4 "), "{tag}");
    }
    assert_eq!(calls.count("AssumeRole"), 2, "{:?}", calls.counts());
    fleet.assert_unmanaged_untouched().await;
}

/// STS as the real one answers: the hub's identity, a session in each spoke whose role
/// exists (whose key is the account, so the emulator acts there), and AccessDenied for
/// the account without the role.
fn sts_rules() -> Vec<Rule> {
    let mut rules = vec![
        mock!(aws_sdk_sts::Client::get_caller_identity)
            .then_output(|| GetCallerIdentityOutput::builder().account(HUB).build()),
        mock!(aws_sdk_sts::Client::assume_role)
            .match_requests(|r| r.role_arn().is_some_and(|arn| arn.contains(NO_ROLE)))
            .then_http_response(|| {
                aws_smithy_runtime_api::http::Response::new(
                    aws_smithy_runtime_api::http::StatusCode::try_from(403).unwrap(),
                    aws_smithy_types::body::SdkBody::from(format!(
                        r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{NO_ROLE}:role/acu-pilot-spoke-janitor</Message></Error><RequestId>1</RequestId></ErrorResponse>"#
                    )),
                )
            }),
    ];
    for account in SPOKES {
        rules.push(
            mock!(aws_sdk_sts::Client::assume_role)
                .match_requests(move |r| r.role_arn().is_some_and(|arn| arn.contains(account)))
                .then_output(move || {
                    AssumeRoleOutput::builder()
                        .credentials(
                            aws_sdk_sts::types::Credentials::builder()
                                .access_key_id(account)
                                .secret_access_key("test")
                                .session_token("session")
                                .expiration(aws_smithy_types::DateTime::from_secs(4_000_000_000))
                                .build()
                                .unwrap(),
                        )
                        .build()
                }),
        );
    }
    rules
}

#[tokio::test]
async fn a_target_without_the_spoke_role_is_reported_by_name_while_the_others_are_swept() {
    let fleet = Fleet::new("fleet-norole").await;
    let targets =
        targets_parameter(&fleet.hub, &fleet.id, &[HUB, SPOKES[0], NO_ROLE, SPOKES[1]]).await;
    // No queue: the tick sweeps its targets itself (as `acu-pilot invoke janitor` does).
    let config = Config {
        spoke_role: Some(spoke_role(Function::Janitor)),
        targets_parameter: Some(targets),
        ..Config::default()
    };
    let rules = sts_rules();
    let sts = mock_client!(
        aws_sdk_sts,
        RuleMode::MatchAny,
        &rules.iter().collect::<Vec<_>>()
    );
    let (mut deps, _) = hub_deps(fleet.hub.clone(), config);
    deps.aws = deps.aws.with_sts(sts);

    let summary = handle(Function::Janitor, fleet.tick(), at(NOW), &deps)
        .await
        .unwrap_or_else(|e| panic!("a broken target does not fail the tick: {e}"));

    assert_eq!(summary["targets"], 4, "{summary:#}");
    assert_eq!(summary["swept"], 3, "{summary:#}");
    assert_eq!(
        summary["failed_targets"],
        json!([format!("{NO_ROLE}/{REGION}")])
    );
    let refused = outcome(&summary, &format!("{NO_ROLE}/{REGION}"));
    assert_eq!(refused["code"], "AccessDenied", "{refused:#}");
    let message = refused["error"].as_str().unwrap();
    assert!(message.contains(&format!("account {NO_ROLE}")), "{message}");
    assert!(message.contains("spoke stack deployed"), "{message}");
    for sdk in fleet.every_account() {
        assert_eq!(
            live_range_in(sdk, &fleet.id).await,
            (0.5, 16.0),
            "the others are swept"
        );
    }
    fleet.assert_unmanaged_untouched().await;

    // The same target from the queue: reported and consumed, not retried forever.
    let work = json!({"target": {"account": NO_ROLE, "region": REGION}, "tick": fleet.tick()});
    let batch = json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": work.to_string()}]});
    let out = handle(Function::Janitor, batch, at(NOW), &deps)
        .await
        .unwrap_or_else(|e| panic!("batch: {e}"));
    assert_eq!(
        out["failed_targets"],
        json!([format!("{NO_ROLE}/{REGION}")]),
        "{out:#}"
    );
    assert_eq!(out["batchItemFailures"], json!([]), "{out:#}");
}

#[tokio::test]
async fn without_a_targets_list_a_tick_is_the_single_account_sweep() {
    // No new parameter: the hub's own account, no STS and no queue, today's response.
    let hub = account_sdk_config(HUB).await;
    let id = unique_id("fleet-single");
    create_managed_in(&hub, &id, 0.5, 24.0, &[("acu-pilot:boost", EXPIRED_BOOST)]).await;
    let (deps, calls) = hub_deps(hub.clone(), Config::default());

    let out = handle(Function::Janitor, json!({"clusters": [id]}), at(NOW), &deps)
        .await
        .unwrap_or_else(|e| panic!("sweep: {e}"));

    assert_eq!(out["clusters_seen"], 1, "{out:#}");
    assert_eq!(out["expired_layers"], 1, "{out:#}");
    assert_eq!(live_range_in(&hub, &id).await, (0.5, 16.0));
    for op in [
        "GetCallerIdentity",
        "AssumeRole",
        "SendMessageBatch",
        "GetParameter",
    ] {
        assert_eq!(calls.count(op), 0, "{op}: {:?}", calls.counts());
    }
}

#[tokio::test]
async fn a_provision_request_naming_a_spoke_creates_the_cluster_there() {
    let hub = account_sdk_config(HUB).await;
    let spoke = account_sdk_config(SPOKES[0]).await;
    create_spoke_role(&spoke, &spoke_role(Function::Provisioner), HUB).await;
    let id = unique_id("fleet-prov");
    let subnets = format!("{id}-subnets");
    aws_sdk_rds::Client::new(&spoke)
        .create_db_subnet_group()
        .db_subnet_group_name(&subnets)
        .db_subnet_group_description("acu-pilot tests")
        .subnet_ids("subnet-00000001")
        .subnet_ids("subnet-00000002")
        .send()
        .await
        .expect("a subnet group in the spoke");
    let config = Config {
        spoke_role: Some(spoke_role(Function::Provisioner)),
        ..Config::default()
    };
    let (deps, calls) = hub_deps(hub.clone(), config);
    // As the request bus delivers it: the envelope names the sender's (the hub's)
    // account, the request the spoke.
    let request = json!({
        "version": "0", "id": unique_id("req"), "source": "acu-pilot",
        "detail-type": "Provision Cluster", "account": HUB, "region": REGION,
        "time": NOW, "resources": [],
        "detail": {"cluster_id": id, "account": SPOKES[0], "region": REGION,
                   "readers": 0, "db_subnet_group": subnets, "security_group_ids": ["sg-00000001"]},
    });

    let out = handle(Function::Provisioner, request, at(NOW), &deps)
        .await
        .unwrap_or_else(|e| panic!("provision in the spoke: {e}"));

    assert_eq!(out["status"], "complete", "{out:#}");
    assert_eq!(calls.count("AssumeRole"), 1, "{:?}", calls.counts());
    let tags = cluster_tags_in(&spoke, &id).await;
    assert_eq!(tags["acu-pilot:managed"], "true", "{tags:?}");
    assert!(tags.contains_key("acu-pilot:created-by"), "{tags:?}");
    let in_hub = aws_sdk_rds::Client::new(&hub)
        .describe_db_clusters()
        .db_cluster_identifier(&id)
        .send()
        .await;
    assert!(in_hub.is_err(), "nothing is created in the hub");

    // A request naming another account with no spoke role configured is refused, naming
    // it, before any call there.
    let (deps, calls) = hub_deps(hub, Config::default());
    let refused = handle(
        Function::Provisioner,
        json!({"action": "decommission", "cluster_id": id, "account": SPOKES[0]}),
        at(NOW),
        &deps,
    )
    .await
    .expect_err("no spoke role, no other account");
    assert!(refused.to_string().contains(SPOKES[0]), "{refused}");
    assert_eq!(calls.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn plan_shows_the_clusters_by_account_and_region() {
    let fleet = Fleet::new("fleet-plan").await;
    for spoke in &fleet.spokes {
        create_spoke_role(spoke, &spoke_role(Function::PreScaler), HUB).await;
    }
    let targets = targets_parameter(&fleet.hub, &fleet.id, &[HUB, SPOKES[0], SPOKES[1]]).await;
    let env = [
        ("AWS_ACCESS_KEY_ID", HUB),
        ("ACU_PILOT_TARGETS_PARAMETER", targets.as_str()),
        ("ACU_PILOT_SPOKE_ROLE", "acu-pilot-spoke-pre-scaler"),
    ];

    let (ok, out, err) = cli_with_env(
        &["plan", "--cluster", &fleet.id, "--now", NOW, "--json"],
        &env,
    );

    assert!(ok, "{err}");
    let plan: Value = serde_json::from_str(&out).expect("JSON");
    let places: Vec<(String, String)> = plan["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .map(|c| {
            assert_eq!(c["cluster"], fleet.id.as_str());
            (
                c["account"].as_str().unwrap().to_owned(),
                c["region"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [HUB, SPOKES[0], SPOKES[1]]
        .iter()
        .map(|a| (a.to_string(), REGION.to_owned()))
        .collect();
    assert_eq!(places, expected, "{plan:#}");

    let (ok, text, err) = cli_with_env(&["plan", "--now", NOW], &env);
    assert!(ok, "{err}");
    for account in [HUB, SPOKES[0], SPOKES[1]] {
        assert!(
            text.contains(&format!("== account {account}, {REGION}")),
            "{text}"
        );
    }
    // The spoke's unmanaged cluster is not listed: plan reads what the sweeps would.
    assert!(!text.contains(&fleet.unmanaged), "{text}");
}

#[tokio::test]
async fn deployed_the_janitors_tick_queues_each_target_and_the_queue_sweeps_it() {
    // template.yaml with TargetsParameter in the emulator's CloudFormation: the functions
    // run with the emulator's default account as the hub, the queue's event source mapping
    // invokes the janitor once per target.
    let stack = unique_id("acu-pilot-fleet");
    let hub = sdk_config().await;
    let spoke = account_sdk_config(SPOKES[1]).await;
    create_spoke_role(&spoke, &spoke_role(Function::Janitor), HUB_ACCOUNT).await;
    let targets = targets_parameter(&hub, &stack, &[HUB_ACCOUNT, SPOKES[1]]).await;
    let deployed = acu_pilot_tests::deploy::deploy(
        &stack,
        &[
            &format!("TargetsParameter={targets}"),
            "SpokeRoleName=acu-pilot-spoke",
            "RequestSenders=",
        ],
    );
    let id = unique_id("fleet-deployed");
    for sdk in [&hub, &spoke] {
        create_managed_in(sdk, &id, 0.5, 24.0, &[("acu-pilot:boost", EXPIRED_BOOST)]).await;
    }
    let lambda = acu_pilot_tests::deploy::lambda().await;

    let tick = json!({"id": unique_id("tick"), "detail-type": "Scheduled Event", "clusters": [id]});
    let out = acu_pilot_tests::deploy::invoke(&lambda, deployed.function("janitor"), &tick)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let out = out.result("janitor").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out["queued"], 2, "{out:#}");

    // Each target's sweep runs in its own invocation, when the queue delivers it.
    let mut ranges = Vec::new();
    for _ in 0..60 {
        ranges = vec![
            live_range_in(&hub, &id).await,
            live_range_in(&spoke, &id).await,
        ];
        if ranges.iter().all(|r| *r == (0.5, 16.0)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    assert_eq!(
        ranges,
        vec![(0.5, 16.0); 2],
        "both targets swept from the queue"
    );
}
