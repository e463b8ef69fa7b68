//! CloudWatch metric alarms.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, MetricAlarm, StandardUnit, Statistic, Tag,
};

use crate::error::sdk_error;
use acu_pilot_core::error::Result;
use acu_pilot_ports::{Alarm, AlarmSpec, Alarms};

#[derive(Clone, Debug)]
pub struct CloudWatchAlarms {
    client: Client,
}

impl CloudWatchAlarms {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn alarm_from_sdk(a: &MetricAlarm) -> Alarm {
    let spec = AlarmSpec {
        name: a.alarm_name().unwrap_or_default().to_owned(),
        description: a.alarm_description().map(str::to_owned),
        namespace: a.namespace().unwrap_or_default().to_owned(),
        metric: a.metric_name().unwrap_or_default().to_owned(),
        dimensions: a
            .dimensions()
            .iter()
            .filter_map(|d| Some((d.name()?.to_owned(), d.value()?.to_owned())))
            .collect(),
        statistic: a.statistic().map(|s| s.as_str().to_owned()),
        extended_statistic: a.extended_statistic().map(str::to_owned),
        period: a.period().unwrap_or_default(),
        evaluation_periods: a.evaluation_periods().unwrap_or_default(),
        datapoints_to_alarm: a.datapoints_to_alarm(),
        threshold: a.threshold().unwrap_or_default(),
        comparison: a
            .comparison_operator()
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
        treat_missing_data: a.treat_missing_data().map(str::to_owned),
        unit: a.unit().map(|u| u.as_str().to_owned()),
        actions_enabled: a.actions_enabled(),
        alarm_actions: a.alarm_actions().to_vec(),
        ok_actions: a.ok_actions().to_vec(),
        insufficient_data_actions: a.insufficient_data_actions().to_vec(),
    };
    Alarm {
        arn: a.alarm_arn().unwrap_or_default().to_owned(),
        is_metric_math: !a.metrics().is_empty(),
        state: a.state_value().map(|v| v.as_str().to_owned()),
        spec,
    }
}

fn sdk_tags(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

impl Alarms for CloudWatchAlarms {
    async fn describe(&self, name: &str) -> Result<Option<Alarm>> {
        let out = self
            .client
            .describe_alarms()
            .alarm_names(name)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeAlarms", e))?;
        Ok(out
            .metric_alarms()
            .iter()
            .find(|a| a.alarm_name() == Some(name))
            .map(alarm_from_sdk))
    }

    async fn put(&self, spec: &AlarmSpec, tags: &[(String, String)]) -> Result<()> {
        let mut request = self
            .client
            .put_metric_alarm()
            .alarm_name(&spec.name)
            .namespace(&spec.namespace)
            .metric_name(&spec.metric)
            .set_dimensions(Some(
                spec.dimensions
                    .iter()
                    .map(|(k, v)| Dimension::builder().name(k).value(v).build())
                    .collect(),
            ))
            .period(spec.period)
            .evaluation_periods(spec.evaluation_periods)
            .set_datapoints_to_alarm(spec.datapoints_to_alarm)
            .threshold(spec.threshold)
            .comparison_operator(ComparisonOperator::from(spec.comparison.as_str()))
            .set_alarm_description(spec.description.clone())
            .set_statistic(spec.statistic.as_deref().map(Statistic::from))
            .set_extended_statistic(spec.extended_statistic.clone())
            .set_treat_missing_data(spec.treat_missing_data.clone())
            .set_unit(spec.unit.as_deref().map(StandardUnit::from))
            .set_actions_enabled(spec.actions_enabled)
            .set_alarm_actions(Some(spec.alarm_actions.clone()))
            .set_ok_actions(Some(spec.ok_actions.clone()))
            .set_insufficient_data_actions(Some(spec.insufficient_data_actions.clone()));
        if !tags.is_empty() {
            request = request.set_tags(Some(sdk_tags(tags)));
        }
        request
            .send()
            .await
            .map_err(|e| sdk_error("PutMetricAlarm", e))?;
        Ok(())
    }

    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| sdk_error("ListTagsForResource", e))?;
        Ok(out
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect())
    }

    async fn tag(&self, arn: &str, tags: &[(String, String)]) -> Result<()> {
        if tags.is_empty() {
            return Ok(());
        }
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(sdk_tags(tags)))
            .send()
            .await
            .map_err(|e| sdk_error("TagResource", e))?;
        Ok(())
    }

    async fn untag(&self, arn: &str, keys: &[String]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        self.client
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| sdk_error("UntagResource", e))?;
        Ok(())
    }

    async fn list(&self, prefix: Option<&str>) -> Result<Vec<Alarm>> {
        let pages = self
            .client
            .describe_alarms()
            .set_alarm_name_prefix(prefix.map(str::to_owned))
            // The most a page holds (the default is 50): the janitor's sweep lists every
            // alarm of ours, so this halves its calls.
            .max_records(100)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("DescribeAlarms", e))?;
        Ok(pages
            .iter()
            .flat_map(|page| page.metric_alarms())
            .map(alarm_from_sdk)
            .collect())
    }

    async fn delete(&self, names: &[String]) -> Result<()> {
        for batch in names.chunks(100) {
            self.client
                .delete_alarms()
                .set_alarm_names(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| sdk_error("DeleteAlarms", e))?;
        }
        Ok(())
    }
}
