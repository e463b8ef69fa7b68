//! Logging set-up. Lambda functions follow the runtime's conventions
//! (`AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`, `AWS_LAMBDA_LOG_FORMAT=JSON`); the CLI logs to
//! stderr so that stdout stays the command's result.
//!
//! Filters are `tracing_subscriber`'s `Targets` (`info`, `acu_pilot=debug,warn`), not
//! `EnvFilter`: the latter links a regex engine into every bootstrap for span-field
//! matching nobody here uses.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// For the four functions: structured logs on stdout, as Lambda collects them.
pub fn init_lambda() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    // Lambda stamps each line itself; colours would only be escape codes in CloudWatch.
    init(
        filter(level.as_deref(), LevelFilter::INFO),
        json,
        std::io::stdout,
        false,
    );
}

/// For the CLI: human-readable (or JSON with `ACU_PILOT_LOG_FORMAT=json`) on stderr,
/// quiet unless `RUST_LOG` asks for more.
pub fn init_cli(verbose: bool) {
    let default = if verbose {
        LevelFilter::INFO
    } else {
        LevelFilter::WARN
    };
    let directives = std::env::var("RUST_LOG").ok();
    let json = std::env::var("ACU_PILOT_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    init(
        filter(directives.as_deref(), default),
        json,
        std::io::stderr,
        true,
    );
}

/// `directives` as `Targets` (a bare level, or `target=level` pairs), else `default`.
/// Lambda's `AWS_LAMBDA_LOG_LEVEL` values (`INFO`, `DEBUG`, …) parse as bare levels;
/// its `FATAL`, which tracing lacks, means errors only.
fn filter(directives: Option<&str>, default: LevelFilter) -> Targets {
    directives
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .and_then(|d| match d.as_str() {
            "fatal" => Some(Targets::new().with_default(LevelFilter::ERROR)),
            _ => d.parse::<Targets>().ok(),
        })
        .unwrap_or_else(|| Targets::new().with_default(default))
}

fn init<W>(filter: Targets, json: bool, writer: W, ansi: bool)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let registry = tracing_subscriber::registry().with(filter);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_target(false);
    // A second initialisation (tests, the CLI calling a handler) keeps the first.
    let _ = if json {
        registry.with(fmt.json()).try_init()
    } else {
        registry.with(fmt.with_ansi(ansi)).try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn lambda_log_levels_and_rust_log_directives_both_parse() {
        let info = filter(Some("INFO"), LevelFilter::WARN);
        assert!(info.would_enable("acu_pilot", &Level::INFO));
        assert!(!info.would_enable("acu_pilot", &Level::DEBUG));

        let fatal = filter(Some("FATAL"), LevelFilter::INFO);
        assert!(fatal.would_enable("acu_pilot", &Level::ERROR));
        assert!(!fatal.would_enable("acu_pilot", &Level::WARN));

        let mixed = filter(Some("acu_pilot=debug,warn"), LevelFilter::INFO);
        assert!(mixed.would_enable("acu_pilot_app", &Level::DEBUG));
        assert!(!mixed.would_enable("aws_smithy_runtime", &Level::INFO));
        assert!(mixed.would_enable("aws_smithy_runtime", &Level::WARN));
    }

    #[test]
    fn missing_or_unreadable_directives_fall_back_to_the_default() {
        for directives in [None, Some(""), Some("  "), Some("acu_pilot=loud")] {
            let targets = filter(directives, LevelFilter::WARN);
            assert!(
                targets.would_enable("acu_pilot", &Level::WARN),
                "{directives:?}"
            );
            assert!(
                !targets.would_enable("acu_pilot", &Level::INFO),
                "{directives:?}"
            );
        }
    }
}
