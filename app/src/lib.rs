//! One module per function: wires a policy to the ports and ends in reconcile.

pub mod alarm_handler;
pub mod alarm_thresholds;
pub mod emf;
pub mod janitor;
pub mod prescaler;
pub mod provisioner;
pub mod reconcile;

pub use reconcile::{Reconciled, reconcile, reconcile_cluster};

use acu_pilot_ports::Notifier;

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
