//! The provisioner's pure half: requests (parsed and validated strictly, before any AWS
//! call), the alarms a cluster gets, and the planners that, given what exists, say what to
//! do next or what to wait for.
//!
//! Planning is level-triggered like reconcile: every invocation looks at what exists and
//! computes the remaining steps from scratch, so a retry, a duplicate event or an RDS
//! lifecycle event all continue from wherever the last invocation stopped, and a request
//! repeated after completion plans nothing.
//!
//! Tags this module owns (cluster tags, beside the schema in [`crate::tags`]):
//!
//! | key | value |
//! |---|---|
//! | `acu-pilot:provisioning` | `readers=1 pi=7 alarms=default`: the steps after the cluster, while they are unfinished |
//! | `acu-pilot:decommissioning` | `final-snapshot` or `skip-final-snapshot`: a teardown under way |
//! | `acu-pilot:parameter-group` | the cluster parameter group acu-pilot created for this cluster (deleted with it) |

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::capacity::{Acu, CapacityRange};
use crate::engine::{self, Engine};
use crate::error::{Error, Result};
use crate::model::{
    AlarmSpec, ClusterDetails, ClusterSpec, Instance, InstanceSpec, ParameterGroup,
    ParameterGroupSpec,
};
use crate::tags::{self, ALARM_CLUSTER, ALARM_ROLE, AUTO_PAUSE, BASELINE, MANAGED, TTL};

pub const PROVISIONING: &str = "acu-pilot:provisioning";
pub const DECOMMISSIONING: &str = "acu-pilot:decommissioning";
pub const PARAMETER_GROUP: &str = "acu-pilot:parameter-group";

/// The EventBridge `source` of requests (and of the events acu-pilot publishes).
pub const SOURCE: &str = "acu-pilot";

/// Aurora allows up to 15 replicas per cluster.
const MAX_READERS: u32 = 15;

/// The readers' promotion tier when a request leaves `reader_tier` out: the recipe's 2.
/// Readers in tiers 0–1 follow the writer's capacity, so they are as large as the writer
/// all the time — each costs what the writer costs, even idle — in exchange for a failover
/// target already at the writer's size. Readers in tiers 2–15 scale on their own load and
/// cost little while idle; after a failover to one of them, the new writer starts small
/// and scales up. The writer is at tier 1, so a reader at 0 is promoted before it.
pub const DEFAULT_READER_TIER: i32 = 2;
/// Aurora's promotion tiers are 0 to 15.
const MAX_PROMOTION_TIER: i32 = 15;

/// A new cluster's baseline max when the request leaves it out: the default ceiling.
/// Aurora bills the capacity used, not max, so a max below the ceiling only refuses demand;
/// refusing demand on purpose is a lower `max_acu` (or ceiling), chosen, not defaulted.
pub const DEFAULT_MAX_ACU: f64 = 64.0;
/// RDS identifiers: 1–63 characters.
const MAX_IDENTIFIER: usize = 63;

mod alarms;
mod naming;
mod plan;
mod request;
mod tag_values;

pub use alarms::*;
pub use naming::*;
pub use plan::*;
pub use request::*;
pub use tag_values::*;

#[cfg(test)]
mod tests;
