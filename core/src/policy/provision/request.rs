//! Requests: parsed and validated strictly, before any AWS call.

use super::*;

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
    /// The owner's opt-in to auto-pause (the `acu-pilot:auto-pause` tag).
    pub auto_pause: bool,
    pub followup: Followup,
}

/// The steps after the cluster: instances and alarms.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Followup {
    pub readers: u32,
    /// The readers' promotion tier (see [`DEFAULT_READER_TIER`] for what it costs).
    pub reader_tier: i32,
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
    /// The owner's opt-in to auto-pause; checked against the cluster's engine version.
    pub auto_pause: bool,
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
pub(super) struct RawProvision {
    cluster_id: String,
    engine: Option<String>,
    engine_version: Option<String>,
    min_acu: Option<f64>,
    max_acu: Option<f64>,
    readers: Option<u32>,
    reader_tier: Option<i32>,
    db_subnet_group: Option<String>,
    security_group_ids: Option<Vec<String>>,
    parameter_group: Option<String>,
    backup_retention_days: Option<i32>,
    log_exports: Option<Vec<String>>,
    deletion_protection: Option<bool>,
    performance_insights_days: Option<i32>,
    recipe_alarms: Option<bool>,
    ttl_hours: Option<f64>,
    auto_pause: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOnboard {
    cluster_id: String,
    min_acu: Option<f64>,
    max_acu: Option<f64>,
    auto_pause: Option<bool>,
    recipe_alarms: Option<bool>,
    ttl_hours: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDecommission {
    cluster_id: String,
    skip_final_snapshot: Option<bool>,
}

#[derive(Deserialize)]
pub(super) struct RawRdsDetail {
    #[serde(rename = "SourceIdentifier")]
    source_identifier: Option<String>,
    #[serde(rename = "SourceArn")]
    source_arn: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Action {
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

pub(super) fn parse_request(
    action: Action,
    request: Value,
    defaults: &Defaults,
) -> Result<Incoming> {
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
pub(super) fn strict<T: DeserializeOwned>(value: Value) -> Result<T> {
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

pub(super) fn parse_rds(detail_type: &str, detail: &Value) -> Result<Incoming> {
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

pub(super) fn validate_provision(
    raw: RawProvision,
    defaults: &Defaults,
) -> Result<ProvisionRequest> {
    let readers = raw.readers.unwrap_or(1);
    if readers > MAX_READERS {
        return Err(Error::invalid(
            "readers",
            format!("{readers} is more than the {MAX_READERS} replicas Aurora allows"),
        ));
    }
    validate_cluster_id(&raw.cluster_id, readers)?;
    let reader_tier = raw.reader_tier.unwrap_or(DEFAULT_READER_TIER);
    if !(0..=MAX_PROMOTION_TIER).contains(&reader_tier) {
        return Err(Error::invalid(
            "reader_tier",
            format!("{reader_tier} is not a promotion tier (0 to {MAX_PROMOTION_TIER})"),
        ));
    }
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
    let auto_pause = raw.auto_pause.unwrap_or(false);
    if auto_pause {
        check_auto_pause_opt_in(engine, &engine_version)?;
    }

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
            auto_pause,
            followup: Followup {
                readers,
                reader_tier,
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

pub(super) fn validate_onboard(raw: RawOnboard) -> Result<OnboardRequest> {
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
        auto_pause: raw.auto_pause.unwrap_or(false),
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

/// `auto_pause: true` only where the version can pause, by the same table.
pub fn check_auto_pause_opt_in(engine: Engine, version: &str) -> Result<()> {
    if !engine::supports_auto_pause(engine, version) {
        return Err(Error::invalid(
            "auto_pause",
            format!(
                "needs Aurora MySQL 3.08.0+ or Aurora PostgreSQL 13.15/14.12/15.7/16.3+; {version:?} cannot auto-pause"
            ),
        ));
    }
    Ok(())
}

/// Checks a range, and an auto-pause opt-in, against what DescribeDBEngineVersions
/// reported for the version (a version that can pause reports a smallest min of 0).
pub fn check_engine_limits(
    range: CapacityRange,
    auto_pause: bool,
    min_capacity: f64,
    max_capacity: f64,
) -> Result<()> {
    if auto_pause && min_capacity > 0.0 {
        return Err(Error::invalid(
            "auto_pause",
            format!("this engine version's smallest min is {min_capacity}: it cannot auto-pause"),
        ));
    }
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

pub(super) fn validate_cluster_id(id: &str, readers: u32) -> Result<()> {
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

pub(super) fn validate_parameter_group_name(name: &str) -> Result<()> {
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
pub(super) fn validate_performance_insights(days: i32) -> Result<()> {
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

pub(super) fn validate_ttl(ttl_hours: Option<f64>) -> Result<Option<f64>> {
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

pub(super) fn allowed_log_exports(engine: Engine) -> &'static [&'static str] {
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
