//! The values the decisions produce and the ports carry: a cluster as reconcile sees it,
//! alarm and provisioning specs. Plain data, so the policy can build them without
//! knowing how they reach AWS.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::capacity::CapacityRange;
use crate::engine::ClusterEngine;
use crate::events::{AlarmRole, ComparisonOperator, resolve_role};
use crate::tags::{ALARM_ROLE, ClusterTags};

/// What reconcile needs to know about a cluster, from one DescribeDBClusters.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Cluster {
    pub id: String,
    pub arn: String,
    /// `DbClusterResourceId` (`cluster-…`): immutable and never reused, what acu-pilot's
    /// proof of creation is made over (see [`crate::ownership`]).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource_id: String,
    pub status: String,
    pub engine: ClusterEngine,
    pub engine_version: String,
    /// `None` when the cluster has no ServerlessV2ScalingConfiguration.
    pub range: Option<CapacityRange>,
    pub tags: BTreeMap<String, String>,
    /// DB instance identifiers of the members, writer first.
    pub members: Vec<String>,
    /// Why the reported scaling range is unusable (Aurora would never report min > max,
    /// but an emulator or a future API might): that cluster is refused, the rest of a
    /// fleet is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_problem: Option<String>,
}

impl Cluster {
    pub fn is_available(&self) -> bool {
        self.status == "available"
    }

    pub fn tags(&self) -> ClusterTags {
        ClusterTags::parse(self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    pub fn is_managed(&self) -> bool {
        self.tags
            .get(crate::tags::MANAGED)
            .is_some_and(|v| v.trim() == "true")
    }
}

/// A calendar's text and where it was read from (for messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarText {
    /// `file examples/calendar.yaml` or `SSM parameter /acu-pilot/calendar`.
    pub origin: String,
    /// Its name among several calendars (`team-a` for the parameter
    /// `/acu-pilot/calendars/team-a` under the path), which prefixes its windows' names;
    /// `None` for a calendar configured on its own.
    pub name: Option<String>,
    pub text: String,
}

/// CloudWatch's standard statistics. An alarm read from CloudWatch keeps its statistic as
/// text ([`AlarmSpec::statistic`]), since it may be an extended one such as `p99`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Statistic {
    Average,
    Maximum,
    Minimum,
    Sum,
    SampleCount,
}

impl Statistic {
    pub fn as_str(self) -> &'static str {
        match self {
            Statistic::Average => "Average",
            Statistic::Maximum => "Maximum",
            Statistic::Minimum => "Minimum",
            Statistic::Sum => "Sum",
            Statistic::SampleCount => "SampleCount",
        }
    }
}

/// A CloudWatch metric alarm, as much of it as acu-pilot reads, writes, and must carry
/// over unchanged when it moves a threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct AlarmSpec {
    pub name: String,
    pub description: Option<String>,
    pub namespace: String,
    pub metric: String,
    pub dimensions: BTreeMap<String, String>,
    /// `Average`, `Maximum`, … (`None` with an extended statistic such as `p99`).
    pub statistic: Option<String>,
    pub extended_statistic: Option<String>,
    pub period: i32,
    pub evaluation_periods: i32,
    pub datapoints_to_alarm: Option<i32>,
    pub threshold: f64,
    /// CloudWatch's name, e.g. `GreaterThanThreshold`.
    pub comparison: String,
    pub treat_missing_data: Option<String>,
    pub unit: Option<String>,
    pub actions_enabled: Option<bool>,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
}

/// An alarm as it exists in CloudWatch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alarm {
    pub arn: String,
    pub spec: AlarmSpec,
    /// Metric-math alarms are listed but never rewritten: `spec` cannot carry them.
    pub is_metric_math: bool,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`, as DescribeAlarms reported it.
    pub state: Option<String>,
}

impl Alarm {
    /// The alarm's role, resolved the one way every function resolves it: the
    /// `acu-pilot:role` tag when the caller has the alarm's tags, else the comparison (from
    /// above: high), else the recipe's name.
    pub fn role(&self, tags: Option<&BTreeMap<String, String>>) -> Option<AlarmRole> {
        let tagged = tags
            .and_then(|tags| tags.get(ALARM_ROLE))
            .and_then(|role| role.parse().ok());
        resolve_role(tagged, self.spec.comparison.parse().ok(), &self.spec.name)
            .map(|(role, _)| role)
    }

    /// Whether the alarm compares the absolute `AWS/RDS` `ServerlessDatabaseCapacity` from
    /// above: the only kind whose threshold must follow max. Metric math is never rewritten.
    pub fn is_absolute_high(&self) -> bool {
        let spec = &self.spec;
        !self.is_metric_math
            && spec.namespace == "AWS/RDS"
            && spec.metric == "ServerlessDatabaseCapacity"
            && spec
                .comparison
                .parse::<ComparisonOperator>()
                .is_ok_and(|op| op.role() == Some(AlarmRole::High))
    }
}

/// A cluster as the provisioner sees it: the reconcile view plus what creation and
/// teardown need (endpoints, parameter group, deletion protection, the writer).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClusterDetails {
    pub cluster: Cluster,
    pub endpoint: Option<String>,
    pub reader_endpoint: Option<String>,
    pub parameter_group: Option<String>,
    pub deletion_protection: bool,
    /// The member RDS reports as the writer.
    pub writer: Option<String>,
}

/// One DB instance of a cluster.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Instance {
    pub id: String,
    pub cluster_id: Option<String>,
    pub status: String,
    pub instance_class: String,
    pub promotion_tier: Option<i32>,
    pub performance_insights: bool,
    pub performance_insights_days: Option<i32>,
}

/// A DB cluster parameter group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParameterGroup {
    pub name: String,
    pub family: String,
    pub description: String,
    pub arn: String,
}

/// What DescribeDBEngineVersions says about Serverless v2 for one version
/// (`ServerlessV2FeaturesSupport`); absent where the endpoint does not say.
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct EngineLimits {
    pub min_capacity: f64,
    pub max_capacity: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParameterGroupSpec {
    pub name: String,
    pub family: String,
    pub description: String,
    pub tags: Vec<(String, String)>,
}

/// Everything CreateDBCluster is sent. There is deliberately no password field: the
/// master password is always RDS-managed (`ManageMasterUserPassword`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClusterSpec {
    pub id: String,
    pub engine: String,
    pub engine_version: String,
    pub master_username: String,
    pub range: CapacityRange,
    pub db_subnet_group: String,
    pub security_group_ids: Vec<String>,
    pub backup_retention_days: i32,
    pub log_exports: Vec<String>,
    pub deletion_protection: bool,
    pub parameter_group: Option<String>,
    pub tags: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstanceSpec {
    pub id: String,
    pub cluster_id: String,
    pub engine: String,
    pub instance_class: String,
    pub promotion_tier: i32,
    pub performance_insights_days: i32,
    pub tags: Vec<(String, String)>,
}
