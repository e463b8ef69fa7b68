//! A frozen endpoint (a loopback listener that accepts and never answers) makes an SDK
//! call fail with a retryable error within the configured bounds, never hang; and the
//! production bounds sit below every Lambda timeout in template.yaml.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use acu_pilot_aws::{RdsClusters, SDK_TIMEOUTS, SdkTimeouts, sdk_config_loader};
use acu_pilot_core::error::Error;
use acu_pilot_ports::Clusters;
use aws_config::Region;
use aws_sdk_rds::config::Credentials;

/// Accepts connections and keeps them open without ever writing a byte.
fn frozen_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_frozen_endpoint_fails_retryable_within_the_operation_timeout() {
    // The production bounds scaled down tenfold, so the test takes ~1.5 s, not 15 s; the
    // code path is the same loader the functions use.
    let scaled = SdkTimeouts {
        connect: SDK_TIMEOUTS.connect / 10,
        attempt: SDK_TIMEOUTS.attempt / 10,
        operation: SDK_TIMEOUTS.operation / 10,
    };
    let sdk = sdk_config_loader(&scaled)
        .endpoint_url(frozen_endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .load()
        .await;
    let clusters = RdsClusters::new(aws_sdk_rds::Client::new(&sdk));
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(30), clusters.list_managed()).await;
    let elapsed = started.elapsed();
    let err = outcome
        .expect("the call hung past 30 s: no SDK timeout")
        .expect_err("a frozen endpoint cannot answer");
    assert!(
        matches!(
            err,
            Error::Aws {
                retryable: true,
                ..
            }
        ),
        "not a retryable AWS error: {err:?}"
    );
    assert!(
        elapsed <= scaled.operation + Duration::from_secs(2),
        "took {elapsed:?}, operation timeout {:?}",
        scaled.operation
    );
}

#[test]
fn the_sdk_timeouts_are_below_every_lambda_timeout() {
    let template = include_str!("../../template.yaml");
    let lambda_timeouts: Vec<u64> = template
        .lines()
        .filter_map(|line| line.trim().strip_prefix("Timeout:"))
        .filter_map(|value| value.trim().parse().ok())
        .collect();
    assert!(lambda_timeouts.len() >= 4, "{lambda_timeouts:?}");
    let shortest = Duration::from_secs(*lambda_timeouts.iter().min().unwrap());
    assert!(SDK_TIMEOUTS.connect < SDK_TIMEOUTS.attempt);
    assert!(SDK_TIMEOUTS.attempt < SDK_TIMEOUTS.operation);
    // Half the shortest Lambda timeout: the handler still has time to map the error,
    // log it and return it to the on-failure destination.
    assert!(
        SDK_TIMEOUTS.operation * 2 <= shortest,
        "operation timeout {:?} vs shortest Lambda timeout {shortest:?}",
        SDK_TIMEOUTS.operation
    );
}
