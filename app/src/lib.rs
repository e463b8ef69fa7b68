//! One module per function: wires a policy to the ports and ends in reconcile.

pub mod alarm_handler;
pub mod alarm_thresholds;
pub mod emf;
pub mod fleet;
pub mod janitor;
pub mod prescaler;
pub mod provisioner;
pub mod reconcile;

pub use reconcile::{Reconciled, reconcile, reconcile_cluster};

use acu_pilot_ports::Notifier;

/// A service's typed result as the JSON its function returns. Our reports hold no maps with
/// non-string keys nor non-finite floats, so this cannot fail today; if a change ever made
/// it fail, the invocation reports it as an error instead of aborting the process.
pub fn response(
    report: &impl serde::Serialize,
) -> acu_pilot_core::error::Result<serde_json::Value> {
    serde_json::to_value(report)
        .map_err(|e| acu_pilot_core::error::Error::invalid("response", e.to_string()))
}

/// Every action is one structured log line and one `acu-pilot` event. An event that
/// cannot be published is logged, not fatal: the capacity change it reports has already
/// happened, and failing the invocation would only make the retry report nothing.
pub async fn announce(
    notifier: &impl Notifier,
    detail_type: &str,
    detail: serde_json::Value,
) -> bool {
    tracing::info!(event = detail_type, detail = %detail, "{detail_type}");
    match notifier.publish(detail_type, &detail).await {
        Ok(()) => true,
        Err(err) => {
            tracing::error!(event = detail_type, error = %err, code = err.code(), "event not published");
            false
        }
    }
}
