//! The three delivery shapes of an alarm state change, parsed into an [`AlarmTransition`].

use std::collections::BTreeMap;

use aws_lambda_events::event::cloudwatch_alarms::{CloudWatchAlarm, CloudWatchAlarmData};
use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use aws_lambda_events::event::sns::{CloudWatchDimension, CloudWatchMetricDataQuery, SnsEvent};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::*;
use crate::tags::{ALARM_CLUSTER, ALARM_ROLE};

/// The alarm data of the EventBridge `detail` and of the Lambda action's `alarmData` are one
/// shape. `configuration` stays a `Value`: `CloudWatchMetricAlarmConfiguration` requires a
/// `metricStat` in every metric, which metric-math expressions do not have. Reason data stays
/// a `Value` too, because the crate's typed reason data does not serialize back to what it read.
pub type AlarmData = CloudWatchAlarmData<Value, Value>;
pub type EventBridgeAlarmEvent = CloudWatchEvent<AlarmData>;
pub type LambdaActionAlarmEvent = CloudWatchAlarm<Value, Value>;

/// Parses raw event bytes, as the Lambda runtime or `acu-pilot invoke --event FILE` has them.
pub fn parse_event_bytes(bytes: &[u8]) -> Result<AlarmTransition, EventError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| EventError::NotJson(e.to_string()))?;
    parse_event(&value)
}

/// Parses an event in any of the three shapes.
pub fn parse_event(event: &Value) -> Result<AlarmTransition, EventError> {
    match detect_shape(event)? {
        EventShape::EventBridge => parse_eventbridge(event),
        EventShape::LambdaAction => parse_lambda_action(event),
        EventShape::Sns => parse_sns(event),
        // No delivery has this shape: only the janitor builds such transitions, typed.
        EventShape::JanitorSweep => Err(EventError::UnknownShape {
            seen: "the janitor's own shape".to_owned(),
        }),
    }
}

/// Which shape an event has, or why it has none of them.
pub fn detect_shape(event: &Value) -> Result<EventShape, EventError> {
    let Some(object) = event.as_object() else {
        return Err(EventError::UnknownShape {
            seen: format!("a JSON {}, not an object", json_type(event)),
        });
    };
    if object.contains_key("detail-type") {
        let detail_type = object.get("detail-type").and_then(Value::as_str);
        let source = object.get("source").and_then(Value::as_str);
        if detail_type == Some(ALARM_STATE_CHANGE) && source == Some("aws.cloudwatch") {
            return Ok(EventShape::EventBridge);
        }
        return Err(EventError::UnknownShape {
            seen: format!(
                "an EventBridge event with detail-type {} from source {}",
                describe(object.get("detail-type")),
                describe(object.get("source")),
            ),
        });
    }
    if object.contains_key("alarmData") {
        return Ok(EventShape::LambdaAction);
    }
    if let Some(records) = object.get("Records") {
        let first = records.as_array().and_then(|r| r.first());
        if first.is_some_and(|r| r.get("Sns").is_some()) {
            return Ok(EventShape::Sns);
        }
        let source = first
            .and_then(|r| r.get("eventSource").or_else(|| r.get("EventSource")))
            .and_then(Value::as_str);
        return Err(EventError::UnknownShape {
            seen: match source {
                Some(source) => format!("Records from {source:?}, not from SNS"),
                None => "Records without an Sns record".to_owned(),
            },
        });
    }
    let mut keys: Vec<&str> = object.keys().map(String::as_str).take(12).collect();
    if object.len() > keys.len() {
        keys.push("…");
    }
    Err(EventError::UnknownShape {
        seen: if keys.is_empty() {
            "an empty object".to_owned()
        } else {
            format!("an object with keys {}", keys.join(", "))
        },
    })
}

fn parse_eventbridge(event: &Value) -> Result<AlarmTransition, EventError> {
    let shape = EventShape::EventBridge;
    let detail = event
        .get("detail")
        .ok_or_else(|| missing(shape, "detail"))?;
    check_states(shape, detail, "detail")?;
    let typed: EventBridgeAlarmEvent = deserialize_at(shape, "", event)?;
    let data = typed.detail.ok_or_else(|| missing(shape, "detail"))?;
    let tags = parse_tags(shape, "detail.alarmTags", detail.get("alarmTags"))?;
    let arn = typed.resources.into_iter().next();
    from_alarm_data(shape, "detail", data, arn, tags)
}

fn parse_lambda_action(event: &Value) -> Result<AlarmTransition, EventError> {
    let shape = EventShape::LambdaAction;
    let data = event.get("alarmData").unwrap_or(&Value::Null);
    check_states(shape, data, "alarmData")?;
    let typed: LambdaActionAlarmEvent = deserialize_at(shape, "", event)?;
    // Tag propagation puts the tags beside the alarm's other data; a top-level copy is read
    // too, so that either placement works.
    let tags = match data.get("alarmTags") {
        Some(tags) => parse_tags(shape, "alarmData.alarmTags", Some(tags))?,
        None => parse_tags(shape, "alarmTags", event.get("alarmTags"))?,
    };
    from_alarm_data(shape, "alarmData", typed.alarm_data, typed.alarm_arn, tags)
}

fn from_alarm_data(
    shape: EventShape,
    at: &str,
    data: AlarmData,
    alarm_arn: Option<String>,
    tags: BTreeMap<String, String>,
) -> Result<AlarmTransition, EventError> {
    let state = data
        .state
        .ok_or_else(|| missing(shape, &format!("{at}.state")))?;
    let (metrics, is_metric_math) =
        parse_configuration(shape, &format!("{at}.configuration"), &data.configuration)?;
    // Neither shape carries the threshold in `configuration`; the reason data of a metric
    // alarm does, as a JSON string.
    let threshold = state
        .reason_data
        .as_ref()
        .and_then(Value::as_str)
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .and_then(|data| data.get("threshold").and_then(Value::as_f64));
    Ok(finish(
        shape,
        Draft {
            alarm_name: data.alarm_name,
            alarm_arn: alarm_arn.filter(|arn| !arn.is_empty()),
            state: state_value(&state.value),
            previous_state: data.previous_state.as_ref().map(|s| state_value(&s.value)),
            state_timestamp: state.timestamp,
            reason: Some(state.reason).filter(|r| !r.is_empty()),
            metrics,
            is_metric_math,
            comparison: None,
            threshold,
            tags,
        },
    ))
}

/// The classic alarm JSON inside an SNS `Message`. Our own struct, because the crate's
/// `CloudWatchAlarmPayload` requires `AlarmDescription`, `TreatMissingData` and
/// `EvaluateLowSampleCountPercentile` as strings, and CloudWatch sends `null` for an alarm
/// without a description and omits the others for some alarm kinds.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ClassicAlarm {
    alarm_name: String,
    #[serde(default)]
    alarm_arn: Option<String>,
    #[serde(default)]
    new_state_reason: Option<String>,
    state_change_time: String,
    #[serde(default)]
    trigger: Option<ClassicTrigger>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ClassicTrigger {
    #[serde(default)]
    metric_name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    dimensions: Option<Vec<CloudWatchDimension>>,
    #[serde(default)]
    metrics: Option<Vec<CloudWatchMetricDataQuery>>,
    #[serde(default)]
    comparison_operator: Option<String>,
    #[serde(default)]
    threshold: Option<f64>,
}

fn parse_sns(event: &Value) -> Result<AlarmTransition, EventError> {
    let shape = EventShape::Sns;
    let typed: SnsEvent = deserialize_at(shape, "", event)?;
    // Lambda receives one SNS record per invocation; more would mean a foreign batcher.
    let record = match typed.records.as_slice() {
        [record] => record,
        [] => return Err(missing(shape, "Records[0]")),
        more => {
            return Err(EventError::Malformed {
                shape,
                path: "Records".into(),
                message: format!(
                    "has {} records; SNS delivers one per invocation",
                    more.len()
                ),
            });
        }
    };
    let at = "Records[0].Sns.Message";
    let message: Value =
        serde_json::from_str(&record.sns.message).map_err(|e| EventError::Malformed {
            shape,
            path: at.into(),
            message: format!("is not the alarm JSON: {e}"),
        })?;
    if !message.is_object() {
        return Err(EventError::Malformed {
            shape,
            path: at.into(),
            message: format!(
                "is a JSON {}, not the alarm JSON object",
                json_type(&message)
            ),
        });
    }
    let state = required_state(shape, &message, at, "NewStateValue")?;
    let previous_state = optional_state(shape, &message, at, "OldStateValue")?;
    let classic: ClassicAlarm = deserialize_at(shape, at, &message)?;
    let state_timestamp =
        parse_timestamp(&classic.state_change_time).ok_or_else(|| EventError::BadTimestamp {
            shape,
            path: format!("{at}.StateChangeTime"),
            value: format!("{:?}", classic.state_change_time),
        })?;
    let tags = parse_tags(shape, &format!("{at}.AlarmTags"), message.get("AlarmTags"))?;
    let mut metrics = Vec::new();
    let mut is_metric_math = false;
    let mut comparison = None;
    let mut threshold = None;
    if let Some(trigger) = classic.trigger {
        if let Some(name) = trigger.metric_name.filter(|n| !n.is_empty()) {
            metrics.push(AlarmMetric {
                namespace: trigger.namespace,
                name,
                dimensions: dimension_map(trigger.dimensions.unwrap_or_default()),
            });
        }
        for query in trigger.metrics.unwrap_or_default() {
            if query.expression.is_some() {
                is_metric_math = true;
            }
            if let Some(stat) = query.metric_stat
                && let Some(name) = stat.metric.metric_name
            {
                metrics.push(AlarmMetric {
                    namespace: stat.metric.namespace,
                    name,
                    dimensions: dimension_map(stat.metric.dimensions),
                });
            }
        }
        comparison = trigger
            .comparison_operator
            .map(|text| {
                text.parse().map_err(|()| EventError::Malformed {
                    shape,
                    path: format!("{at}.Trigger.ComparisonOperator"),
                    message: format!("{text:?} is not a CloudWatch comparison operator"),
                })
            })
            .transpose()?;
        threshold = trigger.threshold;
    }
    Ok(finish(
        shape,
        Draft {
            alarm_name: classic.alarm_name,
            alarm_arn: classic.alarm_arn.filter(|arn| !arn.is_empty()),
            state,
            previous_state,
            state_timestamp,
            reason: classic.new_state_reason.filter(|r| !r.is_empty()),
            metrics,
            is_metric_math,
            comparison,
            threshold,
            tags,
        },
    ))
}

struct Draft {
    alarm_name: String,
    alarm_arn: Option<String>,
    state: AlarmState,
    previous_state: Option<AlarmState>,
    state_timestamp: DateTime<Utc>,
    reason: Option<String>,
    metrics: Vec<AlarmMetric>,
    is_metric_math: bool,
    comparison: Option<ComparisonOperator>,
    threshold: Option<f64>,
    tags: BTreeMap<String, String>,
}

fn finish(shape: EventShape, d: Draft) -> AlarmTransition {
    let cluster = cluster_of(&d.tags, &d.metrics);
    // A role tag that says neither high nor low is as good as none: the next source decides.
    let role_hint = d.tags.get(ALARM_ROLE).and_then(|v| v.parse().ok());
    AlarmTransition {
        alarm_name: d.alarm_name,
        alarm_arn: d.alarm_arn,
        state: d.state,
        previous_state: d.previous_state,
        state_timestamp: d.state_timestamp,
        reason: d.reason,
        metrics: d.metrics,
        is_metric_math: d.is_metric_math,
        cluster,
        role_hint,
        comparison: d.comparison,
        threshold: d.threshold.filter(|t| t.is_finite()),
        tags: d.tags,
        shape,
    }
}

/// The `acu-pilot:cluster` tag is an operator's explicit word and wins; otherwise the
/// metrics must agree on one `DBClusterIdentifier` (a metric-math alarm over two clusters
/// names no single one).
fn cluster_of(tags: &BTreeMap<String, String>, metrics: &[AlarmMetric]) -> Option<String> {
    if let Some(cluster) = tags
        .get(ALARM_CLUSTER)
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
    {
        return Some(cluster.to_owned());
    }
    let mut ids = metrics
        .iter()
        .filter_map(|m| m.dimensions.get(CLUSTER_DIMENSION))
        .filter(|id| !id.is_empty());
    let first = ids.next()?;
    ids.all(|id| id == first).then(|| first.clone())
}

fn dimension_map(dimensions: Vec<CloudWatchDimension>) -> BTreeMap<String, String> {
    dimensions.into_iter().map(|d| (d.name, d.value)).collect()
}

/// `configuration.metrics[]`: each entry has a `metricStat` or an `expression`. A composite
/// alarm has no metrics at all, which is not an error here.
fn parse_configuration(
    shape: EventShape,
    at: &str,
    configuration: &Value,
) -> Result<(Vec<AlarmMetric>, bool), EventError> {
    let entries = match configuration.get("metrics") {
        None | Some(Value::Null) => return Ok((Vec::new(), false)),
        Some(Value::Array(entries)) => entries,
        Some(other) => {
            return Err(malformed(
                shape,
                &format!("{at}.metrics"),
                format!("is a JSON {}, not an array", json_type(other)),
            ));
        }
    };
    let mut metrics = Vec::new();
    let mut is_metric_math = false;
    for (i, entry) in entries.iter().enumerate() {
        let path = format!("{at}.metrics[{i}]");
        if entry.get("expression").is_some_and(|e| !e.is_null()) {
            is_metric_math = true;
            continue;
        }
        let Some(stat) = entry.get("metricStat") else {
            return Err(malformed(
                shape,
                &path,
                "has neither metricStat nor expression".into(),
            ));
        };
        let metric = stat
            .get("metric")
            .ok_or_else(|| missing(shape, &format!("{path}.metricStat.metric")))?;
        let mpath = format!("{path}.metricStat.metric");
        let name = metric
            .get("name")
            .ok_or_else(|| missing(shape, &format!("{mpath}.name")))?
            .as_str()
            .ok_or_else(|| malformed(shape, &format!("{mpath}.name"), "is not a string".into()))?
            .to_owned();
        let namespace = match metric.get("namespace") {
            None | Some(Value::Null) => None,
            Some(Value::String(ns)) => Some(ns.clone()),
            Some(_) => {
                return Err(malformed(
                    shape,
                    &format!("{mpath}.namespace"),
                    "is not a string".into(),
                ));
            }
        };
        let dimensions = string_map(
            shape,
            &format!("{mpath}.dimensions"),
            metric.get("dimensions"),
        )?;
        metrics.push(AlarmMetric {
            namespace,
            name,
            dimensions,
        });
    }
    Ok((metrics, is_metric_math))
}

/// Alarm tags arrive as an object of strings; a list of `{key, value}` pairs (the API's own
/// tag shape) is read too.
fn parse_tags(
    shape: EventShape,
    path: &str,
    tags: Option<&Value>,
) -> Result<BTreeMap<String, String>, EventError> {
    match tags {
        Some(Value::Array(pairs)) => pairs
            .iter()
            .enumerate()
            .map(|(i, pair)| {
                let field = |names: [&str; 2]| {
                    names
                        .iter()
                        .find_map(|n| pair.get(*n))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                match (field(["key", "Key"]), field(["value", "Value"])) {
                    (Some(k), Some(v)) => Ok((k, v)),
                    _ => Err(malformed(
                        shape,
                        &format!("{path}[{i}]"),
                        "is not a {\"key\", \"value\"} pair of strings".into(),
                    )),
                }
            })
            .collect(),
        other => string_map(shape, path, other),
    }
}

fn string_map(
    shape: EventShape,
    path: &str,
    value: Option<&Value>,
) -> Result<BTreeMap<String, String>, EventError> {
    match value {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(malformed(
                    shape,
                    &format!("{path}.{k}"),
                    format!("is a JSON {}, not a string", json_type(other)),
                )),
            })
            .collect(),
        Some(other) => Err(malformed(
            shape,
            path,
            format!("is a JSON {}, not an object", json_type(other)),
        )),
    }
}

/// The crate's state enum defaults a missing `value` to OK and names no path when the
/// value is unknown, so both states are checked here first.
fn check_states(shape: EventShape, data: &Value, at: &str) -> Result<(), EventError> {
    if !data.is_object() {
        return Err(malformed(
            shape,
            at,
            format!("is a JSON {}, not an object", json_type(data)),
        ));
    }
    let state = data
        .get("state")
        .ok_or_else(|| missing(shape, &format!("{at}.state")))?;
    required_state(shape, state, &format!("{at}.state"), "value")?;
    if let Some(previous) = data.get("previousState").filter(|p| !p.is_null()) {
        required_state(shape, previous, &format!("{at}.previousState"), "value")?;
    }
    Ok(())
}

fn required_state(
    shape: EventShape,
    object: &Value,
    at: &str,
    key: &str,
) -> Result<AlarmState, EventError> {
    optional_state(shape, object, at, key)?.ok_or_else(|| missing(shape, &format!("{at}.{key}")))
}

fn optional_state(
    shape: EventShape,
    object: &Value,
    at: &str,
    key: &str,
) -> Result<Option<AlarmState>, EventError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_str()
            .and_then(|s| s.parse().ok())
            .map(Some)
            .ok_or_else(|| EventError::BadState {
                shape,
                path: format!("{at}.{key}"),
                value: value.to_string(),
            }),
    }
}

fn state_value(
    value: &aws_lambda_events::event::cloudwatch_alarms::CloudWatchAlarmStateValue,
) -> AlarmState {
    use aws_lambda_events::event::cloudwatch_alarms::CloudWatchAlarmStateValue as V;
    match value {
        V::Alarm => AlarmState::Alarm,
        V::InsufficientData => AlarmState::InsufficientData,
        // `check_states` refused anything but the three values before this point.
        _ => AlarmState::Ok,
    }
}

/// Deserializes `value` (found at `at`) into a typed struct, turning serde's message into an
/// [`EventError`] with the full JSON path.
fn deserialize_at<T: DeserializeOwned>(
    shape: EventShape,
    at: &str,
    value: &Value,
) -> Result<T, EventError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let path = join_path(at, if inner == "." { "" } else { &inner });
        let message = e.inner().to_string();
        if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            return missing(shape, &join_path(&path, field));
        }
        let last = path.rsplit(['.', '[']).next().unwrap_or("");
        if matches!(last, "time" | "timestamp" | "Timestamp") {
            return EventError::BadTimestamp {
                shape,
                value: pointer(value, &inner)
                    .map(Value::to_string)
                    .unwrap_or_else(|| message.clone()),
                path,
            };
        }
        EventError::Malformed {
            shape,
            path: if path.is_empty() {
                "(root)".into()
            } else {
                path
            },
            message,
        }
    })
}

/// Follows a serde_path_to_error path (`detail.state.timestamp`, `Records[0].Sns`) in `value`.
fn pointer<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let mut current = value;
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let (key, indices) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        if !key.is_empty() {
            current = current.get(key)?;
        }
        for index in indices.split(['[', ']']).filter(|s| !s.is_empty()) {
            current = current.get(index.parse::<usize>().ok()?)?;
        }
    }
    Some(current)
}

fn join_path(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ => format!("{a}.{b}"),
    }
}

/// CloudWatch writes `2026-11-25T18:00:40.123+0000`, without the colon RFC 3339 wants.
fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    text.trim().parse::<DateTime<Utc>>().ok().or_else(|| {
        DateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M:%S%.f%z")
            .ok()
            .map(|t| t.with_timezone(&Utc))
    })
}

fn missing(shape: EventShape, path: &str) -> EventError {
    EventError::MissingField {
        shape,
        path: path.to_owned(),
    }
}

fn malformed(shape: EventShape, path: &str, message: String) -> EventError {
    EventError::Malformed {
        shape,
        path: path.to_owned(),
        message,
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn describe(value: Option<&Value>) -> String {
    match value {
        None => "(none)".to_owned(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn parse(name: &str) -> AlarmTransition {
        parse_event_bytes(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn value(name: &str) -> Value {
        serde_json::from_slice(&fixture(name)).unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn capacity_metric() -> AlarmMetric {
        AlarmMetric {
            namespace: Some("AWS/RDS".into()),
            name: "ServerlessDatabaseCapacity".into(),
            dimensions: BTreeMap::from([(CLUSTER_DIMENSION.into(), "shop-db".into())]),
        }
    }

    const HIGH_ARN: &str =
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:Aurora-shop-db-High-ACU";

    #[test]
    fn eventbridge_high_alarm() {
        let tr = parse("alarm-eventbridge-high-alarm.json");
        assert_eq!(tr.shape, EventShape::EventBridge);
        assert_eq!(tr.alarm_name, "Aurora-shop-db-High-ACU");
        assert_eq!(tr.alarm_arn.as_deref(), Some(HIGH_ARN));
        assert_eq!(tr.state, AlarmState::Alarm);
        assert_eq!(tr.previous_state, Some(AlarmState::Ok));
        assert_eq!(tr.state_timestamp, t("2026-11-25T18:00:40.123Z"));
        assert!(
            tr.reason
                .as_deref()
                .unwrap()
                .starts_with("Threshold Crossed")
        );
        assert_eq!(tr.metrics, vec![capacity_metric()]);
        assert!(!tr.is_metric_math && tr.watches_absolute_capacity());
        assert_eq!(tr.cluster.as_deref(), Some("shop-db"));
        assert_eq!(tr.role_hint, None);
        assert_eq!(tr.comparison, None);
        assert_eq!(tr.threshold, Some(12.0));
        assert!(tr.tags.is_empty());
        assert!(tr.needs_describe_for_role());
        assert_eq!(tr.role(None), Some((AlarmRole::High, RoleSource::Name)));
    }

    #[test]
    fn eventbridge_high_ok() {
        let tr = parse("alarm-eventbridge-high-ok.json");
        assert_eq!(
            (tr.state, tr.previous_state),
            (AlarmState::Ok, Some(AlarmState::Alarm))
        );
        assert_eq!(tr.state_timestamp, t("2026-11-25T18:20:40.305Z"));
        assert_eq!(tr.cluster.as_deref(), Some("shop-db"));
    }

    #[test]
    fn eventbridge_low_alarm_and_ok() {
        let alarm = parse("alarm-eventbridge-low-alarm.json");
        assert_eq!(alarm.alarm_name, "Aurora-shop-db-Low-ACU");
        assert_eq!(alarm.state, AlarmState::Alarm);
        assert_eq!(alarm.threshold, Some(1.0));
        assert_eq!(
            alarm.role(Some(ComparisonOperator::LessThanThreshold)),
            Some((AlarmRole::Low, RoleSource::Comparison))
        );
        let ok = parse("alarm-eventbridge-low-ok.json");
        assert_eq!(
            (ok.state, ok.previous_state),
            (AlarmState::Ok, Some(AlarmState::Alarm))
        );
        assert!(ok.state_timestamp > alarm.state_timestamp);
    }

    #[test]
    fn eventbridge_insufficient_data() {
        let tr = parse("alarm-eventbridge-insufficient-data.json");
        assert_eq!(tr.state, AlarmState::InsufficientData);
        assert_eq!(tr.previous_state, Some(AlarmState::Ok));
        assert_eq!(tr.cluster.as_deref(), Some("shop-db"));
    }

    #[test]
    fn eventbridge_with_tags() {
        let tr = parse("alarm-eventbridge-with-tags.json");
        assert_eq!(
            tr.tags.get(ALARM_CLUSTER).map(String::as_str),
            Some("shop-db")
        );
        assert_eq!(tr.tags.get("team").map(String::as_str), Some("shop"));
        assert_eq!(tr.role_hint, Some(AlarmRole::High));
        assert!(!tr.needs_describe_for_role());
        assert_eq!(tr.role(None), Some((AlarmRole::High, RoleSource::Tag)));
        assert_eq!(tr.cluster.as_deref(), Some("shop-db"));
        assert_eq!(tr.metrics[0].name, "ACUUtilization");
        assert!(!tr.watches_absolute_capacity());
        assert_eq!(tr.threshold, Some(80.0));
    }

    #[test]
    fn eventbridge_metric_math() {
        let tr = parse("alarm-eventbridge-metric-math.json");
        assert!(tr.is_metric_math);
        assert_eq!(tr.metrics.len(), 2);
        assert!(
            tr.metrics
                .iter()
                .all(|m| m.dimensions.contains_key("DBInstanceIdentifier"))
        );
        // No cluster dimension at all: the tag names the cluster.
        assert_eq!(tr.cluster.as_deref(), Some("shop-db"));
        assert_eq!(tr.role_hint, Some(AlarmRole::High));
        assert!(!tr.watches_absolute_capacity());
    }

    #[test]
    fn lambda_action_high_alarm_matches_the_eventbridge_one() {
        let tr = parse("alarm-lambda-action-high-alarm.json");
        assert_eq!(tr.shape, EventShape::LambdaAction);
        let eb = parse("alarm-eventbridge-high-alarm.json");
        assert_eq!(
            AlarmTransition {
                shape: EventShape::EventBridge,
                ..tr
            },
            eb
        );
    }

    #[test]
    fn sns_high_alarm() {
        let tr = parse("alarm-sns-high-alarm.json");
        assert_eq!(tr.shape, EventShape::Sns);
        assert_eq!(tr.alarm_name, "Aurora-shop-db-High-ACU");
        assert_eq!(tr.alarm_arn.as_deref(), Some(HIGH_ARN));
        assert_eq!(
            (tr.state, tr.previous_state),
            (AlarmState::Alarm, Some(AlarmState::Ok))
        );
        assert_eq!(tr.state_timestamp, t("2026-11-25T18:00:40.123Z"));
        assert_eq!(tr.metrics, vec![capacity_metric()]);
        assert_eq!(
            tr.comparison,
            Some(ComparisonOperator::GreaterThanThreshold)
        );
        assert_eq!(tr.threshold, Some(12.0));
        assert_eq!(tr.cluster.as_deref(), Some("shop-db"));
        assert!(!tr.needs_describe_for_role());
        assert_eq!(
            tr.role(None),
            Some((AlarmRole::High, RoleSource::Comparison))
        );
        // The same transition as the EventBridge delivery, so dedup sees one transition.
        let eb = parse("alarm-eventbridge-high-alarm.json");
        assert_eq!(
            (tr.alarm_name, tr.state_timestamp),
            (eb.alarm_name, eb.state_timestamp)
        );
    }

    #[test]
    fn sns_metric_math_trigger_and_null_description() {
        let message = serde_json::json!({
            "AlarmName": "x", "AlarmDescription": null, "NewStateValue": "ALARM",
            "OldStateValue": "OK", "StateChangeTime": "2026-11-25T18:00:40.123+0000",
            "AlarmTags": [{"key": "acu-pilot:cluster", "value": "shop-db"}],
            "Trigger": {"Period": 60, "EvaluationPeriods": 1,
                "ComparisonOperator": "LessThanOrEqualToThreshold", "Threshold": 1.0,
                "Metrics": [
                    {"Expression": "m1*1", "Id": "e1", "ReturnData": true},
                    {"Id": "m1", "ReturnData": false, "MetricStat": {"Period": 60, "Stat": "Average",
                        "Metric": {"MetricName": "ServerlessDatabaseCapacity", "Namespace": "AWS/RDS",
                            "Dimensions": [{"name": "DBClusterIdentifier", "value": "shop-db"}]}}}]}
        });
        let mut event = value("alarm-sns-high-alarm.json");
        event["Records"][0]["Sns"]["Message"] = Value::String(message.to_string());
        let tr = parse_event(&event).unwrap();
        assert!(tr.is_metric_math);
        assert_eq!(tr.metrics, vec![capacity_metric()]);
        assert_eq!(
            tr.role(None),
            Some((AlarmRole::Low, RoleSource::Comparison))
        );
        assert_eq!(tr.cluster.as_deref(), Some("shop-db"));
    }

    fn writer_metric() -> AlarmMetric {
        AlarmMetric {
            dimensions: BTreeMap::from([
                (CLUSTER_DIMENSION.into(), "shop-db".into()),
                (ROLE_DIMENSION.into(), WRITER_ROLE.into()),
            ]),
            ..capacity_metric()
        }
    }

    #[test]
    fn the_writer_role_alarm_parses_alike_in_all_three_shapes() {
        let eb = parse("alarm-eventbridge-writer-high-alarm.json");
        assert_eq!(eb.shape, EventShape::EventBridge);
        assert_eq!(eb.metrics, vec![writer_metric()]);
        assert_eq!(eb.cluster.as_deref(), Some("shop-db"));
        assert_eq!(eb.metric_role(), Some(WRITER_ROLE));
        assert!(!eb.is_metric_math && eb.watches_absolute_capacity());
        assert_eq!(eb.threshold, Some(12.0));
        assert_eq!(eb.role(None), Some((AlarmRole::High, RoleSource::Name)));

        let action = parse("alarm-lambda-action-writer-high-alarm.json");
        assert_eq!(
            AlarmTransition {
                shape: EventShape::EventBridge,
                ..action
            },
            eb
        );

        let sns = parse("alarm-sns-writer-high-alarm.json");
        assert_eq!(sns.shape, EventShape::Sns);
        assert_eq!(sns.metrics, vec![writer_metric()]);
        assert_eq!(sns.cluster.as_deref(), Some("shop-db"));
        assert_eq!(sns.metric_role(), Some(WRITER_ROLE));
        assert_eq!(
            sns.role(None),
            Some((AlarmRole::High, RoleSource::Comparison))
        );
        assert_eq!(
            (sns.alarm_name, sns.state_timestamp),
            (eb.alarm_name, eb.state_timestamp)
        );

        // The old shape reads the cluster-wide average: no role.
        assert_eq!(
            parse("alarm-eventbridge-high-alarm.json").metric_role(),
            None
        );
    }

    #[test]
    fn metric_math_over_the_role_series_names_its_cluster_without_a_tag() {
        let tr = parse("alarm-eventbridge-role-metric-math.json");
        assert!(tr.is_metric_math);
        assert!(tr.tags.is_empty());
        assert_eq!(tr.metrics.len(), 2);
        // Both inputs name the same cluster, so the dimensions alone say which.
        assert_eq!(tr.cluster.as_deref(), Some("shop-db"));
        // A writer and a reader series: no single role.
        assert_eq!(tr.metric_role(), None);
        assert!(!tr.watches_absolute_capacity());
        assert_eq!(tr.threshold, Some(90.0));
        assert_eq!(
            tr.role(Some(ComparisonOperator::GreaterThanOrEqualToThreshold)),
            Some((AlarmRole::High, RoleSource::Comparison))
        );
    }

    fn round_trips<T>(value: &Value)
    where
        T: DeserializeOwned + Serialize + PartialEq + fmt::Debug,
    {
        let first: T = serde_json::from_value(value.clone()).unwrap();
        let again: T = serde_json::from_value(serde_json::to_value(&first).unwrap()).unwrap();
        assert_eq!(first, again);
    }

    #[test]
    fn fixtures_round_trip_through_the_aws_lambda_events_types() {
        for name in [
            "alarm-eventbridge-high-alarm.json",
            "alarm-eventbridge-high-ok.json",
            "alarm-eventbridge-low-alarm.json",
            "alarm-eventbridge-low-ok.json",
            "alarm-eventbridge-insufficient-data.json",
            "alarm-eventbridge-with-tags.json",
            "alarm-eventbridge-metric-math.json",
            "alarm-eventbridge-writer-high-alarm.json",
            "alarm-eventbridge-role-metric-math.json",
        ] {
            round_trips::<EventBridgeAlarmEvent>(&value(name));
        }
        for name in [
            "alarm-lambda-action-high-alarm.json",
            "alarm-lambda-action-writer-high-alarm.json",
        ] {
            round_trips::<LambdaActionAlarmEvent>(&value(name));
        }
        for name in [
            "alarm-sns-high-alarm.json",
            "alarm-sns-writer-high-alarm.json",
        ] {
            round_trips::<SnsEvent>(&value(name));
        }
    }

    #[test]
    fn not_json_and_foreign_events_are_refused_by_name() {
        assert!(matches!(
            parse_event_bytes(b"{nope"),
            Err(EventError::NotJson(_))
        ));
        let err = parse_event(&serde_json::json!({"foo": 1, "bar": 2})).unwrap_err();
        // Key order depends on serde_json's `preserve_order`, which another crate may enable.
        let message = err.to_string();
        assert!(message.contains("foo") && message.contains("bar"), "{err}");
        let err = parse_event(&serde_json::json!([1])).unwrap_err();
        assert!(err.to_string().contains("array"), "{err}");
        let mut ec2 = value("alarm-eventbridge-high-alarm.json");
        ec2["detail-type"] = "EC2 Instance State-change Notification".into();
        ec2["source"] = "aws.ec2".into();
        let err = parse_event(&ec2).unwrap_err();
        assert!(
            err.to_string().contains("EC2 Instance State-change"),
            "{err}"
        );
        let s3 = serde_json::json!({"Records": [{"eventSource": "aws:s3"}]});
        let err = parse_event(&s3).unwrap_err();
        assert!(err.to_string().contains("aws:s3"), "{err}");
    }

    type Edit = fn(&mut Value);

    #[test]
    fn missing_fields_are_named_by_path() {
        let cases: [(&str, Edit, &str); 7] = [
            (
                "alarm-eventbridge-high-alarm.json",
                |e| {
                    e["detail"].as_object_mut().unwrap().remove("state");
                },
                "detail.state",
            ),
            (
                "alarm-eventbridge-high-alarm.json",
                |e| {
                    e["detail"]["state"]
                        .as_object_mut()
                        .unwrap()
                        .remove("timestamp");
                },
                "detail.state.timestamp",
            ),
            (
                "alarm-eventbridge-high-alarm.json",
                |e| {
                    e["detail"].as_object_mut().unwrap().remove("alarmName");
                },
                "detail.alarmName",
            ),
            (
                "alarm-eventbridge-high-alarm.json",
                |e| {
                    e["detail"]["state"]
                        .as_object_mut()
                        .unwrap()
                        .remove("value");
                },
                "detail.state.value",
            ),
            (
                "alarm-eventbridge-high-alarm.json",
                |e| {
                    e["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]
                        .as_object_mut()
                        .unwrap()
                        .remove("name");
                },
                "detail.configuration.metrics[0].metricStat.metric.name",
            ),
            (
                "alarm-lambda-action-high-alarm.json",
                |e| {
                    e["alarmData"].as_object_mut().unwrap().remove("alarmName");
                },
                "alarmData.alarmName",
            ),
            (
                "alarm-sns-high-alarm.json",
                |e| {
                    e["Records"][0]["Sns"]
                        .as_object_mut()
                        .unwrap()
                        .remove("Message");
                },
                "Records[0].Sns.Message",
            ),
        ];
        for (name, edit, path) in cases {
            let mut event = value(name);
            edit(&mut event);
            let err = parse_event(&event).unwrap_err();
            assert!(
                matches!(&err, EventError::MissingField { path: p, .. } if p == path),
                "{name}: expected missing {path}, got {err:?}"
            );
            assert!(err.to_string().contains(path), "{err}");
        }
        let mut sns = value("alarm-sns-high-alarm.json");
        let mut message: Value =
            serde_json::from_str(sns["Records"][0]["Sns"]["Message"].as_str().unwrap()).unwrap();
        message.as_object_mut().unwrap().remove("StateChangeTime");
        sns["Records"][0]["Sns"]["Message"] = message.to_string().into();
        let err = parse_event(&sns).unwrap_err();
        assert_eq!(
            err.path(),
            Some("Records[0].Sns.Message.StateChangeTime"),
            "{err}"
        );
    }

    #[test]
    fn bad_states_and_timestamps_are_named() {
        let mut event = value("alarm-eventbridge-high-alarm.json");
        event["detail"]["state"]["value"] = "ON_FIRE".into();
        let err = parse_event(&event).unwrap_err();
        assert!(
            matches!(err, EventError::BadState { ref path, .. } if path == "detail.state.value"),
            "{err:?}"
        );
        assert!(err.to_string().contains("ON_FIRE"));

        let mut event = value("alarm-eventbridge-high-alarm.json");
        event["detail"]["state"]["timestamp"] = "yesterday".into();
        let err = parse_event(&event).unwrap_err();
        assert!(
            matches!(err, EventError::BadTimestamp { ref path, .. } if path == "detail.state.timestamp"),
            "{err:?}"
        );
        assert!(err.to_string().contains("yesterday"), "{err}");

        let mut sns = value("alarm-sns-high-alarm.json");
        let mut message: Value =
            serde_json::from_str(sns["Records"][0]["Sns"]["Message"].as_str().unwrap()).unwrap();
        message["NewStateValue"] = "alarm".into();
        sns["Records"][0]["Sns"]["Message"] = message.to_string().into();
        let err = parse_event(&sns).unwrap_err();
        assert_eq!(err.path(), Some("Records[0].Sns.Message.NewStateValue"));

        let mut sns = value("alarm-sns-high-alarm.json");
        sns["Records"][0]["Sns"]["Message"] = "not json".into();
        let err = parse_event(&sns).unwrap_err();
        assert_eq!(err.path(), Some("Records[0].Sns.Message"));
    }

    #[test]
    fn role_resolution_order() {
        use AlarmRole::*;
        use ComparisonOperator::*;
        assert_eq!(
            resolve_role(Some(Low), Some(GreaterThanThreshold), "Aurora-x-High-ACU"),
            Some((Low, RoleSource::Tag))
        );
        assert_eq!(
            resolve_role(None, Some(LessThanOrEqualToThreshold), "Aurora-x-High-ACU"),
            Some((Low, RoleSource::Comparison))
        );
        assert_eq!(
            resolve_role(None, Some(GreaterThanUpperThreshold), "x"),
            Some((High, RoleSource::Comparison))
        );
        assert_eq!(
            resolve_role(
                None,
                Some(LessThanLowerOrGreaterThanUpperThreshold),
                "Aurora-shop-db-Low-ACU"
            ),
            Some((Low, RoleSource::Name))
        );
        assert_eq!(
            resolve_role(None, None, "Aurora-shop-db-High-ACU"),
            Some((High, RoleSource::Name))
        );
        assert_eq!(
            resolve_role(None, None, "aurora-shop-db-low-acu"),
            Some((Low, RoleSource::Name))
        );
        assert_eq!(resolve_role(None, None, "Aurora--High-ACU"), None);
        assert_eq!(resolve_role(None, None, "shop-db-cpu"), None);
        for op in ComparisonOperator::ALL {
            assert_eq!(op.as_str().parse(), Ok(op));
        }
    }

    #[test]
    fn a_bad_role_tag_falls_through_and_two_clusters_name_none() {
        let mut event = value("alarm-eventbridge-with-tags.json");
        event["detail"]["alarmTags"]["acu-pilot:role"] = "sideways".into();
        event["detail"]["alarmTags"]
            .as_object_mut()
            .unwrap()
            .remove("acu-pilot:cluster");
        event["detail"]["configuration"]["metrics"]
            .as_array_mut()
            .unwrap()
            .push(
                serde_json::json!({"id": "m2", "metricStat": {"metric": {"namespace": "AWS/RDS",
                "name": "ACUUtilization", "dimensions": {"DBClusterIdentifier": "other-db"}},
                "period": 300, "stat": "Average"}}),
            );
        let tr = parse_event(&event).unwrap();
        assert_eq!(tr.role_hint, None);
        assert_eq!(tr.cluster, None);
    }

    #[test]
    fn event_errors_become_invalid_input() {
        let err: crate::Error = parse_event_bytes(b"[]").unwrap_err().into();
        assert!(matches!(err, crate::Error::InvalidInput { .. }));
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[ -~]{0,12}".prop_map(Value::String),
            prop::sample::select(vec![
                "ALARM",
                "OK",
                "INSUFFICIENT_DATA",
                "CloudWatch Alarm State Change",
                "aws.cloudwatch",
                "2026-11-25T18:00:40.123+0000",
                "GreaterThanThreshold",
                "{\"AlarmName\":\"a\"}",
                "shop-db",
            ])
            .prop_map(|s| Value::String(s.to_owned())),
        ];
        let keys = prop::sample::select(vec![
            "detail-type",
            "source",
            "detail",
            "alarmData",
            "Records",
            "Sns",
            "Message",
            "alarmName",
            "state",
            "previousState",
            "value",
            "timestamp",
            "reason",
            "reasonData",
            "configuration",
            "metrics",
            "metricStat",
            "metric",
            "name",
            "namespace",
            "dimensions",
            "expression",
            "alarmTags",
            "resources",
            "time",
            "AlarmName",
            "NewStateValue",
            "StateChangeTime",
            "Trigger",
            "Dimensions",
            "x",
        ]);
        leaf.prop_recursive(4, 48, 8, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((keys.clone(), inner), 0..8).prop_map(|pairs| {
                    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                }),
            ]
        })
    }

    /// A fixture with one value somewhere replaced by an arbitrary one: deep, near-valid input.
    fn mutated_fixture() -> impl Strategy<Value = Value> {
        let names = prop::sample::select(vec![
            "alarm-eventbridge-high-alarm.json",
            "alarm-eventbridge-metric-math.json",
            "alarm-eventbridge-with-tags.json",
            "alarm-lambda-action-high-alarm.json",
            "alarm-sns-high-alarm.json",
            "alarm-eventbridge-writer-high-alarm.json",
            "alarm-eventbridge-role-metric-math.json",
            "alarm-sns-writer-high-alarm.json",
        ]);
        (names, any::<prop::sample::Index>(), any_json()).prop_map(|(name, index, replacement)| {
            let mut event = value(name);
            let mut pointers = Vec::new();
            collect_pointers(&event, String::new(), &mut pointers);
            let target = index.get(&pointers).clone();
            if let Some(slot) = event.pointer_mut(&target) {
                *slot = replacement;
            }
            event
        })
    }

    fn collect_pointers(value: &Value, at: String, out: &mut Vec<String>) {
        out.push(at.clone());
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    collect_pointers(
                        v,
                        format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                        out,
                    );
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    collect_pointers(v, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_json_never_panics(event in any_json()) {
            let _ = parse_event(&event);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_event_bytes(&bytes);
        }

        #[test]
        fn mutated_fixtures_parse_or_name_a_reason(event in mutated_fixture()) {
            if let Err(err) = parse_event(&event) {
                prop_assert!(!err.to_string().is_empty());
            }
        }
    }
}
