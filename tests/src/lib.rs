//! The integration-test bench: SDK clients pointed at the local AWS emulator, a call
//! recorder, and helpers to set clusters up the way a user's account would have them.
//!
//! `make test` starts the emulator and exports `AWS_ENDPOINT_URL`. Run on their own
//! (`cargo test -p acu-pilot-tests`), the tests start one themselves with the same
//! `scripts/start-emulator.sh`, so they never silently skip.

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use acu_pilot_aws::{Aws, CallRecorder, SdkConfig};
use acu_pilot_core::config::Config;
use aws_sdk_rds::types::{ServerlessV2ScalingConfiguration, Tag};
use chrono::{DateTime, Utc};

pub mod bench;
pub mod deploy;
pub mod race;

pub(crate) fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repo")
        .to_path_buf()
}

/// The emulator's endpoint: the one `make test` started, or one started for this test
/// process, stopped by a watchdog when the process ends.
pub fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        if let Ok(url) = std::env::var("AWS_ENDPOINT_URL") {
            return url;
        }
        start_own_emulator()
    })
}

/// Starts an emulator the way `scripts/with-emulator.sh` does (the same script), watched
/// by this test process: it stops when the process ends. Fails loudly, with the
/// emulator's log, when the emulator does not come up.
fn start_own_emulator() -> String {
    let state =
        std::env::temp_dir().join(format!("acu-pilot-test-emulator-{}", std::process::id()));
    let output = Command::new(repo_root().join("scripts/start-emulator.sh"))
        .arg(&state)
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/start-emulator.sh");
    assert!(
        output.status.success(),
        "the emulator did not start (see above)"
    );
    String::from_utf8(output.stdout)
        .expect("the endpoint is text")
        .trim()
        .to_owned()
}

const OWNERSHIP_SECRET: &str = "acu-pilot-tests-ownership-key-0123456789abcdef";

/// The ownership key the tests' deployment would read from its secret.
pub fn ownership_key() -> acu_pilot_core::ownership::OwnershipKey {
    acu_pilot_core::ownership::OwnershipKey::from_secret(OWNERSHIP_SECRET)
        .expect("a long enough key")
}

/// An SSM SecureString parameter holding [`ownership_key`]'s secret, for the CLI and the
/// deployed functions (`ACU_PILOT_OWNERSHIP_KEY_PARAMETER`).
pub async fn ownership_key_parameter() -> &'static str {
    const NAME: &str = "/acu-pilot-tests/ownership-key";
    ssm()
        .await
        .put_parameter()
        .name(NAME)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .value(OWNERSHIP_SECRET)
        .overwrite(true)
        .send()
        .await
        .expect("put the ownership key parameter");
    NAME
}

/// Tags a cluster with acu-pilot's proof that it created it, as the provisioner does
/// right after CreateDBCluster.
pub async fn prove_created(id: &str) {
    use acu_pilot_core::ownership::{CREATED_BY, Resource};
    let rds = rds().await;
    let out = rds
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send()
        .await
        .expect("describe");
    let cluster = &out.db_clusters()[0];
    let proof = ownership_key().proof(Resource::Cluster(
        cluster.db_cluster_resource_id().expect("a resource id"),
    ));
    rds.add_tags_to_resource()
        .resource_name(cluster.db_cluster_arn().expect("an arn"))
        .tags(Tag::builder().key(CREATED_BY).value(proof).build())
        .send()
        .await
        .expect("tag the proof");
}

/// SDK config for the emulator with dummy credentials: the emulator's default account,
/// the hub's in the multi-account tests ([`HUB_ACCOUNT`]).
pub async fn sdk_config() -> SdkConfig {
    sdk_config_as("test").await
}

/// The account the emulator gives the dummy credentials of [`sdk_config`].
pub const HUB_ACCOUNT: &str = "000000000000";

/// SDK config for the emulator acting in `account`: there a 12-digit access key id *is*
/// the account, and each account keeps its own clusters, alarms and roles.
pub async fn account_sdk_config(account: &str) -> SdkConfig {
    assert!(
        account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()),
        "{account}: an account id has 12 digits"
    );
    sdk_config_as(account).await
}

async fn sdk_config_as(access_key_id: &str) -> SdkConfig {
    let endpoint = endpoint();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(acu_pilot_aws::https_client())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_rds::config::Credentials::new(
            access_key_id,
            "test",
            None,
            None,
            "acu-pilot-tests",
        ))
        .load()
        .await
}

/// Creates, in the account of `sdk`, the spoke role `name` that trusts `hub_account`, as
/// spoke.yaml does (its conditions aside: the emulator does not evaluate trust policies).
/// Tests share one emulator, so a role another test already created is kept.
pub async fn create_spoke_role(sdk: &SdkConfig, name: &str, hub_account: &str) {
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{hub_account}:root")},
            "Action": "sts:AssumeRole"
        }]
    });
    let out = aws_sdk_iam::Client::new(sdk)
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await;
    if let Err(err) = out {
        let exists = err
            .as_service_error()
            .is_some_and(|e| e.is_entity_already_exists_exception());
        assert!(exists, "create the spoke role {name}: {err:?}");
    }
}

/// The account `sdk`'s credentials act in, as STS tells it.
pub async fn caller_account(sdk: &SdkConfig) -> String {
    aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity")
        .account()
        .expect("an account")
        .to_owned()
}

/// The adapters as the functions build them, with every request recorded.
pub async fn recorded_aws(config: &Config) -> (Aws, CallRecorder) {
    let recorder = CallRecorder::default();
    let mut aws = Aws::recorded(sdk_config().await, config, &recorder);
    // As the functions read it at start-up from the stack's secret.
    aws.ownership = Some(ownership_key());
    (aws, recorder)
}

pub async fn rds() -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::new(&sdk_config().await)
}

pub async fn cloudwatch() -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&sdk_config().await)
}

pub async fn ssm() -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&sdk_config().await)
}

/// The path of the repo's `tests/fixtures/<name>`.
pub fn fixture_path(name: &str) -> std::path::PathBuf {
    repo_root().join("tests/fixtures").join(name)
}

/// Puts `ServerlessDatabaseCapacity` samples for a cluster, as Aurora would publish them,
/// in batches of at most 500 (PutMetricData's limit is 1,000 per request).
pub async fn put_capacity_history(cluster_id: &str, samples: &[(DateTime<Utc>, f64)]) {
    put_cluster_metric(cluster_id, "ServerlessDatabaseCapacity", samples).await;
}

/// Puts samples of one `AWS/RDS` metric on the cluster-wide dimension, in batches of at
/// most 500 (PutMetricData's limit is 1,000 per request).
pub async fn put_cluster_metric(cluster_id: &str, metric: &str, samples: &[(DateTime<Utc>, f64)]) {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
    let unit = if metric == "ServerlessDatabaseCapacity" {
        StandardUnit::Count
    } else {
        StandardUnit::Percent
    };
    let cw = cloudwatch().await;
    for batch in samples.chunks(500) {
        let data = batch
            .iter()
            .map(|(t, v)| {
                MetricDatum::builder()
                    .metric_name(metric)
                    .dimensions(
                        Dimension::builder()
                            .name("DBClusterIdentifier")
                            .value(cluster_id)
                            .build(),
                    )
                    .timestamp(aws_smithy_types::DateTime::from_secs(t.timestamp()))
                    .value(*v)
                    .unit(unit.clone())
                    .build()
            })
            .collect();
        cw.put_metric_data()
            .namespace("AWS/RDS")
            .set_metric_data(Some(data))
            .send()
            .await
            .expect("put metric data");
    }
}

/// A cluster id no other test in this run uses (tests share one emulator).
pub fn unique_id(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates an Aurora MySQL Serverless v2 cluster with a writer, as a user's would be.
pub async fn create_cluster(id: &str, min: f64, max: f64, tags: &[(&str, &str)]) -> String {
    create_cluster_in(&sdk_config().await, id, min, max, tags).await
}

/// The Aurora MySQL version test clusters run: one that can auto-pause (min 0).
pub const PAUSING_VERSION: &str = "8.0.mysql_aurora.3.09.0";
/// An Aurora MySQL version that cannot auto-pause.
pub const NON_PAUSING_VERSION: &str = "8.0.mysql_aurora.3.04.4";

/// [`create_cluster`] in the account of `sdk`.
pub async fn create_cluster_in(
    sdk: &SdkConfig,
    id: &str,
    min: f64,
    max: f64,
    tags: &[(&str, &str)],
) -> String {
    create_cluster_version_in(sdk, id, PAUSING_VERSION, min, max, tags).await
}

/// [`create_cluster_in`] on Aurora MySQL `version`.
pub async fn create_cluster_version_in(
    sdk: &SdkConfig,
    id: &str,
    version: &str,
    min: f64,
    max: f64,
    tags: &[(&str, &str)],
) -> String {
    let rds = aws_sdk_rds::Client::new(sdk);
    let out = rds
        .create_db_cluster()
        .db_cluster_identifier(id)
        .engine("aurora-mysql")
        .engine_version(version)
        .master_username("admin")
        .manage_master_user_password(true)
        .serverless_v2_scaling_configuration(
            ServerlessV2ScalingConfiguration::builder()
                .min_capacity(min)
                .max_capacity(max)
                .build(),
        )
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                .collect(),
        ))
        .send()
        .await
        .expect("create cluster");
    rds.create_db_instance()
        .db_instance_identifier(format!("{id}-writer"))
        .db_cluster_identifier(id)
        .db_instance_class("db.serverless")
        .engine("aurora-mysql")
        .send()
        .await
        .expect("create writer");
    out.db_cluster()
        .and_then(|c| c.db_cluster_arn())
        .expect("cluster arn")
        .to_owned()
}

/// Creates cluster `id` on `min..max` as acu-pilot manages one: the owner's managed tag, a
/// baseline (`min=0.5 max=16` unless `extra` brings its own) and the `extra` tags.
pub async fn create_managed(id: &str, min: f64, max: f64, extra: &[(&str, &str)]) -> String {
    create_managed_in(&sdk_config().await, id, min, max, extra).await
}

/// [`create_managed`] in the account of `sdk`.
pub async fn create_managed_in(
    sdk: &SdkConfig,
    id: &str,
    min: f64,
    max: f64,
    extra: &[(&str, &str)],
) -> String {
    let mut tags = vec![("acu-pilot:managed", "true")];
    if !extra.iter().any(|(key, _)| *key == "acu-pilot:baseline") {
        tags.push(("acu-pilot:baseline", "min=0.5 max=16"));
    }
    tags.extend_from_slice(extra);
    create_cluster_in(sdk, id, min, max, &tags).await
}

/// [`create_managed`] under a fresh id made from `prefix`; returns the id.
pub async fn managed_cluster(prefix: &str, min: f64, max: f64, extra: &[(&str, &str)]) -> String {
    let id = unique_id(prefix);
    create_managed(&id, min, max, extra).await;
    id
}

/// The live range of a cluster, as (min, max).
pub async fn live_range(id: &str) -> (f64, f64) {
    live_range_in(&sdk_config().await, id).await
}

/// [`live_range`] in the account of `sdk`.
pub async fn live_range_in(sdk: &SdkConfig, id: &str) -> (f64, f64) {
    let out = aws_sdk_rds::Client::new(sdk)
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send()
        .await
        .expect("describe");
    let scaling = out.db_clusters()[0]
        .serverless_v2_scaling_configuration()
        .expect("serverless v2");
    (
        scaling.min_capacity().unwrap_or_default(),
        scaling.max_capacity().unwrap_or_default(),
    )
}

/// The tags on a cluster.
pub async fn cluster_tags(id: &str) -> std::collections::BTreeMap<String, String> {
    cluster_tags_in(&sdk_config().await, id).await
}

/// [`cluster_tags`] in the account of `sdk`.
pub async fn cluster_tags_in(
    sdk: &SdkConfig,
    id: &str,
) -> std::collections::BTreeMap<String, String> {
    let out = aws_sdk_rds::Client::new(sdk)
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send()
        .await
        .expect("describe");
    out.db_clusters()[0]
        .tag_list()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

pub fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("test instant")
        .with_timezone(&Utc)
}

/// Runs the `acu-pilot` CLI binary against the emulator; returns (status ok, stdout, stderr).
pub fn cli(args: &[&str]) -> (bool, String, String) {
    cli_with_env(args, &[])
}

/// As [`cli`], with extra environment variables (the `ACU_PILOT_*` configuration).
pub fn cli_with_env(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    // Beside this build's own binaries, wherever CARGO_TARGET_DIR put them.
    let bin = std::env::var("ACU_PILOT_BIN")
        .unwrap_or_else(|_| deploy::bin_dir().join("acu-pilot").display().to_string());
    let out = Command::new(bin)
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .envs(env.iter().copied())
        .output()
        .expect("run the acu-pilot CLI (built by `cargo build --workspace`)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An alarm fixture from `tests/fixtures/`, with the cluster id `shop-db` rewritten to `id`
/// (alarm names, dimensions and tags alike).
pub fn fixture(name: &str, id: &str) -> serde_json::Value {
    let path = repo_root().join("tests/fixtures").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
    serde_json::from_str(&text.replace("shop-db", id)).expect("fixture JSON")
}

/// The recipe's two alarms, exactly: High-ACU `ServerlessDatabaseCapacity > 12` over 2 × 300 s,
/// Low-ACU `< 1` over 4 × 900 s.
pub async fn recipe_alarms(id: &str) {
    recipe_alarms_in(&sdk_config().await, id).await
}

/// [`recipe_alarms`] in the account of `sdk`.
pub async fn recipe_alarms_in(sdk: &SdkConfig, id: &str) {
    let cw = aws_sdk_cloudwatch::Client::new(sdk);
    for (name, comparison, threshold, period, periods) in [
        (
            format!("Aurora-{id}-High-ACU"),
            aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold,
            12.0,
            300,
            2,
        ),
        (
            format!("Aurora-{id}-Low-ACU"),
            aws_sdk_cloudwatch::types::ComparisonOperator::LessThanThreshold,
            1.0,
            900,
            4,
        ),
    ] {
        cw.put_metric_alarm()
            .alarm_name(name)
            .namespace("AWS/RDS")
            .metric_name("ServerlessDatabaseCapacity")
            .dimensions(
                aws_sdk_cloudwatch::types::Dimension::builder()
                    .name("DBClusterIdentifier")
                    .value(id)
                    .build(),
            )
            .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
            .period(period)
            .evaluation_periods(periods)
            .threshold(threshold)
            .comparison_operator(comparison)
            .send()
            .await
            .expect("put recipe alarm");
    }
}

/// Puts `yaml` into the SSM String parameter `name`, as a user updates the calendar.
pub async fn put_calendar_parameter(name: &str, yaml: &str) {
    ssm()
        .await
        .put_parameter()
        .name(name)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .value(yaml)
        .overwrite(true)
        .send()
        .await
        .expect("put the calendar parameter");
}

/// The tags the provisioner puts on an alarm it creates for `cluster` (`role`: high|low).
pub fn alarm_ownership_tags(cluster: &str, role: &str) -> Vec<aws_sdk_cloudwatch::types::Tag> {
    [("acu-pilot:cluster", cluster), ("acu-pilot:role", role)]
        .into_iter()
        .map(|(key, value)| {
            aws_sdk_cloudwatch::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
        })
        .collect()
}

/// A metric alarm as CloudWatch describes it, if it exists.
pub async fn find_alarm(name: &str) -> Option<aws_sdk_cloudwatch::types::MetricAlarm> {
    find_alarm_in(&sdk_config().await, name).await
}

/// [`find_alarm`] in the account of `sdk`.
pub async fn find_alarm_in(
    sdk: &SdkConfig,
    name: &str,
) -> Option<aws_sdk_cloudwatch::types::MetricAlarm> {
    aws_sdk_cloudwatch::Client::new(sdk)
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .expect("describe alarms")
        .metric_alarms()
        .first()
        .cloned()
}

/// The tags on an alarm.
pub async fn alarm_tags_of(arn: &str) -> std::collections::BTreeMap<String, String> {
    cloudwatch()
        .await
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .expect("alarm tags")
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Adds `n` Serverless v2 readers (`<id>-reader-<k>`) at promotion tier `tier` to a cluster
/// [`create_cluster`] made, as the recipe's topology has them.
pub async fn add_readers(id: &str, n: u32, tier: i32) -> Vec<String> {
    let rds = rds().await;
    let mut readers = Vec::new();
    for k in 1..=n {
        let reader = format!("{id}-reader-{k}");
        rds.create_db_instance()
            .db_instance_identifier(&reader)
            .db_cluster_identifier(id)
            .db_instance_class("db.serverless")
            .engine("aurora-mysql")
            .promotion_tier(tier)
            .send()
            .await
            .expect("create reader");
        readers.push(reader);
    }
    readers
}

/// One minute of a cluster's capacity as Aurora publishes it to CloudWatch, for a writer
/// at `writer` ACU and each reader at `reader` ACU under max `max`: per instance
/// (`DBInstanceIdentifier`), per role (`DBClusterIdentifier` + `Role`, the role's average),
/// and per cluster (`DBClusterIdentifier` alone, the average over every instance), each as
/// `ServerlessDatabaseCapacity` and `ACUUtilization` (capacity ÷ max, in percent).
pub async fn put_role_metrics(
    id: &str,
    readers: &[String],
    samples: &[(DateTime<Utc>, f64, f64)],
    max: f64,
) {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
    let dim = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    let mut data = Vec::new();
    for &(t, writer, reader) in samples {
        let count = 1.0 + readers.len() as f64;
        let mut series: Vec<(Vec<Dimension>, f64)> = vec![
            (
                vec![dim("DBInstanceIdentifier", &format!("{id}-writer"))],
                writer,
            ),
            (
                vec![dim("DBClusterIdentifier", id), dim("Role", "WRITER")],
                writer,
            ),
            (
                vec![dim("DBClusterIdentifier", id)],
                (writer + reader * readers.len() as f64) / count,
            ),
        ];
        for r in readers {
            series.push((vec![dim("DBInstanceIdentifier", r)], reader));
        }
        if !readers.is_empty() {
            series.push((
                vec![dim("DBClusterIdentifier", id), dim("Role", "READER")],
                reader,
            ));
        }
        for (dimensions, acu) in series {
            for (metric, value, unit) in [
                ("ServerlessDatabaseCapacity", acu, StandardUnit::Count),
                ("ACUUtilization", 100.0 * acu / max, StandardUnit::Percent),
            ] {
                data.push(
                    MetricDatum::builder()
                        .metric_name(metric)
                        .set_dimensions(Some(dimensions.clone()))
                        .timestamp(aws_smithy_types::DateTime::from_secs(t.timestamp()))
                        .value(value)
                        .unit(unit)
                        .build(),
                );
            }
        }
    }
    let cw = cloudwatch().await;
    for batch in data.chunks(500) {
        cw.put_metric_data()
            .namespace("AWS/RDS")
            .set_metric_data(Some(batch.to_vec()))
            .send()
            .await
            .expect("put metric data");
    }
}

/// The datapoints an alarm reads — its namespace, metric, exact dimensions, statistic and
/// period — over `from..to`, oldest first, and whether its last `evaluation_periods` of
/// them all breach its threshold. The emulator's own alarm evaluation ignores dimensions,
/// so this is how a test sees what CloudWatch would decide.
pub async fn alarm_reading(
    alarm: &aws_sdk_cloudwatch::types::MetricAlarm,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (Vec<f64>, bool) {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
    let statistic = alarm.statistic().cloned().unwrap_or(Statistic::Average);
    let out = cloudwatch()
        .await
        .get_metric_statistics()
        .namespace(alarm.namespace().expect("a metric alarm"))
        .metric_name(alarm.metric_name().expect("a metric alarm"))
        .set_dimensions(Some(alarm.dimensions().to_vec()))
        .statistics(statistic.clone())
        .period(alarm.period().unwrap_or(60))
        .start_time(aws_smithy_types::DateTime::from_secs(from.timestamp()))
        .end_time(aws_smithy_types::DateTime::from_secs(to.timestamp()))
        .send()
        .await
        .expect("get metric statistics");
    let mut points: Vec<(i64, f64)> = out
        .datapoints()
        .iter()
        .filter_map(|d| {
            let value = match statistic {
                Statistic::Maximum => d.maximum(),
                Statistic::Minimum => d.minimum(),
                Statistic::Sum => d.sum(),
                _ => d.average(),
            }?;
            Some((d.timestamp()?.secs(), value))
        })
        .collect();
    points.sort_by_key(|(t, _)| *t);
    let values: Vec<f64> = points.into_iter().map(|(_, v)| v).collect();
    let threshold = alarm.threshold().unwrap_or_default();
    let breaches = |v: f64| match alarm.comparison_operator() {
        Some(ComparisonOperator::GreaterThanThreshold) => v > threshold,
        Some(ComparisonOperator::GreaterThanOrEqualToThreshold) => v >= threshold,
        Some(ComparisonOperator::LessThanThreshold) => v < threshold,
        Some(ComparisonOperator::LessThanOrEqualToThreshold) => v <= threshold,
        other => panic!("comparison {other:?} is not a static threshold"),
    };
    let n = alarm.evaluation_periods().unwrap_or(1) as usize;
    let fires = values.len() >= n && values[values.len() - n..].iter().all(|v| breaches(*v));
    (values, fires)
}
