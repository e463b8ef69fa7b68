//! The tag schema: every acu-pilot tag key and the format of its value, parsed strictly
//! and formatted back in one place.
//!
//! | key | on | value |
//! |---|---|---|
//! | `acu-pilot:managed` | cluster | `true` |
//! | `acu-pilot:baseline` | cluster | `min=0.5 max=16` |
//! | `acu-pilot:boost`, `:economy`, `:prescale`, `:quiet`, `:pin` | cluster | a layer: `min=2 max=24 until=2026-11-25T20:00:00Z by=alarm:Aurora-shop-High-ACU` (`min`/`max` optional, `at` optional; `hard=true` only on `:quiet`) |
//! | `acu-pilot:budget-cap` | cluster | a layer with `max` only (the pre-scaler's, while the budget is exceeded) |
//! | `acu-pilot:budget` | cluster | the owner's spend budget in ACU-hours a day, a positive number |
//! | `acu-pilot:ceiling`, `acu-pilot:floor` | cluster | an ACU value, overriding the configured guardrail |
//! | `acu-pilot:ttl` | cluster | RFC 3339 UTC instant after which the janitor decommissions it |
//! | `acu-pilot:cluster`, `acu-pilot:role` | alarm | the cluster id, `high` or `low` |
//! | `acu-pilot:original-threshold` | alarm | the threshold to restore once the boost that moved it is gone |
//!
//! AWS tag values may hold letters, digits, spaces and `_ . : / = + - @`, up to 256
//! characters; every value formatted here stays inside that.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::capacity::{Acu, CapacityError, CapacityRange};

pub const PREFIX: &str = "acu-pilot:";
pub const MANAGED: &str = "acu-pilot:managed";
pub const BASELINE: &str = "acu-pilot:baseline";
pub const CEILING: &str = "acu-pilot:ceiling";
pub const FLOOR: &str = "acu-pilot:floor";
pub const TTL: &str = "acu-pilot:ttl";
/// `true`: the cluster's owner allows min 0 (auto-pause) on it, where its engine version
/// supports it, whatever `ACU_PILOT_ALLOW_AUTO_PAUSE` says; its floor is then 0.
pub const AUTO_PAUSE: &str = "acu-pilot:auto-pause";
/// The owner's spend budget in ACU-hours a day: while the writer's trailing 24 h spend is
/// over it, the pre-scaler caps max with an `acu-pilot:budget-cap` layer.
pub const BUDGET: &str = "acu-pilot:budget";
pub const ALARM_CLUSTER: &str = "acu-pilot:cluster";
pub const ALARM_ROLE: &str = "acu-pilot:role";
/// On an alarm whose absolute threshold acu-pilot moved with max: the value to restore.
pub const ALARM_ORIGINAL_THRESHOLD: &str = "acu-pilot:original-threshold";

const MAX_TAG_VALUE_LEN: usize = 256;

/// Why a tag value was refused. Always names the tag.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TagError {
    #[error("tag {tag}: {message}")]
    Malformed { tag: String, message: String },
    #[error("tag {tag}: {source}")]
    Capacity {
        tag: String,
        #[source]
        source: CapacityError,
    },
}

impl TagError {
    pub fn malformed(tag: &str, message: impl Into<String>) -> Self {
        TagError::Malformed {
            tag: tag.to_owned(),
            message: message.into(),
        }
    }

    pub fn tag(&self) -> &str {
        match self {
            TagError::Malformed { tag, .. } | TagError::Capacity { tag, .. } => tag,
        }
    }
}

/// The six kinds of layer; each is one cluster tag with one writer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    /// alarm-handler, after the high alarm: raises max, maybe min.
    Boost,
    /// alarm-handler, while the low alarm is in ALARM: lets min fall to the floor.
    Economy,
    /// pre-scaler, from the calendar or the forecast: raises min.
    Prescale,
    /// pre-scaler, from a calendar `quiet:` entry: lowers min below the baseline and caps
    /// max (a soft cap yields to a boost, a hard one does not).
    Quiet,
    /// an operator: fixes min and max.
    Pin,
    /// pre-scaler, while the trailing 24 h spend is over the cluster's `acu-pilot:budget`:
    /// a hard cap on max (and so on min) that only a pin lifts.
    Budget,
}

impl LayerKind {
    pub const ALL: [LayerKind; 6] = [
        LayerKind::Boost,
        LayerKind::Economy,
        LayerKind::Prescale,
        LayerKind::Quiet,
        LayerKind::Pin,
        LayerKind::Budget,
    ];

    pub fn tag_key(self) -> &'static str {
        match self {
            LayerKind::Boost => "acu-pilot:boost",
            LayerKind::Economy => "acu-pilot:economy",
            LayerKind::Prescale => "acu-pilot:prescale",
            LayerKind::Quiet => "acu-pilot:quiet",
            LayerKind::Pin => "acu-pilot:pin",
            LayerKind::Budget => "acu-pilot:budget-cap",
        }
    }

    pub fn from_tag_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.tag_key() == key)
    }

    pub fn name(self) -> &'static str {
        self.tag_key().trim_start_matches(PREFIX)
    }
}

impl fmt::Display for LayerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One override on top of the baseline, until its expiry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Layer {
    pub kind: LayerKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<Acu>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<Acu>,
    pub until: DateTime<Utc>,
    /// Who set it and why, e.g. `alarm:Aurora-shop-High-ACU` or `calendar:black-friday`.
    pub by: String,
    /// When the writer last changed it (the alarm-handler's cooldown clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    /// Only on a quiet layer: its max is a hard cap (a budget) that a boost does not
    /// lift. Written as `hard=true`; absent means a soft cap.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hard: bool,
}

impl Layer {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        now < self.until
    }

    /// The tag value, e.g. `min=2 max=24 until=2026-11-25T20:00:00Z by=alarm:x`, read back
    /// by [`Layer::parse`] before it is returned: a value no function could read (an
    /// `until` past year 9999, more than 256 characters) is refused before any write.
    /// Every writer of a layer tag uses this; [`Layer::to_tag_value`] is the bare format
    /// (the simulator and tests).
    pub fn tag_value(&self) -> Result<String, TagError> {
        let value = self.to_tag_value();
        readable(self.kind.tag_key(), value, |v| {
            Layer::parse(self.kind, v).map(|_| ())
        })
    }

    /// The bare format of the tag value, not checked: see [`Layer::tag_value`].
    pub fn to_tag_value(&self) -> String {
        let mut parts = Vec::with_capacity(5);
        if let Some(min) = self.min {
            parts.push(format!("min={min}"));
        }
        if let Some(max) = self.max {
            parts.push(format!("max={max}"));
        }
        parts.push(format!("until={}", format_instant(self.until)));
        parts.push(format!("by={}", sanitize_by(&self.by)));
        if let Some(at) = self.at {
            parts.push(format!("at={}", format_instant(at)));
        }
        if self.hard {
            parts.push("hard=true".to_owned());
        }
        parts.join(" ")
    }

    pub fn parse(kind: LayerKind, value: &str) -> Result<Self, TagError> {
        let tag = kind.tag_key();
        let allowed: &[&str] = match kind {
            LayerKind::Quiet => &["min", "max", "until", "by", "at", "hard"],
            // A budget caps; a min would be a second meaning nobody writes.
            LayerKind::Budget => &["max", "until", "by", "at"],
            _ => &["min", "max", "until", "by", "at"],
        };
        let mut pairs = parse_pairs(tag, value, allowed)?;
        let min = pairs
            .remove("min")
            .map(|text| parse_acu(tag, "min", &text))
            .transpose()?;
        let max = pairs
            .remove("max")
            .map(|text| parse_acu(tag, "max", &text))
            .transpose()?;
        let until = pairs
            .remove("until")
            .ok_or_else(|| TagError::malformed(tag, "missing until=<RFC 3339 UTC instant>"))
            .and_then(|text| parse_instant(tag, "until", &text))?;
        let by = pairs
            .remove("by")
            .ok_or_else(|| TagError::malformed(tag, "missing by=<who set it>"))?;
        let at = pairs
            .remove("at")
            .map(|text| parse_instant(tag, "at", &text))
            .transpose()?;
        let hard = match pairs.remove("hard").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(TagError::malformed(
                    tag,
                    format!("hard={other:?} is not true or false"),
                ));
            }
        };
        // A quiet layer may set neither: "min may fall to the floor, max as it is".
        if min.is_none() && max.is_none() && !matches!(kind, LayerKind::Economy | LayerKind::Quiet)
        {
            return Err(TagError::malformed(tag, "sets neither min nor max"));
        }
        // A cap below 1 ACU would be raised by the guardrails' clamp: the cap a quiet or
        // budget layer states must be one the cluster can keep.
        if let (LayerKind::Quiet | LayerKind::Budget, Some(max)) = (kind, max)
            && max < Acu::ONE
        {
            return Err(TagError::malformed(
                tag,
                format!("max={max} is below 1 ACU, the least max Aurora accepts"),
            ));
        }
        if let (Some(min), Some(max)) = (min, max) {
            CapacityRange::in_fields("min", "max", min, max).map_err(|source| {
                TagError::Capacity {
                    tag: tag.to_owned(),
                    source,
                }
            })?;
        }
        Ok(Layer {
            kind,
            min,
            max,
            until,
            by,
            at,
            hard,
        })
    }
}

/// `value` if `read` (the parser that will read it) accepts it and AWS can store it.
fn readable(
    tag: &str,
    value: String,
    read: impl FnOnce(&str) -> Result<(), TagError>,
) -> Result<String, TagError> {
    if value.len() > MAX_TAG_VALUE_LEN {
        return Err(TagError::malformed(
            tag,
            format!(
                "value would be {} characters; AWS allows {MAX_TAG_VALUE_LEN}; not written",
                value.len()
            ),
        ));
    }
    read(&value).map_err(|e| match e {
        TagError::Malformed { tag, message } => TagError::Malformed {
            tag,
            message: format!("{message}; not written"),
        },
        other => other,
    })?;
    Ok(value)
}

/// The `acu-pilot:original-threshold` value: a finite number, as [`parse_original_threshold`]
/// reads it back, within AWS's 256 characters.
pub fn format_original_threshold(threshold: f64) -> Result<String, TagError> {
    readable(ALARM_ORIGINAL_THRESHOLD, format!("{threshold}"), |v| {
        parse_original_threshold(v).map(|_| ())
    })
}

pub fn parse_original_threshold(value: &str) -> Result<f64, TagError> {
    let tag = ALARM_ORIGINAL_THRESHOLD;
    if value.len() > MAX_TAG_VALUE_LEN {
        return Err(TagError::malformed(
            tag,
            format!("value is {} characters; AWS allows 256", value.len()),
        ));
    }
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite())
        .ok_or_else(|| TagError::malformed(tag, format!("{value:?} is not a finite number")))
}

/// The most a budget may say: 256 ACU around the clock, the most one writer can spend.
pub const MAX_BUDGET: f64 = 256.0 * 24.0;

/// An `acu-pilot:budget` value: ACU-hours a day, positive and finite. A budget above what
/// the writer could ever spend is refused too: it would read as a cap that never acts.
pub fn parse_budget(value: &str) -> Result<f64, TagError> {
    let text = value.trim();
    match text.parse::<f64>() {
        Ok(budget) if budget.is_finite() && budget > 0.0 && budget <= MAX_BUDGET => Ok(budget),
        Ok(budget) if budget.is_finite() && budget > MAX_BUDGET => Err(TagError::malformed(
            BUDGET,
            format!(
                "{text} ACU-hours a day is more than one writer can spend ({MAX_BUDGET}: 256 ACU for 24 h)"
            ),
        )),
        _ => Err(TagError::malformed(
            BUDGET,
            format!("{value:?} is not a positive number of ACU-hours a day"),
        )),
    }
}

/// The range a managed cluster returns to when no layer is active.
pub fn format_baseline(range: CapacityRange) -> String {
    format!("min={} max={}", range.min, range.max)
}

pub fn parse_baseline(value: &str) -> Result<CapacityRange, TagError> {
    let mut pairs = parse_pairs(BASELINE, value, &["min", "max"])?;
    let mut required = |key: &str| {
        pairs
            .remove(key)
            .ok_or_else(|| TagError::malformed(BASELINE, format!("missing {key}=<ACU>")))
            .and_then(|text| parse_acu(BASELINE, key, &text))
    };
    let min = required("min")?;
    let max = required("max")?;
    CapacityRange::in_fields("min", "max", min, max).map_err(|source| TagError::Capacity {
        tag: BASELINE.to_owned(),
        source,
    })
}

pub fn format_instant(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Everything acu-pilot reads from one cluster's tags. A value that does not parse is
/// kept out of the state and listed in `problems`: never half-used.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ClusterTags {
    pub managed: bool,
    pub baseline: Option<CapacityRange>,
    pub layers: Vec<Layer>,
    pub ceiling: Option<Acu>,
    pub floor: Option<Acu>,
    pub ttl: Option<DateTime<Utc>>,
    /// The owner's opt-in to auto-pause ([`AUTO_PAUSE`]).
    pub auto_pause: bool,
    /// The owner's spend budget ([`BUDGET`]), ACU-hours a day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<f64>,
    /// A budget tag that does not parse. Kept apart from `problems`: a bad budget is
    /// reported and the cluster runs as one without a budget, rather than refused whole
    /// (an owner's typo must not stop the rest of the autopilot).
    #[serde(skip)]
    pub budget_problem: Option<TagError>,
    #[serde(skip)]
    pub problems: Vec<TagError>,
}

impl ClusterTags {
    pub fn parse<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut parsed = ClusterTags::default();
        for (key, value) in tags {
            if !key.starts_with(PREFIX) {
                continue;
            }
            let result = match key {
                MANAGED => {
                    parsed.managed = value.trim() == "true";
                    Ok(())
                }
                BASELINE => parse_baseline(value).map(|range| parsed.baseline = Some(range)),
                CEILING => parse_ceiling(value).map(|acu| parsed.ceiling = Some(acu)),
                FLOOR => parse_acu(key, "value", value).map(|acu| parsed.floor = Some(acu)),
                TTL => parse_instant(key, "value", value).map(|t| parsed.ttl = Some(t)),
                BUDGET => {
                    match parse_budget(value) {
                        Ok(budget) => parsed.budget = Some(budget),
                        Err(problem) => parsed.budget_problem = Some(problem),
                    }
                    Ok(())
                }
                AUTO_PAUSE => match value.trim() {
                    "true" => {
                        parsed.auto_pause = true;
                        Ok(())
                    }
                    "false" => Ok(()),
                    other => Err(TagError::malformed(
                        AUTO_PAUSE,
                        format!("{other:?} is not true or false"),
                    )),
                },
                _ => match LayerKind::from_tag_key(key) {
                    Some(kind) => Layer::parse(kind, value).map(|layer| parsed.layers.push(layer)),
                    // Keys of later versions, or owned by other modules (alarm thresholds):
                    // not ours to judge here.
                    None => Ok(()),
                },
            };
            if let Err(problem) = result {
                parsed.problems.push(problem);
            }
        }
        // A floor above the ceiling is a contradiction to report, not one to settle by
        // clamping: neither is used, and the cluster is refused as MalformedTag.
        if let (Some(floor), Some(ceiling)) = (parsed.floor, parsed.ceiling)
            && floor > ceiling
        {
            parsed.problems.push(TagError::malformed(
                FLOOR,
                format!("{floor} is above {CEILING}={ceiling}"),
            ));
            parsed.floor = None;
            parsed.ceiling = None;
        }
        parsed.layers.sort_by_key(|layer| layer.kind);
        parsed
    }

    pub fn layer(&self, kind: LayerKind) -> Option<&Layer> {
        self.layers.iter().find(|layer| layer.kind == kind)
    }
}

fn parse_pairs(
    tag: &str,
    value: &str,
    allowed: &[&str],
) -> Result<BTreeMap<String, String>, TagError> {
    if value.len() > MAX_TAG_VALUE_LEN {
        return Err(TagError::malformed(
            tag,
            format!("value is {} characters; AWS allows 256", value.len()),
        ));
    }
    let mut pairs = BTreeMap::new();
    for token in value.split_whitespace() {
        let (key, val) = token.split_once('=').ok_or_else(|| {
            TagError::malformed(tag, format!("{token:?} is not a key=value pair"))
        })?;
        if !allowed.contains(&key) {
            return Err(TagError::malformed(
                tag,
                format!("unknown key {key:?} (expected {})", allowed.join(", ")),
            ));
        }
        if val.is_empty() {
            return Err(TagError::malformed(tag, format!("{key} has no value")));
        }
        if pairs.insert(key.to_owned(), val.to_owned()).is_some() {
            return Err(TagError::malformed(tag, format!("{key} is given twice")));
        }
    }
    Ok(pairs)
}

/// A per-cluster ceiling: what a max may be, so at least 1 ACU (and at most 256, as any ACU).
fn parse_ceiling(text: &str) -> Result<Acu, TagError> {
    let ceiling = parse_acu(CEILING, "value", text)?;
    if ceiling < Acu::ONE {
        return Err(TagError::malformed(
            CEILING,
            format!("{ceiling} is below 1 ACU, the least max Aurora accepts"),
        ));
    }
    Ok(ceiling)
}

fn parse_acu(tag: &str, key: &str, text: &str) -> Result<Acu, TagError> {
    Acu::parse_field(key, text).map_err(|source| TagError::Capacity {
        tag: tag.to_owned(),
        source,
    })
}

fn parse_instant(tag: &str, key: &str, text: &str) -> Result<DateTime<Utc>, TagError> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            TagError::malformed(
                tag,
                format!("{key}={text:?} is not an RFC 3339 instant ({e})"),
            )
        })
}

/// A tag selector `key=value` (the calendar's `selector: {tag: …}`, the forecast's
/// `ACU_PILOT_FORECAST_SELECTOR`): both sides trimmed and non-empty, so a selector never
/// matches every untagged cluster by accident.
pub fn parse_selector(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() && !value.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("tag {text:?} is not key=value")),
    }
}

/// Keeps `by` a single token of the characters AWS allows in a tag value: what
/// [`Layer::to_tag_value`] writes and [`Layer::parse`] reads back.
pub fn sanitize_by(by: &str) -> String {
    let cleaned: String = by
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.:/=+-@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(160)
        .collect();
    if cleaned.is_empty() {
        "unknown".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn layer_round_trips_through_its_tag_value() {
        let layer = Layer {
            hard: false,
            kind: LayerKind::Boost,
            min: Some(Acu::new(2.0).unwrap()),
            max: Some(Acu::new(24.0).unwrap()),
            until: t("2026-11-25T20:00:00Z"),
            by: "alarm:Aurora-shop-High-ACU".into(),
            at: Some(t("2026-11-25T18:00:00Z")),
        };
        let value = layer.to_tag_value();
        assert_eq!(
            value,
            "min=2 max=24 until=2026-11-25T20:00:00Z by=alarm:Aurora-shop-High-ACU at=2026-11-25T18:00:00Z"
        );
        assert_eq!(Layer::parse(LayerKind::Boost, &value).unwrap(), layer);
    }

    /// Issue #13 case 8: a layer whose `until` is past year 9999 (`--now 9999-12-31T23:00Z`
    /// plus a 2 h boost) is refused before any write, naming the tag.
    #[test]
    fn a_layer_no_function_could_read_back_is_refused_before_writing() {
        let mut layer = Layer {
            hard: false,
            kind: LayerKind::Boost,
            min: None,
            max: Some(Acu::new(24.0).unwrap()),
            until: t("9999-12-31T23:00:00Z") + chrono::TimeDelta::hours(2),
            by: "alarm:x".into(),
            at: None,
        };
        let err = layer.tag_value().unwrap_err().to_string();
        assert!(
            err.starts_with("tag acu-pilot:boost: until=\"+10000-"),
            "{err}"
        );
        assert!(err.ends_with("not written"), "{err}");
        layer.until = t("9999-12-31T23:59:59Z");
        assert_eq!(
            Layer::parse(LayerKind::Boost, &layer.tag_value().unwrap()).unwrap(),
            layer
        );
    }

    /// Issue #13 case 10: contradictory or out-of-range guardrail tags are problems that
    /// name the tag (so MalformedTag), never clamped into a range.
    #[test]
    fn contradictory_guardrail_tags_are_problems_not_clamped() {
        for (tags, expected) in [
            (
                vec![(CEILING, "0")],
                "tag acu-pilot:ceiling: 0 is below 1 ACU",
            ),
            (
                vec![(CEILING, "0.5")],
                "tag acu-pilot:ceiling: 0.5 is below 1 ACU",
            ),
            (vec![(CEILING, "300")], "tag acu-pilot:ceiling: "),
            (vec![(FLOOR, "300")], "tag acu-pilot:floor: "),
            (
                vec![(FLOOR, "32"), (CEILING, "8")],
                "tag acu-pilot:floor: 32 is above acu-pilot:ceiling=8",
            ),
        ] {
            let parsed = ClusterTags::parse(tags.iter().copied());
            assert_eq!(parsed.problems.len(), 1, "{tags:?}");
            let problem = parsed.problems[0].to_string();
            assert!(problem.starts_with(expected), "{problem}");
            assert!(parsed.ceiling.is_none() || parsed.floor.is_none());
        }
        let fine = ClusterTags::parse([(FLOOR, "8"), (CEILING, "8")]);
        assert!(fine.problems.is_empty());
        assert_eq!(fine.ceiling, Some(Acu::new(8.0).unwrap()));
    }

    #[test]
    fn an_original_threshold_is_finite_and_fits_a_tag() {
        assert_eq!(format_original_threshold(12.5).unwrap(), "12.5");
        assert_eq!(parse_original_threshold(" 12 ").unwrap(), 12.0);
        let err = format_original_threshold(1e308).unwrap_err().to_string();
        assert!(err.contains("309 characters; AWS allows 256"), "{err}");
        assert!(format_original_threshold(f64::INFINITY).is_err());
        assert!(parse_original_threshold("inf").is_err());
        assert!(parse_original_threshold("NaN").is_err());
    }

    #[test]
    fn baseline_parses_and_formats() {
        let range = parse_baseline("min=0.5 max=16").unwrap();
        assert_eq!(format_baseline(range), "min=0.5 max=16");
    }

    #[test]
    fn malformed_values_name_the_tag() {
        let cases = [
            (BASELINE, "min=0.5"),
            (BASELINE, "min=8 max=4"),
            (BASELINE, "min=0.3 max=4"),
            (BASELINE, "min=1;max=4"),
            (BASELINE, "min=1 max=300"),
            ("acu-pilot:boost", "max=24 by=x"),
            ("acu-pilot:boost", "max=24 until=tomorrow by=x"),
            (
                "acu-pilot:boost",
                "max=24 until=2026-11-25T20:00:00Z by=x color=red",
            ),
            ("acu-pilot:pin", "until=2026-11-25T20:00:00Z by=x"),
            (CEILING, "lots"),
        ];
        for (key, value) in cases {
            let tags = ClusterTags::parse([(MANAGED, "true"), (key, value)]);
            assert_eq!(tags.problems.len(), 1, "{key}={value}");
            let message = tags.problems[0].to_string();
            assert!(message.contains(key), "{message}");
            assert!(tags.layers.is_empty() && tags.baseline.is_none() && tags.ceiling.is_none());
        }
    }

    #[test]
    fn cluster_tags_collect_state_and_ignore_foreign_keys() {
        let tags = ClusterTags::parse([
            (MANAGED, "true"),
            (BASELINE, "min=0.5 max=16"),
            (
                "acu-pilot:boost",
                "max=24 until=2026-11-25T20:00:00Z by=test",
            ),
            ("team", "shop"),
        ]);
        assert!(tags.managed && tags.problems.is_empty());
        assert_eq!(tags.layers.len(), 1);
        assert_eq!(
            tags.layer(LayerKind::Boost).unwrap().max,
            Some(Acu::new(24.0).unwrap())
        );
    }

    #[test]
    fn a_quiet_layer_round_trips_with_its_hardness_and_only_it_may_be_hard() {
        let layer = Layer {
            kind: LayerKind::Quiet,
            min: Some(Acu::ZERO),
            max: Some(Acu::new(2.0).unwrap()),
            until: t("2026-11-26T07:00:00Z"),
            by: "calendar:office-hours".into(),
            at: None,
            hard: true,
        };
        let value = layer.tag_value().unwrap();
        assert_eq!(
            value,
            "min=0 max=2 until=2026-11-26T07:00:00Z by=calendar:office-hours hard=true"
        );
        assert_eq!(Layer::parse(LayerKind::Quiet, &value).unwrap(), layer);
        let soft = Layer::parse(LayerKind::Quiet, "until=2026-11-26T07:00:00Z by=x").unwrap();
        assert!(!soft.hard && soft.min.is_none() && soft.max.is_none());
        for (kind, value, message) in [
            (
                LayerKind::Boost,
                "max=2 until=2026-11-26T07:00:00Z by=x hard=true",
                "unknown key \"hard\"",
            ),
            (
                LayerKind::Quiet,
                "max=2 until=2026-11-26T07:00:00Z by=x hard=yes",
                "hard=\"yes\" is not true or false",
            ),
            (
                LayerKind::Quiet,
                "max=0.5 until=2026-11-26T07:00:00Z by=x",
                "max=0.5 is below 1 ACU",
            ),
        ] {
            let err = Layer::parse(kind, value).unwrap_err().to_string();
            assert!(
                err.starts_with(kind.tag_key()) || err.contains(kind.tag_key()),
                "{err}"
            );
            assert!(err.contains(message), "{err}");
        }
    }

    /// Issue #14: a budget is a positive number of ACU-hours a day; a bad one is kept out
    /// of `problems` (which refuse the whole cluster) and reported on its own.
    #[test]
    fn a_budget_parses_and_a_bad_one_is_its_own_problem_not_the_clusters() {
        let tags = ClusterTags::parse([(MANAGED, "true"), (BUDGET, " 96 ")]);
        assert_eq!(
            (tags.budget, tags.budget_problem.is_none()),
            (Some(96.0), true)
        );
        for bad in ["lots", "-3", "0", "NaN", "inf", "7000", ""] {
            let tags = ClusterTags::parse([(MANAGED, "true"), (BUDGET, bad)]);
            assert!(tags.problems.is_empty(), "{bad}: {:?}", tags.problems);
            assert_eq!(tags.budget, None, "{bad}");
            let problem = tags.budget_problem.unwrap().to_string();
            assert!(problem.starts_with("tag acu-pilot:budget: "), "{problem}");
        }
        // The cap layer states a max of at least 1 ACU and nothing else.
        let cap = "max=4 until=2026-11-25T20:00:00Z by=budget";
        assert_eq!(
            Layer::parse(LayerKind::Budget, cap).unwrap().max,
            Some(Acu::new(4.0).unwrap())
        );
        for bad in [
            "min=1 max=4 until=2026-11-25T20:00:00Z by=budget",
            "max=0.5 until=2026-11-25T20:00:00Z by=budget",
            "until=2026-11-25T20:00:00Z by=budget",
        ] {
            let err = Layer::parse(LayerKind::Budget, bad)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("tag acu-pilot:budget-cap: "), "{err}");
        }
    }

    #[test]
    fn by_is_kept_to_allowed_characters() {
        let layer = Layer {
            hard: false,
            kind: LayerKind::Pin,
            min: Some(Acu::ONE),
            max: None,
            until: t("2026-11-25T20:00:00Z"),
            by: "ops; alice, bob".into(),
            at: None,
        };
        assert!(layer.to_tag_value().ends_with("by=ops__alice__bob"));
    }
}
