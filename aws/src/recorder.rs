//! Counts and records the AWS requests that actually go on the wire: for `make bench`'s
//! API-economy figures, for tests that assert "no write call", and for `--api-calls`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// One request as sent: which service and operation, and its body as text (lossy for
/// binary protocols).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedCall {
    pub service: String,
    pub operation: String,
    pub body: String,
}

/// Operations that change something in AWS. Everything else we call is a read.
pub fn is_write(operation: &str) -> bool {
    // AssumeRole hands out a session in another account and changes nothing there.
    !["Describe", "List", "Get", "AssumeRole"]
        .iter()
        .any(|read| operation.starts_with(read))
}

#[derive(Clone, Debug, Default)]
pub struct CallRecorder {
    calls: Arc<Mutex<Vec<RecordedCall>>>,
}

impl CallRecorder {
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.calls.lock().expect("recorder poisoned").clone()
    }

    pub fn operations(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.operation).collect()
    }

    pub fn count(&self, operation: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.operation == operation)
            .count()
    }

    pub fn writes(&self) -> Vec<String> {
        self.operations()
            .into_iter()
            .filter(|op| is_write(op))
            .collect()
    }

    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for op in self.operations() {
            *counts.entry(op).or_insert(0) += 1;
        }
        counts
    }

    pub fn clear(&self) {
        self.calls.lock().expect("recorder poisoned").clear();
    }
}

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "acu-pilot-call-recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_owned(), m.name().to_owned()))
            .unwrap_or_default();
        let body = context
            .request()
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        self.calls
            .lock()
            .expect("recorder poisoned")
            .push(RecordedCall {
                service,
                operation,
                body,
            });
        Ok(())
    }
}
