//! One calendar file, read in two passes: serde turns the YAML into raw structs whose
//! fields are the format's own (`deny_unknown_fields` refuses a misspelt key), then one
//! validation pass turns them into [`Event`]s and collects every problem, each naming its
//! entry and field. A field of the wrong shape is kept as [`Loose::Invalid`] rather than
//! failing the whole file, so the pass can name it beside every other problem.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_norway::Value;

use super::{
    Calendar, CalendarError, CalendarFile, CalendarProblem, DEFAULT_LEAD, EARLIEST_YEAR, Event,
    MAX_DURATION, MAX_EVENTS, MAX_EXCLUDE, MAX_LEAD, MinSpec, Quiet, Schedule, Targets,
    format_delta, latest, resolve_local,
};
use crate::capacity::{Acu, CapacityRange};
use crate::config::parse_duration;
use crate::zone::Zone;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    timezone: Option<Loose<Text>>,
    lead: Option<Loose<Text>>,
    /// Each entry is read on its own, so one entry's misspelt key does not hide the
    /// problems of the others.
    events: Option<Loose<Vec<Value>>>,
    exclude: Option<Loose<Vec<Loose<Text>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    name: Option<Loose<Text>>,
    start: Option<Loose<Text>>,
    end: Option<Loose<Text>>,
    duration: Option<Loose<Text>>,
    every: Option<Loose<Text>>,
    clusters: Option<Loose<Vec<Loose<Text>>>>,
    selector: Option<Loose<RawSelector>>,
    min: Option<Loose<Text>>,
    max: Option<Loose<Text>>,
    lead: Option<Loose<Text>>,
    timezone: Option<Loose<Text>>,
    /// For people only.
    #[allow(dead_code)]
    description: Option<Loose<Text>>,
    quiet: Option<Loose<RawQuiet>>,
}

const EVENT_FIELDS: &str =
    "start, end, duration, every, clusters, selector, min, max, quiet, lead, timezone, description";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelector {
    tag: Loose<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuiet {
    min: Option<Loose<Text>>,
    max: Option<Loose<Text>>,
    hard: Option<Loose<bool>>,
}

/// A field's value: `T` when it has `T`'s shape, else what was found there and serde's
/// complaint, for the validation pass to report under the field's path.
enum Loose<T> {
    Valid(T),
    Invalid { found: String, error: String },
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Loose<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(match serde_norway::from_value::<T>(value.clone()) {
            Ok(valid) => Loose::Valid(valid),
            Err(error) => Loose::Invalid {
                found: describe(&value),
                error: error.to_string(),
            },
        })
    }
}

/// A YAML scalar as text: strings as written, numbers and booleans as their text
/// (`min: 8`, `name: 2026`).
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Scalar;
        impl Visitor<'_> for Scalar {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        deserializer.deserialize_any(Scalar)
    }
}

/// The text of a scalar field, or a message naming what was found instead of `expected`.
fn text<'a>(field: &'a Loose<Text>, expected: &str) -> Result<&'a str, String> {
    match field {
        Loose::Valid(Text(text)) => Ok(text),
        Loose::Invalid { found, .. } => Err(format!("{found} is not {expected}")),
    }
}

/// The key serde named in "unknown field `colour`, expected …".
fn unknown_field(error: &str) -> Option<&str> {
    error
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "an empty value".into(),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(_) => "a tagged value".into(),
        Value::String(s) => format!("{s:?}"),
        Value::Number(n) => format!("{:?}", n.to_string()),
        Value::Bool(b) => format!("{:?}", b.to_string()),
    }
}

/// Every problem found so far.
#[derive(Default)]
struct Problems(Vec<CalendarProblem>);

impl Problems {
    fn note(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(CalendarProblem {
            path: path.into(),
            message: message.into(),
        });
    }

    /// The value, or `None` with the problem noted at `path`.
    fn check<T>(&mut self, path: impl Into<String>, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.note(path, message)).ok()
    }
}

/// What a calendar sets for the entries that do not set it themselves.
struct Defaults<'a> {
    calendar: Option<&'a str>,
    timezone: Zone,
    lead: Option<TimeDelta>,
    exclude: Arc<BTreeSet<NaiveDate>>,
}

/// Parses and validates one calendar (see [`Calendar::parse`]).
pub(super) fn calendar(name: Option<&str>, yaml: &str) -> Result<Calendar, CalendarError> {
    let root: Value = serde_norway::from_str(yaml)
        .map_err(|e| CalendarError::one("calendar", format!("is not valid YAML: {e}")))?;
    match root {
        Value::Mapping(_) => {}
        Value::Null => return Err(CalendarError::one("calendar", "is empty")),
        _ => {
            return Err(CalendarError::one(
                "calendar",
                "must be a mapping with `events:`",
            ));
        }
    }
    let raw: RawCalendar = serde_norway::from_value(root).map_err(|e| {
        let error = e.to_string();
        match unknown_field(&error) {
            Some(field) => CalendarError::one(
                field,
                "unknown field (expected timezone, lead, events, exclude)",
            ),
            None => CalendarError::one("calendar", error),
        }
    })?;

    let mut problems = Problems::default();
    let timezone = raw
        .timezone
        .as_ref()
        .and_then(|tz| problems.check("timezone", zone(tz)))
        .unwrap_or(Zone::UTC);
    let lead = raw
        .lead
        .as_ref()
        .and_then(|lead| problems.check("lead", delta(lead, MAX_LEAD)));
    let exclude = excluded_dates(raw.exclude.as_ref(), &mut problems);
    let defaults = Defaults {
        calendar: name,
        timezone,
        lead,
        exclude: Arc::new(exclude),
    };

    let mut events = Vec::new();
    match &raw.events {
        None => problems.note("events", "is missing (a list of entries)"),
        Some(Loose::Invalid { .. }) => problems.note("events", "must be a list of entries"),
        Some(Loose::Valid(entries)) => {
            if entries.len() > MAX_EVENTS {
                problems.note(
                    "events",
                    format!("has {} entries; the limit is {MAX_EVENTS}", entries.len()),
                );
            }
            let mut seen = BTreeMap::new();
            for (i, entry) in entries.iter().enumerate() {
                let Some(event) = event(i, entry, &defaults, &mut problems) else {
                    continue;
                };
                if let Some(first) = seen.insert(event.name.clone(), i) {
                    problems.note(
                        format!("events[{i}] ({}).name", event.name),
                        format!("is also the name of events[{first}]; names must be unique"),
                    );
                }
                events.push(event);
            }
        }
    }

    if !problems.0.is_empty() {
        return Err(CalendarError {
            calendar: None,
            problems: problems.0,
        });
    }
    Ok(Calendar {
        files: vec![CalendarFile {
            name: name.map(str::to_owned),
            timezone,
            entries: events.len(),
            exclude: defaults.exclude,
        }],
        fallback_lead: DEFAULT_LEAD,
        events,
    })
}

fn excluded_dates(
    raw: Option<&Loose<Vec<Loose<Text>>>>,
    problems: &mut Problems,
) -> BTreeSet<NaiveDate> {
    let mut exclude = BTreeSet::new();
    match raw {
        None => {}
        Some(Loose::Invalid { .. }) => problems.note(
            "exclude",
            "must be a list of dates, e.g. [2026-12-25, 2027-01-01]",
        ),
        Some(Loose::Valid(dates)) => {
            if dates.len() > MAX_EXCLUDE {
                problems.note(
                    "exclude",
                    format!("has {} dates; the limit is {MAX_EXCLUDE}", dates.len()),
                );
            }
            for (i, date) in dates.iter().enumerate().take(MAX_EXCLUDE) {
                let parsed = text(date, "a date such as 2026-12-25").and_then(parse_date);
                if let Some(date) = problems.check(format!("exclude[{i}]"), parsed) {
                    exclude.insert(date);
                }
            }
        }
    }
    exclude
}

/// One entry, or `None` with its problems noted: all of them, each under
/// `events[i] (name).field`.
fn event(
    index: usize,
    entry: &Value,
    defaults: &Defaults,
    problems: &mut Problems,
) -> Option<Event> {
    let base = format!("events[{index}]");
    if !matches!(entry, Value::Mapping(_)) {
        problems.note(
            base,
            "must be a mapping with name, start or every, clusters, min",
        );
        return None;
    }
    let raw: RawEvent = match serde_norway::from_value(entry.clone()) {
        Ok(raw) => raw,
        Err(e) => {
            let error = e.to_string();
            let label = match entry.get("name") {
                Some(Value::String(name)) if valid_name(name) => format!("{base} ({name})"),
                _ => base,
            };
            match unknown_field(&error) {
                Some(field) => problems.note(
                    format!("{label}.{field}"),
                    format!("unknown field (expected {EVENT_FIELDS})"),
                ),
                None => problems.note(label, error),
            }
            return None;
        }
    };
    let name = match &raw.name {
        None => {
            problems.note(format!("{base}.name"), "is missing");
            return None;
        }
        Some(Loose::Valid(Text(name))) if valid_name(name) => name.clone(),
        Some(other) => {
            let found = match other {
                Loose::Valid(Text(name)) => format!("{name:?}"),
                Loose::Invalid { found, .. } => found.clone(),
            };
            problems.note(
                format!("{base}.name"),
                format!(
                    "{found} must be letters, digits, '-', '_' or '.' (it becomes part of a tag value)"
                ),
            );
            return None;
        }
    };
    let at = |field: &str| format!("{base} ({name}).{field}");
    let before = problems.0.len();

    let timezone = match &raw.timezone {
        None => defaults.timezone,
        Some(tz) => problems
            .check(at("timezone"), zone(tz))
            .unwrap_or(defaults.timezone),
    };
    let lead = raw
        .lead
        .as_ref()
        .and_then(|lead| problems.check(at("lead"), delta(lead, MAX_LEAD)));
    let duration = raw.duration.as_ref().and_then(|d| {
        let d = delta(d, MAX_DURATION).and_then(|d| {
            if d > TimeDelta::zero() {
                Ok(d)
            } else {
                Err("must be longer than zero".into())
            }
        });
        problems.check(at("duration"), d)
    });
    let schedule = schedule(&raw, timezone, duration, &at, problems);
    let targets = targets(&raw, &at, problems);

    let (min, max, quiet) = match &raw.quiet {
        Some(quiet_field) => {
            // A quiet entry lowers and caps; a pre-scale entry raises. One entry is one or
            // the other, so the combination rule stays the desired() rule.
            for (field, set) in [("min", raw.min.is_some()), ("max", raw.max.is_some())] {
                if set {
                    problems.note(
                        at(field),
                        "a quiet entry sets its range under quiet: {min, max, hard}, not here",
                    );
                }
            }
            let quiet = quiet_range(quiet_field, &at, problems);
            (MinSpec::Fixed(Acu::ZERO), None, quiet)
        }
        None => {
            let (min, max) = prescale_range(&raw, &at, problems);
            (min.unwrap_or(MinSpec::Auto), max, None)
        }
    };

    if problems.0.len() > before {
        return None;
    }
    Some(Event {
        name,
        calendar: defaults.calendar.map(str::to_owned),
        timezone,
        schedule: schedule?,
        targets: targets?,
        min,
        max,
        lead: lead.or(defaults.lead),
        quiet,
        exclude: Arc::clone(&defaults.exclude),
    })
}

fn schedule(
    raw: &RawEvent,
    timezone: Zone,
    duration: Option<TimeDelta>,
    at: &dyn Fn(&str) -> String,
    problems: &mut Problems,
) -> Option<Schedule> {
    match (&raw.start, &raw.every) {
        (Some(_), Some(_)) => {
            problems.note(
                at("every"),
                "an entry has either start (one-off) or every (recurring), not both",
            );
            None
        }
        (None, None) => {
            problems.note(
                at("start"),
                "is missing (set start for a one-off window or every for a recurring one)",
            );
            None
        }
        (Some(start), None) => {
            let local_start = problems.check(
                at("start"),
                parse_local(start).and_then(|local| {
                    if local.year() < EARLIEST_YEAR {
                        Err(format!("{local} is before {EARLIEST_YEAR}"))
                    } else {
                        Ok(local)
                    }
                }),
            );
            let start = local_start.map(|local| resolve_local(timezone, local));
            let end = match (&raw.end, &raw.duration) {
                (Some(_), Some(_)) => {
                    problems.note(
                        at("duration"),
                        "an entry has either end or duration, not both",
                    );
                    None
                }
                (None, None) => {
                    problems.note(at("end"), "is missing (set end or duration)");
                    None
                }
                // An unreadable duration is reported already.
                (None, Some(_)) => {
                    let (start, duration) = (start?, duration?);
                    let end = start
                        .checked_add_signed(duration)
                        .filter(|end| *end <= latest());
                    problems.check(
                        at("duration"),
                        end.ok_or_else(|| {
                            format!("ends after {}, the last instant a tag can carry", latest())
                        }),
                    )
                }
                (Some(end), None) => {
                    let local_end = problems.check(at("end"), parse_local(end))?;
                    let end = resolve_local(timezone, local_end);
                    let checked = if end > latest() {
                        Err(format!(
                            "{local_end} is after {}, the last instant a tag can carry",
                            latest()
                        ))
                    } else {
                        match (start, local_start) {
                            (Some(start), Some(local_start)) if end <= start => {
                                Err(format!("{local_end} is not after start {local_start}"))
                            }
                            _ => Ok(end),
                        }
                    };
                    problems.check(at("end"), checked)
                }
            };
            Some(Schedule::Once {
                start: start?,
                end: end?,
            })
        }
        (None, Some(every)) => {
            if raw.end.is_some() {
                problems.note(
                    at("end"),
                    "a recurring entry (every) takes duration, not end",
                );
            }
            let cron = problems.check(at("every"), parse_cron(every));
            if raw.duration.is_none() {
                problems.note(at("duration"), "is missing (a recurring entry needs one)");
            }
            Some(Schedule::Every {
                cron: Box::new(cron?),
                duration: duration?,
            })
        }
    }
}

fn targets(
    raw: &RawEvent,
    at: &dyn Fn(&str) -> String,
    problems: &mut Problems,
) -> Option<Targets> {
    match (&raw.clusters, &raw.selector) {
        (Some(_), Some(_)) => {
            problems.note(
                at("selector"),
                "an entry has either clusters or selector, not both",
            );
            None
        }
        (None, None) => {
            problems.note(
                at("clusters"),
                "is missing (a list of cluster ids, or selector: {tag: \"key=value\"})",
            );
            None
        }
        (Some(clusters), None) => problems.check(at("clusters"), cluster_ids(clusters)),
        (None, Some(selector)) => problems.check(at("selector"), tag_selector(selector)),
    }
}

/// A pre-scale entry's `min` (ACUs or `auto`) and optional `max`.
fn prescale_range(
    raw: &RawEvent,
    at: &dyn Fn(&str) -> String,
    problems: &mut Problems,
) -> (Option<MinSpec>, Option<Acu>) {
    let min = match &raw.min {
        None => {
            problems.note(
                at("min"),
                "is missing (ACUs, or auto; or quiet: {min, max} for a quiet window)",
            );
            None
        }
        Some(min) => problems.check(
            at("min"),
            text(min, "ACUs or auto").and_then(|text| {
                if text.trim() == "auto" {
                    Ok(MinSpec::Auto)
                } else {
                    Acu::parse_field("min", text)
                        .map(MinSpec::Fixed)
                        .map_err(|e| format!("{} {}", e.value, e.problem))
                }
            }),
        ),
    };
    let max = raw.max.as_ref().and_then(|max| {
        let max = problems.check(
            at("max"),
            text(max, "ACUs").and_then(|text| {
                Acu::parse_field("max", text).map_err(|e| format!("{text} {}", e.problem))
            }),
        )?;
        let floor = match min? {
            MinSpec::Fixed(min) => min,
            MinSpec::Auto => Acu::ZERO,
        };
        match CapacityRange::in_fields("min", "max", floor, max) {
            Ok(_) => Some(max),
            Err(e) => {
                problems.note(at(&e.field), format!("{} {}", e.value, e.problem));
                None
            }
        }
    });
    (min, max)
}

/// `quiet: {min: 0|<acu>, max: <acu>, hard: true|false}`, every key optional; problems
/// name `quiet.<key>`.
fn quiet_range(
    field: &Loose<RawQuiet>,
    at: &dyn Fn(&str) -> String,
    problems: &mut Problems,
) -> Option<Quiet> {
    let raw = match field {
        Loose::Valid(raw) => raw,
        Loose::Invalid { found, error } => {
            match unknown_field(error) {
                Some(key) if found == "a mapping" => problems.note(
                    at(&format!("quiet.{key}")),
                    "unknown field (expected min, max, hard)",
                ),
                _ => problems.note(
                    at("quiet"),
                    format!("{found} is not a mapping such as {{min: 0, max: 2, hard: false}}"),
                ),
            }
            return None;
        }
    };
    let before = problems.0.len();
    let mut acu = |key: &str, value: &Option<Loose<Text>>| {
        let value = value.as_ref()?;
        problems.check(
            at(&format!("quiet.{key}")),
            text(value, "ACUs").and_then(|text| {
                Acu::parse_field(key, text).map_err(|e| format!("{} {}", e.value, e.problem))
            }),
        )
    };
    let min = acu("min", &raw.min);
    let max = acu("max", &raw.max);
    if let Some(max) = max {
        // The cap must be a max Aurora accepts, or the guardrails would lift it.
        if max < Acu::ONE {
            problems.note(
                at("quiet.max"),
                format!("{max} is below 1 ACU, the least max Aurora accepts"),
            );
        } else if let Some(min) = min
            && min > max
        {
            problems.note(at("quiet.max"), format!("{max} is below quiet.min {min}"));
        }
    }
    let hard = match &raw.hard {
        None => false,
        Some(Loose::Valid(hard)) => *hard,
        Some(Loose::Invalid { found, .. }) => {
            problems.note(at("quiet.hard"), format!("{found} is not true or false"));
            false
        }
    };
    if hard && raw.max.is_none() {
        problems.note(
            at("quiet.hard"),
            "is a hard cap on max, and quiet.max is not set",
        );
    }
    (problems.0.len() == before).then_some(Quiet { min, max, hard })
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn zone(field: &Loose<Text>) -> Result<Zone, String> {
    let text = text(
        field,
        "a time zone (expected an IANA name such as America/New_York)",
    )?;
    text.trim().parse::<Zone>().map_err(|_| {
        format!("unknown time zone {text:?} (expected an IANA name such as America/New_York)")
    })
}

/// A duration no longer than `max` (durations and leads meet dates: an unbounded one
/// would overflow them, or end a window in a year no tag can carry).
fn delta(field: &Loose<Text>, max: TimeDelta) -> Result<TimeDelta, String> {
    let text = text(field, "a duration (e.g. 30m, 1h)")?;
    // A bare 0 means no lead; any other bare number is ambiguous about its unit.
    let delta = if text.trim() == "0" {
        TimeDelta::zero()
    } else {
        let std = parse_duration(text)?;
        TimeDelta::from_std(std).map_err(|_| format!("{text:?} is too long"))?
    };
    if delta > max {
        return Err(format!(
            "{} is longer than the limit of {}",
            text.trim(),
            format_delta(max)
        ));
    }
    Ok(delta)
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is not a date such as 2026-12-25"))
}

/// A local wall-clock time: `2026-11-27T00:00`, with optional seconds, `T` or a space.
fn parse_local(field: &Loose<Text>) -> Result<NaiveDateTime, String> {
    let text = text(field, "a local time such as 2026-11-27T09:00")?;
    let trimmed = text.trim();
    for format in [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(trimmed, format) {
            return Ok(t);
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(trimmed, "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN));
    }
    if DateTime::parse_from_rfc3339(trimmed).is_ok() {
        return Err(format!(
            "{text:?} carries a UTC offset; write the local time (e.g. 2026-11-27T09:00) and set the zone with timezone:"
        ));
    }
    Err(format!(
        "{text:?} is not a local time such as 2026-11-27T09:00"
    ))
}

fn parse_cron(field: &Loose<Text>) -> Result<Cron, String> {
    let text = text(field, "a cron expression")?;
    let fields = text.split_whitespace().count();
    if fields != 5 {
        return Err(format!(
            "{text:?} has {fields} fields; expected 5 (minute hour day-of-month month day-of-week)"
        ));
    }
    let cron = CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(text)
        .map_err(|e| format!("{text:?} is not a valid cron expression: {e}"))?;
    // A pattern that can never fire (31 February) is a mistake, not an empty schedule.
    let probe = NaiveDate::from_ymd_opt(2000, 1, 1)
        .unwrap_or_default()
        .and_time(chrono::NaiveTime::MIN);
    cron.find_next_occurrence(&probe, true)
        .map_err(|_| format!("{text:?} never fires"))?;
    Ok(cron)
}

fn cluster_ids(field: &Loose<Vec<Loose<Text>>>) -> Result<Targets, String> {
    let items = match field {
        Loose::Valid(items) => items,
        Loose::Invalid { found, .. } => {
            return Err(format!(
                "{found} is not a list of cluster ids, e.g. [shop-db]"
            ));
        }
    };
    if items.is_empty() {
        return Err("is empty; list at least one cluster id".into());
    }
    let mut ids = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Loose::Valid(Text(id)) if !id.trim().is_empty() => ids.push(id.trim().to_owned()),
            Loose::Valid(Text(id)) => return Err(format!("{id:?} is not a cluster id")),
            Loose::Invalid { found, .. } => return Err(format!("{found} is not a cluster id")),
        }
    }
    Ok(Targets::Clusters(ids))
}

fn tag_selector(field: &Loose<RawSelector>) -> Result<Targets, String> {
    let expected = "expected {tag: \"key=value\"}";
    let tag = match field {
        Loose::Valid(RawSelector { tag }) => tag,
        Loose::Invalid { found, .. } if found == "a mapping" => {
            return Err(format!("has unknown keys or no tag; {expected}"));
        }
        Loose::Invalid { found, .. } => {
            return Err(format!("{found} is not a selector; {expected}"));
        }
    };
    let text = text(tag, "key=value")?;
    let (key, value) = crate::tags::parse_selector(text).map_err(|m| format!("{m}; {expected}"))?;
    Ok(Targets::Tag { key, value })
}
