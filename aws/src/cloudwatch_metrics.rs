//! Metric history through CloudWatch GetMetricData.

use std::time::Duration;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use chrono::{DateTime, Utc};

use crate::error::sdk_error;
use acu_pilot_core::error::{Error, Result};
use acu_pilot_core::events::{CLUSTER_DIMENSION, ROLE_DIMENSION, WRITER_ROLE};
use acu_pilot_ports::Metrics;

pub const NAMESPACE: &str = "AWS/RDS";
pub const CAPACITY_METRIC: &str = "ServerlessDatabaseCapacity";

/// The ids of the two queries in each request: the writer's series and the cluster's.
const WRITER_QUERY: &str = "writer";
const CLUSTER_QUERY: &str = "cluster";

#[derive(Clone, Debug)]
pub struct CloudWatchMetrics {
    client: Client,
}

impl CloudWatchMetrics {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn smithy_time(t: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs(t.timestamp())
}

fn chrono_time(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

impl Metrics for CloudWatchMetrics {
    async fn capacity_history(
        &self,
        cluster_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        period: Duration,
    ) -> Result<Vec<(DateTime<Utc>, f64)>> {
        let period = i32::try_from(period.as_secs())
            .ok()
            .filter(|p| *p >= 60)
            .ok_or_else(|| {
                Error::invalid(
                    "period",
                    format!("{}s is not a CloudWatch period", period.as_secs()),
                )
            })?;
        // The writer's own series (`DBClusterIdentifier` + `Role=WRITER`), the one the
        // alarms read: the cluster-level series is the average over every instance, which
        // idle tier-2 readers dilute, and a forecast learnt on it under-predicts the
        // writer's peak by the same factor (docs/alarms.md). The cluster series comes in
        // the same request, and is used only where the writer's has no data at all.
        let query = |id: &str, dimensions: Vec<Dimension>| {
            MetricDataQuery::builder()
                .id(id)
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace(NAMESPACE)
                                .metric_name(CAPACITY_METRIC)
                                .set_dimensions(Some(dimensions))
                                .build(),
                        )
                        .period(period)
                        .stat("Maximum")
                        .build(),
                )
                .return_data(true)
                .build()
        };
        let cluster = Dimension::builder()
            .name(CLUSTER_DIMENSION)
            .value(cluster_id)
            .build();
        let writer = Dimension::builder()
            .name(ROLE_DIMENSION)
            .value(WRITER_ROLE)
            .build();
        let queries = vec![
            query(WRITER_QUERY, vec![cluster.clone(), writer]),
            query(CLUSTER_QUERY, vec![cluster]),
        ];
        // One request for the whole lookback (4 weeks at 5 minutes is ~8,000 points, far
        // under GetMetricData's 100,800 per call); a NextToken only follows if AWS splits.
        let mut pages = self
            .client
            .get_metric_data()
            .set_metric_data_queries(Some(queries))
            .start_time(smithy_time(from))
            .end_time(smithy_time(to))
            .scan_by(ScanBy::TimestampAscending)
            .into_paginator()
            .send();
        let (mut writer, mut cluster) = (Vec::new(), Vec::new());
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("GetMetricData", e))?;
            for result in page.metric_data_results() {
                let into = match result.id() {
                    Some(WRITER_QUERY) => &mut writer,
                    Some(CLUSTER_QUERY) => &mut cluster,
                    _ => continue,
                };
                into.extend(
                    result
                        .timestamps()
                        .iter()
                        .zip(result.values())
                        .filter_map(|(t, v)| Some((chrono_time(t)?, *v))),
                );
            }
        }
        let mut samples = if writer.is_empty() { cluster } else { writer };
        samples.sort_by_key(|(t, _)| *t);
        Ok(samples)
    }
}
