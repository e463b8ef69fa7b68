pub mod alarm;
