//! The AWS SDK adapters behind the [ports](acu_pilot_ports). Thin on purpose: they translate
//! between SDK shapes and ours and keep the SDK's error codes; all decisions live elsewhere.

pub mod calendar_source;
pub mod cloudwatch;
pub mod cloudwatch_metrics;
pub mod cluster_ids;
pub mod error;
pub mod eventbridge;
pub mod fleet;
pub mod provisioning;
pub mod rds;
pub mod recorder;
pub mod spoke;

use std::time::Duration;

use aws_config::BehaviorVersion;
pub use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;

pub use calendar_source::ConfiguredCalendar;
pub use cloudwatch::CloudWatchAlarms;
pub use cloudwatch_metrics::CloudWatchMetrics;
pub use eventbridge::EventBridgeNotifier;
pub use provisioning::RdsProvisioning;
pub use rds::RdsClusters;
pub use recorder::CallRecorder;

use acu_pilot_core::config::Config;
use acu_pilot_core::error::{Error, Result};
use acu_pilot_core::ownership::OwnershipKey;

/// Every adapter a function may need, built once at start-up from one SDK config.
/// The SDK resolves its endpoint the standard way, so `AWS_ENDPOINT_URL` points all of
/// them at the local emulator with no code path of ours knowing.
#[derive(Clone, Debug)]
pub struct Aws {
    pub clusters: RdsClusters,
    pub notifier: EventBridgeNotifier,
    pub alarms: CloudWatchAlarms,
    pub metrics: CloudWatchMetrics,
    pub calendar: ConfiguredCalendar,
    pub provisioning: RdsProvisioning,
    pub ssm: aws_sdk_ssm::Client,
    /// See [`Aws::ownership_key`]. Behind an `Arc` so that a fleet's targets, built from
    /// the hub's adapters, share the one read.
    ownership: std::sync::Arc<tokio::sync::OnceCell<Option<OwnershipKey>>>,
    /// What [`Aws::for_origin`] builds another account's or region's adapters from.
    sdk: SdkConfig,
    recorder: Option<CallRecorder>,
    sts: aws_sdk_sts::Client,
    /// The account of the function's own credentials, once asked (a fleet's targets ask
    /// at once: one of them calls, the others wait for its answer).
    home_account: std::sync::Arc<tokio::sync::OnceCell<String>>,
    /// The tick's fan-out queue and the OU listing, in the hub ([`fleet`]): built on first
    /// use, so that only the functions that fan out (the pre-scaler and the janitor) link
    /// these two SDK clients — each costs a bootstrap about 150 KB of its 6 MB budget.
    sqs: std::sync::Arc<std::sync::OnceLock<aws_sdk_sqs::Client>>,
    organizations: std::sync::Arc<std::sync::OnceLock<aws_sdk_organizations::Client>>,
    /// What these adapters were built with: the targets, the spoke role.
    config: std::sync::Arc<Config>,
}

impl Aws {
    pub async fn from_env(config: &Config) -> Self {
        Self::from_sdk_config(load_sdk_config().await, config)
    }

    pub fn from_sdk_config(sdk: SdkConfig, config: &Config) -> Self {
        Self::build(sdk, config, None)
    }

    /// As [`Aws::from_sdk_config`], with every request also recorded by `recorder`.
    pub fn recorded(sdk: SdkConfig, config: &Config, recorder: &CallRecorder) -> Self {
        Self::build(sdk, config, Some(recorder))
    }

    fn build(sdk: SdkConfig, config: &Config, recorder: Option<&CallRecorder>) -> Self {
        let mut rds = aws_sdk_rds::config::Builder::from(&sdk);
        let mut events = aws_sdk_eventbridge::config::Builder::from(&sdk);
        let mut cloudwatch = aws_sdk_cloudwatch::config::Builder::from(&sdk);
        let mut ssm = aws_sdk_ssm::config::Builder::from(&sdk);
        let mut sts = aws_sdk_sts::config::Builder::from(&sdk);
        if let Some(recorder) = recorder {
            sts = sts.interceptor(recorder.clone());
            rds = rds.interceptor(recorder.clone());
            events = events.interceptor(recorder.clone());
            cloudwatch = cloudwatch.interceptor(recorder.clone());
            ssm = ssm.interceptor(recorder.clone());
        }
        // One CloudWatch client, shared: the alarms and the metric history use the same API.
        let cloudwatch = aws_sdk_cloudwatch::Client::from_conf(cloudwatch.build());
        let rds = aws_sdk_rds::Client::from_conf(rds.build());
        let ssm = aws_sdk_ssm::Client::from_conf(ssm.build());
        Aws {
            provisioning: RdsProvisioning::new(rds.clone()),
            clusters: RdsClusters::new(rds).with_auto_pause_delay(config.auto_pause_delay),
            notifier: EventBridgeNotifier::new(
                aws_sdk_eventbridge::Client::from_conf(events.build()),
                config.event_bus.clone(),
            ),
            alarms: CloudWatchAlarms::new(cloudwatch.clone()),
            metrics: CloudWatchMetrics::new(cloudwatch),
            calendar: ConfiguredCalendar::from_config(&config.prescale, ssm.clone()),
            ssm,
            ownership: Default::default(),
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            sqs: Default::default(),
            organizations: Default::default(),
            config: std::sync::Arc::new(config.clone()),
            sdk,
            recorder: recorder.cloned(),
            home_account: Default::default(),
        }
    }
}

impl Aws {
    /// The key of acu-pilot's proof of creation, from the parameter the configuration
    /// names; `None` when it names none. Read on first use, not at start-up: the GetParameter
    /// round trip would otherwise come before the function's first poll of the Runtime API
    /// (the start-up budget is 30 ms), and the alarm-handler and the pre-scaler never need
    /// the key at all. Once read, the key is kept for the life of the process; a failed
    /// read is not kept, so the next invocation tries again. A parameter that is named but
    /// unreadable fails the invocation that needs it, with an error naming the parameter.
    pub async fn ownership_key(&self) -> Result<Option<&OwnershipKey>> {
        let name = self.config.ownership_key_parameter.as_deref();
        let key = self
            .ownership
            .get_or_try_init(|| read_ownership_key(&self.ssm, name))
            .await
            .inspect_err(|err| {
                tracing::error!(parameter = name, error = %err, "ownership key unreadable");
            })?;
        Ok(key.as_ref())
    }

    /// Uses `key` as the ownership key instead of reading the configured parameter (tests
    /// and benchmarks that build their adapters without one).
    pub fn set_ownership_key(&mut self, key: Option<OwnershipKey>) {
        self.ownership = std::sync::Arc::new(tokio::sync::OnceCell::new_with(Some(key)));
    }
}

/// One SSM parameter's value, decrypted (a SecureString reads as its plain text); `None`
/// when it has none. The callers name the failure: which parameter, for what.
pub(crate) async fn read_parameter_value(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
) -> std::result::Result<
    Option<String>,
    aws_sdk_ssm::error::SdkError<aws_sdk_ssm::operation::get_parameter::GetParameterError>,
> {
    let out = ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await?;
    Ok(out.parameter().and_then(|p| p.value()).map(str::to_owned))
}

/// Reads the ownership key from the SSM parameter `name` ([`Aws::ownership_key`]).
async fn read_ownership_key(
    ssm: &aws_sdk_ssm::Client,
    name: Option<&str>,
) -> Result<Option<OwnershipKey>> {
    const VARIABLE: &str = "ACU_PILOT_OWNERSHIP_KEY_PARAMETER";
    let Some(name) = name else {
        return Ok(None);
    };
    let secret = read_parameter_value(ssm, name)
        .await
        .map_err(|e| {
            error::sdk_error("GetParameter", e).about(format_args!(
                "the ownership key's parameter {name} ({VARIABLE})"
            ))
        })?
        .ok_or_else(|| Error::Config {
            variable: VARIABLE.into(),
            message: format!("parameter {name} has no value"),
        })?;
    let key = OwnershipKey::from_secret(&secret).map_err(|message| Error::Config {
        variable: VARIABLE.into(),
        message: format!("parameter {name}: {message}"),
    })?;
    Ok(Some(key))
}

impl acu_pilot_ports::Ports for Aws {
    type Clusters = RdsClusters;
    type Alarms = CloudWatchAlarms;
    type Notifier = EventBridgeNotifier;
    type Metrics = CloudWatchMetrics;
    type Calendar = ConfiguredCalendar;
    type Provisioning = RdsProvisioning;

    fn clusters(&self) -> &RdsClusters {
        &self.clusters
    }
    fn alarms(&self) -> &CloudWatchAlarms {
        &self.alarms
    }
    fn notifier(&self) -> &EventBridgeNotifier {
        &self.notifier
    }
    fn metrics(&self) -> &CloudWatchMetrics {
        &self.metrics
    }
    fn calendar(&self) -> &ConfiguredCalendar {
        &self.calendar
    }
    fn provisioning(&self) -> &RdsProvisioning {
        &self.provisioning
    }
    async fn ownership(&self) -> Result<Option<&OwnershipKey>> {
        self.ownership_key().await
    }
}

/// How long one SDK call may take before it fails with a retryable error, so a frozen
/// endpoint ends a function in an error (which its on-failure destination sees), never in
/// a Lambda timeout. Each bound is below the shortest Lambda `Timeout` in template.yaml
/// (the alarm-handler's 30 s; see docs/deploy.md, "Timeouts"): a stalled call fails after at most
/// `operation`, leaving the handler time to report it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SdkTimeouts {
    /// Establishing the TCP (and TLS) connection.
    pub connect: Duration,
    /// One attempt, from sending the request to reading the whole response.
    pub attempt: Duration,
    /// The whole operation, every retry included.
    pub operation: Duration,
}

/// The bounds every function and the CLI use.
pub const SDK_TIMEOUTS: SdkTimeouts = SdkTimeouts {
    connect: Duration::from_secs(2),
    attempt: Duration::from_secs(6),
    operation: Duration::from_secs(15),
};

impl SdkTimeouts {
    pub fn config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .read_timeout(self.attempt)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }
}

/// The standard SDK configuration chain: region, credentials and `AWS_ENDPOINT_URL`, over
/// an HTTPS client on rustls with ring (see the workspace Cargo.toml for why not aws-lc),
/// with `timeouts` on every call.
pub fn sdk_config_loader(timeouts: &SdkTimeouts) -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(timeouts.config())
}

/// [`sdk_config_loader`] with [`SDK_TIMEOUTS`].
pub async fn load_sdk_config() -> SdkConfig {
    sdk_config_loader(&SDK_TIMEOUTS).load().await
}

/// The HTTP(S) client every SDK client of ours uses, including the credential providers.
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}
