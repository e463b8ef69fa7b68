//! Metric history through CloudWatch GetMetricData.

use std::time::Duration;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use chrono::{DateTime, Utc};

use crate::error::sdk_error;
use acu_pilot_core::error::{Error, Result};
use acu_pilot_core::events::{CLUSTER_DIMENSION, ROLE_DIMENSION, WRITER_ROLE};
use acu_pilot_core::history::{MetricHistory, Series};
use acu_pilot_ports::Metrics;

pub const NAMESPACE: &str = "AWS/RDS";
pub const CAPACITY_METRIC: &str = "ServerlessDatabaseCapacity";

/// The series the forecast reads (`acu_pilot_core::history`), each the writer's and the
/// cluster's: (query id, metric) pairs, the id prefixed with `writer_` or `cluster_`.
const SERIES: [(&str, &str); 3] = [
    ("capacity", CAPACITY_METRIC),
    ("cpu", "CPUUtilization"),
    ("acu", "ACUUtilization"),
];
const WRITER_PREFIX: &str = "writer_";
const CLUSTER_PREFIX: &str = "cluster_";

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
    async fn history(
        &self,
        cluster_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        period: Duration,
    ) -> Result<MetricHistory> {
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
        // writer's peak by the same factor (docs/alarms.md). The cluster's series come in
        // the same request, and are used only where the writer's capacity has no data.
        let query = |id: String, metric: &str, dimensions: Vec<Dimension>| {
            MetricDataQuery::builder()
                .id(id)
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace(NAMESPACE)
                                .metric_name(metric)
                                .set_dimensions(Some(dimensions))
                                .build(),
                        )
                        .period(period)
                        // The mean, not the Maximum: on minute-to-minute noise every
                        // period's Maximum reads high, so the forecast took noise for load
                        // and warmed for it; and the mean times the period is what Aurora
                        // bills, which the spend budget sums.
                        .stat("Average")
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
        let queries = SERIES
            .iter()
            .flat_map(|(id, metric)| {
                [
                    query(
                        format!("{WRITER_PREFIX}{id}"),
                        metric,
                        vec![cluster.clone(), writer.clone()],
                    ),
                    query(
                        format!("{CLUSTER_PREFIX}{id}"),
                        metric,
                        vec![cluster.clone()],
                    ),
                ]
            })
            .collect();
        // One request for the whole lookback (4 weeks at 5 minutes is ~8,000 points a
        // series, ~48,000 for the six, under GetMetricData's 100,800 per call); a NextToken
        // only follows if AWS splits.
        let mut pages = self
            .client
            .get_metric_data()
            .set_metric_data_queries(Some(queries))
            .start_time(smithy_time(from))
            .end_time(smithy_time(to))
            .scan_by(ScanBy::TimestampAscending)
            .into_paginator()
            .send();
        let mut series: std::collections::BTreeMap<String, Series> = Default::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("GetMetricData", e))?;
            for result in page.metric_data_results() {
                let Some(id) = result.id() else { continue };
                series.entry(id.to_owned()).or_default().extend(
                    result
                        .timestamps()
                        .iter()
                        .zip(result.values())
                        .filter_map(|(t, v)| Some((chrono_time(t)?, *v))),
                );
            }
        }
        let writer_has_data = series
            .get(&format!("{WRITER_PREFIX}{}", SERIES[0].0))
            .is_some_and(|s| !s.is_empty());
        let prefix = if writer_has_data {
            WRITER_PREFIX
        } else {
            CLUSTER_PREFIX
        };
        let mut take = |id: &str| {
            let mut values = series.remove(&format!("{prefix}{id}")).unwrap_or_default();
            values.sort_by_key(|(t, _)| *t);
            values
        };
        Ok(MetricHistory {
            capacity: take(SERIES[0].0),
            cpu: take(SERIES[1].0),
            acu: take(SERIES[2].0),
        })
    }
}
