//! Error paths the emulator cannot produce, on the real SDK clients with `aws-smithy-mocks`:
//! a cluster that is not available, throttling, and PutEvents' partial failure.

use std::time::Duration;

use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_sdk_rds::operation::describe_db_clusters::DescribeDbClustersOutput;
use aws_sdk_rds::types::{DbCluster, ServerlessV2ScalingConfigurationInfo};
use aws_smithy_mocks::{RuleMode, mock, mock_client};

use acu_pilot_core::capacity::CapacityRange;
use acu_pilot_core::error::Error;
use acu_pilot_ports::{Clusters, Notifier};

use acu_pilot_aws::{EventBridgeNotifier, RdsClusters};

/// The awsQuery error body RDS sends.
fn rds_error(code: &str, message: &str) -> String {
    format!(
        r#"<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>7c2e0b1a</RequestId></ErrorResponse>"#
    )
}

fn cluster() -> DbCluster {
    DbCluster::builder()
        .db_cluster_identifier("shop-db")
        .db_cluster_arn("arn:aws:rds:us-east-1:123456789012:cluster:shop-db")
        .status("available")
        .engine("aurora-mysql")
        .engine_version("8.0.mysql_aurora.3.09.0")
        .serverless_v2_scaling_configuration(
            ServerlessV2ScalingConfigurationInfo::builder()
                .min_capacity(0.5)
                .max_capacity(16.0)
                .build(),
        )
        .build()
}

fn range(min: f64, max: f64) -> CapacityRange {
    CapacityRange::from_f64(min, max).unwrap()
}

#[tokio::test]
async fn a_cluster_that_is_not_available_is_a_retryable_error() {
    let rule = mock!(aws_sdk_rds::Client::modify_db_cluster)
        .sequence()
        .http_status(
            400,
            Some(rds_error(
                "InvalidDBClusterStateFault",
                "DbCluster shop-db is not currently in the available state.",
            )),
        )
        .build();
    let client = mock_client!(aws_sdk_rds, RuleMode::Sequential, &[&rule]);
    let err = RdsClusters::new(client)
        .modify_range("shop-db", range(0.5, 24.0))
        .await
        .expect_err("the fault is an error");
    assert_eq!(err.aws_code(), Some("InvalidDBClusterStateFault"));
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(err.error_type(), "Retryable");
    assert!(err.to_string().contains("ModifyDBCluster"), "{err}");
    assert!(
        err.to_string()
            .contains("not currently in the available state")
    );
    let diagnostic = acu_pilot_lambda::diagnostic(err);
    assert_eq!(diagnostic.error_type, "Retryable");
    assert_eq!(
        rule.num_calls(),
        1,
        "a state fault is not retried by the SDK"
    );
}

#[tokio::test]
async fn throttling_and_unavailability_are_retried_until_success() {
    let rule = mock!(aws_sdk_rds::Client::describe_db_clusters)
        .sequence()
        .http_status(503, None)
        .http_status(429, Some(rds_error("Throttling", "Rate exceeded")))
        .output(|| {
            DescribeDbClustersOutput::builder()
                .db_clusters(cluster())
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_rds, RuleMode::Sequential, &[&rule], |c| {
        c.retry_config(
            aws_sdk_rds::config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1)),
        )
    });
    let cluster = RdsClusters::new(client)
        .describe("shop-db")
        .await
        .expect("succeeds after two retries");
    assert_eq!(cluster.range, Some(range(0.5, 16.0)));
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn throttling_past_the_retries_is_a_retryable_error() {
    let rule = mock!(aws_sdk_rds::Client::modify_db_cluster)
        .sequence()
        .http_status(400, Some(rds_error("Throttling", "Rate exceeded")))
        .times(2)
        .build();
    let client = mock_client!(aws_sdk_rds, RuleMode::Sequential, &[&rule], |c| {
        c.retry_config(
            aws_sdk_rds::config::retry::RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(1)),
        )
    });
    let err = RdsClusters::new(client)
        .modify_range("shop-db", range(0.5, 24.0))
        .await
        .expect_err("retries exhausted");
    assert_eq!(err.aws_code(), Some("Throttling"));
    assert_eq!(err.error_type(), "Retryable");
    assert_eq!(rule.num_calls(), 2);
}

fn failed_entry(code: &'static str) -> PutEventsOutput {
    PutEventsOutput::builder()
        .failed_entry_count(1)
        .entries(
            PutEventsResultEntry::builder()
                .error_code(code)
                .error_message("the entry was not accepted")
                .build(),
        )
        .build()
}

#[tokio::test]
async fn put_events_with_a_failed_entry_is_an_error() {
    for (code, retryable) in [("InternalFailure", true), ("MalformedDetail", false)] {
        let rule =
            mock!(aws_sdk_eventbridge::Client::put_events).then_output(move || failed_entry(code));
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, &[&rule]);
        let err = EventBridgeNotifier::new(client, "default".into())
            .publish(
                "Capacity Changed",
                &serde_json::json!({"cluster": "shop-db"}),
            )
            .await
            .expect_err("HTTP 200 with FailedEntryCount 1 is still a failure");
        assert!(
            matches!(
                &err,
                Error::Aws {
                    operation: "PutEvents",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.aws_code(), Some(code));
        assert_eq!(err.is_retryable(), retryable, "{code}");
    }
}

#[tokio::test]
async fn put_events_with_no_failed_entry_succeeds() {
    let rule = mock!(aws_sdk_eventbridge::Client::put_events).then_output(|| {
        PutEventsOutput::builder()
            .failed_entry_count(0)
            .entries(PutEventsResultEntry::builder().event_id("e-1").build())
            .build()
    });
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, &[&rule]);
    EventBridgeNotifier::new(client, "default".into())
        .publish("Capacity Changed", &serde_json::json!({}))
        .await
        .expect("published");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn the_handler_keeps_the_intent_in_the_tag_when_the_cluster_cannot_be_modified() {
    use aws_sdk_rds::operation::add_tags_to_resource::AddTagsToResourceOutput;
    use aws_sdk_rds::types::Tag;

    let tagged = || {
        let mut c = cluster();
        c.tag_list = Some(vec![
            Tag::builder()
                .key("acu-pilot:managed")
                .value("true")
                .build(),
            Tag::builder()
                .key("acu-pilot:baseline")
                .value("min=0.5 max=16")
                .build(),
        ]);
        c
    };
    let describe = mock!(aws_sdk_rds::Client::describe_db_clusters).then_output(move || {
        DescribeDbClustersOutput::builder()
            .db_clusters(tagged())
            .build()
    });
    let tag = mock!(aws_sdk_rds::Client::add_tags_to_resource)
        .then_output(|| AddTagsToResourceOutput::builder().build());
    let modify = mock!(aws_sdk_rds::Client::modify_db_cluster)
        .sequence()
        .http_status(
            400,
            Some(rds_error("InvalidDBClusterStateFault", "backing-up")),
        )
        .build();
    let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, &[&describe, &tag, &modify]);
    let no_alarms = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[]);
    let no_events = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, &[]);

    // The event says its role and is not about an absolute threshold: no CloudWatch call.
    let event: serde_json::Value = serde_json::from_str(include_str!(
        "../../tests/fixtures/alarm-eventbridge-with-tags.json"
    ))
    .unwrap();
    let err = acu_pilot_app::alarm_handler::run(
        &RdsClusters::new(rds),
        &EventBridgeNotifier::new(no_events, "default".into()),
        &acu_pilot_aws::CloudWatchAlarms::new(no_alarms),
        &acu_pilot_core::config::Config::default(),
        &event,
        chrono::DateTime::parse_from_rfc3339("2026-11-25T18:31:00Z")
            .unwrap()
            .into(),
    )
    .await
    .expect_err("the modify fails");
    assert_eq!(err.error_type(), "Retryable", "{err:?}");
    assert_eq!(describe.num_calls(), 1);
    assert_eq!(
        tag.num_calls(),
        1,
        "the boost layer is written before the modify"
    );
    assert_eq!(modify.num_calls(), 1);
}
