//! The traits the services need. Services take a [`Ports`] bundle, never an SDK client;
//! the AWS adapters implement them in the `acu-pilot-aws` crate.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use acu_pilot_core::capacity::CapacityRange;
use acu_pilot_core::engine::Engine;
use acu_pilot_core::error::Result;
use acu_pilot_core::history::MetricHistory;
pub use acu_pilot_core::model::{
    Alarm, AlarmSpec, CalendarText, Cluster, ClusterDetails, ClusterSpec, EngineLimits, Instance,
    InstanceSpec, ParameterGroup, ParameterGroupSpec,
};
use chrono::{DateTime, Utc};

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
    /// `ServerlessDatabaseCapacity`, `CPUUtilization` and `ACUUtilization` (statistic
    /// Average, one value per `period`) of the cluster's writer (`Role=WRITER`; the
    /// cluster-wide series only where the writer's has no data) over `[from, to)`, oldest
    /// first: one GetMetricData, all its pages.
    fn history(
        &self,
        cluster_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        period: Duration,
    ) -> impl Future<Output = Result<MetricHistory>> + Send;
}

/// Where the calendars live.
pub trait CalendarSource: Send + Sync {
    /// Every configured calendar as stored; none when no calendar is configured. Read
    /// once per invocation, so an edit takes effect at the next tick without a redeploy.
    fn load(&self) -> impl Future<Output = Result<Vec<CalendarText>>> + Send;
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

/// RDS calls for creating and deleting clusters, instances and parameter groups.
pub trait Provisioning: Send + Sync {
    /// DescribeDBEngineVersions; `Ok(None)` when the endpoint gives no Serverless v2 limits.
    fn engine_limits(
        &self,
        engine: Engine,
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

/// Every port a function may need, as one value: the services take `&impl Ports`, the
/// function mains and the CLI build the AWS adapters behind it.
pub trait Ports: Send + Sync {
    type Clusters: Clusters + ClusterIds;
    type Alarms: Alarms;
    type Notifier: Notifier;
    type Metrics: Metrics;
    type Calendar: CalendarSource;
    type Provisioning: Provisioning;

    fn clusters(&self) -> &Self::Clusters;
    fn alarms(&self) -> &Self::Alarms;
    fn notifier(&self) -> &Self::Notifier;
    fn metrics(&self) -> &Self::Metrics;
    fn calendar(&self) -> &Self::Calendar;
    fn provisioning(&self) -> &Self::Provisioning;
    /// The key of acu-pilot's proof of creation; `None` when none is configured, and then
    /// nothing is ever provably acu-pilot's to destroy. Asynchronous and fallible because
    /// the AWS adapters read it on first use rather than at start-up: an unreadable key
    /// fails the invocation that needs it.
    fn ownership(
        &self,
    ) -> impl Future<Output = Result<Option<&acu_pilot_core::ownership::OwnershipKey>>> + Send;
}

/// The targets of a fleet sweep and how to reach them: the hub's own account and region
/// with the function's credentials, any other through the spoke role.
pub trait Fleet: Send + Sync {
    /// The adapters a sweep of one target runs on.
    type Ports: Ports + Clone;

    /// The function's own adapters: a single-account deployment sweeps only these.
    fn own(&self) -> &Self::Ports;

    /// The function's own account and region.
    fn home(&self) -> impl Future<Output = Result<acu_pilot_core::events::Origin>> + Send;

    /// Every configured target, OUs expanded to their active accounts, sorted and
    /// deduplicated; the hub's own account and region when no list is configured.
    fn targets(&self) -> impl Future<Output = Result<Vec<acu_pilot_core::events::Origin>>> + Send;

    /// The adapters to act in `target`, for this invocation: the hub's own without a call,
    /// another account's through one AssumeRole on its spoke role.
    fn ports_in(
        &self,
        target: &acu_pilot_core::events::Origin,
    ) -> impl Future<Output = Result<std::borrow::Cow<'_, Self::Ports>>> + Send;

    /// Sends each unit of work to the fan-out queue as its own message; the outcome of
    /// each, in order. `None` when no queue is configured: the caller sweeps itself.
    fn fan_out(
        &self,
        work: &[acu_pilot_core::fleet::TargetWork],
        tick_id: &str,
    ) -> impl Future<Output = Option<Vec<Result<()>>>> + Send;
}
