//! Pure decisions: no I/O, no clock, no environment; the services and the simulator call
//! the very same functions.

pub mod advice;
pub mod alarm;
pub mod budget;
pub mod janitor;
pub mod prescale;
pub mod provision;
pub mod quiet;
