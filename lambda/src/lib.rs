//! The Lambda entry points: what the four function binaries and the CLI's `invoke` share.
//! Set-up happens once per process (telemetry, configuration, the AWS adapters); each
//! invocation parses nothing itself: it hands the event to its service and maps the error
//! to the runtime's diagnostic.

pub mod telemetry;

use std::future::Future;
use std::pin::Pin;

use acu_pilot_aws::Aws;
use acu_pilot_core::config::Config;
use acu_pilot_core::error::{Error, Result};
use chrono::{DateTime, Utc};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

/// The four functions of the application.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Function {
    Provisioner,
    AlarmHandler,
    PreScaler,
    Janitor,
}

impl Function {
    pub const ALL: [Function; 4] = [
        Function::Provisioner,
        Function::AlarmHandler,
        Function::PreScaler,
        Function::Janitor,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::Provisioner => "provisioner",
            Function::AlarmHandler => "alarm-handler",
            Function::PreScaler => "pre-scaler",
            Function::Janitor => "janitor",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// This crate's version: the workspace shares one, so it is every function's.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Which build this is (`build.rs`): `ACU_PILOT_BUILD_ID` at build time, else the git
/// commit of the bootstrap's sources with `-dirty` when they differed from it, else
/// `unknown`.
pub const BUILD_ID: &str = env!("ACU_PILOT_BUILD_ID");

/// What each response carries under `build`, so whoever reads a result can tell which
/// build of which function produced it.
pub fn build_info(function: Function) -> Value {
    serde_json::json!({
        "function": function.name(),
        "version": VERSION,
        "id": BUILD_ID,
    })
}

/// `result` with [`build_info`] under `build`. A result that is not a JSON object is left
/// as it is: nesting it would change its shape for every caller.
pub fn with_build(mut result: Value, function: Function) -> Value {
    if let Value::Object(fields) = &mut result {
        fields.insert("build".to_owned(), build_info(function));
    }
    result
}

/// What a handler needs, built once per process.
#[derive(Clone, Debug)]
pub struct Deps {
    pub config: Config,
    pub aws: Aws,
}

/// The configuration from the process environment, validated once at start-up.
pub fn config_from_env() -> Result<Config> {
    Config::from_lookup(|name| std::env::var(name).ok())
}

/// Runs one invocation of `function` on `event` at `now` (the CLI's `invoke`).
pub async fn handle(
    function: Function,
    event: Value,
    now: DateTime<Utc>,
    deps: &Deps,
) -> Result<Value> {
    let (ports, config) = (&deps.aws, &deps.config);
    // Boxed: each service's future is large, and nesting them all in one future overflows
    // the compiler's layout depth.
    match function {
        Function::AlarmHandler => Box::pin(alarm_handler(event, now, deps)).await,
        // Every target of the fleet: the hub alone unless a targets list is configured.
        Function::Janitor => {
            let sweep = &acu_pilot_app::janitor::JanitorSweep;
            Box::pin(acu_pilot_app::fleet::handle(
                event, now, ports, config, sweep,
            ))
            .await
        }
        Function::PreScaler => {
            let sweep = &acu_pilot_app::prescaler::PreScalerSweep;
            Box::pin(acu_pilot_app::fleet::handle(
                event, now, ports, config, sweep,
            ))
            .await
        }
        Function::Provisioner => Box::pin(provisioner(event, now, deps)).await,
    }
}

/// The alarm-handler in the account and region the alarm is in ([`Aws::for_origin`]): a
/// spoke's alarm through its spoke role, the hub's own with the function's credentials.
pub async fn alarm_handler(event: Value, now: DateTime<Utc>, deps: &Deps) -> Result<Value> {
    let origin = acu_pilot_core::events::origin(&event);
    let aws = deps.aws.for_origin(origin.as_ref(), &deps.config).await?;
    acu_pilot_app::alarm_handler::handle(event, now, aws.as_ref(), &deps.config).await
}

/// The provisioner in the account and region a request names ([`Aws::for_place`]), else
/// the hub's; an RDS lifecycle event in the account it comes from (a spoke forwards its
/// own, with a spoke role configured: [`Aws::for_origin`]).
pub async fn provisioner(mut event: Value, now: DateTime<Utc>, deps: &Deps) -> Result<Value> {
    let place = acu_pilot_core::fleet::take_place(&mut event)?;
    let aws = if place.is_some() {
        deps.aws.for_place(place.as_ref(), &deps.config).await?
    } else if event.get("source").and_then(Value::as_str) == Some("aws.rds") {
        let origin = acu_pilot_core::events::origin(&event);
        deps.aws.for_origin(origin.as_ref(), &deps.config).await?
    } else {
        std::borrow::Cow::Borrowed(&deps.aws)
    };
    acu_pilot_app::provisioner::handle(event, now, aws.as_ref(), &deps.config).await
}

/// One function's handler, as its binary names it. A binary passes only its own service,
/// so it links only that service's code (smaller bootstrap, faster cold start); the CLI's
/// `invoke` goes through [`handle`], which knows all four.
pub type Handler =
    for<'a> fn(Value, DateTime<Utc>, &'a Deps) -> Pin<Box<dyn Future<Output = Result<Value>> + 'a>>;

/// The runtime's view of an error: the stable `errorType` operators filter logs and DLQs
/// by, and the message.
pub fn diagnostic(err: Error) -> Diagnostic {
    Diagnostic {
        error_type: err.error_type().to_owned(),
        error_message: err.to_string(),
    }
}

/// A Lambda binary's whole `main`: telemetry, config (a bad value stops start-up naming
/// the variable), SDK clients, then the runtime loop. Nothing here calls AWS.
pub async fn run(
    function: Function,
    handler: Handler,
) -> std::result::Result<(), lambda_runtime::Error> {
    telemetry::init_lambda();
    // First, so that even a start-up that fails on its configuration names its build.
    tracing::info!(
        function = function.name(),
        version = VERSION,
        build = BUILD_ID,
        "starting"
    );
    let config = config_from_env().inspect_err(|err| {
        tracing::error!(function = function.name(), error = %err, "invalid configuration; not starting");
    })?;
    // The ownership key is not read here: [`Aws::ownership_key`] reads it on first use,
    // keeping the SSM call out of the time before the first poll of the Runtime API.
    let aws = Aws::from_env(&config).await;
    let deps = Deps { aws, config };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handler(event.payload, Utc::now(), deps)
            .await
            .map(|result| with_build(result, function))
            .map_err(diagnostic)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retryable_error_reaches_the_runtime_as_retryable() {
        let diagnostic = diagnostic(Error::NotAvailable {
            cluster: "shop".into(),
            status: "stopped".into(),
        });
        assert_eq!(diagnostic.error_type, "Retryable");
        assert!(diagnostic.error_message.contains("stopped"));
    }

    #[test]
    fn a_response_names_the_function_version_and_build() {
        let result = with_build(serde_json::json!({"changed": false}), Function::Janitor);
        assert_eq!(result["changed"], false);
        assert_eq!(result["build"]["function"], "janitor");
        assert_eq!(result["build"]["version"], VERSION);
        assert_eq!(result["build"]["id"], BUILD_ID);
        assert!(!BUILD_ID.is_empty());
        assert_eq!(with_build(Value::Null, Function::Janitor), Value::Null);
    }

    #[test]
    fn every_function_is_found_by_its_name() {
        for function in Function::ALL {
            assert_eq!(Function::parse(function.name()), Some(function));
        }
        assert_eq!(Function::parse("nope"), None);
    }
}
