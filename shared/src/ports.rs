//! The traits the services need. Services take `&impl Trait`, never an SDK client; the
//! AWS adapters live in [`crate::aws`].

use std::collections::BTreeMap;
use std::future::Future;

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
