//! Typed configuration from the environment, read and validated once at start-up.
//! A bad value stops start-up with a message naming the variable.

use std::collections::HashMap;
use std::time::Duration;

use chrono::TimeDelta;
use jiff::SpanRelativeTo;
use jiff::fmt::friendly::SpanParser;
use serde::Serialize;

use crate::capacity::{Acu, Guardrails};
use crate::error::{Error, Result};
use crate::zone::Zone;

/// Everything the four functions and the CLI can be told, with safe defaults (docs/architecture.md, "Safe defaults").
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Config {
    /// `ACU_PILOT_FLOOR` / `ACU_PILOT_CEILING` / `ACU_PILOT_ALLOW_AUTO_PAUSE`.
    pub guardrails: Guardrails,
    /// `ACU_PILOT_AUTO_PAUSE_DELAY`: the `SecondsUntilAutoPause` sent with every range
    /// whose min is 0 (default 5m, Aurora's own; 5m to 24h, what Aurora accepts).
    #[serde(with = "duration_text")]
    pub auto_pause_delay: Duration,
    /// `ACU_PILOT_DRY_RUN`: decide and report, never write.
    pub dry_run: bool,
    /// `ACU_PILOT_EVENT_BUS`: where `acu-pilot` events go.
    pub event_bus: String,
    /// `ACU_PILOT_OWNERSHIP_KEY_PARAMETER`: the SSM parameter (a SecureString, or the
    /// `/aws/reference/secretsmanager/…` path of the template's secret) holding the key of
    /// acu-pilot's proof of creation. Without it nothing is ever provably acu-pilot's, so
    /// nothing is created or destroyed.
    pub ownership_key_parameter: Option<String>,
    /// `ACU_PILOT_SPOKE_ROLE`: the name of the role this function assumes in a spoke
    /// account (`arn:<partition>:iam::<account>:role/<name>`). Unset: every event is
    /// handled with the function's own credentials, as in a single-account deployment.
    pub spoke_role: Option<String>,
    /// `ACU_PILOT_SPOKE_EXTERNAL_ID`: the `sts:ExternalId` the spoke roles require, if any.
    pub spoke_external_id: Option<String>,
    /// `ACU_PILOT_TARGETS_PARAMETER`: the SSM parameter listing the account × region pairs
    /// the pre-scaler and the janitor sweep ([`crate::fleet::parse_targets`]). Unset: the
    /// function's own account and region only, with no extra call.
    pub targets_parameter: Option<String>,
    /// `ACU_PILOT_TARGET_QUEUE_URL`: the FIFO queue a tick sends one message per target to,
    /// consumed by the same function. Unset: a tick sweeps its targets itself.
    pub target_queue_url: Option<String>,
    pub boost: BoostConfig,
    pub prescale: PrescaleConfig,
    pub janitor: JanitorConfig,
    pub provisioner: ProvisionerConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BoostConfig {
    /// `ACU_PILOT_BOOST_FACTOR`: max is multiplied by this on each step (default 1.5).
    pub step_factor: f64,
    /// `ACU_PILOT_BOOST_MIN_STEP`: a step raises max by at least this much (default 2).
    pub min_step: Acu,
    /// `ACU_PILOT_BOOST_MIN_FRACTION`: min rises to this fraction of the new max (0 = off).
    pub min_fraction: f64,
    /// `ACU_PILOT_BOOST_TTL`: how long a boost lives after its last step (default 2h).
    #[serde(with = "duration_text")]
    pub ttl: Duration,
    /// `ACU_PILOT_COOLDOWN`: a repeated ALARM inside this changes nothing (default 10m).
    #[serde(with = "duration_text")]
    pub cooldown: Duration,
    /// `ACU_PILOT_ECONOMY_TTL`: how long an economy layer lives if the low alarm's OK never
    /// arrives (default 24h).
    #[serde(with = "duration_text")]
    pub economy_ttl: Duration,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PrescaleConfig {
    /// `ACU_PILOT_CALENDAR`: a calendar file (local runs and the demo).
    pub calendar_file: Option<String>,
    /// `ACU_PILOT_CALENDAR_PARAMETER`: an SSM parameter holding the calendar (deployed).
    pub calendar_parameter: Option<String>,
    /// `ACU_PILOT_CALENDAR_PATH`: an SSM path (`/acu-pilot/calendars/`) whose every
    /// parameter is a calendar of its own, one per team; read beside the parameter.
    pub calendar_path: Option<String>,
    /// `ACU_PILOT_LEAD`: default lead time before a window (default 30m).
    #[serde(with = "duration_text")]
    pub lead: Duration,
    /// `ACU_PILOT_FORECAST`: whether the forecast may pre-scale (default true).
    pub forecast_enabled: bool,
    /// `ACU_PILOT_FORECAST_SELECTOR`: `key=value`; the forecast applies only to managed
    /// clusters carrying that tag (default: every managed cluster).
    pub forecast_selector: Option<(String, String)>,
    /// `ACU_PILOT_FORECAST_LOOKBACK`: history read for the forecast (default 28d).
    #[serde(with = "duration_text")]
    pub lookback: Duration,
    /// `ACU_PILOT_FORECAST_PERIOD`: metric period (default 5m).
    #[serde(with = "duration_text")]
    pub period: Duration,
    /// `ACU_PILOT_FORECAST_HORIZON`: how far ahead the peak is predicted (default 1h).
    #[serde(with = "duration_text")]
    pub horizon: Duration,
    /// `ACU_PILOT_FORECAST_THRESHOLD`: act when the warm min is at least this above the floor
    /// (default 0.5: any warmth is worth holding, the budget already weighed its cost).
    pub threshold: Acu,
    /// `ACU_PILOT_WARM_FRACTION`: a calendar window's `min: auto` is this fraction of the
    /// predicted peak (default 0.5).
    pub warm_fraction: f64,
    /// `ACU_PILOT_WARM_BUDGET`: the forecast's warm min for an hour may have wasted at most
    /// this share of the capacity that hour used on past days (default 0.1).
    pub warm_budget: f64,
    /// `ACU_PILOT_WARM_BLOCK`: the span one warm min is read for.
    #[serde(with = "duration_text")]
    pub warm_block: Duration,
    /// `ACU_PILOT_WARM_HOLD`: how long a forecast layer is written for.
    #[serde(with = "duration_text")]
    pub warm_hold: Duration,
    /// `ACU_PILOT_WARM_BAND`: a forecast min within this share above the wanted one is kept.
    pub warm_band: f64,
    /// `ACU_PILOT_FORECAST_TIMEZONE`: the IANA zone whose clock the load follows, so the
    /// forecast's "same time yesterday" stays put across a clock change (default UTC).
    pub forecast_timezone: Zone,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JanitorConfig {
    /// `ACU_PILOT_ENFORCE`: put drifted ranges back (default off: report only).
    pub enforce: bool,
    /// `ACU_PILOT_CONCURRENCY`: clusters handled at once (default 8).
    pub concurrency: usize,
    /// `ACU_PILOT_MAX_ERROR_SHARE`: a sweep in which more than this share of the clusters
    /// failed fails the invocation (after publishing its summary), so the on-failure
    /// destination sees it (default 0.5).
    pub max_error_share: f64,
}

/// Defaults for provisioning requests that leave the network settings out.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProvisionerConfig {
    /// `ACU_PILOT_SUBNET_GROUP`: the DB subnet group of new clusters.
    pub subnet_group: Option<String>,
    /// `ACU_PILOT_SECURITY_GROUP_IDS`: comma-separated VPC security group ids.
    pub security_group_ids: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config::from_lookup(|_| None).expect("the defaults are valid")
    }
}

impl Config {
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self> {
        Self::from_lookup(|name| vars.get(name).cloned())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let env = Env(&lookup);
        let safe = Guardrails::default();
        let floor = env.acu("ACU_PILOT_FLOOR", safe.floor)?;
        let ceiling = env.acu("ACU_PILOT_CEILING", safe.ceiling)?;
        let allow_auto_pause = env.flag("ACU_PILOT_ALLOW_AUTO_PAUSE", safe.allow_auto_pause)?;
        let guardrails = Guardrails::new(floor, ceiling, allow_auto_pause).map_err(|e| {
            let variable = if e.field == "floor" {
                "ACU_PILOT_FLOOR"
            } else {
                "ACU_PILOT_CEILING"
            };
            Error::Config {
                variable: variable.into(),
                message: e.to_string(),
            }
        })?;
        if floor == Acu::ZERO && !allow_auto_pause {
            return Err(Error::Config {
                variable: "ACU_PILOT_FLOOR".into(),
                message: "0 means auto-pause; set ACU_PILOT_ALLOW_AUTO_PAUSE=true to allow it"
                    .into(),
            });
        }
        let auto_pause_delay =
            env.duration("ACU_PILOT_AUTO_PAUSE_DELAY", "5m", MAX_AUTO_PAUSE_DELAY)?;
        if auto_pause_delay < MIN_AUTO_PAUSE_DELAY {
            return Err(Error::Config {
                variable: "ACU_PILOT_AUTO_PAUSE_DELAY".into(),
                message: format!(
                    "{} is shorter than 5m, the least SecondsUntilAutoPause Aurora accepts",
                    format_duration(auto_pause_delay)
                ),
            });
        }
        let boost = BoostConfig {
            step_factor: env.fraction("ACU_PILOT_BOOST_FACTOR", 1.5, 1.0, 10.0)?,
            min_step: env.acu("ACU_PILOT_BOOST_MIN_STEP", Acu::new(2.0)?)?,
            min_fraction: env.fraction("ACU_PILOT_BOOST_MIN_FRACTION", 0.0, 0.0, 1.0)?,
            ttl: env.duration("ACU_PILOT_BOOST_TTL", "2h", MAX_LAYER_TTL)?,
            cooldown: env.duration("ACU_PILOT_COOLDOWN", "10m", MAX_LAYER_TTL)?,
            economy_ttl: env.duration("ACU_PILOT_ECONOMY_TTL", "24h", MAX_LAYER_TTL)?,
        };
        let prescale = PrescaleConfig {
            calendar_file: env.text("ACU_PILOT_CALENDAR"),
            calendar_parameter: env.text("ACU_PILOT_CALENDAR_PARAMETER"),
            calendar_path: env.ssm_path("ACU_PILOT_CALENDAR_PATH")?,
            lead: env.duration("ACU_PILOT_LEAD", "30m", MAX_LEAD)?,
            forecast_enabled: env.flag("ACU_PILOT_FORECAST", true)?,
            forecast_selector: env.tag_selector("ACU_PILOT_FORECAST_SELECTOR")?,
            lookback: env.duration("ACU_PILOT_FORECAST_LOOKBACK", "28d", MAX_LOOKBACK)?,
            period: env.duration("ACU_PILOT_FORECAST_PERIOD", "5m", MAX_PERIOD)?,
            horizon: env.duration("ACU_PILOT_FORECAST_HORIZON", "1h", MAX_HORIZON)?,
            threshold: env.acu("ACU_PILOT_FORECAST_THRESHOLD", Acu::HALF)?,
            warm_fraction: env.fraction("ACU_PILOT_WARM_FRACTION", 0.5, 0.05, 1.0)?,
            warm_budget: env.fraction("ACU_PILOT_WARM_BUDGET", 0.1, 0.0, 1.0)?,
            warm_block: env.duration("ACU_PILOT_WARM_BLOCK", "30m", MAX_PERIOD)?,
            warm_hold: env.duration("ACU_PILOT_WARM_HOLD", "2h", MAX_LAYER_TTL)?,
            warm_band: env.fraction("ACU_PILOT_WARM_BAND", 0.1, 0.0, 1.0)?,
            forecast_timezone: env.zone("ACU_PILOT_FORECAST_TIMEZONE")?,
        };
        if prescale.period.as_secs() < 60 || !prescale.period.as_secs().is_multiple_of(60) {
            return Err(Error::Config {
                variable: "ACU_PILOT_FORECAST_PERIOD".into(),
                message: "must be a whole number of minutes (CloudWatch periods)".into(),
            });
        }
        let concurrency = env.number("ACU_PILOT_CONCURRENCY", 8.0)?;
        if !(1.0..=64.0).contains(&concurrency) || concurrency.fract() != 0.0 {
            return Err(Error::Config {
                variable: "ACU_PILOT_CONCURRENCY".into(),
                message: format!("{concurrency} is not a whole number from 1 to 64"),
            });
        }
        let janitor = JanitorConfig {
            enforce: env.flag("ACU_PILOT_ENFORCE", false)?,
            concurrency: concurrency as usize,
            max_error_share: env.fraction("ACU_PILOT_MAX_ERROR_SHARE", 0.5, 0.0, 1.0)?,
        };
        let security_group_ids: Vec<String> = env
            .text("ACU_PILOT_SECURITY_GROUP_IDS")
            .map(|ids| {
                ids.split(',')
                    .map(|id| id.trim().to_owned())
                    .filter(|id| !id.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(bad) = security_group_ids.iter().find(|id| !id.starts_with("sg-")) {
            return Err(Error::Config {
                variable: "ACU_PILOT_SECURITY_GROUP_IDS".into(),
                message: format!("{bad:?} is not a security group id (sg-…)"),
            });
        }
        let provisioner = ProvisionerConfig {
            subnet_group: env.text("ACU_PILOT_SUBNET_GROUP"),
            security_group_ids,
        };
        Ok(Config {
            guardrails,
            auto_pause_delay,
            dry_run: env.flag("ACU_PILOT_DRY_RUN", false)?,
            event_bus: env
                .text("ACU_PILOT_EVENT_BUS")
                .unwrap_or_else(|| "default".into()),
            ownership_key_parameter: env.text("ACU_PILOT_OWNERSHIP_KEY_PARAMETER"),
            spoke_role: env.text("ACU_PILOT_SPOKE_ROLE"),
            spoke_external_id: env.text("ACU_PILOT_SPOKE_EXTERNAL_ID"),
            targets_parameter: env.text("ACU_PILOT_TARGETS_PARAMETER"),
            target_queue_url: env.text("ACU_PILOT_TARGET_QUEUE_URL"),
            boost,
            prescale,
            janitor,
            provisioner,
        })
    }
}

struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn text(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn bad(name: &str, value: &str, expected: &str) -> Error {
        Error::Config {
            variable: name.to_owned(),
            message: format!("{value:?} is not {expected}"),
        }
    }

    fn flag(&self, name: &str, default: bool) -> Result<bool> {
        match self.text(name) {
            None => Ok(default),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(Self::bad(name, &v, "true or false")),
            },
        }
    }

    fn number(&self, name: &str, default: f64) -> Result<f64> {
        match self.text(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| Self::bad(name, &v, "a number")),
        }
    }

    fn fraction(&self, name: &str, default: f64, low: f64, high: f64) -> Result<f64> {
        let value = self.number(name, default)?;
        if (low..=high).contains(&value) {
            Ok(value)
        } else {
            Err(Error::Config {
                variable: name.to_owned(),
                message: format!("{value} is outside {low}..={high}"),
            })
        }
    }

    fn acu(&self, name: &str, default: Acu) -> Result<Acu> {
        match self.text(name) {
            None => Ok(default),
            Some(v) => Acu::parse_field(name, &v).map_err(|e| Error::Config {
                variable: name.to_owned(),
                message: e.to_string(),
            }),
        }
    }

    /// An SSM hierarchy, as GetParametersByPath takes it: it starts with `/`.
    fn ssm_path(&self, name: &str) -> Result<Option<String>> {
        match self.text(name) {
            Some(path) if !path.starts_with('/') => Err(Self::bad(
                name,
                &path,
                "an SSM path starting with / (e.g. /acu-pilot/calendars/)",
            )),
            path => Ok(path),
        }
    }

    fn zone(&self, name: &str) -> Result<Zone> {
        match self.text(name) {
            None => Ok(Zone::UTC),
            Some(v) => v
                .parse()
                .map_err(|_| Self::bad(name, &v, "an IANA time zone (e.g. America/New_York)")),
        }
    }

    fn tag_selector(&self, name: &str) -> Result<Option<(String, String)>> {
        let Some(text) = self.text(name) else {
            return Ok(None);
        };
        crate::tags::parse_selector(&text)
            .map(Some)
            .map_err(|message| Error::Config {
                variable: name.to_owned(),
                message,
            })
    }

    /// A duration no longer than `max`: each of these is added to or subtracted from a
    /// date, so an unbounded one would overflow it or write an `until` no one can read.
    fn duration(&self, name: &str, default: &str, max: Duration) -> Result<Duration> {
        let text = self.text(name).unwrap_or_else(|| default.to_owned());
        let duration = parse_duration(&text).map_err(|message| Error::Config {
            variable: name.to_owned(),
            message,
        })?;
        if duration > max {
            return Err(Error::Config {
                variable: name.to_owned(),
                message: format!(
                    "{} is longer than the limit of {}",
                    text.trim(),
                    format_duration(max)
                ),
            });
        }
        Ok(duration)
    }
}

/// Aurora's bounds on `SecondsUntilAutoPause`.
const MIN_AUTO_PAUSE_DELAY: Duration = Duration::from_secs(300);
const MAX_AUTO_PAUSE_DELAY: Duration = Duration::from_secs(86_400);

/// The longest boost or economy layer, and cooldown (docs/calendar.md, "Limits").
pub const MAX_LAYER_TTL: Duration = Duration::from_secs(7 * 86_400);
/// The longest lead, here and in a calendar.
pub const MAX_LEAD: Duration = Duration::from_secs(7 * 86_400);
/// The longest forecast horizon.
pub const MAX_HORIZON: Duration = Duration::from_secs(7 * 86_400);
/// The longest forecast lookback.
pub const MAX_LOOKBACK: Duration = Duration::from_secs(366 * 86_400);
/// The longest forecast period.
pub const MAX_PERIOD: Duration = Duration::from_secs(86_400);

/// Parses jiff's friendly duration format: `30m`, `2h`, `1h30m`, `90s`, `28d`, `1w`, and
/// also `1h 30m`, `2 hours`, `1.5h`. A day is 24 hours here: these durations are elapsed
/// time, not calendar arithmetic. Negative durations, months and years are refused.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    static PARSER: SpanParser = SpanParser::new();
    let text = text.trim();
    let expected = "expected e.g. 30m, 2h, 1h30m, 28d; units s m h d w";
    if text.is_empty() {
        return Err(format!("empty duration ({expected})"));
    }
    let span = PARSER.parse_span(text).map_err(|e| {
        if e.is_range() {
            // Well formed, but past what a span holds (about 20,000 years).
            format!("{text:?} is too long: {e}")
        } else {
            format!("{text:?} is not a duration ({expected}): {e}")
        }
    })?;
    if span.is_negative() {
        return Err(format!(
            "{text:?} is negative; a duration here is elapsed time"
        ));
    }
    let elapsed = span
        .to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(|_| format!("{text:?}: months and years have no fixed length ({expected})"))?;
    Duration::try_from(elapsed).map_err(|_| format!("{text:?} is too long"))
}

/// A configured duration as chrono's `TimeDelta`. Every configured duration is bounded
/// (by [`MAX_LOOKBACK`] at most), far inside `TimeDelta`'s range: the saturation is never
/// reached, it only keeps the conversion total.
pub fn to_delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

/// Formats a duration the way [`parse_duration`] reads it.
pub fn format_duration(duration: Duration) -> String {
    let mut secs = duration.as_secs();
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

mod duration_text {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_map(&map)
    }

    #[test]
    fn defaults_are_the_safe_ones() {
        let c = Config::default();
        assert_eq!(c.guardrails.floor, Acu::HALF);
        assert_eq!(c.guardrails.ceiling, Acu::new(64.0).unwrap());
        assert!(!c.guardrails.allow_auto_pause && !c.dry_run && !c.janitor.enforce);
        assert_eq!(c.boost.ttl, Duration::from_secs(7200));
        assert_eq!(c.janitor.concurrency, 8);
    }

    #[test]
    fn economy_ttl_defaults_to_a_day_and_names_its_variable() {
        assert_eq!(
            Config::default().boost.economy_ttl,
            Duration::from_secs(86_400)
        );
        let c = config(&[("ACU_PILOT_ECONOMY_TTL", "6h")]).unwrap();
        assert_eq!(c.boost.economy_ttl, Duration::from_secs(21_600));
        let err = config(&[("ACU_PILOT_ECONOMY_TTL", "soon")]).unwrap_err();
        assert!(err.to_string().contains("ACU_PILOT_ECONOMY_TTL"), "{err}");
    }

    /// Issue #13 case 7: durations that meet a date are limited, and the error names the
    /// variable and the limit.
    #[test]
    fn durations_added_to_dates_are_limited() {
        for (var, value, limit) in [
            ("ACU_PILOT_LEAD", "1000000w", "7d"),
            ("ACU_PILOT_FORECAST_HORIZON", "8d", "7d"),
            ("ACU_PILOT_BOOST_TTL", "420000w", "7d"),
            ("ACU_PILOT_ECONOMY_TTL", "30d", "7d"),
            ("ACU_PILOT_FORECAST_LOOKBACK", "400d", "366d"),
        ] {
            let err = config(&[(var, value)]).unwrap_err().to_string();
            assert!(
                err.contains(var) && err.contains(&format!("longer than the limit of {limit}")),
                "{err}"
            );
        }
        assert!(
            config(&[
                ("ACU_PILOT_LEAD", "7d"),
                ("ACU_PILOT_FORECAST_HORIZON", "7d")
            ])
            .is_ok()
        );
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (var, value) in [
            ("ACU_PILOT_CEILING", "300"),
            ("ACU_PILOT_CEILING", "0.5"),
            ("ACU_PILOT_FLOOR", "0.3"),
            ("ACU_PILOT_FLOOR", "0"),
            ("ACU_PILOT_DRY_RUN", "maybe"),
            ("ACU_PILOT_BOOST_TTL", "2 fortnights"),
            ("ACU_PILOT_LEAD", "14000000w"),
            ("ACU_PILOT_BOOST_FACTOR", "0.5"),
            ("ACU_PILOT_CONCURRENCY", "0"),
            ("ACU_PILOT_MAX_ERROR_SHARE", "1.5"),
            ("ACU_PILOT_FORECAST_SELECTOR", "team"),
            ("ACU_PILOT_FORECAST_SELECTOR", "=shop"),
            ("ACU_PILOT_FORECAST_SELECTOR", "team="),
            ("ACU_PILOT_AUTO_PAUSE_DELAY", "1m"),
            ("ACU_PILOT_AUTO_PAUSE_DELAY", "2d"),
            ("ACU_PILOT_CALENDAR_PATH", "acu-pilot/calendars"),
            ("ACU_PILOT_FORECAST_TIMEZONE", "America/Nowhere"),
            ("ACU_PILOT_FORECAST_TIMEZONE", "EST5EDT,M3.2.0,M11.1.0"),
        ] {
            let err = config(&[(var, value)]).unwrap_err();
            assert!(err.to_string().contains(var), "{var}={value}: {err}");
        }
    }

    #[test]
    fn the_forecast_selector_is_a_tag_key_and_value() {
        assert_eq!(Config::default().prescale.forecast_selector, None);
        let c = config(&[("ACU_PILOT_FORECAST_SELECTOR", "team = shop")]).unwrap();
        assert_eq!(
            c.prescale.forecast_selector,
            Some(("team".to_owned(), "shop".to_owned()))
        );
    }

    #[test]
    fn the_forecast_keeps_utc_days_unless_a_zone_is_named() {
        assert_eq!(Config::default().prescale.forecast_timezone, Zone::UTC);
        let c = config(&[("ACU_PILOT_FORECAST_TIMEZONE", " Europe/Berlin ")]).unwrap();
        assert_eq!(c.prescale.forecast_timezone.name(), "Europe/Berlin");
        let shown = serde_json::to_value(&c.prescale).unwrap();
        assert_eq!(shown["forecast_timezone"], "Europe/Berlin");
    }

    #[test]
    fn provisioning_network_defaults_are_optional_and_checked() {
        let c = Config::default();
        assert_eq!(c.provisioner, ProvisionerConfig::default());
        let c = config(&[
            ("ACU_PILOT_SUBNET_GROUP", "db-subnets"),
            ("ACU_PILOT_SECURITY_GROUP_IDS", "sg-1, sg-2,"),
        ])
        .unwrap();
        assert_eq!(c.provisioner.subnet_group.as_deref(), Some("db-subnets"));
        assert_eq!(c.provisioner.security_group_ids, vec!["sg-1", "sg-2"]);
        let err = config(&[("ACU_PILOT_SECURITY_GROUP_IDS", "sg-1,web")]).unwrap_err();
        assert!(
            err.to_string().contains("ACU_PILOT_SECURITY_GROUP_IDS"),
            "{err}"
        );
    }

    #[test]
    fn durations_parse_and_format_back() {
        for (text, secs) in [
            ("30m", 1800),
            ("2h", 7200),
            ("1h30m", 5400),
            ("28d", 2_419_200),
        ] {
            let d = parse_duration(text).unwrap();
            assert_eq!(d.as_secs(), secs);
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
        for (text, secs) in [
            ("90s", 90),
            ("1w", 604_800),
            (" 2h ", 7200),
            ("1h 30m", 5400),
        ] {
            assert_eq!(parse_duration(text).unwrap().as_secs(), secs, "{text}");
        }
        for (text, problem) in [
            ("30", "not a duration"),
            ("", "empty"),
            ("5x", "not a duration"),
            ("-5m", "negative"),
            ("5m ago", "negative"),
            ("1mo", "no fixed length"),
            ("14000000w", "too long"),
            ("1y", "no fixed length"),
        ] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains(problem), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_bad_duration_names_its_variable() {
        let err = config(&[("ACU_PILOT_LEAD", "soon")]).unwrap_err();
        assert!(err.to_string().contains("ACU_PILOT_LEAD"), "{err}");
        assert!(
            err.to_string().contains("\"soon\" is not a duration"),
            "{err}"
        );
    }
}
