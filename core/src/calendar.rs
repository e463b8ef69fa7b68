//! The sales-event calendar: one-off and recurring windows in which the pre-scaler raises
//! a cluster's min ahead of a known spike.
//!
//! ```yaml
//! timezone: America/New_York          # default zone for entries (IANA)
//! lead: 30m                           # default lead time
//! events:
//!   - name: black-friday
//!     start: 2026-11-27T00:00         # local time in the zone
//!     end: 2026-11-28T06:00           # or `duration: 30h`
//!     clusters: [shop-db]             # or `selector: {tag: "team=shop"}`
//!     min: 8                          # ACUs, or `auto` (from the forecast)
//!     max: 64                         # optional
//!     lead: 1h                        # optional
//!   - name: friday-evening
//!     every: "0 18 * * FRI"           # 5-field cron, in the zone
//!     duration: 3h
//!     clusters: [shop-db]
//!     min: 4
//! exclude: [2026-12-25, 2027-01-01]   # local dates on which recurring entries do not fire
//! ```
//!
//! Times are wall-clock times in an IANA zone, resolved to instants with one DST rule for
//! starts and ends alike: a local time that does not exist (02:30 on a spring-forward day)
//! moves to the first valid instant after it; one that happens twice (01:30 on a fall-back
//! day) means the first. A `duration` is elapsed time from the resolved start, so a 3h
//! window is 3h long even across a DST change.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use crate::zone::Zone;
use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc,
};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::{Serialize, Serializer};
use serde_norway::Value;

use crate::capacity::{Acu, CapacityRange};
use crate::config::{format_duration, parse_duration};

/// The lead used when neither the entry nor the calendar sets one (the documented default, docs/calendar.md).
pub const DEFAULT_LEAD: TimeDelta = TimeDelta::minutes(30);

/// The most cron occurrences one look-up visits. A look-up skips an excluded date in one
/// step and crosses at most one DST shift, so it needs at most a few hundred (a cron that
/// fires every minute, across a 3 h shift) plus one per excluded date ([`MAX_EXCLUDE`]).
pub const MAX_VISITS: usize = 2 * MAX_EXCLUDE + 1_000;

/// How many windows of one entry [`Calendar::windows`] returns at most: a range query is
/// for showing the next ones, and its memory must not grow with a cron that fires often.
pub const MAX_WINDOWS_PER_ENTRY: usize = 1_000;

/// More than any change of a zone's UTC offset in the bundled tz database since 1970 (2 h).
const OFFSET_SLACK: TimeDelta = TimeDelta::hours(3);

/// The longest `duration` (docs/calendar.md, "Limits").
pub const MAX_DURATION: TimeDelta = TimeDelta::days(366);
/// The longest `lead`.
pub const MAX_LEAD: TimeDelta = TimeDelta::days(7);
/// The most entries in one calendar.
pub const MAX_EVENTS: usize = 1_000;
/// The most excluded dates.
pub const MAX_EXCLUDE: usize = 1_000;
/// The earliest local time an entry may start (and a cron is searched from).
pub const EARLIEST_YEAR: i32 = 1970;

/// The last instant a window may end at: an `until` a tag can carry and every function
/// can read back (RFC 3339 has four-digit years).
pub fn latest() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// How far ahead `calendar check` looks for the next windows.
const CHECK_HORIZON: TimeDelta = TimeDelta::days(3 * 366);

/// One thing wrong with a calendar, at `path` (`events[1] (friday-evening).every`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarProblem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for CalendarProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a calendar was refused: every problem found, each naming its entry and field. A
/// calendar with any problem is refused whole, never half-used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CalendarError {
    pub problems: Vec<CalendarProblem>,
}

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid calendar: ")?;
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl CalendarError {
    fn one(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            problems: vec![CalendarProblem {
                path: path.into(),
                message: message.into(),
            }],
        }
    }
}

/// A window's min: a fixed ACU value, or `auto` (warm fraction of the forecast peak).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MinSpec {
    Fixed(Acu),
    Auto,
}

impl fmt::Display for MinSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MinSpec::Fixed(acu) => write!(f, "{acu}"),
            MinSpec::Auto => f.write_str("auto"),
        }
    }
}

impl Serialize for MinSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            MinSpec::Fixed(acu) => acu.serialize(serializer),
            MinSpec::Auto => serializer.serialize_str("auto"),
        }
    }
}

/// A quiet entry's range: during its window min may fall to `min` (the floor when
/// absent; 0 only where auto-pause is allowed, else the floor) and max is capped at `max`.
/// A `hard` cap is a budget a boost does not lift; a soft one yields to a boost.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Quiet {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<Acu>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<Acu>,
    pub hard: bool,
}

/// Which clusters an entry applies to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Targets {
    /// Cluster identifiers.
    Clusters(Vec<String>),
    /// Clusters carrying the tag `key=value`.
    Tag { key: String, value: String },
}

impl Targets {
    pub fn matches(&self, cluster_id: &str, tags: &BTreeMap<String, String>) -> bool {
        match self {
            Targets::Clusters(ids) => ids.iter().any(|id| id == cluster_id),
            Targets::Tag { key, value } => tags.get(key) == Some(value),
        }
    }

    /// The headings `calendar check` groups windows under.
    fn labels(&self) -> Vec<String> {
        match self {
            Targets::Clusters(ids) => ids.clone(),
            Targets::Tag { key, value } => vec![format!("tag {key}={value}")],
        }
    }
}

/// Where a window came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Calendar,
    Forecast,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Calendar => "calendar",
            Source::Forecast => "forecast",
        })
    }
}

/// One occurrence of a calendar entry, resolved to UTC instants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Window {
    pub name: String,
    pub source: Source,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    #[serde(serialize_with = "serialize_delta")]
    pub lead: TimeDelta,
    pub min: MinSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<Acu>,
    pub targets: Targets,
    #[serde(serialize_with = "serialize_tz")]
    pub timezone: Zone,
    /// A quiet window (lowers and caps) rather than a pre-scale one; its `min` is then
    /// meaningless and the pre-scale plan ignores it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet: Option<Quiet>,
}

impl Window {
    /// When the pre-scaler starts raising min: `lead` before the start.
    pub fn lead_start(&self) -> DateTime<Utc> {
        self.start
            .checked_sub_signed(self.lead)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// `start - lead <= now < end`.
    pub fn active(&self, now: DateTime<Utc>) -> bool {
        self.lead_start() <= now && now < self.end
    }
}

fn serialize_delta<S: Serializer>(delta: &TimeDelta, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_delta(*delta))
}

fn serialize_tz<S: Serializer>(tz: &Zone, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

fn format_delta(delta: TimeDelta) -> String {
    format_duration(delta.to_std().unwrap_or_default())
}

#[derive(Clone, Debug)]
enum Schedule {
    Once {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    Every {
        cron: Box<Cron>,
        duration: TimeDelta,
    },
}

/// One validated calendar entry.
#[derive(Clone, Debug)]
pub struct Event {
    pub name: String,
    pub timezone: Zone,
    schedule: Schedule,
    pub targets: Targets,
    pub min: MinSpec,
    pub max: Option<Acu>,
    lead: Option<TimeDelta>,
    pub quiet: Option<Quiet>,
}

/// A validated calendar.
#[derive(Clone, Debug)]
pub struct Calendar {
    pub timezone: Zone,
    lead: Option<TimeDelta>,
    fallback_lead: TimeDelta,
    pub events: Vec<Event>,
    /// Local dates (in each entry's zone) on which recurring entries do not fire.
    pub exclude: BTreeSet<NaiveDate>,
}

impl FromStr for Calendar {
    type Err = CalendarError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Calendar::parse(s)
    }
}

impl Calendar {
    /// Parses and validates a calendar. Every problem is reported, each naming its entry and
    /// field; a calendar with any problem is refused.
    pub fn parse(yaml: &str) -> Result<Calendar, CalendarError> {
        let root: Value = serde_norway::from_str(yaml)
            .map_err(|e| CalendarError::one("calendar", format!("is not valid YAML: {e}")))?;
        let root = match root {
            Value::Mapping(map) => map,
            Value::Null => {
                return Err(CalendarError::one("calendar", "is empty"));
            }
            _ => {
                return Err(CalendarError::one(
                    "calendar",
                    "must be a mapping with `events:`",
                ));
            }
        };
        let mut problems = Vec::new();
        let mut note = |path: &str, message: String| {
            problems.push(CalendarProblem {
                path: path.to_owned(),
                message,
            })
        };

        for key in root.keys() {
            let key = key_text(key);
            if !["timezone", "lead", "events", "exclude"].contains(&key.as_str()) {
                note(
                    &key,
                    "unknown field (expected timezone, lead, events, exclude)".into(),
                );
            }
        }

        let timezone = match root.get("timezone") {
            None => Zone::UTC,
            Some(value) => parse_tz(value).unwrap_or_else(|m| {
                note("timezone", m);
                Zone::UTC
            }),
        };
        let lead = match root.get("lead") {
            None => None,
            Some(value) => parse_delta(value, MAX_LEAD)
                .map_err(|m| note("lead", m))
                .ok(),
        };

        let mut exclude = BTreeSet::new();
        match root.get("exclude") {
            None | Some(Value::Null) => {}
            Some(Value::Sequence(dates)) => {
                if dates.len() > MAX_EXCLUDE {
                    note(
                        "exclude",
                        format!("has {} dates; the limit is {MAX_EXCLUDE}", dates.len()),
                    );
                }
                for (i, date) in dates.iter().enumerate().take(MAX_EXCLUDE) {
                    match scalar_text(date).as_deref().map(parse_date) {
                        Some(Ok(date)) => {
                            exclude.insert(date);
                        }
                        Some(Err(m)) => note(&format!("exclude[{i}]"), m),
                        None => note(
                            &format!("exclude[{i}]"),
                            "must be a date such as 2026-12-25".into(),
                        ),
                    }
                }
            }
            Some(_) => note(
                "exclude",
                "must be a list of dates, e.g. [2026-12-25, 2027-01-01]".into(),
            ),
        }

        let mut events = Vec::new();
        match root.get("events") {
            None => note("events", "is missing (a list of entries)".into()),
            Some(Value::Sequence(entries)) => {
                if entries.len() > MAX_EVENTS {
                    note(
                        "events",
                        format!("has {} entries; the limit is {MAX_EVENTS}", entries.len()),
                    );
                }
                let mut seen = BTreeMap::new();
                for (i, entry) in entries.iter().enumerate() {
                    match parse_event(i, entry, timezone) {
                        Ok(event) => {
                            if let Some(first) = seen.insert(event.name.clone(), i) {
                                note(
                                    &format!("events[{i}] ({}).name", event.name),
                                    format!(
                                        "is also the name of events[{first}]; names must be unique"
                                    ),
                                );
                            }
                            events.push(event);
                        }
                        Err(problem) => note(&problem.path, problem.message),
                    }
                }
            }
            Some(_) => note("events", "must be a list of entries".into()),
        }

        if !problems.is_empty() {
            return Err(CalendarError { problems });
        }
        Ok(Calendar {
            timezone,
            lead,
            fallback_lead: DEFAULT_LEAD,
            events,
            exclude,
        })
    }

    /// The lead for entries that set none when the calendar sets none either (the
    /// configured `ACU_PILOT_LEAD`).
    pub fn with_default_lead(mut self, lead: TimeDelta) -> Self {
        self.fallback_lead = lead;
        self
    }

    fn lead_of(&self, event: &Event) -> TimeDelta {
        event.lead.or(self.lead).unwrap_or(self.fallback_lead)
    }

    /// Every window whose span including its lead, `[start - lead, end)`, overlaps
    /// `[from, to]`, ordered by start: at most [`MAX_WINDOWS_PER_ENTRY`] per entry.
    pub fn windows(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Window> {
        let mut windows: Vec<Window> = self
            .events
            .iter()
            .flat_map(|event| self.event_windows(event, from, to, MAX_WINDOWS_PER_ENTRY))
            .collect();
        windows.sort_by(|a, b| (a.start, &a.name).cmp(&(b.start, &b.name)));
        windows
    }

    /// The windows active at `now` (lead included), at most one per entry: the occurrences
    /// of a recurring entry that are active together are one window, from the first one's
    /// start to the last one's end. Memory and time do not grow with the number of
    /// occurrences: two cron look-ups per entry (see [`Calendar::first_start_after`]).
    pub fn active(&self, now: DateTime<Utc>) -> Vec<Window> {
        let mut windows: Vec<Window> = self
            .events
            .iter()
            .filter_map(|event| self.active_window(event, now))
            .collect();
        windows.sort_by(|a, b| (a.start, &a.name).cmp(&(b.start, &b.name)));
        windows
    }

    /// The windows active at `now` (lead included) that target this cluster.
    pub fn active_for(
        &self,
        cluster_id: &str,
        tags: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Vec<Window> {
        self.active(now)
            .into_iter()
            .filter(|w| w.targets.matches(cluster_id, tags))
            .collect()
    }

    fn window(&self, event: &Event, start: DateTime<Utc>, end: DateTime<Utc>) -> Window {
        Window {
            name: event.name.clone(),
            source: Source::Calendar,
            start,
            end,
            lead: self.lead_of(event),
            min: event.min,
            max: event.max,
            targets: event.targets.clone(),
            timezone: event.timezone,
            quiet: event.quiet,
        }
    }

    fn active_window(&self, event: &Event, now: DateTime<Utc>) -> Option<Window> {
        let lead = self.lead_of(event);
        match &event.schedule {
            Schedule::Once { start, end } => {
                let window = self.window(event, *start, *end);
                window.active(now).then_some(window)
            }
            Schedule::Every { cron, duration } => {
                // Active occurrences start in (now - duration, now + lead].
                let first =
                    self.first_start_after(event, cron, now.checked_sub_signed(*duration)?)?;
                if first.checked_sub_signed(lead)? > now {
                    return None;
                }
                let last = self
                    .last_start_at_or_before(event, cron, now.checked_add_signed(lead)?)
                    .unwrap_or(first)
                    .max(first);
                let end = last
                    .checked_add_signed(*duration)
                    .filter(|end| *end <= latest())?;
                let window = self.window(event, first, end);
                window.active(now).then_some(window)
            }
        }
    }

    fn event_windows(
        &self,
        event: &Event,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Vec<Window> {
        let lead = self.lead_of(event);
        let overlaps = |start: DateTime<Utc>, end: DateTime<Utc>| {
            start.checked_sub_signed(lead).is_some_and(|s| s <= to) && end > from
        };
        match &event.schedule {
            Schedule::Once { start, end } => {
                if overlaps(*start, *end) && limit > 0 {
                    vec![self.window(event, *start, *end)]
                } else {
                    vec![]
                }
            }
            Schedule::Every { cron, duration } => {
                let mut out = Vec::new();
                let Some(mut after) = from.checked_sub_signed(*duration) else {
                    return out;
                };
                while out.len() < limit {
                    let Some(start) = self.first_start_after(event, cron, after) else {
                        break;
                    };
                    let Some(end) = start
                        .checked_add_signed(*duration)
                        .filter(|e| *e <= latest())
                    else {
                        break;
                    };
                    if !overlaps(start, end) {
                        break;
                    }
                    out.push(self.window(event, start, end));
                    after = start;
                }
                out
            }
        }
    }

    /// The first occurrence of a recurring entry, not on an excluded date, that starts
    /// strictly after `after`. Visits at most [`MAX_VISITS`] cron occurrences; an excluded
    /// date is skipped whole, in one step.
    fn first_start_after(
        &self,
        event: &Event,
        cron: &Cron,
        after: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let mut visits = 0;
        let found = self.first_start_after_counted(event, cron, after, &mut visits);
        work::look_up(visits);
        found
    }

    fn first_start_after_counted(
        &self,
        event: &Event,
        cron: &Cron,
        after: DateTime<Utc>,
        visits: &mut usize,
    ) -> Option<DateTime<Utc>> {
        // Local times are searched from `after`'s own wall-clock time: the earlier-instant
        // rule makes `resolve_local` non-decreasing, so no earlier local time can resolve
        // to an instant after `after`.
        let mut probe = after.with_timezone(&event.timezone).naive_local();
        let mut inclusive = true;
        for _ in 0..MAX_VISITS {
            *visits += 1;
            let local = cron.find_next_occurrence(&probe, inclusive).ok()?;
            if self.exclude.contains(&local.date()) {
                probe = local.date().succ_opt()?.and_time(chrono::NaiveTime::MIN);
                inclusive = true;
                continue;
            }
            let start = resolve_local(event.timezone, local);
            if start > latest() {
                return None;
            }
            if start > after {
                return Some(start);
            }
            probe = local;
            inclusive = false;
        }
        None
    }

    /// The last occurrence of a recurring entry, not on an excluded date, that starts at
    /// or before `at`. Visits at most [`MAX_VISITS`] cron occurrences.
    fn last_start_at_or_before(
        &self,
        event: &Event,
        cron: &Cron,
        at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let mut visits = 0;
        let found = self.last_start_at_or_before_counted(event, cron, at, &mut visits);
        work::look_up(visits);
        found
    }

    fn last_start_at_or_before_counted(
        &self,
        event: &Event,
        cron: &Cron,
        at: DateTime<Utc>,
        visits: &mut usize,
    ) -> Option<DateTime<Utc>> {
        // After a fall-back, a wall-clock time up to the size of the shift past `at`'s own
        // may still resolve (to its first instant) at or before `at`.
        let mut probe = at
            .checked_add_signed(OFFSET_SLACK)
            .unwrap_or(at)
            .with_timezone(&event.timezone)
            .naive_local();
        let mut inclusive = true;
        for _ in 0..MAX_VISITS {
            *visits += 1;
            let local = cron.find_previous_occurrence(&probe, inclusive).ok()?;
            if self.exclude.contains(&local.date()) {
                probe = local.date().and_time(chrono::NaiveTime::MIN);
                inclusive = false;
                continue;
            }
            let start = resolve_local(event.timezone, local);
            if start <= at {
                return Some(start);
            }
            probe = local;
            inclusive = false;
        }
        None
    }
}

/// The work cron look-ups do, made observable to tests: the bound on memory and time is
/// a count of occurrences visited, which a test can assert where wall time would be flaky.
/// Counted per thread (each test runs on its own); nothing is counted outside tests.
pub(crate) mod work {
    #[cfg(test)]
    use std::cell::Cell;

    /// Look-ups made, and the most occurrences one of them visited.
    #[cfg(test)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Tally {
        pub look_ups: usize,
        pub most_visits: usize,
    }

    #[cfg(test)]
    thread_local! {
        static TALLY: Cell<Tally> = const {
            Cell::new(Tally {
                look_ups: 0,
                most_visits: 0,
            })
        };
    }

    #[cfg(test)]
    pub fn look_up(visits: usize) {
        TALLY.with(|t| {
            let mut tally = t.get();
            tally.look_ups += 1;
            tally.most_visits = tally.most_visits.max(visits);
            t.set(tally);
        });
    }

    #[cfg(not(test))]
    #[inline(always)]
    pub fn look_up(_visits: usize) {}

    /// The tally since the last call, which starts a new one.
    #[cfg(test)]
    pub fn take() -> Tally {
        TALLY.with(|t| t.replace(Tally::default()))
    }
}

/// A local wall-clock time in `tz` as an instant: a time skipped by a spring-forward
/// moves to the first valid instant after it; a time repeated by a fall-back is the first
/// (earlier) of the two.
pub fn resolve_local(tz: Zone, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => {
            // Gaps end on a whole minute in every zone since the 1970s, so the first valid
            // minute after the skipped time is the instant the clocks jumped.
            let mut probe = local
                .with_second(0)
                .and_then(|t| t.with_nanosecond(0))
                .unwrap_or(local);
            for _ in 0..(2 * 24 * 60) {
                let Some(next) = probe.checked_add_signed(TimeDelta::minutes(1)) else {
                    break;
                };
                probe = next;
                if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                    return t.with_timezone(&Utc);
                }
            }
            // No zone has a gap of two days; reading it as UTC beats panicking.
            local.and_utc()
        }
    }
}

fn parse_event(index: usize, entry: &Value, default_tz: Zone) -> Result<Event, CalendarProblem> {
    let base = format!("events[{index}]");
    let Value::Mapping(map) = entry else {
        return Err(CalendarProblem {
            path: base,
            message: "must be a mapping with name, start or every, clusters, min".into(),
        });
    };
    let name = match map.get("name") {
        None => {
            return Err(CalendarProblem {
                path: format!("{base}.name"),
                message: "is missing".into(),
            });
        }
        Some(value) => match scalar_text(value) {
            Some(name) if valid_name(&name) => name,
            _ => {
                return Err(CalendarProblem {
                    path: format!("{base}.name"),
                    message: format!(
                        "{} must be letters, digits, '-', '_' or '.' (it becomes part of a tag value)",
                        describe(value)
                    ),
                });
            }
        },
    };
    let at = |field: &str| format!("{base} ({name}).{field}");
    let fail = |field: &str, message: String| CalendarProblem {
        path: at(field),
        message,
    };

    const FIELDS: [&str; 13] = [
        "name",
        "start",
        "end",
        "duration",
        "every",
        "clusters",
        "selector",
        "min",
        "max",
        "lead",
        "timezone",
        "description",
        "quiet",
    ];
    for key in map.keys() {
        let key = key_text(key);
        if !FIELDS.contains(&key.as_str()) {
            return Err(fail(
                &key,
                "unknown field (expected start, end, duration, every, clusters, selector, min, max, quiet, lead, timezone)".into(),
            ));
        }
    }

    let timezone = match map.get("timezone") {
        None => default_tz,
        Some(value) => parse_tz(value).map_err(|m| fail("timezone", m))?,
    };
    let lead = map
        .get("lead")
        .map(|value| parse_delta(value, MAX_LEAD).map_err(|m| fail("lead", m)))
        .transpose()?;
    let duration = map
        .get("duration")
        .map(|value| {
            let d = parse_delta(value, MAX_DURATION).map_err(|m| fail("duration", m))?;
            if d <= TimeDelta::zero() {
                return Err(fail("duration", "must be longer than zero".into()));
            }
            Ok(d)
        })
        .transpose()?;

    let schedule = match (map.get("start"), map.get("every")) {
        (Some(_), Some(_)) => {
            return Err(fail(
                "every",
                "an entry has either start (one-off) or every (recurring), not both".into(),
            ));
        }
        (None, None) => {
            return Err(fail(
                "start",
                "is missing (set start for a one-off window or every for a recurring one)".into(),
            ));
        }
        (Some(start_value), None) => {
            let local_start = parse_local(start_value).map_err(|m| fail("start", m))?;
            if local_start.year() < EARLIEST_YEAR {
                return Err(fail(
                    "start",
                    format!("{local_start} is before {EARLIEST_YEAR}"),
                ));
            }
            let start = resolve_local(timezone, local_start);
            let end = match (map.get("end"), duration) {
                (Some(_), Some(_)) => {
                    return Err(fail(
                        "duration",
                        "an entry has either end or duration, not both".into(),
                    ));
                }
                (None, None) => {
                    return Err(fail("end", "is missing (set end or duration)".into()));
                }
                (None, Some(duration)) => start
                    .checked_add_signed(duration)
                    .filter(|end| *end <= latest())
                    .ok_or_else(|| {
                        fail(
                            "duration",
                            format!("ends after {}, the last instant a tag can carry", latest()),
                        )
                    })?,
                (Some(end_value), None) => {
                    let local_end = parse_local(end_value).map_err(|m| fail("end", m))?;
                    let end = resolve_local(timezone, local_end);
                    if end > latest() {
                        return Err(fail(
                            "end",
                            format!(
                                "{local_end} is after {}, the last instant a tag can carry",
                                latest()
                            ),
                        ));
                    }
                    if end <= start {
                        return Err(fail(
                            "end",
                            format!("{local_end} is not after start {local_start}"),
                        ));
                    }
                    end
                }
            };
            Schedule::Once { start, end }
        }
        (None, Some(every_value)) => {
            if map.contains_key("end") {
                return Err(fail(
                    "end",
                    "a recurring entry (every) takes duration, not end".into(),
                ));
            }
            let cron = parse_cron(every_value).map_err(|m| fail("every", m))?;
            let duration = duration.ok_or_else(|| {
                fail(
                    "duration",
                    "is missing (a recurring entry needs one)".into(),
                )
            })?;
            Schedule::Every {
                cron: Box::new(cron),
                duration,
            }
        }
    };

    let targets = match (map.get("clusters"), map.get("selector")) {
        (Some(_), Some(_)) => {
            return Err(fail(
                "selector",
                "an entry has either clusters or selector, not both".into(),
            ));
        }
        (None, None) => {
            return Err(fail(
                "clusters",
                "is missing (a list of cluster ids, or selector: {tag: \"key=value\"})".into(),
            ));
        }
        (Some(value), None) => parse_clusters(value).map_err(|m| fail("clusters", m))?,
        (None, Some(value)) => parse_selector(value).map_err(|m| fail("selector", m))?,
    };

    if let Some(value) = map.get("quiet") {
        // A quiet entry lowers and caps; a pre-scale entry raises. One entry is one or
        // the other, so the combination rule stays the desired() rule.
        for field in ["min", "max"] {
            if map.contains_key(field) {
                return Err(fail(
                    field,
                    "a quiet entry sets its range under quiet: {min, max, hard}, not here".into(),
                ));
            }
        }
        let quiet = parse_quiet(value, &fail)?;
        return Ok(Event {
            name,
            timezone,
            schedule,
            targets,
            min: MinSpec::Fixed(Acu::ZERO),
            max: None,
            lead,
            quiet: Some(quiet),
        });
    }

    let min = match map.get("min") {
        None => {
            return Err(fail(
                "min",
                "is missing (ACUs, or auto; or quiet: {min, max} for a quiet window)".into(),
            ));
        }
        Some(value) => match scalar_text(value) {
            Some(text) if text.trim() == "auto" => MinSpec::Auto,
            Some(text) => MinSpec::Fixed(
                Acu::parse_field("min", &text)
                    .map_err(|e| fail("min", format!("{} {}", e.value, e.problem)))?,
            ),
            None => {
                return Err(fail(
                    "min",
                    format!("{} is not ACUs or auto", describe(value)),
                ));
            }
        },
    };
    let max = match map.get("max") {
        None => None,
        Some(value) => {
            let text = scalar_text(value)
                .ok_or_else(|| fail("max", format!("{} is not ACUs", describe(value))))?;
            let max = Acu::parse_field("max", &text)
                .map_err(|e| fail("max", format!("{text} {}", e.problem)))?;
            let floor = match min {
                MinSpec::Fixed(min) => min,
                MinSpec::Auto => Acu::ZERO,
            };
            CapacityRange::in_fields("min", "max", floor, max)
                .map_err(|e| fail(&e.field, format!("{} {}", e.value, e.problem)))?;
            Some(max)
        }
    };

    Ok(Event {
        name,
        timezone,
        schedule,
        targets,
        min,
        max,
        lead,
        quiet: None,
    })
}

/// `quiet: {min: 0|<acu>, max: <acu>, hard: true|false}`, every key optional; problems
/// name `quiet.<key>`.
fn parse_quiet(
    value: &Value,
    fail: &dyn Fn(&str, String) -> CalendarProblem,
) -> Result<Quiet, CalendarProblem> {
    let Value::Mapping(map) = value else {
        return Err(fail(
            "quiet",
            format!(
                "{} is not a mapping such as {{min: 0, max: 2, hard: false}}",
                describe(value)
            ),
        ));
    };
    for key in map.keys() {
        let key = key_text(key);
        if !["min", "max", "hard"].contains(&key.as_str()) {
            return Err(fail(
                &format!("quiet.{key}"),
                "unknown field (expected min, max, hard)".into(),
            ));
        }
    }
    let acu = |field: &str| -> Result<Option<Acu>, CalendarProblem> {
        let path = format!("quiet.{field}");
        let Some(value) = map.get(field) else {
            return Ok(None);
        };
        let text = scalar_text(value)
            .ok_or_else(|| fail(&path, format!("{} is not ACUs", describe(value))))?;
        Acu::parse_field(field, &text)
            .map(Some)
            .map_err(|e| fail(&path, format!("{} {}", e.value, e.problem)))
    };
    let min = acu("min")?;
    let max = acu("max")?;
    if let Some(max) = max {
        // The cap must be a max Aurora accepts, or the guardrails would lift it.
        if max < Acu::ONE {
            return Err(fail(
                "quiet.max",
                format!("{max} is below 1 ACU, the least max Aurora accepts"),
            ));
        }
        if let Some(min) = min
            && min > max
        {
            return Err(fail("quiet.max", format!("{max} is below quiet.min {min}")));
        }
    }
    let hard = match map.get("hard") {
        None => false,
        Some(Value::Bool(hard)) => *hard,
        Some(other) => {
            return Err(fail(
                "quiet.hard",
                format!("{} is not true or false", describe(other)),
            ));
        }
    };
    if hard && max.is_none() {
        return Err(fail(
            "quiet.hard",
            "is a hard cap on max, and quiet.max is not set".into(),
        ));
    }
    Ok(Quiet { min, max, hard })
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn key_text(key: &Value) -> String {
    scalar_text(key).unwrap_or_else(|| format!("{key:?}"))
}

/// A YAML scalar as text: numbers and booleans as written, strings as they are.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "an empty value".into(),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(_) => "a tagged value".into(),
        other => format!("{:?}", scalar_text(other).unwrap_or_default()),
    }
}

fn parse_tz(value: &Value) -> Result<Zone, String> {
    let text = scalar_text(value).ok_or_else(|| {
        format!(
            "{} is not a time zone (expected an IANA name such as America/New_York)",
            describe(value)
        )
    })?;
    text.trim().parse::<Zone>().map_err(|_| {
        format!("unknown time zone {text:?} (expected an IANA name such as America/New_York)")
    })
}

/// A duration no longer than `max` (durations and leads meet dates: an unbounded one
/// would overflow them, or end a window in a year no tag can carry).
fn parse_delta(value: &Value, max: TimeDelta) -> Result<TimeDelta, String> {
    let delta = parse_lead(value)?;
    if delta > max {
        return Err(format!(
            "{} is longer than the limit of {}",
            scalar_text(value).unwrap_or_default().trim(),
            format_delta(max)
        ));
    }
    Ok(delta)
}

fn parse_lead(value: &Value) -> Result<TimeDelta, String> {
    let text = scalar_text(value)
        .ok_or_else(|| format!("{} is not a duration (e.g. 30m, 1h)", describe(value)))?;
    // A bare 0 means no lead; any other bare number is ambiguous about its unit.
    if text.trim() == "0" {
        return Ok(TimeDelta::zero());
    }
    let std = parse_duration(&text)?;
    TimeDelta::from_std(std).map_err(|_| format!("{text:?} is too long"))
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is not a date such as 2026-12-25"))
}

/// A local wall-clock time: `2026-11-27T00:00`, with optional seconds, `T` or a space.
fn parse_local(value: &Value) -> Result<NaiveDateTime, String> {
    let text = scalar_text(value).ok_or_else(|| {
        format!(
            "{} is not a local time such as 2026-11-27T09:00",
            describe(value)
        )
    })?;
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

fn parse_cron(value: &Value) -> Result<Cron, String> {
    let text = scalar_text(value)
        .ok_or_else(|| format!("{} is not a cron expression", describe(value)))?;
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
        .parse(&text)
        .map_err(|e| format!("{text:?} is not a valid cron expression: {e}"))?;
    // A pattern that can never fire (31 February) is a mistake, not an empty schedule.
    let probe = NaiveDate::from_ymd_opt(2000, 1, 1)
        .unwrap_or_default()
        .and_time(chrono::NaiveTime::MIN);
    cron.find_next_occurrence(&probe, true)
        .map_err(|_| format!("{text:?} never fires"))?;
    Ok(cron)
}

fn parse_clusters(value: &Value) -> Result<Targets, String> {
    let Value::Sequence(items) = value else {
        return Err(format!(
            "{} is not a list of cluster ids, e.g. [shop-db]",
            describe(value)
        ));
    };
    if items.is_empty() {
        return Err("is empty; list at least one cluster id".into());
    }
    let mut ids = Vec::with_capacity(items.len());
    for item in items {
        match scalar_text(item) {
            Some(id) if !id.trim().is_empty() => ids.push(id.trim().to_owned()),
            _ => return Err(format!("{} is not a cluster id", describe(item))),
        }
    }
    Ok(Targets::Clusters(ids))
}

fn parse_selector(value: &Value) -> Result<Targets, String> {
    let expected = "expected {tag: \"key=value\"}";
    let Value::Mapping(map) = value else {
        return Err(format!("{} is not a selector; {expected}", describe(value)));
    };
    let only_tag = map.len() == 1 && map.contains_key("tag");
    if !only_tag {
        return Err(format!("has unknown keys; {expected}"));
    }
    let text = map.get("tag").and_then(scalar_text).unwrap_or_default();
    let (key, value) =
        crate::tags::parse_selector(&text).map_err(|m| format!("{m}; {expected}"))?;
    Ok(Targets::Tag { key, value })
}

// --- calendar check ----------------------------------------------------------------

/// The `acu-pilot calendar check` report: the next windows per cluster (or selector).
#[derive(Clone, Debug, Serialize)]
pub struct CalendarCheck {
    pub from: DateTime<Utc>,
    pub count: usize,
    pub targets: Vec<TargetWindows>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TargetWindows {
    /// A cluster id, or `tag key=value` for a selector.
    pub target: String,
    pub windows: Vec<CheckedWindow>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CheckedWindow {
    pub name: String,
    pub timezone: String,
    /// Local times with the zone abbreviation, e.g. `Fri 2026-11-27 09:00 EST`.
    pub local_start: String,
    pub local_end: String,
    pub local_lead_start: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub lead_start: DateTime<Utc>,
    pub lead: String,
    pub min: MinSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<Acu>,
    /// Set for a quiet window: its range replaces `min`/`max`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet: Option<Quiet>,
}

/// The next `count` windows per target that end after `from`.
pub fn check(calendar: &Calendar, from: DateTime<Utc>, count: usize) -> CalendarCheck {
    let to = from.checked_add_signed(CHECK_HORIZON).unwrap_or(latest());
    let mut by_target: BTreeMap<String, Vec<Window>> = BTreeMap::new();
    for event in &calendar.events {
        let windows = calendar.event_windows(event, from, to, count);
        for label in event.targets.labels() {
            by_target
                .entry(label)
                .or_default()
                .extend(windows.iter().cloned());
        }
    }
    let local = |tz: Zone, t: DateTime<Utc>| {
        t.with_timezone(&tz)
            .format("%a %Y-%m-%d %H:%M %Z")
            .to_string()
    };
    let targets = by_target
        .into_iter()
        .map(|(target, mut windows)| {
            windows.sort_by(|a, b| (a.start, &a.name).cmp(&(b.start, &b.name)));
            windows.truncate(count);
            let windows = windows
                .into_iter()
                .map(|w| CheckedWindow {
                    local_start: local(w.timezone, w.start),
                    local_end: local(w.timezone, w.end),
                    local_lead_start: local(w.timezone, w.lead_start()),
                    lead_start: w.lead_start(),
                    lead: format_delta(w.lead),
                    timezone: w.timezone.name().to_owned(),
                    name: w.name,
                    start: w.start,
                    end: w.end,
                    min: w.min,
                    max: w.max,
                    quiet: w.quiet,
                })
                .collect();
            TargetWindows { target, windows }
        })
        .collect();
    CalendarCheck {
        from,
        count,
        targets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn one_off(tz: &str, start: &str, end: &str) -> Calendar {
        Calendar::parse(&format!(
            "timezone: {tz}\nevents:\n  - name: e\n    start: {start}\n    end: {end}\n    clusters: [db]\n    min: 4\n"
        ))
        .unwrap()
    }

    fn only_window(cal: &Calendar) -> Window {
        let mut all = cal.windows(t("2000-01-01T00:00:00Z"), t("2100-01-01T00:00:00Z"));
        assert_eq!(all.len(), 1);
        all.remove(0)
    }

    #[test]
    fn the_example_file_parses() {
        let cal = Calendar::parse(include_str!("../../examples/calendar.yaml")).unwrap();
        assert!(cal.events.len() >= 2);
        assert_eq!(cal.timezone.name(), "America/New_York");
        assert!(!cal.exclude.is_empty());
    }

    #[test]
    fn the_issue_example_parses_with_lead_override() {
        let cal = Calendar::parse(ISSUE_EXAMPLE).unwrap();
        let bf = cal
            .windows(t("2026-11-26T00:00:00Z"), t("2026-11-27T12:00:00Z"))
            .into_iter()
            .find(|w| w.name == "black-friday")
            .unwrap();
        // 00:00 EST = 05:00Z; lead 1h overrides the calendar's 30m.
        assert_eq!(bf.start, t("2026-11-27T05:00:00Z"));
        assert_eq!(bf.end, t("2026-11-28T11:00:00Z"));
        assert_eq!(bf.lead, TimeDelta::hours(1));
        assert_eq!(bf.min, MinSpec::Fixed(Acu::new(8.0).unwrap()));
        assert_eq!(bf.max, Some(Acu::new(64.0).unwrap()));
    }

    #[test]
    fn spring_forward_start_moves_to_the_first_valid_instant_new_york_and_berlin() {
        // New York 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z).
        let w = only_window(&one_off(
            "America/New_York",
            "2026-03-08T02:30",
            "2026-03-08T05:00",
        ));
        assert_eq!(w.start, t("2026-03-08T07:00:00Z"));
        assert_eq!(w.end, t("2026-03-08T09:00:00Z"));
        // Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z).
        let w = only_window(&one_off(
            "Europe/Berlin",
            "2026-03-29T02:30",
            "2026-03-29T06:00",
        ));
        assert_eq!(w.start, t("2026-03-29T01:00:00Z"));
        // Ends follow the same rule.
        let w = only_window(&one_off(
            "Europe/Berlin",
            "2026-03-29T00:00",
            "2026-03-29T02:15",
        ));
        assert_eq!(w.end, t("2026-03-29T01:00:00Z"));
    }

    #[test]
    fn fall_back_start_uses_the_first_instant_new_york_and_berlin() {
        // New York 2026-11-01: 01:30 happens at 05:30Z (EDT) and 06:30Z (EST).
        let w = only_window(&one_off(
            "America/New_York",
            "2026-11-01T01:30",
            "2026-11-01T04:00",
        ));
        assert_eq!(w.start, t("2026-11-01T05:30:00Z"));
        // Berlin 2026-10-25: 02:30 happens at 00:30Z (CEST) and 01:30Z (CET).
        let w = only_window(&one_off(
            "Europe/Berlin",
            "2026-10-25T02:30",
            "2026-10-25T05:00",
        ));
        assert_eq!(w.start, t("2026-10-25T00:30:00Z"));
        let w = only_window(&one_off(
            "Europe/Berlin",
            "2026-10-25T00:00",
            "2026-10-25T02:30",
        ));
        assert_eq!(w.end, t("2026-10-25T00:30:00Z"));
    }

    #[test]
    fn recurring_entries_resolve_dst_the_same_way() {
        let cal = Calendar::parse(
            "timezone: Europe/Berlin\nevents:\n  - name: nightly\n    every: \"30 2 * * *\"\n    duration: 1h\n    clusters: [db]\n    min: 2\n",
        )
        .unwrap();
        let starts: Vec<_> = cal
            .windows(t("2026-03-28T12:00:00Z"), t("2026-03-30T12:00:00Z"))
            .into_iter()
            .map(|w| w.start)
            .collect();
        assert_eq!(
            starts,
            vec![
                t("2026-03-29T01:00:00Z"), // 02:30 does not exist: 03:00 CEST
                t("2026-03-30T00:30:00Z"),
            ]
        );
        let starts: Vec<_> = cal
            .windows(t("2026-10-24T12:00:00Z"), t("2026-10-25T12:00:00Z"))
            .into_iter()
            .map(|w| w.start)
            .collect();
        assert_eq!(starts, vec![t("2026-10-25T00:30:00Z")]); // once, the first 02:30
    }

    #[test]
    fn lead_time_makes_a_window_active_thirty_minutes_early() {
        let cal = Calendar::parse(
            "timezone: America/New_York\nlead: 30m\nevents:\n  - name: sale\n    start: 2026-01-15T09:00\n    duration: 2h\n    clusters: [shop-db]\n    min: 8\n",
        )
        .unwrap();
        let w = only_window(&cal);
        assert_eq!(w.start, t("2026-01-15T14:00:00Z"));
        assert!(!w.active(t("2026-01-15T13:29:00Z")));
        assert!(w.active(t("2026-01-15T13:30:00Z")));
        assert!(w.active(t("2026-01-15T15:59:59Z")));
        assert!(!w.active(t("2026-01-15T16:00:00Z")));
        let tags = BTreeMap::new();
        assert!(
            cal.active_for("shop-db", &tags, t("2026-01-15T13:29:00Z"))
                .is_empty()
        );
        assert_eq!(
            cal.active_for("shop-db", &tags, t("2026-01-15T13:30:00Z"))
                .len(),
            1
        );
        assert!(
            cal.active_for("other-db", &tags, t("2026-01-15T13:30:00Z"))
                .is_empty()
        );
    }

    #[test]
    fn default_lead_applies_only_when_neither_calendar_nor_entry_sets_one() {
        let yaml = "events:\n  - name: e\n    start: 2026-01-15T09:00\n    duration: 1h\n    clusters: [db]\n    min: 1\n";
        let cal = Calendar::parse(yaml).unwrap();
        assert_eq!(only_window(&cal).lead, DEFAULT_LEAD);
        let cal = cal.with_default_lead(TimeDelta::minutes(10));
        assert_eq!(only_window(&cal).lead, TimeDelta::minutes(10));
        assert_eq!(only_window(&cal).start, t("2026-01-15T09:00:00Z")); // UTC by default
    }

    #[test]
    fn friday_cron_fires_at_18_local_and_exclusion_skips_a_date() {
        let cal = Calendar::parse(
            "timezone: America/New_York\nevents:\n  - name: friday-evening\n    every: \"0 18 * * FRI\"\n    duration: 3h\n    clusters: [shop-db]\n    min: 4\nexclude: [2026-12-25]\n",
        )
        .unwrap();
        let starts: Vec<_> = cal
            .windows(t("2026-12-14T00:00:00Z"), t("2027-01-04T00:00:00Z"))
            .into_iter()
            .map(|w| w.start)
            .collect();
        // Fridays 18 Dec, (25 Dec excluded), 1 Jan; 18:00 EST = 23:00Z.
        assert_eq!(
            starts,
            vec![t("2026-12-18T23:00:00Z"), t("2027-01-01T23:00:00Z")]
        );
        // In summer, 18:00 EDT = 22:00Z.
        let w = &cal.windows(t("2026-07-01T00:00:00Z"), t("2026-07-04T00:00:00Z"))[0];
        assert_eq!(w.start, t("2026-07-03T22:00:00Z"));
        assert_eq!(w.end, t("2026-07-04T01:00:00Z"));
    }

    #[test]
    fn a_window_that_already_started_is_still_returned() {
        let cal = Calendar::parse(
            "events:\n  - name: e\n    every: \"0 18 * * *\"\n    duration: 3h\n    clusters: [db]\n    min: 4\n",
        )
        .unwrap();
        let now = t("2026-05-05T20:00:00Z");
        let active = cal.active_for("db", &BTreeMap::new(), now);
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].start, t("2026-05-05T18:00:00Z"));
    }

    #[test]
    fn tag_selector_matches_cluster_tags() {
        let cal = Calendar::parse(
            "events:\n  - name: e\n    start: 2026-01-01T00:00\n    duration: 1h\n    selector: {tag: \"team=shop\"}\n    min: auto\n    max: 32\n",
        )
        .unwrap();
        let w = only_window(&cal);
        assert_eq!(w.min, MinSpec::Auto);
        let shop = BTreeMap::from([("team".to_owned(), "shop".to_owned())]);
        let other = BTreeMap::from([("team".to_owned(), "search".to_owned())]);
        assert!(w.targets.matches("anything", &shop));
        assert!(!w.targets.matches("anything", &other));
        assert!(!w.targets.matches("anything", &BTreeMap::new()));
    }

    fn rejected(yaml: &str) -> String {
        match Calendar::parse(yaml) {
            Ok(_) => panic!("accepted:\n{yaml}"),
            Err(e) => e.to_string(),
        }
    }

    const HEAD: &str = "timezone: America/New_York\nevents:\n  - name: ok\n    start: 2026-01-01T00:00\n    duration: 1h\n    clusters: [db]\n    min: 1\n";

    #[test]
    fn bad_calendars_are_rejected_naming_entry_and_field() {
        let cases: &[(&str, &str)] = &[
            (
                "    timezone: Mars/Olympus\n    start: 2026-01-01T00:00\n    duration: 1h\n    clusters: [db]\n    min: 1\n",
                "events[1] (bad).timezone: unknown time zone \"Mars/Olympus\"",
            ),
            (
                "    start: 2026-01-02T00:00\n    end: 2026-01-01T00:00\n    clusters: [db]\n    min: 1\n",
                "events[1] (bad).end: ",
            ),
            (
                "    start: 2026-01-01T00:00\n    end: 2026-01-01T00:00\n    clusters: [db]\n    min: 1\n",
                "events[1] (bad).end: ",
            ),
            (
                "    every: \"0 25 * * *\"\n    duration: 1h\n    clusters: [db]\n    min: 1\n",
                "events[1] (bad).every: ",
            ),
            (
                "    every: \"0 18 * * FRI *\"\n    duration: 1h\n    clusters: [db]\n    min: 1\n",
                "events[1] (bad).every: ",
            ),
            (
                "    every: \"0 0 31 2 *\"\n    duration: 1h\n    clusters: [db]\n    min: 1\n",
                "events[1] (bad).every: ",
            ),
            (
                "    every: \"nonsense\"\n    duration: 1h\n    clusters: [db]\n    min: 1\n",
                "events[1] (bad).every: ",
            ),
            (
                "    start: 2026-01-01T00:00\n    duration: 1h\n    clusters: [db]\n    min: -2\n",
                "events[1] (bad).min: -2 is negative",
            ),
            (
                "    start: 2026-01-01T00:00\n    duration: 1h\n    clusters: [db]\n    min: 1.3\n",
                "events[1] (bad).min: 1.3 is not a multiple of 0.5",
            ),
            (
                "    start: 2026-01-01T00:00\n    duration: 1h\n    clusters: [db]\n    min: lots\n",
                "events[1] (bad).min: ",
            ),
            (
                "    start: 2026-01-01T00:00\n    duration: 1h\n    clusters: [db]\n",
                "events[1] (bad).min: is missing",
            ),
            (
                "    start: 2026-01-01T00:00\n    duration: 1h\n    min: 1\n",
                "events[1] (bad).clusters: is missing",
            ),
            (
                "    start: 2026-01-01T00:00\n    duration: 1h\n    clusters: []\n    min: 1\n",
                "events[1] (bad).clusters: is empty",
            ),
            (
                "    start: 2026-01-01T00:00\n    duration: 1h\n    clusters: [db]\n    selector: {tag: \"a=b\"}\n    min: 1\n",
                "events[1] (bad).selector: ",
            ),
            (
                "    start: 2026-01-01T00:00\n    duration: 1h\n    selector: {tag: \"ab\"}\n    min: 1\n",
                "events[1] (bad).selector: ",
            ),
            (
                "    start: 2026-01-01T00:00\n    clusters: [db]\n    min: 1\n",
                "events[1] (bad).end: is missing",
            ),
            (
                "    start: 2026-01-01T00:00\n    end: 2026-01-01T02:00\n    duration: 1h\n    clusters: [db]\n    min: 1\n",
                "events[1] (bad).duration: ",
            ),
            (
                "    start: 2026-01-01T00:00\n    duration: 0m\n    clusters: [db]\n    min: 1\n",
                "events[1] (bad).duration: ",
            ),
            (
                "    start: 2026-01-01T00:00\n    duration: 1h\n    clusters: [db]\n    min: 1\n    lead: soon\n",
                "events[1] (bad).lead: ",
            ),
            (
                "    every: \"0 18 * * FRI\"\n    clusters: [db]\n    min: 1\n",
                "events[1] (bad).duration: is missing",
            ),
            (
                "    every: \"0 18 * * FRI\"\n    end: 2026-01-01T00:00\n    duration: 1h\n    clusters: [db]\n    min: 1\n",
                "events[1] (bad).end: ",
            ),
            (
                "    start: 2026-01-01T00:00\n    every: \"0 18 * * FRI\"\n    duration: 1h\n    clusters: [db]\n    min: 1\n",
                "events[1] (bad).every: ",
            ),
            (
                "    clusters: [db]\n    duration: 1h\n    min: 1\n",
                "events[1] (bad).start: is missing",
            ),
            (
                "    start: 2026-13-01T00:00\n    duration: 1h\n    clusters: [db]\n    min: 1\n",
                "events[1] (bad).start: ",
            ),
            (
                "    start: 2026-01-01T00:00Z\n    duration: 1h\n    clusters: [db]\n    min: 1\n",
                "events[1] (bad).start: ",
            ),
            (
                "    start: 2026-01-01T00:00\n    duration: 1h\n    clusters: [db]\n    min: 8\n    max: 4\n",
                "events[1] (bad).min: ",
            ),
            (
                "    start: 2026-01-01T00:00\n    duration: 1h\n    clusters: [db]\n    min: 1\n    max: 300\n",
                "events[1] (bad).max: ",
            ),
            (
                "    start: 2026-01-01T00:00\n    duration: 1h\n    clusters: [db]\n    min: 1\n    colour: red\n",
                "events[1] (bad).colour: unknown field",
            ),
        ];
        for (body, expected) in cases {
            let yaml = format!("{HEAD}  - name: bad\n{body}");
            let message = rejected(&yaml);
            assert!(
                message.contains(expected),
                "expected {expected:?} in {message:?}\n{yaml}"
            );
        }
    }

    #[test]
    fn calendar_level_problems_name_their_field() {
        assert!(
            rejected("timezone: Nowhere/Land\nevents: []\n")
                .contains("timezone: unknown time zone")
        );
        assert!(rejected("events: []\nexclude: [2026-02-30]\n").contains("exclude[0]: "));
        assert!(rejected("events: []\nlead: 5 fortnights\n").contains("lead: "));
        assert!(rejected("timezone: UTC\n").contains("events: is missing"));
        assert!(rejected("").contains("calendar: is empty"));
        assert!(rejected("events: [\n").contains("calendar: is not valid YAML"));
        assert!(
            rejected(&format!("{HEAD}  - start: 2026-01-01T00:00\n"))
                .contains("events[1].name: is missing")
        );
        assert!(rejected(&format!("{HEAD}  - name: has space\n")).contains("events[1].name: "));
        let dup = rejected(&format!(
            "{HEAD}{}",
            HEAD.lines()
                .skip(2)
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        ));
        assert!(
            dup.contains("events[1] (ok).name: is also the name of events[0]"),
            "{dup}"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = Calendar::parse(
            "timezone: Nowhere/Land\nevents:\n  - name: a\n    every: \"bad\"\n    duration: 1h\n    clusters: [db]\n    min: 1\n  - name: b\n    start: 2026-01-01T00:00\n    duration: 1h\n    clusters: [db]\n    min: -1\n",
        )
        .unwrap_err();
        let paths: Vec<_> = err.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            vec!["timezone", "events[0] (a).every", "events[1] (b).min"]
        );
    }

    #[test]
    fn check_lists_next_windows_per_cluster_in_local_time_and_utc() {
        let cal = Calendar::parse(ISSUE_EXAMPLE).unwrap();
        let report = check(&cal, t("2026-11-20T00:00:00Z"), 3);
        assert_eq!(report.targets.len(), 1);
        let names: Vec<_> = report.targets[0]
            .windows
            .iter()
            .map(|w| w.name.as_str())
            .collect();
        assert_eq!(
            names,
            vec!["friday-evening", "black-friday", "friday-evening"]
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["targets"][0]["windows"][1]["min"], 8.0);
        assert_eq!(json["targets"][0]["windows"][1]["lead"], "1h");
    }

    fn entry(body: &str) -> String {
        format!("events:\n  - name: e\n{body}    clusters: [db]\n    min: 4\n")
    }

    /// Issue #13 case 7: numbers that overflowed a date abort no more; each is refused
    /// naming its field and the limit.
    #[test]
    fn huge_durations_and_leads_are_refused_naming_the_limit() {
        for (body, expected) in [
            (
                "    start: 2026-01-01T00:00\n    duration: 1000000w\n",
                "events[0] (e).duration: 1000000w is longer than the limit of 366d",
            ),
            (
                "    start: 2026-01-01T00:00\n    duration: 1h\n    lead: 1000000w\n",
                "events[0] (e).lead: 1000000w is longer than the limit of 7d",
            ),
            (
                "    every: \"0 18 * * FRI\"\n    duration: 1000000w\n",
                "events[0] (e).duration: 1000000w is longer than",
            ),
            (
                "    start: 2026-01-01T00:00\n    duration: 367d\n",
                "events[0] (e).duration: 367d is longer than",
            ),
        ] {
            let message = rejected(&entry(body));
            assert!(message.contains(expected), "{message}");
        }
        assert!(rejected("lead: 8d\nevents: []\n").contains("lead: 8d is longer than the limit"));
        let ok = Calendar::parse(&entry(
            "    start: 2026-01-01T00:00\n    duration: 366d\n    lead: 7d\n",
        ));
        assert!(ok.is_ok(), "{ok:?}");
    }

    /// Issue #13 case 8: a window that would end past year 9999 is refused, so the
    /// pre-scaler never writes an `until` it cannot read back.
    #[test]
    fn a_window_past_year_9999_is_refused() {
        let message = rejected(&entry(
            "    start: 9999-12-01T00:00\n    duration: 420000w\n",
        ));
        assert!(message.contains("events[0] (e).duration: "), "{message}");
        let message = rejected(&entry("    start: 9999-12-31T00:00\n    duration: 2d\n"));
        assert!(
            message.contains("events[0] (e).duration: ends after"),
            "{message}"
        );
        // UTC+14: the last local day of year 9999 ends well before the last instant.
        let cal = Calendar::parse(&entry(
            "    timezone: Pacific/Kiritimati\n    start: 9999-12-31T00:00\n    end: 9999-12-31T23:59\n",
        ))
        .unwrap();
        let all = cal.windows(t("9999-01-01T00:00:00Z"), latest());
        assert!(all.len() == 1 && all[0].end <= latest());
        let message = rejected(&entry(
            "    timezone: Pacific/Pago_Pago\n    start: 9999-12-31T00:00\n    end: 9999-12-31T23:59\n",
        ));
        assert!(message.contains("events[0] (e).end: "), "{message}");
        let message = rejected(&entry("    start: 1969-12-31T00:00\n    duration: 1h\n"));
        assert!(message.contains("events[0] (e).start: "), "{message}");
    }

    /// `--now` near the end of time: every query answers, none panics, and no window ends
    /// after the last instant a tag can carry.
    #[test]
    fn queries_near_year_9999_do_not_panic() {
        let cal = Calendar::parse(&format!(
            "lead: 7d\n{}",
            entry("    every: \"* * * * *\"\n    duration: 366d\n")
        ))
        .unwrap();
        for now in [
            t("9999-12-31T23:00:00Z"),
            t("9999-12-31T23:59:59Z"),
            DateTime::<Utc>::MAX_UTC,
            DateTime::<Utc>::MIN_UTC,
            t("1970-01-01T00:00:00Z"),
        ] {
            for w in cal.active(now).into_iter().chain(cal.windows(now, now)) {
                assert!(w.end <= latest(), "{w:?}");
            }
            let _ = check(&cal, now, 3);
        }
    }

    /// Issue #13 case 9: one every-minute entry lasting 365 days is one active window
    /// (188 MB resident before), from the first active occurrence to the last.
    #[test]
    fn an_every_minute_entry_is_one_active_window() {
        let cal = Calendar::parse(&format!(
            "lead: 10m\n{}",
            entry("    every: \"* * * * *\"\n    duration: 365d\n")
        ))
        .unwrap();
        let now = t("2026-06-01T12:00:30Z");
        let active = cal.active(now);
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].start, t("2025-06-01T12:01:00Z"));
        assert_eq!(active[0].end, t("2027-06-01T12:10:00Z"));
        // A range query is capped per entry.
        let windows = cal.windows(now, now + TimeDelta::days(30));
        assert_eq!(windows.len(), MAX_WINDOWS_PER_ENTRY);
        // Two thousand such entries still answer with one window each.
        let many: String = (0..MAX_EVENTS)
            .map(|i| format!("  - name: e{i}\n    every: \"* * * * *\"\n    duration: 365d\n    clusters: [db]\n    min: 4\n"))
            .collect();
        let cal = Calendar::parse(&format!("events:\n{many}")).unwrap();
        assert_eq!(cal.active(now).len(), MAX_EVENTS);
        let too_many = format!(
            "events:\n{many}  - name: extra\n    start: 2026-01-01T00:00\n    duration: 1h\n    clusters: [db]\n    min: 4\n"
        );
        assert!(rejected(&too_many).contains("events: has 1001 entries; the limit is 1000"));
    }

    /// Occurrences on excluded dates are skipped a day at a time, and the active window
    /// of overlapping occurrences is the union of the active ones.
    #[test]
    fn active_windows_skip_excluded_dates_and_merge_overlaps() {
        let cal = Calendar::parse(
            "lead: 0\nevents:\n  - name: e\n    every: \"0 * * * *\"\n    duration: 3h\n    clusters: [db]\n    min: 4\nexclude: [2026-06-01]\n",
        )
        .unwrap();
        // 2026-06-02 01:30: occurrences at 00:00 and 01:00 are active, 23:00 the day
        // before is excluded.
        let active = cal.active(t("2026-06-02T01:30:00Z"));
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].start, t("2026-06-02T00:00:00Z"));
        assert_eq!(active[0].end, t("2026-06-02T04:00:00Z"));
        assert!(cal.active(t("2026-06-01T12:00:00Z")).is_empty());
        // The old expansion agrees: the union of the per-occurrence windows.
        let now = t("2026-06-03T10:15:00Z");
        let each: Vec<_> = cal
            .windows(now, now)
            .into_iter()
            .filter(|w| w.active(now))
            .collect();
        let merged = &cal.active(now)[0];
        assert_eq!(merged.start, each.iter().map(|w| w.start).min().unwrap());
        assert_eq!(merged.end, each.iter().map(|w| w.end).max().unwrap());
    }

    const ISSUE_EXAMPLE: &str = r#"
timezone: America/New_York          # default zone for entries (IANA)
lead: 30m                           # default lead time
events:
  - name: black-friday
    start: 2026-11-27T00:00         # local time in the zone (an entry may set its own `timezone:`)
    end: 2026-11-28T06:00           # or `duration: 30h`
    clusters: [shop-db]             # cluster ids, or `selector: {tag: "team=shop"}` (cluster tag key=value)
    min: 8                          # ACUs, or `auto` (from the forecast below)
    max: 64                         # optional: raise max too
    lead: 1h                        # optional override
  - name: friday-evening
    every: "0 18 * * FRI"           # 5-field cron, in the zone
    duration: 3h
    clusters: [shop-db]
    min: 4
exclude: [2026-12-25, 2027-01-01]   # local dates on which recurring entries do not fire
"#;

    #[test]
    fn the_documented_office_hours_example_parses_and_check_lists_it_as_quiet() {
        let doc = include_str!("../../docs/calendar.md");
        let from = doc.find("office-hours example").unwrap();
        let yaml = doc[from..].split("```yaml\n").nth(1).unwrap();
        let yaml = &yaml[..yaml.find("```").unwrap()];
        let cal = Calendar::parse(yaml).unwrap();
        let report = check(&cal, t("2026-12-14T00:00:00Z"), 2);
        let window = &report.targets[0].windows[0];
        assert_eq!(report.targets[0].target, "tag env=dev");
        assert_eq!(window.quiet.unwrap().max, Some(Acu::new(2.0).unwrap()));
        // The weekend window that started on Friday is still running on Monday.
        assert_eq!(window.name, "dev-weekend");
        assert!(window.quiet.unwrap().hard);
        assert_eq!(window.local_start, "Fri 2026-12-11 19:00 CET");
        assert_eq!(
            report.targets[0].windows[1].local_start,
            "Mon 2026-12-14 19:00 CET"
        );
    }

    #[test]
    fn quiet_problems_name_the_quiet_field() {
        for (quiet, path, message) in [
            ("{max: 0.5}", "quiet.max", "0.5 is below 1 ACU"),
            ("{min: 4, max: 2}", "quiet.max", "2 is below quiet.min 4"),
            ("{hard: true}", "quiet.hard", "quiet.max is not set"),
            ("{hard: yes}", "quiet.hard", "is not true or false"),
            ("{color: red}", "quiet.color", "unknown field"),
            ("2", "quiet", "is not a mapping"),
        ] {
            let yaml = format!(
                "events:\n  - name: dev\n    start: 2026-12-10T19:00\n    duration: 12h\n    clusters: [dev]\n    quiet: {quiet}\n"
            );
            let err = rejected(&yaml);
            assert!(err.contains(&format!("events[0] (dev).{path}: ")), "{err}");
            assert!(err.contains(message), "{err}");
        }
        let both = "events:\n  - name: dev\n    start: 2026-12-10T19:00\n    duration: 12h\n    clusters: [dev]\n    min: 2\n    quiet: {max: 2}\n";
        assert!(rejected(both).contains("events[0] (dev).min: a quiet entry"));
    }
}
