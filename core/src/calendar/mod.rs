//! The calendar: one-off and recurring windows in which the pre-scaler raises a cluster's
//! min ahead of a known spike (pre-scale entries) or lowers and caps its range (quiet
//! entries).
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
//!
//! Several calendars (one per team) merge into one: each keeps its own zone, lead and
//! exclusions, and its windows are named `<calendar>/<entry>` so a name need only be
//! unique within its own file. The `parse` module reads and validates one file; `check`
//! builds the report of `acu-pilot calendar check`.

mod check;
mod parse;
#[cfg(test)]
mod tests;

pub use check::{CalendarCheck, CheckedWindow, TargetWindows, check};

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::zone::Zone;
use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use croner::Cron;
use serde::{Serialize, Serializer};

use crate::capacity::Acu;
use crate::config::format_duration;
use crate::model::CalendarText;

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
    /// The calendar's name when it is one of several (see [`Calendar::parse_named`]).
    pub calendar: Option<String>,
    pub problems: Vec<CalendarProblem>,
}

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.calendar {
            Some(name) => write!(f, "invalid calendar {name}: ")?,
            None => f.write_str("invalid calendar: ")?,
        }
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
            calendar: None,
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
    pub(crate) fn labels(&self) -> Vec<String> {
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

pub(crate) fn format_delta(delta: TimeDelta) -> String {
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
    /// The entry's name, unique within its calendar.
    pub name: String,
    /// The calendar it came from, when it is one of several.
    pub calendar: Option<String>,
    pub timezone: Zone,
    schedule: Schedule,
    pub targets: Targets,
    pub min: MinSpec,
    pub max: Option<Acu>,
    /// The entry's lead, else its calendar's; `None` takes the configured default.
    lead: Option<TimeDelta>,
    pub quiet: Option<Quiet>,
    /// Its calendar's excluded dates: a team's holidays do not silence another team.
    exclude: Arc<BTreeSet<NaiveDate>>,
}

impl Event {
    /// The name its windows carry (and the layer tags they write): `<calendar>/<entry>`
    /// when the calendar is one of several, else the entry's own name.
    pub fn window_name(&self) -> String {
        match &self.calendar {
            Some(calendar) => format!("{calendar}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// What one calendar file sets for all its entries.
#[derive(Clone, Debug)]
pub struct CalendarFile {
    /// `None` for a calendar read on its own (one file, one SSM parameter).
    pub name: Option<String>,
    pub timezone: Zone,
    pub entries: usize,
    /// Local dates (in each entry's zone) on which its recurring entries do not fire.
    pub exclude: Arc<BTreeSet<NaiveDate>>,
}

/// A calendar that was refused, by name, with every problem found in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokenCalendar {
    /// Its name among several, else where it was read from.
    pub calendar: String,
    pub origin: String,
    /// `events[1] (nightly).every: …`, each naming its entry and field.
    pub problems: Vec<String>,
}

impl fmt::Display for BrokenCalendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "calendar {} ({}) is invalid: {}",
            self.calendar,
            self.origin,
            self.problems.join("; ")
        )
    }
}

/// A validated calendar: one file, or several merged.
#[derive(Clone, Debug)]
pub struct Calendar {
    pub files: Vec<CalendarFile>,
    fallback_lead: TimeDelta,
    pub events: Vec<Event>,
}

impl FromStr for Calendar {
    type Err = CalendarError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Calendar::parse(s)
    }
}

impl Calendar {
    /// Parses and validates one calendar. Every problem is reported, each naming its entry
    /// and field; a calendar with any problem is refused whole.
    pub fn parse(yaml: &str) -> Result<Calendar, CalendarError> {
        parse::calendar(None, yaml)
    }

    /// [`Calendar::parse`] for one of several calendars: its windows are named
    /// `<name>/<entry>` and its problems carry `name`.
    pub fn parse_named(name: &str, yaml: &str) -> Result<Calendar, CalendarError> {
        parse::calendar(Some(name), yaml).map_err(|mut err| {
            err.calendar = Some(name.to_owned());
            err
        })
    }

    /// Several calendars read side by side (a team's each): the ones that parse, merged,
    /// and every one that does not, with all its problems. A broken calendar is skipped
    /// alone; `None` when none parses (or there are none).
    pub fn parse_each(texts: &[CalendarText]) -> (Option<Calendar>, Vec<BrokenCalendar>) {
        let mut good = Vec::new();
        let mut broken = Vec::new();
        for text in texts {
            let parsed = match &text.name {
                Some(name) => Calendar::parse_named(name, &text.text),
                None => Calendar::parse(&text.text),
            };
            match parsed {
                Ok(calendar) => good.push(calendar),
                Err(error) => broken.push(BrokenCalendar {
                    calendar: text.name.clone().unwrap_or_else(|| text.origin.clone()),
                    origin: text.origin.clone(),
                    problems: error.problems.iter().map(ToString::to_string).collect(),
                }),
            }
        }
        let calendar = (!good.is_empty()).then(|| Calendar::merge(good));
        (calendar, broken)
    }

    /// The same calendar without its quiet entries: what a quiet window saves is the
    /// difference between the two.
    pub fn without_quiet(&self) -> Calendar {
        let mut calendar = self.clone();
        calendar.events.retain(|event| event.quiet.is_none());
        calendar
    }

    /// Whether any entry is a quiet window.
    pub fn has_quiet(&self) -> bool {
        self.events.iter().any(|event| event.quiet.is_some())
    }

    /// One calendar of several: the windows of each, by the same rules as one file's.
    pub fn merge(calendars: impl IntoIterator<Item = Calendar>) -> Calendar {
        let mut merged = Calendar {
            files: Vec::new(),
            fallback_lead: DEFAULT_LEAD,
            events: Vec::new(),
        };
        for calendar in calendars {
            merged.files.extend(calendar.files);
            merged.events.extend(calendar.events);
        }
        merged
    }

    /// The lead for entries that set none when the calendar sets none either (the
    /// configured `ACU_PILOT_LEAD`).
    pub fn with_default_lead(mut self, lead: TimeDelta) -> Self {
        self.fallback_lead = lead;
        self
    }

    fn lead_of(&self, event: &Event) -> TimeDelta {
        event.lead.unwrap_or(self.fallback_lead)
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
            name: event.window_name(),
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

    pub(crate) fn event_windows(
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
            if event.exclude.contains(&local.date()) {
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
            if event.exclude.contains(&local.date()) {
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
