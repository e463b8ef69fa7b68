//! The calendar's two homes: a local file (the CLI and the demo) or an SSM Parameter Store
//! parameter (deployed, so it can be edited without a redeploy).

use std::path::PathBuf;

use aws_sdk_ssm::Client;

use crate::error::sdk_error;
use acu_pilot_core::config::PrescaleConfig;
use acu_pilot_core::error::{Error, Result};
use acu_pilot_ports::{CalendarSource, CalendarText};

/// The calendar source the configuration names, if any.
#[derive(Clone, Debug)]
pub enum ConfiguredCalendar {
    /// No calendar: only the forecast pre-scales.
    None,
    /// `ACU_PILOT_CALENDAR`.
    File(PathBuf),
    /// `ACU_PILOT_CALENDAR_PARAMETER`.
    Parameter { client: Client, name: String },
}

impl ConfiguredCalendar {
    /// The file wins when both are set, since that only happens on a laptop overriding a
    /// deployed configuration.
    pub fn from_config(config: &PrescaleConfig, ssm: Client) -> Self {
        match (&config.calendar_file, &config.calendar_parameter) {
            (Some(path), _) => ConfiguredCalendar::File(PathBuf::from(path)),
            (None, Some(name)) => ConfiguredCalendar::Parameter {
                client: ssm,
                name: name.clone(),
            },
            (None, None) => ConfiguredCalendar::None,
        }
    }
}

impl CalendarSource for ConfiguredCalendar {
    async fn load(&self) -> Result<Option<CalendarText>> {
        match self {
            ConfiguredCalendar::None => Ok(None),
            ConfiguredCalendar::File(path) => {
                // A small local file, read once per invocation: blocking is cheaper than
                // pulling in tokio's fs feature for it.
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::invalid("ACU_PILOT_CALENDAR", format!("{}: {e}", path.display()))
                })?;
                Ok(Some(CalendarText {
                    origin: format!("file {}", path.display()),
                    text,
                }))
            }
            ConfiguredCalendar::Parameter { client, name } => {
                let out = client
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| {
                        if e.as_service_error()
                            .is_some_and(|s| s.is_parameter_not_found())
                        {
                            Error::invalid(
                                "ACU_PILOT_CALENDAR_PARAMETER",
                                format!("SSM parameter {name} does not exist"),
                            )
                        } else {
                            sdk_error("GetParameter", e)
                        }
                    })?;
                let text = out
                    .parameter()
                    .and_then(|p| p.value())
                    .unwrap_or_default()
                    .to_owned();
                Ok(Some(CalendarText {
                    origin: format!("SSM parameter {name}"),
                    text,
                }))
            }
        }
    }
}
