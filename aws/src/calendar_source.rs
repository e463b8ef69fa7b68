//! The calendars' homes: a local file (the CLI and the demo), an SSM Parameter Store
//! parameter, or every parameter under an SSM path, one per team (deployed, so each can be
//! edited without a redeploy).

use std::path::PathBuf;

use aws_sdk_ssm::Client;

use crate::error::sdk_error;
use acu_pilot_core::config::PrescaleConfig;
use acu_pilot_core::error::{Error, Result};
use acu_pilot_ports::{CalendarSource, CalendarText};

/// The calendar sources the configuration names.
#[derive(Clone, Debug)]
pub enum ConfiguredCalendar {
    /// No calendar: only the forecast pre-scales.
    None,
    /// `ACU_PILOT_CALENDAR`.
    File(PathBuf),
    /// `ACU_PILOT_CALENDAR_PARAMETER` and/or `ACU_PILOT_CALENDAR_PATH`.
    Ssm {
        client: Client,
        parameter: Option<String>,
        path: Option<String>,
    },
}

impl ConfiguredCalendar {
    /// The file wins when both are set, since that only happens on a laptop overriding a
    /// deployed configuration. The single parameter and the path are read side by side,
    /// so a deployment moves to per-team calendars one team at a time.
    pub fn from_config(config: &PrescaleConfig, ssm: Client) -> Self {
        match (
            &config.calendar_file,
            &config.calendar_parameter,
            &config.calendar_path,
        ) {
            (Some(path), _, _) => ConfiguredCalendar::File(PathBuf::from(path)),
            (None, None, None) => ConfiguredCalendar::None,
            (None, parameter, path) => ConfiguredCalendar::Ssm {
                client: ssm,
                parameter: parameter.clone(),
                path: path.clone(),
            },
        }
    }
}

impl CalendarSource for ConfiguredCalendar {
    async fn load(&self) -> Result<Vec<CalendarText>> {
        match self {
            ConfiguredCalendar::None => Ok(Vec::new()),
            ConfiguredCalendar::File(path) => {
                // A small local file, read once per invocation: blocking is cheaper than
                // pulling in tokio's fs feature for it.
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::invalid("ACU_PILOT_CALENDAR", format!("{}: {e}", path.display()))
                })?;
                Ok(vec![CalendarText {
                    origin: format!("file {}", path.display()),
                    name: None,
                    text,
                }])
            }
            ConfiguredCalendar::Ssm {
                client,
                parameter,
                path,
            } => {
                let mut calendars = Vec::new();
                if let Some(name) = parameter {
                    calendars.push(read_parameter(client, name).await?);
                }
                if let Some(path) = path {
                    calendars.extend(read_path(client, path).await?);
                }
                Ok(calendars)
            }
        }
    }
}

async fn read_parameter(client: &Client, name: &str) -> Result<CalendarText> {
    let text = crate::read_parameter_value(client, name)
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
    Ok(CalendarText {
        origin: format!("SSM parameter {name}"),
        name: None,
        text: text.unwrap_or_default(),
    })
}

/// Every parameter under `path` (its sub-paths too), in name order: one GetParametersByPath
/// a tick, followed page by page. Each is named by what follows the path
/// (`/acu-pilot/calendars/eu/shop` under `/acu-pilot/calendars/` is `eu/shop`). An empty
/// path is no error: the teams may not have written theirs yet.
async fn read_path(client: &Client, path: &str) -> Result<Vec<CalendarText>> {
    let mut pages = client
        .get_parameters_by_path()
        .path(path)
        .recursive(true)
        .with_decryption(true)
        .into_paginator()
        .send();
    let prefix = format!("{}/", path.trim_end_matches('/'));
    let mut calendars = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("GetParametersByPath", e))?;
        for parameter in page.parameters() {
            let full = parameter.name().unwrap_or_default();
            let name = full.strip_prefix(&prefix).unwrap_or(full);
            calendars.push(CalendarText {
                origin: format!("SSM parameter {full}"),
                name: Some(name.to_owned()),
                text: parameter.value().unwrap_or_default().to_owned(),
            });
        }
    }
    calendars.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(calendars)
}
