//! `acu-pilot simulate`: replays a demand trace through a model of Aurora Serverless v2
//! and through the same policy code and [`desired`](acu_pilot_core::desired::desired) the Lambda
//! functions run, and reports cost and shortfall per policy.
//!
//! - [`trace`]: the CSV trace format and the example-trace generator.
//! - [`model`]: the Aurora scaling model (a model: every parameter is configurable).
//! - [`cloudwatch`]: simulated `ServerlessDatabaseCapacity` / `ACUUtilization` metrics and
//!   alarm evaluation, so alarm-driven policies see what CloudWatch would show them.
//! - [`cluster`]: a simulated cluster whose layers live on tags, as in production.
//! - [`replay`](mod@replay): the engine, the [`SimPolicy`] trait and the report.
//! - [`topology`]: a cluster of instances — a writer and readers with promotion tiers —
//!   with per-role and cluster-average metrics, replayed through the same policies.
//! - [`settings`]: the simulated functions' settings and alarms (the config's `policy`).
//! - [`policies`]: `alarms-only`, `prescale-only` and `acu-pilot`, built from the
//!   alarm-handler's, pre-scaler's and janitor's real decisions ([`all_policies`]).
//!
//! A layered policy (alarms-only, prescale-only, acu-pilot) is a [`SimPolicy`] holding a
//! [`SimCluster`] and, for alarms, [`SimAlarm`]s. In `on_tick` it evaluates its alarms on
//! `ctx.metrics()` at `ctx.now`, feeds transitions and `ctx.past` to the real policy
//! functions, writes the layers they return with [`SimCluster::put_layer`], and returns
//! [`SimCluster::reconcile`]: the range from the real `desired()`, `Some` only on a change.

pub mod cloudwatch;
pub mod cluster;
pub mod import;
pub mod model;
pub mod policies;
pub mod replay;
pub mod settings;
pub mod topology;
pub mod trace;

pub use cloudwatch::{
    AlarmSpec, AlarmState, AlarmTransition, ComparisonOperator, Metric, Metrics, SimAlarm,
    Statistic,
};
pub use cluster::SimCluster;
pub use model::{AuroraModel, ModelState};
pub use policies::{Autopilot, Functions, QuietEffect, all_policies, quiet_effect};
pub use replay::{
    LIMIT, PolicyResult, PolicyRun, ReplayConfig, SimPolicy, SimReport, StaticPeak, StaticPolicy,
    StaticWide, TickContext, TimelinePoint, compare, replay,
};
pub use settings::{CLUSTER_ID, ForecastHistory, PolicySettings};
pub use trace::{Sample, SplitMix64, Trace, TraceError, TraceKind, generate};

/// Said wherever a simulated figure is reported.
pub const MODEL_NOTE: &str = "These figures come from a model of Aurora Serverless v2 scaling, not from Aurora: \
    the scaling rates are estimates from AWS documentation and published measurements (see docs/simulator.md), \
    and the demand is the trace's. Compare policies with them; do not budget with them.";
