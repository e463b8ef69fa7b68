//! Aurora clusters through the RDS API.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_rds::Client;
use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rds::types::{DbCluster, ServerlessV2ScalingConfiguration, Tag};

use crate::error::sdk_error;
use acu_pilot_core::capacity::{Acu, CapacityRange};
use acu_pilot_core::engine::ClusterEngine;
use acu_pilot_core::error::{Error, Result};
use acu_pilot_ports::{Cluster, Clusters};

#[derive(Clone, Debug)]
pub struct RdsClusters {
    client: Client,
    auto_pause_delay: Duration,
}

impl RdsClusters {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            auto_pause_delay: Duration::from_secs(300),
        }
    }

    /// The `SecondsUntilAutoPause` sent with a range whose min is 0
    /// (`ACU_PILOT_AUTO_PAUSE_DELAY`).
    pub fn with_auto_pause_delay(mut self, delay: Duration) -> Self {
        self.auto_pause_delay = delay;
        self
    }

    /// Every DB cluster in the account and region: one paginated DescribeDBClusters,
    /// each with its TagList.
    pub(crate) async fn describe_all(&self) -> Result<Vec<DbCluster>> {
        self.client
            .describe_db_clusters()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("DescribeDBClusters", e))
    }
}

/// SDK cluster → ours. A range Aurora would never report (min > max) becomes a
/// `range_problem` naming the cluster, refused by reconcile, rather than a failed listing.
/// RDS tags as the ports carry them; a tag without a key cannot be addressed, so it is dropped.
pub(crate) fn tags_from_sdk(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

pub(crate) fn tags_to_sdk(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub fn cluster_from_sdk(c: &DbCluster) -> Cluster {
    let id = c.db_cluster_identifier().unwrap_or_default().to_owned();
    let (range, range_problem) = match c
        .serverless_v2_scaling_configuration()
        .and_then(|s| Some((s.min_capacity()?, s.max_capacity()?)))
    {
        Some((min, max)) => match CapacityRange::from_f64(min, max) {
            Ok(range) => (Some(range), None),
            Err(e) => (
                None,
                Some(format!(
                    "cluster {id} ServerlessV2ScalingConfiguration: {e}"
                )),
            ),
        },
        None => (None, None),
    };
    let tags = tags_from_sdk(c.tag_list());
    let mut members: Vec<(bool, String)> = c
        .db_cluster_members()
        .iter()
        .filter_map(|m| {
            Some((
                !m.is_cluster_writer().unwrap_or(false),
                m.db_instance_identifier()?.to_owned(),
            ))
        })
        .collect();
    members.sort();
    Cluster {
        arn: c.db_cluster_arn().unwrap_or_default().to_owned(),
        resource_id: c.db_cluster_resource_id().unwrap_or_default().to_owned(),
        status: c.status().unwrap_or_default().to_owned(),
        engine: ClusterEngine::from_name(c.engine().unwrap_or_default()),
        engine_version: c.engine_version().unwrap_or_default().to_owned(),
        range,
        tags,
        members: members.into_iter().map(|(_, id)| id).collect(),
        range_problem,
        id,
    }
}

/// An SDK error on a call about one cluster: "no such cluster" becomes our typed
/// `ClusterNotFound`; anything else keeps its code.
fn cluster_error<E, R>(operation: &'static str, id: &str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    if err.as_service_error().and_then(|e| e.code()) == Some("DBClusterNotFoundFault") {
        Error::ClusterNotFound {
            cluster: id.to_owned(),
        }
    } else {
        sdk_error(operation, err)
    }
}

impl Clusters for RdsClusters {
    async fn describe(&self, id: &str) -> Result<Cluster> {
        let out = self
            .client
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
            .map_err(|e| cluster_error("DescribeDBClusters", id, e))?;
        let cluster = out
            .db_clusters()
            .iter()
            .find(|c| c.db_cluster_identifier() == Some(id))
            .ok_or_else(|| Error::ClusterNotFound {
                cluster: id.to_owned(),
            })?;
        Ok(cluster_from_sdk(cluster))
    }

    async fn modify_range(&self, id: &str, range: CapacityRange) -> Result<()> {
        // Only the scaling configuration, and always both bounds: a ModifyDBCluster can
        // also change passwords and engine settings, and we never want to send those.
        self.client
            .modify_db_cluster()
            .db_cluster_identifier(id)
            .serverless_v2_scaling_configuration(
                ServerlessV2ScalingConfiguration::builder()
                    .min_capacity(range.min.value())
                    .max_capacity(range.max.value())
                    // Part of a min-0 range: how long an idle writer runs before it
                    // pauses. Aurora ignores it for any other min.
                    .set_seconds_until_auto_pause(
                        (range.min == Acu::ZERO).then(|| {
                            i32::try_from(self.auto_pause_delay.as_secs()).unwrap_or(86_400)
                        }),
                    )
                    .build(),
            )
            .send()
            .await
            .map_err(|e| cluster_error("ModifyDBCluster", id, e))?;
        Ok(())
    }

    async fn put_tags(&self, arn: &str, tags: &[(String, String)]) -> Result<()> {
        if tags.is_empty() {
            return Ok(());
        }
        self.client
            .add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(tags_to_sdk(tags)))
            .send()
            .await
            .map_err(|e| sdk_error("AddTagsToResource", e))?;
        Ok(())
    }

    async fn remove_tags(&self, arn: &str, keys: &[String]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        self.client
            .remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| sdk_error("RemoveTagsFromResource", e))?;
        Ok(())
    }

    async fn list_managed(&self) -> Result<Vec<Cluster>> {
        // DescribeDBClusters has no tag filter; the TagList comes with every cluster, so
        // one paginated listing is enough to find ours without a call per cluster.
        let all = self.describe_all().await?;
        let mut managed = Vec::new();
        for c in &all {
            let cluster = cluster_from_sdk(c);
            if cluster.is_managed() {
                managed.push(cluster);
            }
        }
        Ok(managed)
    }
}
