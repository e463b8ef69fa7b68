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
#[derive(Clone, Debug, PartialEq, Serialize)]
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
