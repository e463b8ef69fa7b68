//! Logging set-up. Lambda functions follow the runtime's conventions
//! (`AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`, `AWS_LAMBDA_LOG_FORMAT=JSON`); the CLI logs to
//! stderr so that stdout stays the command's result.

use tracing_subscriber::EnvFilter;

/// For the four functions: structured logs on stdout, as Lambda collects them.
pub fn init_lambda() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// For the CLI: human-readable (or JSON with `ACU_PILOT_LOG_FORMAT=json`) on stderr,
/// quiet unless `RUST_LOG` asks for more.
pub fn init_cli(verbose: bool) {
    let default = if verbose { "info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let json = std::env::var("ACU_PILOT_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
