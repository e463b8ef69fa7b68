//! acu-pilot: a capacity autopilot for Aurora Serverless v2.
//!
//! Every function reads a cluster's baseline and layers from its tags, computes the
//! [`desired`](desired::desired) range, and reconciles. See DESIGN.md for the why.

pub mod aws;
pub mod calendar;
pub mod capacity;
pub mod config;
pub mod desired;
pub mod emf;
pub mod engine;
pub mod error;
pub mod events;
pub mod forecast;
pub mod lambda;
pub mod layers;
pub mod policy;
pub mod ports;
pub mod service;
pub mod sim;
pub mod telemetry;
pub mod zone;

pub use capacity::{Acu, CapacityRange, Guardrails};
pub use error::{Error, Result};
