//! SDK errors as the core's [`Error::Aws`]: the service's code kept, and whether a retry
//! can help judged once, here.

use acu_pilot_core::error::Error;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Error codes after which the same call may succeed later.
const RETRYABLE_CODES: &[&str] = &[
    "InvalidDBClusterStateFault",
    "InvalidDBInstanceStateFault",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalServiceError",
    "RequestTimeout",
];

/// Wraps an SDK error, keeping its code and judging whether a retry can help.
pub fn sdk_error<E, R>(operation: &'static str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let (code, message, transient) = match &err {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            (
                inner.code().map(str::to_owned),
                inner
                    .message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| inner.to_string()),
                false,
            )
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => (
            None,
            aws_smithy_types::error::display::DisplayErrorContext(&err).to_string(),
            true,
        ),
        _ => (
            err.code().map(str::to_owned),
            aws_smithy_types::error::display::DisplayErrorContext(&err).to_string(),
            false,
        ),
    };
    let retryable = transient
        || code
            .as_deref()
            .is_some_and(|c| RETRYABLE_CODES.contains(&c));
    Error::Aws {
        operation,
        code,
        message,
        retryable,
    }
}
