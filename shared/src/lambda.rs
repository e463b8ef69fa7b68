//! The entry points the four Lambda binaries and the CLI's `invoke` share: one place that
//! sets up, parses the event, calls the service and maps the error.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

use crate::aws::Aws;
use crate::config::Config;
use crate::error::Result;

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

/// What a handler needs, built once per process.
#[derive(Clone, Debug)]
pub struct Deps {
    pub config: Config,
    pub aws: Aws,
}

/// Runs one invocation of `function` on `event` at `now`.
pub async fn handle(
    function: Function,
    event: Value,
    now: DateTime<Utc>,
    deps: &Deps,
) -> Result<Value> {
    match function {
        // Boxed: each service's future is large, and nesting them all in the runtime's
        // future overflows the compiler's layout depth.
        Function::AlarmHandler => {
            Box::pin(crate::service::alarm_handler::handle(event, now, deps)).await
        }
        Function::Janitor => Box::pin(crate::service::janitor::handle(event, now, deps)).await,
        Function::PreScaler => Box::pin(crate::service::prescaler::handle(event, now, deps)).await,
        Function::Provisioner => {
            Box::pin(crate::service::provisioner::handle(event, now, deps)).await
        }
    }
}

/// One function's handler, as its binary names it. A binary passes only its own service,
/// so it links only that service's code (smaller bootstrap, faster cold start); the CLI's
/// `invoke` goes through [`handle`], which knows all four.
pub type Handler =
    for<'a> fn(Value, DateTime<Utc>, &'a Deps) -> Pin<Box<dyn Future<Output = Result<Value>> + 'a>>;

/// A Lambda binary's whole `main`: telemetry, config (a bad value stops start-up naming
/// the variable), SDK clients, then the runtime loop.
pub async fn run(
    function: Function,
    handler: Handler,
) -> std::result::Result<(), lambda_runtime::Error> {
    crate::telemetry::init_lambda();
    let config = Config::from_env().inspect_err(|err| {
        tracing::error!(function = function.name(), error = %err, "invalid configuration; not starting");
    })?;
    let deps = Deps {
        aws: Aws::from_env(&config).await,
        config,
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handler(event.payload, Utc::now(), deps).await
    }))
    .await
}
