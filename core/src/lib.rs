//! acu-pilot's pure core: capacity, the tag formats, the `desired()` rule, the engine
//! table, event parsing, the calendar, the forecast and every policy decision.
//!
//! Nothing here does I/O, reads a clock or the environment: every function takes `now` and
//! its inputs as arguments. The crates above it (ports, aws, app, sim) bring the world in;
//! docs/architecture.md draws the arrows.

pub mod calendar;
pub mod capacity;
pub mod config;
pub mod desired;
pub mod engine;
pub mod error;
pub mod events;
pub mod fleet;
pub mod forecast;
pub mod history;
#[cfg(test)]
mod hostile_input;
pub mod model;
pub mod ownership;
pub mod policy;
pub mod tags;
pub mod zone;

pub use capacity::{Acu, CapacityRange, Guardrails};
pub use error::{Error, Result};
