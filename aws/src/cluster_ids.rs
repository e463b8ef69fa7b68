//! [`ClusterIds`] over DescribeDBClusters, unfiltered: the janitor's proof that a cluster exists.

use std::collections::BTreeSet;

use crate::RdsClusters;
use acu_pilot_core::error::Result;
use acu_pilot_ports::ClusterIds;

impl ClusterIds for RdsClusters {
    async fn list_ids(&self) -> Result<BTreeSet<String>> {
        let all = self.describe_all().await?;
        Ok(all
            .iter()
            .filter_map(|c| c.db_cluster_identifier().map(str::to_owned))
            .collect())
    }
}
