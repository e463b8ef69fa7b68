//! Creating and deleting clusters, instances and cluster parameter groups through RDS.
//! Every Create* call carries its tags (`acu-pilot:managed=true` among them) in the same
//! call, which is what the template's IAM conditions require; no call ever carries a
//! password.

use std::collections::BTreeMap;

use aws_sdk_rds::Client;
use aws_sdk_rds::types::{
    DbCluster, DbClusterParameterGroup, DbInstance, Filter, ServerlessV2ScalingConfiguration,
};

use crate::error::sdk_error;
use crate::rds::{tags_from_sdk, tags_to_sdk};
use acu_pilot_core::engine::Engine;
use acu_pilot_core::error::{Error, Result};
use acu_pilot_ports::{
    ClusterDetails, ClusterSpec, EngineLimits, Instance, InstanceSpec, ParameterGroup,
    ParameterGroupSpec, Provisioning,
};

#[derive(Clone, Debug)]
pub struct RdsProvisioning {
    client: Client,
}

impl RdsProvisioning {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

pub fn details_from_sdk(c: &DbCluster) -> Result<ClusterDetails> {
    Ok(ClusterDetails {
        cluster: super::rds::cluster_from_sdk(c),
        endpoint: c.endpoint().map(str::to_owned),
        reader_endpoint: c.reader_endpoint().map(str::to_owned),
        parameter_group: c.db_cluster_parameter_group().map(str::to_owned),
        deletion_protection: c.deletion_protection().unwrap_or(false),
        writer: c
            .db_cluster_members()
            .iter()
            .find(|m| m.is_cluster_writer().unwrap_or(false))
            .and_then(|m| m.db_instance_identifier())
            .map(str::to_owned),
    })
}

fn instance_from_sdk(i: &DbInstance) -> Instance {
    Instance {
        id: i.db_instance_identifier().unwrap_or_default().to_owned(),
        cluster_id: i.db_cluster_identifier().map(str::to_owned),
        status: i.db_instance_status().unwrap_or_default().to_owned(),
        instance_class: i.db_instance_class().unwrap_or_default().to_owned(),
        promotion_tier: i.promotion_tier(),
        performance_insights: i.performance_insights_enabled().unwrap_or(false),
        performance_insights_days: i.performance_insights_retention_period(),
    }
}

fn group_from_sdk(g: &DbClusterParameterGroup) -> ParameterGroup {
    ParameterGroup {
        name: g
            .db_cluster_parameter_group_name()
            .unwrap_or_default()
            .to_owned(),
        family: g.db_parameter_group_family().unwrap_or_default().to_owned(),
        description: g.description().unwrap_or_default().to_owned(),
        arn: g
            .db_cluster_parameter_group_arn()
            .unwrap_or_default()
            .to_owned(),
    }
}

impl Provisioning for RdsProvisioning {
    async fn engine_limits(&self, engine: Engine, version: &str) -> Result<Option<EngineLimits>> {
        let out = self
            .client
            .describe_db_engine_versions()
            .engine(engine.name())
            .engine_version(version)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeDBEngineVersions", e))?;
        Ok(out
            .db_engine_versions()
            .iter()
            .find(|v| v.engine_version() == Some(version))
            .and_then(|v| v.serverless_v2_features_support())
            .and_then(|s| match (s.min_capacity(), s.max_capacity()) {
                (Some(min_capacity), Some(max_capacity)) => Some(EngineLimits {
                    min_capacity,
                    max_capacity,
                }),
                _ => None,
            }))
    }

    async fn cluster(&self, id: &str) -> Result<Option<ClusterDetails>> {
        let out = match self
            .client
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_db_cluster_not_found_fault()) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(sdk_error("DescribeDBClusters", e)),
        };
        out.db_clusters()
            .iter()
            .find(|c| c.db_cluster_identifier() == Some(id))
            .map(details_from_sdk)
            .transpose()
    }

    async fn instances(&self, cluster_id: &str) -> Result<Vec<Instance>> {
        let all = self
            .client
            .describe_db_instances()
            .filters(
                Filter::builder()
                    .name("db-cluster-id")
                    .values(cluster_id)
                    .build(),
            )
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("DescribeDBInstances", e))?;
        // The filter is re-checked here: an endpoint that ignores it must not make
        // another cluster's instances look like ours.
        Ok(all
            .iter()
            .filter(|i| i.db_cluster_identifier() == Some(cluster_id))
            .map(instance_from_sdk)
            .collect())
    }

    async fn instance(&self, id: &str) -> Result<Option<Instance>> {
        match self
            .client
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .db_instances()
                .iter()
                .find(|i| i.db_instance_identifier() == Some(id))
                .map(instance_from_sdk)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_db_instance_not_found_fault()) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_error("DescribeDBInstances", e)),
        }
    }

    async fn parameter_group(&self, name: &str) -> Result<Option<ParameterGroup>> {
        match self
            .client
            .describe_db_cluster_parameter_groups()
            .db_cluster_parameter_group_name(name)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .db_cluster_parameter_groups()
                .iter()
                .find(|g| g.db_cluster_parameter_group_name() == Some(name))
                .map(group_from_sdk)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_db_parameter_group_not_found_fault()) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_error("DescribeDBClusterParameterGroups", e)),
        }
    }

    async fn parameter_groups(&self) -> Result<Vec<ParameterGroup>> {
        let pages = self
            .client
            .describe_db_cluster_parameter_groups()
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("DescribeDBClusterParameterGroups", e))?;
        Ok(pages
            .iter()
            .flat_map(|p| p.db_cluster_parameter_groups())
            .map(group_from_sdk)
            .collect())
    }

    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await
            .map_err(|e| sdk_error("ListTagsForResource", e))?;
        Ok(tags_from_sdk(out.tag_list()))
    }

    async fn create_parameter_group(&self, spec: &ParameterGroupSpec) -> Result<ParameterGroup> {
        let out = self
            .client
            .create_db_cluster_parameter_group()
            .db_cluster_parameter_group_name(&spec.name)
            .db_parameter_group_family(&spec.family)
            .description(&spec.description)
            .set_tags(Some(tags_to_sdk(&spec.tags)))
            .send()
            .await
            .map_err(|e| sdk_error("CreateDBClusterParameterGroup", e))?;
        Ok(out
            .db_cluster_parameter_group()
            .map(group_from_sdk)
            .unwrap_or_else(|| ParameterGroup {
                name: spec.name.clone(),
                family: spec.family.clone(),
                description: spec.description.clone(),
                arn: String::new(),
            }))
    }

    async fn create_cluster(&self, spec: &ClusterSpec) -> Result<ClusterDetails> {
        // ManageMasterUserPassword: RDS generates the password and keeps it in Secrets
        // Manager. There is no code path that could send one.
        let out = self
            .client
            .create_db_cluster()
            .db_cluster_identifier(&spec.id)
            .engine(&spec.engine)
            .engine_version(&spec.engine_version)
            .master_username(&spec.master_username)
            .manage_master_user_password(true)
            .serverless_v2_scaling_configuration(
                ServerlessV2ScalingConfiguration::builder()
                    .min_capacity(spec.range.min.value())
                    .max_capacity(spec.range.max.value())
                    .build(),
            )
            .db_subnet_group_name(&spec.db_subnet_group)
            .set_vpc_security_group_ids(Some(spec.security_group_ids.clone()))
            .backup_retention_period(spec.backup_retention_days)
            .set_enable_cloudwatch_logs_exports(Some(spec.log_exports.clone()))
            .deletion_protection(spec.deletion_protection)
            .set_db_cluster_parameter_group_name(spec.parameter_group.clone())
            .copy_tags_to_snapshot(true)
            .set_tags(Some(tags_to_sdk(&spec.tags)))
            .send()
            .await
            .map_err(|e| sdk_error("CreateDBCluster", e))?;
        let cluster = out.db_cluster().ok_or_else(|| Error::Aws {
            operation: "CreateDBCluster",
            code: None,
            message: "the response has no DBCluster".into(),
            retryable: false,
        })?;
        details_from_sdk(cluster)
    }

    async fn create_instance(&self, spec: &InstanceSpec) -> Result<Instance> {
        let out = self
            .client
            .create_db_instance()
            .db_instance_identifier(&spec.id)
            .db_cluster_identifier(&spec.cluster_id)
            .engine(&spec.engine)
            .db_instance_class(&spec.instance_class)
            .promotion_tier(spec.promotion_tier)
            .enable_performance_insights(true)
            .performance_insights_retention_period(spec.performance_insights_days)
            .set_tags(Some(tags_to_sdk(&spec.tags)))
            .send()
            .await
            .map_err(|e| sdk_error("CreateDBInstance", e))?;
        Ok(out
            .db_instance()
            .map(instance_from_sdk)
            .unwrap_or_else(|| Instance {
                id: spec.id.clone(),
                cluster_id: Some(spec.cluster_id.clone()),
                status: "creating".into(),
                instance_class: spec.instance_class.clone(),
                promotion_tier: Some(spec.promotion_tier),
                performance_insights: true,
                performance_insights_days: Some(spec.performance_insights_days),
            }))
    }

    async fn delete_instance(&self, id: &str) -> Result<()> {
        match self
            .client
            .delete_db_instance()
            .db_instance_identifier(id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Already gone: what a teardown wants.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_db_instance_not_found_fault()) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk_error("DeleteDBInstance", e)),
        }
    }

    async fn disable_deletion_protection(&self, id: &str) -> Result<()> {
        // Only DeletionProtection: a ModifyDBCluster can also change passwords and engine
        // settings, and nothing else may ride along.
        self.client
            .modify_db_cluster()
            .db_cluster_identifier(id)
            .deletion_protection(false)
            .send()
            .await
            .map_err(|e| sdk_error("ModifyDBCluster", e))?;
        Ok(())
    }

    async fn delete_cluster(&self, id: &str, final_snapshot: Option<&str>) -> Result<()> {
        let request = self.client.delete_db_cluster().db_cluster_identifier(id);
        let request = match final_snapshot {
            Some(snapshot) => request
                .skip_final_snapshot(false)
                .final_db_snapshot_identifier(snapshot),
            None => request.skip_final_snapshot(true),
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_db_cluster_not_found_fault()) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk_error("DeleteDBCluster", e)),
        }
    }

    async fn delete_parameter_group(&self, name: &str) -> Result<()> {
        match self
            .client
            .delete_db_cluster_parameter_group()
            .db_cluster_parameter_group_name(name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_db_parameter_group_not_found_fault()) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk_error("DeleteDBClusterParameterGroup", e)),
        }
    }
}

/// Error paths the emulator cannot produce, on the real SDK client.
#[cfg(test)]
mod tests {
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    fn rds_error(code: &str) -> String {
        format!(
            r#"<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>Sender</Type><Code>{code}</Code><Message>{code}</Message></Error><RequestId>1</RequestId></ErrorResponse>"#
        )
    }

    #[tokio::test]
    async fn gone_is_not_an_error_for_reads_and_deletes() {
        let describe = mock!(aws_sdk_rds::Client::describe_db_clusters)
            .sequence()
            .http_status(404, Some(rds_error("DBClusterNotFoundFault")))
            .build();
        let delete = mock!(aws_sdk_rds::Client::delete_db_instance)
            .sequence()
            .http_status(404, Some(rds_error("DBInstanceNotFound")))
            .build();
        let client = mock_client!(aws_sdk_rds, RuleMode::MatchAny, &[&describe, &delete]);
        let rds = RdsProvisioning::new(client);
        assert_eq!(rds.cluster("shop-db").await.unwrap(), None);
        rds.delete_instance("shop-db-reader").await.unwrap();
    }

    #[tokio::test]
    async fn a_parameter_group_in_use_keeps_its_code_and_a_busy_cluster_is_retryable() {
        let delete = mock!(aws_sdk_rds::Client::delete_db_cluster_parameter_group)
            .sequence()
            .http_status(400, Some(rds_error("InvalidDBParameterGroupState")))
            .build();
        let create = mock!(aws_sdk_rds::Client::create_db_instance)
            .sequence()
            .http_status(400, Some(rds_error("InvalidDBClusterStateFault")))
            .build();
        let client = mock_client!(aws_sdk_rds, RuleMode::MatchAny, &[&delete, &create]);
        let rds = RdsProvisioning::new(client);
        let err = rds.delete_parameter_group("shop-params").await.unwrap_err();
        // The service keeps a group another cluster still uses, by this code.
        assert_eq!(err.aws_code(), Some("InvalidDBParameterGroupState"));
        let spec = InstanceSpec {
            id: "shop-db-writer".into(),
            cluster_id: "shop-db".into(),
            engine: "aurora-mysql".into(),
            instance_class: "db.serverless".into(),
            promotion_tier: 1,
            performance_insights_days: 7,
            tags: vec![("acu-pilot:managed".into(), "true".into())],
        };
        let err = rds.create_instance(&spec).await.unwrap_err();
        assert!(err.is_retryable(), "{err:?}");
    }
}
