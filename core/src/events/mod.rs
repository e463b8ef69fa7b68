//! CloudWatch alarm state changes, in every shape they reach a Lambda function, parsed into
//! one typed [`AlarmTransition`].
//!
//! | shape | recognised by | alarm data at |
//! |---|---|---|
//! | EventBridge `CloudWatch Alarm State Change` | `detail-type` | `detail` |
//! | the alarm's direct Lambda action | `alarmData` | `alarmData` |
//! | SNS notification | `Records[].Sns` | `Records[0].Sns.Message`, the classic alarm JSON as a string |
//!
//! Parsing ([`parse`]) is pure and total: any input gives a transition or an
//! [`EventError`] naming the JSON path at fault, never a panic. This module holds the model
//! every shape is parsed into.

pub mod origin;
mod parse;

pub use origin::{Origin, origin};
pub use parse::{
    AlarmData, EventBridgeAlarmEvent, LambdaActionAlarmEvent, detect_shape, parse_event,
    parse_event_bytes,
};

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// EventBridge's `detail-type` for an alarm changing state.
pub const ALARM_STATE_CHANGE: &str = "CloudWatch Alarm State Change";
/// The dimension that names an Aurora cluster in `AWS/RDS` metrics.
pub const CLUSTER_DIMENSION: &str = "DBClusterIdentifier";
/// With [`CLUSTER_DIMENSION`], aggregates an `AWS/RDS` metric over the cluster's instances
/// of one role (`WRITER` or `READER`) instead of over all of them.
pub const ROLE_DIMENSION: &str = "Role";
/// The [`ROLE_DIMENSION`] value of the cluster's one writer.
pub const WRITER_ROLE: &str = "WRITER";

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

impl fmt::Display for AlarmState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AlarmState {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "OK" => Ok(AlarmState::Ok),
            "ALARM" => Ok(AlarmState::Alarm),
            "INSUFFICIENT_DATA" => Ok(AlarmState::InsufficientData),
            _ => Err(()),
        }
    }
}

/// Which of the recipe's two alarms this is: the high one boosts, the low one economises.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlarmRole {
    High,
    Low,
}

impl AlarmRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmRole::High => "high",
            AlarmRole::Low => "low",
        }
    }
}

impl fmt::Display for AlarmRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AlarmRole {
    type Err = ();
    /// The `acu-pilot:role` tag value; case and surrounding blanks do not matter.
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "high" => Ok(AlarmRole::High),
            "low" => Ok(AlarmRole::Low),
            _ => Err(()),
        }
    }
}

/// Where a role came from, for the log line that explains a decision.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RoleSource {
    Tag,
    Comparison,
    Name,
}

/// CloudWatch's `ComparisonOperator` values.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ComparisonOperator {
    GreaterThanOrEqualToThreshold,
    GreaterThanThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
    LessThanLowerOrGreaterThanUpperThreshold,
    LessThanLowerThreshold,
    GreaterThanUpperThreshold,
}

impl ComparisonOperator {
    pub const ALL: [ComparisonOperator; 7] = [
        ComparisonOperator::GreaterThanOrEqualToThreshold,
        ComparisonOperator::GreaterThanThreshold,
        ComparisonOperator::LessThanThreshold,
        ComparisonOperator::LessThanOrEqualToThreshold,
        ComparisonOperator::LessThanLowerOrGreaterThanUpperThreshold,
        ComparisonOperator::LessThanLowerThreshold,
        ComparisonOperator::GreaterThanUpperThreshold,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComparisonOperator::GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
            ComparisonOperator::GreaterThanThreshold => "GreaterThanThreshold",
            ComparisonOperator::LessThanThreshold => "LessThanThreshold",
            ComparisonOperator::LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
            ComparisonOperator::LessThanLowerOrGreaterThanUpperThreshold => {
                "LessThanLowerOrGreaterThanUpperThreshold"
            }
            ComparisonOperator::LessThanLowerThreshold => "LessThanLowerThreshold",
            ComparisonOperator::GreaterThanUpperThreshold => "GreaterThanUpperThreshold",
        }
    }

    /// Whether `value` breaches `threshold`; `None` for the anomaly-band operators, which
    /// compare with a band CloudWatch computes, not with a threshold.
    pub fn breaches(self, value: f64, threshold: f64) -> Option<bool> {
        match self {
            ComparisonOperator::GreaterThanThreshold => Some(value > threshold),
            ComparisonOperator::GreaterThanOrEqualToThreshold => Some(value >= threshold),
            ComparisonOperator::LessThanThreshold => Some(value < threshold),
            ComparisonOperator::LessThanOrEqualToThreshold => Some(value <= threshold),
            ComparisonOperator::LessThanLowerOrGreaterThanUpperThreshold
            | ComparisonOperator::LessThanLowerThreshold
            | ComparisonOperator::GreaterThanUpperThreshold => None,
        }
    }

    /// `GreaterThan*` is a high alarm and `LessThan*` a low one; the two-sided anomaly band
    /// says neither.
    pub fn role(self) -> Option<AlarmRole> {
        match self {
            ComparisonOperator::LessThanLowerOrGreaterThanUpperThreshold => None,
            op if op.as_str().starts_with("GreaterThan") => Some(AlarmRole::High),
            _ => Some(AlarmRole::Low),
        }
    }
}

impl fmt::Display for ComparisonOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ComparisonOperator {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|op| op.as_str() == s).ok_or(())
    }
}

/// Which of the three deliveries an event came in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum EventShape {
    EventBridge,
    LambdaAction,
    Sns,
    /// No delivery: the janitor found a high alarm still in ALARM and hands its state to
    /// the alarm-handler's decision as a transition of its own.
    JanitorSweep,
}

impl fmt::Display for EventShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EventShape::EventBridge => "EventBridge alarm event",
            EventShape::LambdaAction => "Lambda alarm action",
            EventShape::Sns => "SNS alarm notification",
            EventShape::JanitorSweep => "janitor's sweep of an alarm still in ALARM",
        })
    }
}

/// One metric the alarm watches (for metric math: one of its inputs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlarmMetric {
    pub namespace: Option<String>,
    pub name: String,
    pub dimensions: BTreeMap<String, String>,
}

/// One alarm state change, whatever shape it came in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlarmTransition {
    pub alarm_name: String,
    pub alarm_arn: Option<String>,
    pub state: AlarmState,
    pub previous_state: Option<AlarmState>,
    /// When the alarm changed state: with `alarm_name`, the identity of the transition, so
    /// duplicate deliveries can be recognised.
    pub state_timestamp: DateTime<Utc>,
    pub reason: Option<String>,
    /// Every metric the alarm reads; empty when it has only expressions (or is composite).
    pub metrics: Vec<AlarmMetric>,
    pub is_metric_math: bool,
    /// The `acu-pilot:cluster` alarm tag, else the one `DBClusterIdentifier` dimension.
    pub cluster: Option<String>,
    /// The `acu-pilot:role` alarm tag, when it holds `high` or `low`.
    pub role_hint: Option<AlarmRole>,
    /// Only SNS notifications carry it; otherwise DescribeAlarms knows it.
    pub comparison: Option<ComparisonOperator>,
    /// The SNS trigger's threshold, or the one in the state's reason data.
    pub threshold: Option<f64>,
    /// The alarm's propagated tags (empty unless tag propagation is on).
    pub tags: BTreeMap<String, String>,
    pub shape: EventShape,
}

impl AlarmTransition {
    /// Whether DescribeAlarms must be asked before the role can be resolved: the event names
    /// neither a role tag nor a comparison operator. (The recipe naming comes after
    /// DescribeAlarms in the resolution order.)
    pub fn needs_describe_for_role(&self) -> bool {
        self.role_hint.is_none() && self.comparison.is_none()
    }

    /// The role, given the comparison operator DescribeAlarms reported if the event did not
    /// carry one. See [`resolve_role`].
    pub fn role(&self, described: Option<ComparisonOperator>) -> Option<(AlarmRole, RoleSource)> {
        resolve_role(
            self.role_hint,
            self.comparison.or(described),
            &self.alarm_name,
        )
    }

    /// The `Role` dimension the alarm reads (`WRITER`, `READER`), when every metric that
    /// names one names the same; `None` for the cluster-wide average, which idle readers
    /// dilute (see `docs/alarms.md`). For the log line that explains a decision.
    pub fn metric_role(&self) -> Option<&str> {
        let mut roles = self
            .metrics
            .iter()
            .filter_map(|m| m.dimensions.get(ROLE_DIMENSION).map(String::as_str));
        let first = roles.next()?;
        roles.all(|r| r == first).then_some(first)
    }

    /// Whether the alarm compares the absolute `AWS/RDS` `ServerlessDatabaseCapacity` to a
    /// fixed threshold: such an alarm must have its threshold moved with max.
    pub fn watches_absolute_capacity(&self) -> bool {
        !self.is_metric_math
            && self.metrics.len() == 1
            && self.metrics[0].name == "ServerlessDatabaseCapacity"
            && self.metrics[0].namespace.as_deref() == Some("AWS/RDS")
    }
}

/// The role, in order: the `acu-pilot:role` tag; the comparison operator (`GreaterThan*` →
/// high, `LessThan*` → low); the recipe naming `Aurora-<cluster>-High-ACU` /
/// `Aurora-<cluster>-Low-ACU`. `None` when none of them says.
pub fn resolve_role(
    tag: Option<AlarmRole>,
    comparison: Option<ComparisonOperator>,
    alarm_name: &str,
) -> Option<(AlarmRole, RoleSource)> {
    if let Some(role) = tag {
        return Some((role, RoleSource::Tag));
    }
    if let Some(role) = comparison.and_then(ComparisonOperator::role) {
        return Some((role, RoleSource::Comparison));
    }
    role_from_recipe_name(alarm_name).map(|role| (role, RoleSource::Name))
}

/// The recipe names its alarms `Aurora-<cluster>-High-ACU` and `Aurora-<cluster>-Low-ACU`.
pub fn role_from_recipe_name(alarm_name: &str) -> Option<AlarmRole> {
    let lower = alarm_name.to_ascii_lowercase();
    let middle = lower.strip_prefix("aurora-")?;
    if middle
        .strip_suffix("-high-acu")
        .is_some_and(|c| !c.is_empty())
    {
        Some(AlarmRole::High)
    } else if middle
        .strip_suffix("-low-acu")
        .is_some_and(|c| !c.is_empty())
    {
        Some(AlarmRole::Low)
    } else {
        None
    }
}

/// Why an event was refused. Every variant names what is wrong and, where there is one,
/// the JSON path (`detail.state.value`, `Records[0].Sns.Message.Trigger.Threshold`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventError {
    #[error("the event is not JSON: {0}")]
    NotJson(String),
    #[error(
        "not a CloudWatch alarm event (expected an EventBridge `{ALARM_STATE_CHANGE}`, a Lambda \
         alarm action with `alarmData`, or an SNS notification with `Records[].Sns`): {seen}"
    )]
    UnknownShape { seen: String },
    #[error("{shape}: missing field `{path}`")]
    MissingField { shape: EventShape, path: String },
    #[error("{shape}: `{path}` is {value}, not an alarm state (OK, ALARM or INSUFFICIENT_DATA)")]
    BadState {
        shape: EventShape,
        path: String,
        value: String,
    },
    #[error("{shape}: `{path}` is {value}, not a timestamp")]
    BadTimestamp {
        shape: EventShape,
        path: String,
        value: String,
    },
    #[error("{shape}: `{path}`: {message}")]
    Malformed {
        shape: EventShape,
        path: String,
        message: String,
    },
}

impl EventError {
    /// The JSON path at fault, when there is one.
    pub fn path(&self) -> Option<&str> {
        match self {
            EventError::NotJson(_) | EventError::UnknownShape { .. } => None,
            EventError::MissingField { path, .. }
            | EventError::BadState { path, .. }
            | EventError::BadTimestamp { path, .. }
            | EventError::Malformed { path, .. } => Some(path),
        }
    }
}

impl From<EventError> for crate::Error {
    fn from(e: EventError) -> Self {
        let field = e.path().unwrap_or("event").to_owned();
        crate::Error::invalid(field, e.to_string())
    }
}
