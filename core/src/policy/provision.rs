//! The provisioner's pure half: requests (parsed and validated strictly, before any AWS
//! call), the alarms a cluster gets, and the planners that, given what exists, say what to
//! do next or what to wait for.
//!
//! Planning is level-triggered like reconcile: every invocation looks at what exists and
//! computes the remaining steps from scratch, so a retry, a duplicate event or an RDS
//! lifecycle event all continue from wherever the last invocation stopped, and a request
//! repeated after completion plans nothing.
//!
//! Tags this module owns (cluster tags, beside the schema in [`crate::tags`]):
//!
//! | key | value |
//! |---|---|
//! | `acu-pilot:provisioning` | `readers=1 pi=7 alarms=default`: the steps after the cluster, while they are unfinished |
//! | `acu-pilot:decommissioning` | `final-snapshot` or `skip-final-snapshot`: a teardown under way |
//! | `acu-pilot:parameter-group` | the cluster parameter group acu-pilot created for this cluster (deleted with it) |

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::capacity::{Acu, CapacityRange};
use crate::engine::{self, Engine};
use crate::error::{Error, Result};
use crate::model::{
    AlarmSpec, ClusterDetails, ClusterSpec, Instance, InstanceSpec, ParameterGroup,
    ParameterGroupSpec,
};
use crate::tags::{self, ALARM_CLUSTER, ALARM_ROLE, BASELINE, MANAGED, TTL};

pub const PROVISIONING: &str = "acu-pilot:provisioning";
pub const DECOMMISSIONING: &str = "acu-pilot:decommissioning";
pub const PARAMETER_GROUP: &str = "acu-pilot:parameter-group";

/// The EventBridge `source` of requests (and of the events acu-pilot publishes).
pub const SOURCE: &str = "acu-pilot";

/// Aurora allows up to 15 replicas per cluster.
const MAX_READERS: u32 = 15;

/// A new cluster's baseline max when the request leaves it out: the default ceiling.
/// Aurora bills the capacity used, not max, so a max below the ceiling only refuses demand;
/// refusing demand on purpose is a lower `max_acu` (or ceiling), chosen, not defaulted.
pub const DEFAULT_MAX_ACU: f64 = 64.0;
/// RDS identifiers: 1–63 characters.
const MAX_IDENTIFIER: usize = 63;

// ------------------------------------------------------------------------- requests

/// One thing the provisioner was asked to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    Provision(ProvisionRequest),
    Onboard(OnboardRequest),
    Decommission(DecommissionRequest),
    /// An RDS lifecycle event: continue whatever is unfinished on that cluster.
    Resume(RdsEvent),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProvisionRequest {
    pub target: Target,
    pub create: CreateSettings,
}

/// What a provisioned cluster must end up with once it exists; everything the steps
/// after CreateDBCluster need, so that an RDS event alone can finish them.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub cluster_id: String,
    pub engine: Engine,
    pub engine_version: String,
    pub range: CapacityRange,
    pub followup: Followup,
}

/// The steps after the cluster: instances and alarms.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Followup {
    pub readers: u32,
    pub performance_insights_days: i32,
    pub recipe_alarms: bool,
}

/// Settings that only matter when the cluster is created.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateSettings {
    pub db_subnet_group: String,
    pub security_group_ids: Vec<String>,
    pub parameter_group: Option<String>,
    pub backup_retention_days: i32,
    pub log_exports: Vec<String>,
    pub deletion_protection: bool,
    pub ttl_hours: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OnboardRequest {
    pub cluster_id: String,
    pub min_acu: Option<Acu>,
    pub max_acu: Option<Acu>,
    pub recipe_alarms: bool,
    pub ttl_hours: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecommissionRequest {
    pub cluster_id: String,
    pub skip_final_snapshot: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RdsSource {
    Cluster,
    Instance,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RdsEvent {
    pub source: RdsSource,
    pub source_id: String,
    pub message: Option<String>,
}

/// What the deployment supplies when a request leaves them out
/// (`ACU_PILOT_SUBNET_GROUP`, `ACU_PILOT_SECURITY_GROUP_IDS`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Defaults {
    pub db_subnet_group: Option<String>,
    pub security_group_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvision {
    cluster_id: String,
    engine: Option<String>,
    engine_version: Option<String>,
    min_acu: Option<f64>,
    max_acu: Option<f64>,
    readers: Option<u32>,
    db_subnet_group: Option<String>,
    security_group_ids: Option<Vec<String>>,
    parameter_group: Option<String>,
    backup_retention_days: Option<i32>,
    log_exports: Option<Vec<String>>,
    deletion_protection: Option<bool>,
    performance_insights_days: Option<i32>,
    recipe_alarms: Option<bool>,
    ttl_hours: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOnboard {
    cluster_id: String,
    min_acu: Option<f64>,
    max_acu: Option<f64>,
    recipe_alarms: Option<bool>,
    ttl_hours: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDecommission {
    cluster_id: String,
    skip_final_snapshot: Option<bool>,
}

#[derive(Deserialize)]
struct RawRdsDetail {
    #[serde(rename = "SourceIdentifier")]
    source_identifier: Option<String>,
    #[serde(rename = "SourceArn")]
    source_arn: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Action {
    Provision,
    Onboard,
    Decommission,
}

/// Parses and validates an invocation: an EventBridge event (`source: acu-pilot` with a
/// request as `detail`, or an RDS lifecycle event) or a direct invoke (`action` plus the
/// request). Nothing here calls AWS: an invalid request is refused before any call.
pub fn parse(event: &Value, defaults: &Defaults) -> Result<Incoming> {
    let Value::Object(object) = event else {
        return Err(Error::invalid("event", "must be a JSON object"));
    };
    if let Some(detail_type) = object.get("detail-type") {
        let source = object.get("source").and_then(Value::as_str).unwrap_or("");
        let detail_type = detail_type.as_str().unwrap_or("");
        if source == "aws.rds" {
            return parse_rds(detail_type, object.get("detail").unwrap_or(&Value::Null));
        }
        if source != SOURCE {
            return Err(Error::invalid(
                "source",
                format!("{source:?} is neither {SOURCE:?} nor \"aws.rds\""),
            ));
        }
        let action = match detail_type {
            "Provision Cluster" => Action::Provision,
            "Onboard Cluster" => Action::Onboard,
            "Decommission Cluster" => Action::Decommission,
            other => {
                return Err(Error::invalid(
                    "detail-type",
                    format!(
                        "{other:?} is not one of \"Provision Cluster\", \"Onboard Cluster\", \"Decommission Cluster\""
                    ),
                ));
            }
        };
        let detail = object
            .get("detail")
            .cloned()
            .ok_or_else(|| Error::invalid("detail", "missing: the request goes in detail"))?;
        return parse_request(action, detail, defaults);
    }
    let action = match object.get("action").map(|a| a.as_str()) {
        Some(Some("provision")) => Action::Provision,
        Some(Some("onboard")) => Action::Onboard,
        Some(Some("decommission")) => Action::Decommission,
        Some(other) => {
            return Err(Error::invalid(
                "action",
                format!(
                    "{} is not one of \"provision\", \"onboard\", \"decommission\"",
                    other.map_or_else(|| "a non-string".to_owned(), |o| format!("{o:?}"))
                ),
            ));
        }
        None => {
            return Err(Error::invalid(
                "action",
                "missing: a direct invoke says \"action\": \"provision\" | \"onboard\" | \"decommission\"; an event says source and detail-type",
            ));
        }
    };
    let mut request = object.clone();
    request.remove("action");
    parse_request(action, Value::Object(request), defaults)
}

fn parse_request(action: Action, request: Value, defaults: &Defaults) -> Result<Incoming> {
    Ok(match action {
        Action::Provision => Incoming::Provision(validate_provision(strict(request)?, defaults)?),
        Action::Onboard => Incoming::Onboard(validate_onboard(strict(request)?)?),
        Action::Decommission => {
            let raw: RawDecommission = strict(request)?;
            validate_cluster_id(&raw.cluster_id, 0)?;
            if raw.skip_final_snapshot == Some(true) {
                // Whoever may send a request is not thereby allowed to lose a database
                // for good: a teardown always keeps a final snapshot.
                return Err(Error::invalid(
                    "skip_final_snapshot",
                    "acu-pilot always takes a final snapshot; delete the snapshot yourself if you do not want it",
                ));
            }
            Incoming::Decommission(DecommissionRequest {
                cluster_id: raw.cluster_id,
                skip_final_snapshot: raw.skip_final_snapshot.unwrap_or(false),
            })
        }
    })
}

/// Deserializes with every error naming its field: the path for a bad value, the name
/// serde quotes for an unknown or missing one.
fn strict<T: DeserializeOwned>(value: Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let message = err.inner().to_string();
        let path = err.path().to_string();
        let field = if path.is_empty() || path == "." {
            message
                .split('`')
                .nth(1)
                .map(str::to_owned)
                .unwrap_or_else(|| "request".to_owned())
        } else {
            path
        };
        Error::invalid(field, message)
    })
}

fn parse_rds(detail_type: &str, detail: &Value) -> Result<Incoming> {
    let source = match detail_type {
        "RDS DB Cluster Event" => RdsSource::Cluster,
        "RDS DB Instance Event" => RdsSource::Instance,
        other => {
            return Err(Error::invalid(
                "detail-type",
                format!("{other:?} is not \"RDS DB Cluster Event\" or \"RDS DB Instance Event\""),
            ));
        }
    };
    let raw: RawRdsDetail = serde_json::from_value(detail.clone())
        .map_err(|e| Error::invalid("detail", e.to_string()))?;
    let source_id = raw
        .source_identifier
        .filter(|s| !s.is_empty())
        .or_else(|| {
            raw.source_arn
                .as_deref()
                .and_then(|arn| arn.rsplit(':').next())
                .map(str::to_owned)
        })
        .ok_or_else(|| Error::invalid("detail.SourceIdentifier", "missing"))?;
    Ok(Incoming::Resume(RdsEvent {
        source,
        source_id,
        message: raw.message,
    }))
}

fn validate_provision(raw: RawProvision, defaults: &Defaults) -> Result<ProvisionRequest> {
    let readers = raw.readers.unwrap_or(1);
    if readers > MAX_READERS {
        return Err(Error::invalid(
            "readers",
            format!("{readers} is more than the {MAX_READERS} replicas Aurora allows"),
        ));
    }
    validate_cluster_id(&raw.cluster_id, readers)?;
    let engine_name = raw.engine.as_deref().unwrap_or("aurora-mysql");
    let engine = Engine::parse(engine_name).ok_or_else(|| {
        Error::invalid(
            "engine",
            format!("{engine_name:?} is not aurora-mysql or aurora-postgresql"),
        )
    })?;
    let engine_version = match raw.engine_version {
        Some(v) => v,
        None if engine == Engine::AuroraMysql => "8.0.mysql_aurora.3.09.0".to_owned(),
        None => {
            return Err(Error::invalid(
                "engine_version",
                "required with aurora-postgresql (the default version is a MySQL one)",
            ));
        }
    };
    if !engine::supports_serverless_v2(engine, &engine_version) {
        return Err(Error::invalid(
            "engine_version",
            format!("{engine_version:?} of {engine_name} does not support Aurora Serverless v2"),
        ));
    }
    let min = Acu::in_field("min_acu", raw.min_acu.unwrap_or(0.5))?;
    let max = Acu::in_field("max_acu", raw.max_acu.unwrap_or(DEFAULT_MAX_ACU))?;
    let range = CapacityRange::in_fields("min_acu", "max_acu", min, max)?;
    check_auto_pause(engine, &engine_version, range.min)?;

    let db_subnet_group = raw
        .db_subnet_group
        .or_else(|| defaults.db_subnet_group.clone())
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            Error::invalid(
                "db_subnet_group",
                "required (in the request, or ACU_PILOT_SUBNET_GROUP)",
            )
        })?;
    let security_group_ids = raw
        .security_group_ids
        .unwrap_or_else(|| defaults.security_group_ids.clone());
    if security_group_ids.is_empty() {
        return Err(Error::invalid(
            "security_group_ids",
            "required (in the request, or ACU_PILOT_SECURITY_GROUP_IDS)",
        ));
    }
    for (i, sg) in security_group_ids.iter().enumerate() {
        if !sg.starts_with("sg-") || sg.len() < 4 {
            return Err(Error::invalid(
                format!("security_group_ids[{i}]"),
                format!("{sg:?} is not a security group id (sg-…)"),
            ));
        }
    }
    if let Some(name) = &raw.parameter_group {
        validate_parameter_group_name(name)?;
        if engine::parameter_group_family(engine, &engine_version).is_none() {
            return Err(Error::invalid(
                "parameter_group",
                format!("no parameter group family is known for {engine_version:?}"),
            ));
        }
    }
    let backup_retention_days = raw.backup_retention_days.unwrap_or(7);
    if !(1..=35).contains(&backup_retention_days) {
        return Err(Error::invalid(
            "backup_retention_days",
            format!("{backup_retention_days} is not 1 to 35 days"),
        ));
    }
    let log_exports = match raw.log_exports {
        Some(logs) => logs,
        None => default_log_exports(engine),
    };
    let allowed = allowed_log_exports(engine);
    for (i, log) in log_exports.iter().enumerate() {
        if !allowed.contains(&log.as_str()) {
            return Err(Error::invalid(
                format!("log_exports[{i}]"),
                format!(
                    "{log:?} is not a {engine_name} log (expected {})",
                    allowed.join(", ")
                ),
            ));
        }
    }
    let performance_insights_days = raw.performance_insights_days.unwrap_or(7);
    validate_performance_insights(performance_insights_days)?;
    let ttl_hours = validate_ttl(raw.ttl_hours)?;
    Ok(ProvisionRequest {
        target: Target {
            cluster_id: raw.cluster_id,
            engine,
            engine_version,
            range,
            followup: Followup {
                readers,
                performance_insights_days,
                recipe_alarms: raw.recipe_alarms.unwrap_or(false),
            },
        },
        create: CreateSettings {
            db_subnet_group,
            security_group_ids,
            parameter_group: raw.parameter_group,
            backup_retention_days,
            log_exports,
            deletion_protection: raw.deletion_protection.unwrap_or(true),
            ttl_hours,
        },
    })
}

fn validate_onboard(raw: RawOnboard) -> Result<OnboardRequest> {
    validate_cluster_id(&raw.cluster_id, 0)?;
    let min_acu = raw
        .min_acu
        .map(|v| Acu::in_field("min_acu", v))
        .transpose()?;
    let max_acu = raw
        .max_acu
        .map(|v| Acu::in_field("max_acu", v))
        .transpose()?;
    if let (Some(min), Some(max)) = (min_acu, max_acu) {
        CapacityRange::in_fields("min_acu", "max_acu", min, max)?;
    }
    Ok(OnboardRequest {
        cluster_id: raw.cluster_id,
        min_acu,
        max_acu,
        recipe_alarms: raw.recipe_alarms.unwrap_or(false),
        ttl_hours: validate_ttl(raw.ttl_hours)?,
    })
}

/// Min 0 (auto-pause) only where the version supports it ([`engine`]'s table, from the
/// Aurora User Guide; the service also asks DescribeDBEngineVersions where it answers).
pub fn check_auto_pause(engine: Engine, version: &str, min: Acu) -> Result<()> {
    if min == Acu::ZERO && !engine::supports_auto_pause(engine, version) {
        return Err(Error::invalid(
            "min_acu",
            format!(
                "0 (auto-pause) needs Aurora MySQL 3.08.0+ or Aurora PostgreSQL 13.15/14.12/15.7/16.3+; {version:?} does not support it"
            ),
        ));
    }
    Ok(())
}

/// Checks a range against what DescribeDBEngineVersions reported for the version.
pub fn check_engine_limits(
    range: CapacityRange,
    min_capacity: f64,
    max_capacity: f64,
) -> Result<()> {
    if range.min.value() < min_capacity {
        return Err(Error::invalid(
            "min_acu",
            format!(
                "{} is below {min_capacity}, the smallest min this engine version accepts",
                range.min
            ),
        ));
    }
    if range.max.value() > max_capacity {
        return Err(Error::invalid(
            "max_acu",
            format!(
                "{} is above {max_capacity}, the largest max this engine version accepts",
                range.max
            ),
        ));
    }
    Ok(())
}

fn validate_cluster_id(id: &str, readers: u32) -> Result<()> {
    let longest_instance = match readers {
        0 | 1 => format!("{id}-reader"),
        n => format!("{id}-reader-{n}"),
    };
    let ok = !id.is_empty()
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !id.ends_with('-')
        && !id.contains("--");
    if !ok {
        return Err(Error::invalid(
            "cluster_id",
            format!(
                "{id:?} is not an RDS identifier (a letter, then letters, digits and single hyphens, not ending in a hyphen)"
            ),
        ));
    }
    if longest_instance.len() > MAX_IDENTIFIER {
        return Err(Error::invalid(
            "cluster_id",
            format!(
                "{id:?} is too long: instance {longest_instance:?} would exceed {MAX_IDENTIFIER} characters"
            ),
        ));
    }
    Ok(())
}

fn validate_parameter_group_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "parameter_group",
            format!(
                "{name:?} is not a parameter group name (a letter, then letters, digits and single hyphens)"
            ),
        ))
    }
}

/// Performance Insights retention: 7 days (free tier), months of 31 days up to 23, or 731.
fn validate_performance_insights(days: i32) -> Result<()> {
    let ok = days == 7 || days == 731 || (days % 31 == 0 && (31..=713).contains(&days));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "performance_insights_days",
            format!("{days} is not 7, a multiple of 31 up to 713, or 731"),
        ))
    }
}

fn validate_ttl(ttl_hours: Option<f64>) -> Result<Option<f64>> {
    match ttl_hours {
        Some(h) if !(h.is_finite() && h > 0.0) => Err(Error::invalid(
            "ttl_hours",
            format!("{h} is not a positive number of hours"),
        )),
        // Ten years: beyond that a TTL is a typo, not a plan.
        Some(h) if h > 87_600.0 => Err(Error::invalid(
            "ttl_hours",
            format!("{h} is more than ten years"),
        )),
        other => Ok(other),
    }
}

pub fn default_log_exports(engine: Engine) -> Vec<String> {
    match engine {
        Engine::AuroraMysql => vec!["error".into(), "general".into(), "slowquery".into()],
        Engine::AuroraPostgresql => vec!["postgresql".into()],
    }
}

fn allowed_log_exports(engine: Engine) -> &'static [&'static str] {
    match engine {
        Engine::AuroraMysql => &[
            "audit",
            "error",
            "general",
            "slowquery",
            "iam-db-auth-error",
        ],
        Engine::AuroraPostgresql => &["postgresql", "iam-db-auth-error"],
    }
}

/// The RDS-managed master user's name: never a password, which RDS generates and keeps
/// in Secrets Manager. `admin` is reserved in PostgreSQL's conventions, so it gets `postgres`.
pub fn master_username(engine: Engine) -> &'static str {
    match engine {
        Engine::AuroraMysql => "admin",
        Engine::AuroraPostgresql => "postgres",
    }
}

// ------------------------------------------------------------------------- naming

pub fn writer_id(cluster_id: &str) -> String {
    format!("{cluster_id}-writer")
}

/// Readers are numbered from 1: `<id>-reader`, `<id>-reader-2`, …
pub fn reader_id(cluster_id: &str, n: u32) -> String {
    if n <= 1 {
        format!("{cluster_id}-reader")
    } else {
        format!("{cluster_id}-reader-{n}")
    }
}

/// The cluster an instance belongs to, from our naming; `None` for names we did not give.
pub fn cluster_of_instance(instance_id: &str) -> Option<&str> {
    if let Some(cluster) = instance_id.strip_suffix("-writer") {
        return Some(cluster).filter(|c| !c.is_empty());
    }
    if let Some(cluster) = instance_id.strip_suffix("-reader") {
        return Some(cluster).filter(|c| !c.is_empty());
    }
    let (head, n) = instance_id.rsplit_once('-')?;
    if n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    head.strip_suffix("-reader").filter(|c| !c.is_empty())
}

/// `<id>-final-<yyyymmddhhmm>`: the only final-snapshot name the template's IAM allows.
pub fn final_snapshot_id(cluster_id: &str, now: DateTime<Utc>) -> String {
    format!("{cluster_id}-final-{}", now.format("%Y%m%d%H%M"))
}

/// The description acu-pilot gives the parameter groups it creates: it lets a teardown
/// that outlived its cluster still find the group.
pub fn parameter_group_description(cluster_id: &str) -> String {
    format!("acu-pilot: created for cluster {cluster_id}")
}

// ------------------------------------------------------------------------- alarms

pub fn high_alarm_name(cluster_id: &str, recipe: bool) -> String {
    if recipe {
        format!("Aurora-{cluster_id}-High-ACU")
    } else {
        format!("acu-pilot-{cluster_id}-high")
    }
}

pub fn low_alarm_name(cluster_id: &str) -> String {
    format!("Aurora-{cluster_id}-Low-ACU")
}

/// Every alarm name acu-pilot may have given this cluster, for teardown.
pub fn alarm_names(cluster_id: &str) -> [String; 3] {
    [
        high_alarm_name(cluster_id, false),
        high_alarm_name(cluster_id, true),
        low_alarm_name(cluster_id),
    ]
}

fn alarm_tags(cluster_id: &str, role: &str) -> Vec<(String, String)> {
    vec![
        (ALARM_CLUSTER.to_owned(), cluster_id.to_owned()),
        (ALARM_ROLE.to_owned(), role.to_owned()),
    ]
}

/// The high and low alarms, with their tags. High: ACUUtilization ≥ 75 % for 2 × 5 min
/// (relative to max, so it re-arms itself when max moves), or the recipe's absolute
/// ServerlessDatabaseCapacity > 12 scaled to max (12 of 16, i.e. 75 %). Low: the recipe's
/// ServerlessDatabaseCapacity < 1 for 4 × 15 min.
pub fn alarm_specs(
    cluster_id: &str,
    max: Acu,
    recipe: bool,
) -> Vec<(AlarmSpec, Vec<(String, String)>)> {
    let dimensions: BTreeMap<String, String> =
        [("DBClusterIdentifier".to_owned(), cluster_id.to_owned())].into();
    let base = AlarmSpec {
        namespace: "AWS/RDS".into(),
        dimensions,
        statistic: Some("Average".into()),
        ..AlarmSpec::default()
    };
    let high = if recipe {
        AlarmSpec {
            name: high_alarm_name(cluster_id, true),
            description: Some(format!(
                "acu-pilot: {cluster_id} capacity above 75% of max ACU (recipe alarm)"
            )),
            metric: "ServerlessDatabaseCapacity".into(),
            period: 300,
            evaluation_periods: 2,
            threshold: 12.0 * max.value() / 16.0,
            comparison: "GreaterThanThreshold".into(),
            ..base.clone()
        }
    } else {
        AlarmSpec {
            name: high_alarm_name(cluster_id, false),
            description: Some(format!(
                "acu-pilot: {cluster_id} ACU utilization at or above 75%"
            )),
            metric: "ACUUtilization".into(),
            period: 300,
            evaluation_periods: 2,
            threshold: 75.0,
            comparison: "GreaterThanOrEqualToThreshold".into(),
            unit: Some("Percent".into()),
            ..base.clone()
        }
    };
    let low = AlarmSpec {
        name: low_alarm_name(cluster_id),
        description: Some(format!(
            "acu-pilot: {cluster_id} capacity below 1 ACU for an hour"
        )),
        metric: "ServerlessDatabaseCapacity".into(),
        period: 900,
        evaluation_periods: 4,
        threshold: 1.0,
        comparison: "LessThanThreshold".into(),
        ..base
    };
    vec![
        (high, alarm_tags(cluster_id, "high")),
        (low, alarm_tags(cluster_id, "low")),
    ]
}

// ------------------------------------------------------------------------- tag values

impl Followup {
    pub fn to_tag_value(self) -> String {
        format!(
            "readers={} pi={} alarms={}",
            self.readers,
            self.performance_insights_days,
            if self.recipe_alarms {
                "recipe"
            } else {
                "default"
            }
        )
    }

    pub fn parse(value: &str) -> Result<Self> {
        let bad = |message: String| Error::invalid(PROVISIONING, message);
        let mut readers = None;
        let mut pi = None;
        let mut recipe = None;
        for token in value.split_whitespace() {
            let (key, val) = token
                .split_once('=')
                .ok_or_else(|| bad(format!("{token:?} is not key=value")))?;
            match key {
                "readers" => readers = val.parse::<u32>().ok().filter(|n| *n <= MAX_READERS),
                "pi" => pi = val.parse::<i32>().ok(),
                "alarms" => {
                    recipe = match val {
                        "recipe" => Some(true),
                        "default" => Some(false),
                        _ => None,
                    }
                }
                _ => return Err(bad(format!("unknown key {key:?}"))),
            }
        }
        match (readers, pi, recipe) {
            (Some(readers), Some(performance_insights_days), Some(recipe_alarms)) => Ok(Followup {
                readers,
                performance_insights_days,
                recipe_alarms,
            }),
            _ => Err(bad(format!(
                "{value:?} is not readers=<n> pi=<days> alarms=default|recipe"
            ))),
        }
    }
}

pub fn decommissioning_tag_value(skip_final_snapshot: bool) -> &'static str {
    if skip_final_snapshot {
        "skip-final-snapshot"
    } else {
        "final-snapshot"
    }
}

// ------------------------------------------------------------------------- planning

/// What exists, as far as the planners need to know.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// The requested (or, on teardown, the cluster's own) parameter group, when it exists.
    pub parameter_group: Option<ParameterGroup>,
    /// Whether acu-pilot created that parameter group (its tags say so).
    pub parameter_group_ours: bool,
    pub cluster: Option<ClusterDetails>,
    pub instances: Vec<Instance>,
    /// Names of this cluster's alarms that exist (among [`alarm_names`]).
    pub alarms: BTreeSet<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    CreateParameterGroup(ParameterGroupSpec),
    CreateCluster(Box<ClusterSpec>),
    CreateInstance(InstanceSpec),
    PutAlarm {
        spec: Box<AlarmSpec>,
        tags: Vec<(String, String)>,
    },
    /// Remove `acu-pilot:provisioning`: nothing is left to resume.
    FinishProvisioning,
    /// Tag the cluster `acu-pilot:decommissioning` so RDS events can resume the teardown.
    MarkDecommissioning {
        skip_final_snapshot: bool,
    },
    DeleteAlarms(Vec<String>),
    DeleteInstance(String),
    DisableDeletionProtection,
    DeleteCluster {
        final_snapshot: Option<String>,
    },
    DeleteParameterGroup(String),
}

impl Step {
    pub fn label(&self) -> String {
        match self {
            Step::CreateParameterGroup(spec) => {
                format!("create parameter group {} ({})", spec.name, spec.family)
            }
            Step::CreateCluster(spec) => format!("create cluster {}", spec.id),
            Step::CreateInstance(spec) => {
                format!("create instance {} (tier {})", spec.id, spec.promotion_tier)
            }
            Step::PutAlarm { spec, .. } => format!("create alarm {}", spec.name),
            Step::FinishProvisioning => format!("remove tag {PROVISIONING}"),
            Step::MarkDecommissioning { .. } => format!("tag {DECOMMISSIONING}"),
            Step::DeleteAlarms(names) => format!("delete alarms {}", names.join(", ")),
            Step::DeleteInstance(id) => format!("delete instance {id}"),
            Step::DisableDeletionProtection => "turn deletion protection off".to_owned(),
            Step::DeleteCluster {
                final_snapshot: Some(snapshot),
            } => format!("delete cluster with final snapshot {snapshot}"),
            Step::DeleteCluster {
                final_snapshot: None,
            } => "delete cluster without final snapshot".to_owned(),
            Step::DeleteParameterGroup(name) => format!("delete parameter group {name}"),
        }
    }

    /// Whether this step creates something (what a repeated request must never do).
    pub fn creates(&self) -> bool {
        matches!(
            self,
            Step::CreateParameterGroup(_)
                | Step::CreateCluster(_)
                | Step::CreateInstance(_)
                | Step::PutAlarm { .. }
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    Do(Step),
    /// AWS must finish something first; the next invocation continues.
    Wait(String),
    Complete,
}

/// The next move and everything still to do (including it), as labels for the report.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub next: Next,
    pub left: Vec<String>,
}

impl Plan {
    fn complete() -> Self {
        Plan {
            next: Next::Complete,
            left: Vec::new(),
        }
    }
}

fn is_available(status: &str) -> bool {
    status == "available"
}

fn is_deleting(status: &str) -> bool {
    status == "deleting"
}

fn managed_tag() -> (String, String) {
    (MANAGED.to_owned(), "true".to_owned())
}

/// Refuses a request that contradicts the cluster that exists under its id.
fn check_conflicts(
    target: &Target,
    create: Option<&CreateSettings>,
    cluster: &ClusterDetails,
) -> Result<()> {
    let c = &cluster.cluster;
    let id = &target.cluster_id;
    if c.engine != target.engine.name() {
        return Err(Error::invalid(
            "engine",
            format!(
                "cluster {id} already exists with engine {}; this request asks for {}; nothing was changed",
                c.engine,
                target.engine.name()
            ),
        ));
    }
    if c.engine_version != target.engine_version {
        return Err(Error::invalid(
            "engine_version",
            format!(
                "cluster {id} already exists with version {}; this request asks for {}; nothing was changed",
                c.engine_version, target.engine_version
            ),
        ));
    }
    if !c.is_managed() {
        return Err(Error::invalid(
            "cluster_id",
            format!(
                "cluster {id} already exists and is not managed by acu-pilot; onboard it instead; nothing was changed"
            ),
        ));
    }
    if is_deleting(&c.status) || c.tags.contains_key(DECOMMISSIONING) {
        return Err(Error::invalid(
            "cluster_id",
            format!("cluster {id} is being decommissioned; nothing was changed"),
        ));
    }
    if let (Some(wanted), Some(actual)) = (
        create.and_then(|c| c.parameter_group.as_deref()),
        cluster.parameter_group.as_deref(),
    ) && wanted != actual
    {
        return Err(Error::invalid(
            "parameter_group",
            format!(
                "cluster {id} already uses parameter group {actual}; this request names {wanted}; nothing was changed"
            ),
        ));
    }
    Ok(())
}

fn cluster_spec(
    target: &Target,
    create: &CreateSettings,
    seen: &Observed,
    now: DateTime<Utc>,
) -> ClusterSpec {
    let mut tags = vec![
        managed_tag(),
        (BASELINE.to_owned(), tags::format_baseline(target.range)),
        (PROVISIONING.to_owned(), target.followup.to_tag_value()),
    ];
    if let Some(hours) = create.ttl_hours {
        let ttl = now + TimeDelta::seconds((hours * 3600.0).round() as i64);
        tags.push((TTL.to_owned(), tags::format_instant(ttl)));
    }
    if let Some(name) = &create.parameter_group
        && (seen.parameter_group.is_none() || seen.parameter_group_ours)
    {
        // Created by this provisioning (now, or by an attempt that stopped before the
        // cluster): the teardown deletes it with the cluster.
        tags.push((PARAMETER_GROUP.to_owned(), name.clone()));
    }
    ClusterSpec {
        id: target.cluster_id.clone(),
        engine: target.engine.name().to_owned(),
        engine_version: target.engine_version.clone(),
        master_username: master_username(target.engine).to_owned(),
        range: target.range,
        db_subnet_group: create.db_subnet_group.clone(),
        security_group_ids: create.security_group_ids.clone(),
        backup_retention_days: create.backup_retention_days,
        log_exports: create.log_exports.clone(),
        deletion_protection: create.deletion_protection,
        parameter_group: create.parameter_group.clone(),
        tags,
    }
}

fn instance_spec(target: &Target, id: String, tier: i32) -> InstanceSpec {
    InstanceSpec {
        id,
        cluster_id: target.cluster_id.clone(),
        engine: target.engine.name().to_owned(),
        instance_class: "db.serverless".into(),
        promotion_tier: tier,
        performance_insights_days: target.followup.performance_insights_days,
        tags: vec![
            managed_tag(),
            (ALARM_CLUSTER.to_owned(), target.cluster_id.clone()),
        ],
    }
}

/// The next provisioning step. `create` is `None` when resuming from an RDS event, which
/// only ever continues a cluster that exists. A conflict is an error before any step.
pub fn plan_provision(
    target: &Target,
    create: Option<&CreateSettings>,
    seen: &Observed,
    now: DateTime<Utc>,
) -> Result<Plan> {
    let id = &target.cluster_id;
    let mut steps: Vec<Step> = Vec::new();
    // Why the first step cannot run yet, if it cannot.
    let mut blocked: Option<String> = None;

    match &seen.cluster {
        Some(cluster) => check_conflicts(target, create, cluster)?,
        None => {
            let Some(create) = create else {
                return Err(Error::ClusterNotFound {
                    cluster: id.clone(),
                });
            };
            if let Some(name) = &create.parameter_group {
                let family = engine::parameter_group_family(target.engine, &target.engine_version)
                    .ok_or_else(|| {
                        Error::invalid("parameter_group", "no family for this engine version")
                    })?;
                match &seen.parameter_group {
                    None => steps.push(Step::CreateParameterGroup(ParameterGroupSpec {
                        name: name.clone(),
                        family,
                        description: parameter_group_description(id),
                        tags: vec![managed_tag(), (ALARM_CLUSTER.to_owned(), id.clone())],
                    })),
                    Some(pg) if pg.family != family => {
                        return Err(Error::invalid(
                            "parameter_group",
                            format!(
                                "{name} exists with family {}; {} {} needs {family}; nothing was changed",
                                pg.family,
                                target.engine.name(),
                                target.engine_version
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
            steps.push(Step::CreateCluster(Box::new(cluster_spec(
                target, create, seen, now,
            ))));
        }
    }

    let cluster_status = seen.cluster.as_ref().map(|c| c.cluster.status.as_str());
    let has_instance = |iid: &str| seen.instances.iter().any(|i| i.id == iid);
    let mut wanted = vec![(writer_id(id), 1)];
    wanted.extend((1..=target.followup.readers).map(|n| (reader_id(id, n), 2)));
    let missing_instances: Vec<Step> = wanted
        .iter()
        .filter(|(iid, _)| !has_instance(iid))
        .map(|(iid, tier)| Step::CreateInstance(instance_spec(target, iid.clone(), *tier)))
        .collect();
    if !missing_instances.is_empty() && steps.is_empty() {
        match cluster_status {
            Some(status) if !is_available(status) => {
                blocked = Some(format!("cluster {id} is {status}, not available"));
            }
            _ => {}
        }
    }
    steps.extend(missing_instances);

    for (spec, tags) in alarm_specs(id, target.range.max, target.followup.recipe_alarms) {
        if !seen.alarms.contains(&spec.name) {
            steps.push(Step::PutAlarm {
                spec: Box::new(spec),
                tags,
            });
        }
    }

    if steps.is_empty() {
        let cluster = seen
            .cluster
            .as_ref()
            .expect("no steps means the cluster exists");
        if !is_available(&cluster.cluster.status) {
            blocked = Some(format!(
                "cluster {id} is {}, not available",
                cluster.cluster.status
            ));
        } else if let Some(instance) = wanted.iter().find_map(|(iid, _)| {
            seen.instances
                .iter()
                .find(|i| &i.id == iid && !is_available(&i.status))
        }) {
            blocked = Some(format!(
                "instance {} is {}, not available",
                instance.id, instance.status
            ));
        }
        if blocked.is_none() && cluster.cluster.tags.contains_key(PROVISIONING) {
            steps.push(Step::FinishProvisioning);
        }
    }

    let mut left: Vec<String> = steps.iter().map(Step::label).collect();
    let next = match (blocked, steps.is_empty()) {
        (Some(reason), _) => {
            left.push(format!("wait: {reason}"));
            Next::Wait(reason)
        }
        (None, true) => return Ok(Plan::complete()),
        (None, false) => Next::Do(steps.remove(0)),
    };
    Ok(Plan { next, left })
}

/// The next teardown step, in the recipe's order: alarms, readers, writer, deletion
/// protection off, the cluster (with a final snapshot unless skipped), then the parameter
/// group if acu-pilot created it. Only clusters tagged `acu-pilot:managed=true`.
pub fn plan_decommission(
    cluster_id: &str,
    skip_final_snapshot: bool,
    seen: &Observed,
    now: DateTime<Utc>,
) -> Result<Plan> {
    let mut left = Vec::new();
    let our_group = seen
        .parameter_group
        .as_ref()
        .filter(|_| seen.parameter_group_ours)
        .map(|pg| pg.name.clone());
    let Some(details) = &seen.cluster else {
        return Ok(match our_group {
            Some(name) => {
                let step = Step::DeleteParameterGroup(name);
                Plan {
                    left: vec![step.label()],
                    next: Next::Do(step),
                }
            }
            None => Plan::complete(),
        });
    };
    let cluster = &details.cluster;
    if !cluster.is_managed() {
        return Err(Error::NotManaged {
            cluster: cluster_id.to_owned(),
        });
    }
    let deleting = is_deleting(&cluster.status);
    // Each step with what must be true before it runs (why it would wait).
    let mut steps: Vec<(Step, Option<String>)> = Vec::new();
    if !deleting && !cluster.tags.contains_key(DECOMMISSIONING) {
        steps.push((
            Step::MarkDecommissioning {
                skip_final_snapshot,
            },
            None,
        ));
    }
    if !seen.alarms.is_empty() {
        steps.push((
            Step::DeleteAlarms(seen.alarms.iter().cloned().collect()),
            None,
        ));
    }
    let writer = details
        .writer
        .clone()
        .filter(|w| seen.instances.iter().any(|i| &i.id == w))
        .or_else(|| {
            let named = writer_id(cluster_id);
            seen.instances
                .iter()
                .any(|i| i.id == named)
                .then_some(named)
        });
    let readers: Vec<&Instance> = seen
        .instances
        .iter()
        .filter(|i| Some(&i.id) != writer.as_ref())
        .collect();
    for reader in &readers {
        if !is_deleting(&reader.status) {
            steps.push((Step::DeleteInstance(reader.id.clone()), None));
        }
    }
    let readers_gone = (!readers.is_empty()).then(|| {
        format!(
            "readers of {cluster_id} are being deleted ({})",
            readers
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    if let Some(writer) = &writer
        && seen
            .instances
            .iter()
            .any(|i| &i.id == writer && !is_deleting(&i.status))
    {
        steps.push((Step::DeleteInstance(writer.clone()), readers_gone.clone()));
    }
    let instances_gone = (!seen.instances.is_empty()).then(|| {
        format!(
            "instances of {cluster_id} are being deleted ({})",
            seen.instances
                .iter()
                .map(|i| i.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    if details.deletion_protection {
        steps.push((Step::DisableDeletionProtection, instances_gone.clone()));
    }
    // Never from the decommissioning tag: its value is anyone's to write.
    let skip = skip_final_snapshot;
    if !deleting {
        steps.push((
            Step::DeleteCluster {
                final_snapshot: (!skip).then(|| final_snapshot_id(cluster_id, now)),
            },
            instances_gone.clone(),
        ));
    }
    left.extend(steps.iter().map(|(step, _)| step.label()));
    if let Some(name) = cluster.tags.get(PARAMETER_GROUP).cloned().or(our_group) {
        left.push(Step::DeleteParameterGroup(name).label());
    }
    let wait = |reason: String, mut left: Vec<String>| {
        left.push(format!("wait: {reason}"));
        Plan {
            next: Next::Wait(reason),
            left,
        }
    };
    if steps.is_empty() {
        let reason =
            instances_gone.unwrap_or_else(|| format!("cluster {cluster_id} is being deleted"));
        return Ok(wait(reason, left));
    }
    let (step, gate) = steps.remove(0);
    Ok(match gate {
        Some(reason) => wait(reason, left),
        None => Plan {
            next: Next::Do(step),
            left,
        },
    })
}

/// What onboarding writes: the tags that are missing or differ, and the missing alarms.
#[derive(Clone, Debug, PartialEq)]
pub struct OnboardPlan {
    pub baseline: CapacityRange,
    pub tags: Vec<(String, String)>,
    pub alarms: Vec<(AlarmSpec, Vec<(String, String)>)>,
}

impl OnboardPlan {
    pub fn changes(&self) -> bool {
        !self.tags.is_empty() || !self.alarms.is_empty()
    }
}

/// Onboarding an existing cluster: tags and alarms only. The baseline is the request's
/// (a bound it leaves out comes from the current range), else the baseline the cluster
/// already carries, else its current range.
pub fn plan_onboard(
    request: &OnboardRequest,
    cluster: &ClusterDetails,
    alarms: &BTreeSet<String>,
    now: DateTime<Utc>,
) -> Result<OnboardPlan> {
    let c = &cluster.cluster;
    let id = &request.cluster_id;
    // Onboarding is the owner's act: they tag the cluster acu-pilot:managed=true. An
    // event anyone may send never makes a cluster managed.
    if !c.is_managed() {
        return Err(Error::NotManaged {
            cluster: id.clone(),
        });
    }
    let engine = Engine::parse(&c.engine).ok_or_else(|| {
        Error::invalid(
            "cluster_id",
            format!(
                "cluster {id} runs {}, not Aurora MySQL or PostgreSQL",
                c.engine
            ),
        )
    })?;
    let current = c.range.ok_or_else(|| Error::NotServerless {
        cluster: id.clone(),
    })?;
    let existing = c.tags().baseline;
    let baseline = match (request.min_acu, request.max_acu) {
        (None, None) => existing.unwrap_or(current),
        (min, max) => CapacityRange::in_fields(
            "min_acu",
            "max_acu",
            min.unwrap_or(current.min),
            max.unwrap_or(current.max),
        )?,
    };
    check_auto_pause(engine, &c.engine_version, baseline.min)?;
    let mut tags = Vec::new();
    if existing != Some(baseline) {
        tags.push((BASELINE.to_owned(), tags::format_baseline(baseline)));
    }
    if let Some(hours) = request.ttl_hours
        && !c.tags.contains_key(TTL)
    {
        let ttl = now + TimeDelta::seconds((hours * 3600.0).round() as i64);
        tags.push((TTL.to_owned(), tags::format_instant(ttl)));
    }
    let alarms = alarm_specs(id, baseline.max, request.recipe_alarms)
        .into_iter()
        .filter(|(spec, _)| !alarms.contains(&spec.name))
        .collect();
    Ok(OnboardPlan {
        baseline,
        tags,
        alarms,
    })
}

/// The target a managed cluster's `acu-pilot:provisioning` tag describes, for resuming
/// from an RDS event. `None` when there is nothing to resume.
pub fn resume_target(details: &ClusterDetails) -> Result<Option<Target>> {
    let c = &details.cluster;
    let Some(value) = c.tags.get(PROVISIONING) else {
        return Ok(None);
    };
    let followup = Followup::parse(value)?;
    let engine = Engine::parse(&c.engine)
        .ok_or_else(|| Error::invalid("engine", format!("cluster {} runs {}", c.id, c.engine)))?;
    let range = c
        .tags()
        .baseline
        .or(c.range)
        .ok_or_else(|| Error::MissingBaseline {
            cluster: c.id.clone(),
        })?;
    Ok(Some(Target {
        cluster_id: c.id.clone(),
        engine,
        engine_version: c.engine_version.clone(),
        range,
        followup,
    }))
}

#[cfg(test)]
mod tests;
