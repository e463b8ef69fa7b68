//! The traits the services need. Services take `&impl Trait`, never an SDK client; the
//! AWS adapters live in [`crate::aws`].

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::capacity::CapacityRange;
use crate::error::Result;
use crate::layers::ClusterTags;

/// What reconcile needs to know about a cluster, from one DescribeDBClusters.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Cluster {
    pub id: String,
    pub arn: String,
    pub status: String,
    pub engine: String,
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
            .get(crate::layers::MANAGED)
            .is_some_and(|v| v.trim() == "true")
    }
}

/// Aurora clusters: read, change the range, tag.
pub trait Clusters: Send + Sync {
    /// One DescribeDBClusters: range, status, engine, version, tags.
    /// `Error::ClusterNotFound` when there is no such cluster.
    fn describe(&self, id: &str) -> impl Future<Output = Result<Cluster>> + Send;

    /// ModifyDBCluster with only `ServerlessV2ScalingConfiguration` (both bounds).
    fn modify_range(
        &self,
        id: &str,
        range: CapacityRange,
    ) -> impl Future<Output = Result<()>> + Send;

    /// AddTagsToResource on the cluster ARN.
    fn put_tags(
        &self,
        arn: &str,
        tags: &[(String, String)],
    ) -> impl Future<Output = Result<()>> + Send;

    /// RemoveTagsFromResource on the cluster ARN.
    fn remove_tags(&self, arn: &str, keys: &[String]) -> impl Future<Output = Result<()>> + Send;

    /// Every cluster tagged `acu-pilot:managed=true`, all pages.
    fn list_managed(&self) -> impl Future<Output = Result<Vec<Cluster>>> + Send;
}

/// `acu-pilot` events on EventBridge.
pub trait Notifier: Send + Sync {
    /// PutEvents with `source: acu-pilot`; a failed entry is an error.
    fn publish(
        &self,
        detail_type: &str,
        detail: &serde_json::Value,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// A cluster's CloudWatch metric history.
pub trait Metrics: Send + Sync {
    /// `ServerlessDatabaseCapacity` (statistic Maximum, one value per `period`) of the
    /// cluster over `[from, to)`, oldest first: one GetMetricData, all its pages.
    fn capacity_history(
        &self,
        cluster_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        period: Duration,
    ) -> impl Future<Output = Result<Vec<(DateTime<Utc>, f64)>>> + Send;
}

/// A calendar's text and where it was read from (for messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarText {
    /// `file examples/calendar.yaml` or `SSM parameter /acu-pilot/calendar`.
    pub origin: String,
    pub text: String,
}

/// Where the sales-event calendar lives.
pub trait CalendarSource: Send + Sync {
    /// The calendar as stored, or `None` when no calendar is configured. Read once per
    /// invocation, so an edit takes effect at the next tick without a redeploy.
    fn load(&self) -> impl Future<Output = Result<Option<CalendarText>>> + Send;
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

/// CloudWatch metric alarms.
pub trait Alarms: Send + Sync {
    /// DescribeAlarms for one name; `None` when there is no such metric alarm.
    fn describe(&self, name: &str) -> impl Future<Output = Result<Option<Alarm>>> + Send;

    /// PutMetricAlarm: creates, or replaces every setting of, the alarm. `tags` are
    /// applied on creation (CloudWatch ignores them on update: use [`Alarms::tag`]).
    fn put(
        &self,
        spec: &AlarmSpec,
        tags: &[(String, String)],
    ) -> impl Future<Output = Result<()>> + Send;

    /// ListTagsForResource.
    fn tags(&self, arn: &str) -> impl Future<Output = Result<BTreeMap<String, String>>> + Send;

    /// TagResource.
    fn tag(&self, arn: &str, tags: &[(String, String)]) -> impl Future<Output = Result<()>> + Send;

    /// UntagResource.
    fn untag(&self, arn: &str, keys: &[String]) -> impl Future<Output = Result<()>> + Send;

    /// Every metric alarm (all pages), optionally only those whose name starts with `prefix`.
    fn list(&self, prefix: Option<&str>) -> impl Future<Output = Result<Vec<Alarm>>> + Send;

    /// DeleteAlarms (in batches of 100, CloudWatch's limit).
    fn delete(&self, names: &[String]) -> impl Future<Output = Result<()>> + Send;
}

// ---- janitor ---------------------------------------------------------------------------

/// Which clusters exist at all, managed or not: an acu-pilot alarm is an orphan only when
/// its cluster is in no listing, never because the cluster lost its managed tag.
pub trait ClusterIds: Send + Sync {
    /// Every DB cluster identifier in the account and region (one paginated listing).
    fn list_ids(&self) -> impl Future<Output = Result<std::collections::BTreeSet<String>>> + Send;
}

// ---------------------------------------------------------------------------------------
// Provisioning: what the provisioner needs beyond `Clusters` to stand up, onboard and
// tear down a cluster. The specs are built by `policy::provision`; the adapter only
// translates them into RDS calls.
// ---------------------------------------------------------------------------------------

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

/// RDS calls for creating and deleting clusters, instances and parameter groups.
pub trait Provisioning: Send + Sync {
    /// DescribeDBEngineVersions; `Ok(None)` when the endpoint gives no Serverless v2 limits.
    fn engine_limits(
        &self,
        engine: &str,
        version: &str,
    ) -> impl Future<Output = Result<Option<EngineLimits>>> + Send;

    /// DescribeDBClusters for one id; `None` when there is no such cluster.
    fn cluster(&self, id: &str) -> impl Future<Output = Result<Option<ClusterDetails>>> + Send;

    /// DescribeDBInstances filtered on the cluster (all pages).
    fn instances(&self, cluster_id: &str) -> impl Future<Output = Result<Vec<Instance>>> + Send;

    /// DescribeDBInstances for one id; `None` when there is no such instance.
    fn instance(&self, id: &str) -> impl Future<Output = Result<Option<Instance>>> + Send;

    /// DescribeDBClusterParameterGroups for one name; `None` when there is none.
    fn parameter_group(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<ParameterGroup>>> + Send;

    /// Every cluster parameter group (all pages).
    fn parameter_groups(&self) -> impl Future<Output = Result<Vec<ParameterGroup>>> + Send;

    /// ListTagsForResource on any RDS ARN.
    fn tags(&self, arn: &str) -> impl Future<Output = Result<BTreeMap<String, String>>> + Send;

    /// CreateDBClusterParameterGroup, tagged in the same call.
    fn create_parameter_group(
        &self,
        spec: &ParameterGroupSpec,
    ) -> impl Future<Output = Result<ParameterGroup>> + Send;

    /// CreateDBCluster, tagged in the same call.
    fn create_cluster(
        &self,
        spec: &ClusterSpec,
    ) -> impl Future<Output = Result<ClusterDetails>> + Send;

    /// CreateDBInstance, tagged in the same call.
    fn create_instance(&self, spec: &InstanceSpec)
    -> impl Future<Output = Result<Instance>> + Send;

    /// DeleteDBInstance.
    fn delete_instance(&self, id: &str) -> impl Future<Output = Result<()>> + Send;

    /// ModifyDBCluster with only `DeletionProtection=false`.
    fn disable_deletion_protection(&self, id: &str) -> impl Future<Output = Result<()>> + Send;

    /// DeleteDBCluster, with a final snapshot of that name, or none (`SkipFinalSnapshot`).
    fn delete_cluster(
        &self,
        id: &str,
        final_snapshot: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// DeleteDBClusterParameterGroup.
    fn delete_parameter_group(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
}
