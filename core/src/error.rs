//! One error type for every service. It keeps the AWS error code, says whether a retry
//! can help, and names a stable Lambda `errorType` that operators filter logs and DLQs by.
//! The AWS adapters build [`Error::Aws`] from SDK errors; the Lambda entry points turn an
//! error into the runtime's diagnostic.

use crate::capacity::CapacityError;
use crate::tags::TagError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request, event or argument that can never succeed as it is.
    #[error("invalid input: {field}: {message}")]
    InvalidInput { field: String, message: String },

    #[error("invalid input: {0}")]
    Capacity(#[from] CapacityError),

    /// An acu-pilot tag on the cluster does not parse; the cluster is left as it is.
    #[error("cluster {cluster}: {source}")]
    MalformedTag {
        cluster: String,
        #[source]
        source: TagError,
    },

    #[error("cluster {cluster}: not managed by acu-pilot (no tag acu-pilot:managed=true)")]
    NotManaged { cluster: String },

    /// A destructive action on a resource acu-pilot cannot prove it created.
    #[error("{resource}: not created by acu-pilot ({reason}); nothing was changed")]
    NotOwned {
        resource: String,
        reason: &'static str,
    },

    #[error("cluster {cluster}: has no acu-pilot:baseline tag; onboard it first")]
    MissingBaseline { cluster: String },

    #[error("cluster {cluster}: not found")]
    ClusterNotFound { cluster: String },

    #[error("cluster {cluster}: is not Aurora Serverless v2 (no ServerlessV2ScalingConfiguration)")]
    NotServerless { cluster: String },

    /// The cluster cannot be modified now (stopped, modifying, backing-up, …): retry later.
    #[error("cluster {cluster}: status is {status}, not available; will retry")]
    NotAvailable { cluster: String, status: String },

    /// A fleet sweep in which more than the allowed share of clusters failed.
    #[error(
        "{failed} of {seen} clusters failed in this sweep, more than ACU_PILOT_MAX_ERROR_SHARE allows"
    )]
    SweepFailed { failed: usize, seen: usize },

    #[error("configuration: {variable}: {message}")]
    Config { variable: String, message: String },

    /// A call to AWS failed. `code` is the service's error code when it sent one.
    #[error("{operation} failed{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Aws {
        operation: &'static str,
        code: Option<String>,
        message: String,
        retryable: bool,
    },
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// An AWS error with what it was about in front of its message (which target, which
    /// role); other errors unchanged.
    pub fn about(self, context: impl std::fmt::Display) -> Self {
        match self {
            Error::Aws {
                operation,
                code,
                message,
                retryable,
            } => Error::Aws {
                operation,
                code,
                message: format!("{context}: {message}"),
                retryable,
            },
            other => other,
        }
    }

    /// The AWS error code, when this came from AWS.
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            Error::Aws { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    pub fn is_retryable(&self) -> bool {
        match self {
            Error::NotAvailable { .. } => true,
            Error::Aws { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// The stable Lambda `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            _ if self.is_retryable() => "Retryable",
            Error::InvalidInput { .. } | Error::Capacity(_) => "InvalidInput",
            Error::MalformedTag { .. } => "MalformedTag",
            Error::NotManaged { .. } => "NotManaged",
            Error::NotOwned { .. } => "NotOwned",
            Error::MissingBaseline { .. } => "MissingBaseline",
            Error::ClusterNotFound { .. } => "ClusterNotFound",
            Error::NotServerless { .. } => "NotServerless",
            Error::NotAvailable { .. } => "Retryable",
            Error::Config { .. } => "Config",
            Error::SweepFailed { .. } => "SweepFailed",
            Error::Aws { .. } => "AwsError",
        }
    }

    /// A short code for summaries: the AWS code when there is one, else the error type.
    pub fn code(&self) -> String {
        match self {
            Error::NotAvailable { .. } => "ClusterNotAvailable".to_owned(),
            _ => self
                .aws_code()
                .map(str::to_owned)
                .unwrap_or_else(|| self.error_type().to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_errors_map_to_the_retryable_error_type() {
        let err = Error::NotAvailable {
            cluster: "shop".into(),
            status: "stopped".into(),
        };
        assert!(err.is_retryable());
        assert_eq!(err.error_type(), "Retryable");
        assert!(err.to_string().contains("stopped"));
    }

    #[test]
    fn invalid_input_names_the_field() {
        let err = Error::invalid("max_acu", "300 is above 256");
        assert_eq!(err.error_type(), "InvalidInput");
        assert!(err.to_string().contains("max_acu"));
    }
}
