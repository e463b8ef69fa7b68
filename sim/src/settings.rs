//! The simulated functions' settings: the config file's `policy` section, read with the
//! same `ACU_PILOT_*` names and validation as the functions' environment, and the
//! simulated alarms. Apart from the policies so that the replay engine can carry them
//! without depending on the policies built on it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::cloudwatch::{AlarmSpec, ComparisonOperator, Metric, Statistic};
use acu_pilot_core::config::Config;
use acu_pilot_core::error::{Error, Result};

/// The simulated cluster's identifier: a calendar entry must target it (`clusters: [sim]`).
pub const CLUSTER_ID: &str = "sim";

/// The config file's `policy` section: the functions' settings, by their environment
/// variable names (`{"ACU_PILOT_BOOST_FACTOR": "2"}`), and the simulated alarms.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicySettings {
    pub env: BTreeMap<String, String>,
    /// Default: the provisioner's, ACUUtilization ≥ 75 % for 2 × 5 min.
    pub high_alarm: Option<AlarmSpec>,
    /// Default: the recipe's, ServerlessDatabaseCapacity < 1 for 4 × 15 min.
    pub low_alarm: Option<AlarmSpec>,
    /// What the forecast learns from (default: the metrics production's pre-scaler reads).
    pub forecast_history: ForecastHistory,
    /// The cluster's spend budget in ACU-hours a day, as its `acu-pilot:budget` tag would
    /// say: the simulated pre-scaler caps max while the trailing day's spend is over it.
    pub budget: Option<f64>,
}

/// The series the simulated pre-scaler hands the forecast.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForecastHistory {
    /// What production's pre-scaler reads: the modelled writer's `ServerlessDatabaseCapacity`,
    /// `CPUUtilization` and `ACUUtilization`, Maximum per period as CloudWatch publishes
    /// them, turned into load by the same code (`acu_pilot_core::history`).
    #[default]
    Metrics,
    /// The trace's demand: the forecast as designed, fed what the workload needed, for
    /// comparison.
    Demand,
    /// The modelled `ServerlessDatabaseCapacity` alone, as the pre-scaler read it before it
    /// read the utilisations: a held min shows in it as used capacity, so this shows the
    /// forecast learning from its own warmth.
    Capacity,
}

impl PolicySettings {
    /// The functions' [`Config`]: the defaults with `env` applied. A name no function
    /// reads is refused, like any other unknown key in the file.
    pub fn config(&self) -> Result<Config> {
        let read = std::cell::RefCell::new(Vec::new());
        let config = Config::from_lookup(|name| {
            read.borrow_mut().push(name.to_owned());
            self.env.get(name).cloned()
        })
        .map_err(|e| match e {
            Error::Config { variable, message } => Error::Config {
                variable: format!("policy.env.{variable}"),
                message,
            },
            other => other,
        })?;
        let read = read.into_inner();
        if let Some(unknown) = self.env.keys().find(|k| !read.contains(k)) {
            return Err(Error::Config {
                variable: format!("policy.env.{unknown}"),
                message: format!("not a setting acu-pilot reads (known: {})", read.join(", ")),
            });
        }
        Ok(config)
    }

    pub fn high_alarm(&self) -> AlarmSpec {
        self.high_alarm.clone().unwrap_or_else(|| AlarmSpec {
            name: format!("acu-pilot-{CLUSTER_ID}-high-acu"),
            metric: Metric::AcuUtilization,
            statistic: Statistic::Average,
            comparison: ComparisonOperator::GreaterThanOrEqualToThreshold,
            threshold: 75.0,
            period_secs: 300,
            evaluation_periods: 2,
            datapoints_to_alarm: 2,
        })
    }

    pub fn low_alarm(&self) -> AlarmSpec {
        self.low_alarm.clone().unwrap_or_else(|| AlarmSpec {
            name: format!("Aurora-{CLUSTER_ID}-Low-ACU"),
            metric: Metric::ServerlessDatabaseCapacity,
            statistic: Statistic::Average,
            comparison: ComparisonOperator::LessThanThreshold,
            threshold: 1.0,
            period_secs: 900,
            evaluation_periods: 4,
            datapoints_to_alarm: 4,
        })
    }
}
