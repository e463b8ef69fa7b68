//! `acu-pilot` events on EventBridge.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::error::sdk_error;
use acu_pilot_core::error::{Error, Result};
use acu_pilot_ports::Notifier;

pub const SOURCE: &str = "acu-pilot";

#[derive(Clone, Debug)]
pub struct EventBridgeNotifier {
    client: Client,
    bus: String,
}

impl EventBridgeNotifier {
    pub fn new(client: Client, bus: String) -> Self {
        Self { client, bus }
    }
}

impl Notifier for EventBridgeNotifier {
    async fn publish(&self, detail_type: &str, detail: &serde_json::Value) -> Result<()> {
        let entry = PutEventsRequestEntry::builder()
            .source(SOURCE)
            .detail_type(detail_type)
            .detail(detail.to_string())
            .event_bus_name(&self.bus)
            .build();
        let out = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| sdk_error("PutEvents", e))?;
        // PutEvents answers 200 even when entries fail; the count is the only signal.
        if out.failed_entry_count() > 0 {
            let failed = out.entries().iter().find(|e| e.error_code().is_some());
            return Err(Error::Aws {
                operation: "PutEvents",
                code: failed.and_then(|e| e.error_code()).map(str::to_owned),
                message: failed
                    .and_then(|e| e.error_message())
                    .unwrap_or("an entry was not accepted")
                    .to_owned(),
                retryable: failed.and_then(|e| e.error_code()) == Some("ThrottlingException")
                    || failed.and_then(|e| e.error_code()) == Some("InternalFailure"),
            });
        }
        Ok(())
    }
}
