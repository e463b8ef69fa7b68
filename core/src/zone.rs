//! IANA time zones (calendar entries, trace import) as a chrono [`TimeZone`], so the
//! rest of the code keeps chrono's types and its DST-aware `from_local_datetime`.
//!
//! The rules come from jiff's bundled tz database: about 200 KB of compact TZif bytes,
//! evaluated on demand (future years by each zone's POSIX rule). chrono-tz compiles the
//! same database into tables of pointers that cost the pre-scaler's bootstrap about
//! 2 MB once relocated, a third of the size budget. The database is bundled rather than
//! read from `/usr/share/zoneinfo` so that a decision is the same in Lambda, in CI and
//! on a laptop.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use chrono::{
    Datelike, FixedOffset, MappedLocalTime, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike,
};
use jiff::tz::AmbiguousOffset;

/// An IANA time zone. Cheap to copy: each zone is loaded once per process.
#[derive(Clone, Copy)]
pub struct Zone(&'static jiff::tz::TimeZone);

static UTC_ZONE: jiff::tz::TimeZone = jiff::tz::TimeZone::UTC;

impl Zone {
    pub const UTC: Zone = Zone(&UTC_ZONE);

    /// The zone called `name` (IANA, e.g. `America/New_York`; `UTC`), or `None`.
    pub fn get(name: &str) -> Option<Zone> {
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        // `Zone` is `Copy` (chrono's offsets carry it), so each zone is loaded once and kept
        // for the process. Keyed by the database's own spelling, not the caller's (look-ups
        // ignore case), so what is kept is bounded by the database's few hundred names
        // whatever a calendar writes.
        static LOADED: OnceLock<Mutex<HashMap<&'static str, Zone>>> = OnceLock::new();
        let tz = jiff::tz::TimeZone::get(name).ok()?;
        let loaded = LOADED.get_or_init(Default::default);
        let mut loaded = loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let canonical = tz.iana_name().unwrap_or("UTC").to_owned();
        if let Some(zone) = loaded.get(canonical.as_str()) {
            return Some(*zone);
        }
        let zone = Zone(Box::leak(Box::new(tz)));
        loaded.insert(zone.name(), zone);
        Some(zone)
    }

    /// The IANA name, as the database spells it.
    pub fn name(&self) -> &'static str {
        self.0.iana_name().unwrap_or("UTC")
    }

    fn offset_at(&self, timestamp: jiff::Timestamp) -> ZoneOffset {
        let info = self.0.to_offset_info(timestamp);
        ZoneOffset {
            zone: *self,
            fixed: fixed(info.offset()),
            abbreviation: Abbreviation::new(info.abbreviation()),
        }
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Zone {}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing an unknown zone name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownZone(pub String);

impl fmt::Display for UnknownZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown time zone {:?}", self.0)
    }
}

impl std::error::Error for UnknownZone {}

/// A zone is written as its IANA name, in reports and configuration alike.
impl serde::Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl FromStr for Zone {
    type Err = UnknownZone;
    fn from_str(name: &str) -> Result<Zone, UnknownZone> {
        Zone::get(name).ok_or_else(|| UnknownZone(name.to_owned()))
    }
}

/// The offset in force at one instant of a zone, with its abbreviation (`EST`, `CEST`),
/// which is what chrono's `%Z` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZoneOffset {
    zone: Zone,
    fixed: FixedOffset,
    abbreviation: Abbreviation,
}

impl Offset for ZoneOffset {
    fn fix(&self) -> FixedOffset {
        self.fixed
    }
}

impl fmt::Display for ZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.abbreviation.as_str())
    }
}

impl TimeZone for Zone {
    type Offset = ZoneOffset;

    fn from_offset(offset: &ZoneOffset) -> Zone {
        offset.zone
    }

    fn offset_from_local_date(&self, local: &NaiveDate) -> MappedLocalTime<ZoneOffset> {
        self.offset_from_local_datetime(&local.and_time(chrono::NaiveTime::MIN))
    }

    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> MappedLocalTime<ZoneOffset> {
        let Some(civil) = civil(local) else {
            return MappedLocalTime::None;
        };
        let at = |offset: jiff::tz::Offset| {
            let utc = *local - chrono::TimeDelta::seconds(i64::from(offset.seconds()));
            self.offset_at(timestamp(&utc))
        };
        match self.0.to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Unambiguous { offset } => MappedLocalTime::Single(at(offset)),
            AmbiguousOffset::Gap { .. } => MappedLocalTime::None,
            AmbiguousOffset::Fold { before, after } => {
                MappedLocalTime::Ambiguous(at(before), at(after))
            }
        }
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> ZoneOffset {
        self.offset_from_utc_datetime(&utc.and_time(chrono::NaiveTime::MIN))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> ZoneOffset {
        self.offset_at(timestamp(utc))
    }
}

fn fixed(offset: jiff::tz::Offset) -> FixedOffset {
    // jiff's offsets stay within ±25:59:59, chrono's within ±23:59:59; no real zone
    // comes near either.
    FixedOffset::east_opt(offset.seconds()).unwrap_or_else(|| FixedOffset::east_opt(0).unwrap())
}

/// A UTC wall time as a jiff instant, clamped to jiff's range (years −9999 to 9999).
fn timestamp(utc: &NaiveDateTime) -> jiff::Timestamp {
    let seconds = utc.and_utc().timestamp();
    jiff::Timestamp::from_second(seconds).unwrap_or(if seconds < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    })
}

fn civil(local: &NaiveDateTime) -> Option<jiff::civil::DateTime> {
    jiff::civil::DateTime::new(
        i16::try_from(local.year()).ok()?,
        local.month() as i8,
        local.day() as i8,
        local.hour() as i8,
        local.minute() as i8,
        local.second() as i8,
        // chrono folds a leap second into the nanoseconds; jiff has none.
        local.nanosecond().min(999_999_999) as i32,
    )
    .ok()
}

/// A zone abbreviation kept inline so offsets stay `Copy`. TZif abbreviations are 3 to 6
/// characters; anything longer is cut at a character boundary.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Abbreviation {
    bytes: [u8; 15],
    len: u8,
}

impl Abbreviation {
    fn new(text: &str) -> Abbreviation {
        let mut len = text.len().min(15);
        while !text.is_char_boundary(len) {
            len -= 1;
        }
        let mut bytes = [0; 15];
        bytes[..len].copy_from_slice(&text.as_bytes()[..len]);
        Abbreviation {
            bytes,
            len: len as u8,
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl fmt::Debug for Abbreviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn zone(name: &str) -> Zone {
        Zone::get(name).unwrap_or_else(|| panic!("{name} is in the database"))
    }

    fn local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn utc(text: &str) -> chrono::DateTime<Utc> {
        local(text).and_utc()
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for name in ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "UTC"] {
            assert_eq!(zone(name).name(), name);
            assert_eq!(name.parse::<Zone>().unwrap(), zone(name));
        }
        assert_eq!(Zone::UTC.name(), "UTC");
        // Looked up without regard to case; reported as the database spells it.
        assert_eq!(zone("america/new_york").name(), "America/New_York");
        for bad in [
            "",
            "  ",
            "Mars/Olympus_Mons",
            "America/New York",
            "EST5EDT,M3.2.0",
        ] {
            assert!(Zone::get(bad).is_none(), "{bad:?}");
        }
        assert_eq!(
            "Nowhere/City".parse::<Zone>().unwrap_err().to_string(),
            "unknown time zone \"Nowhere/City\""
        );
    }

    #[test]
    fn offsets_and_abbreviations_follow_daylight_saving_time() {
        let ny = zone("America/New_York");
        let winter = utc("2027-01-15 12:00").with_timezone(&ny);
        assert_eq!(winter.format("%H:%M %Z %z").to_string(), "07:00 EST -0500");
        let summer = utc("2027-07-15 12:00").with_timezone(&ny);
        assert_eq!(summer.format("%H:%M %Z %z").to_string(), "08:00 EDT -0400");
        let kolkata = utc("2027-07-15 12:00").with_timezone(&zone("Asia/Kolkata"));
        assert_eq!(kolkata.format("%H:%M %z").to_string(), "17:30 +0530");
    }

    #[test]
    fn local_times_in_gaps_and_folds_are_reported_as_such() {
        let ny = zone("America/New_York");
        // 2027-03-14: 02:00 EST jumps to 03:00 EDT.
        assert_eq!(
            ny.from_local_datetime(&local("2027-03-14 02:30")),
            MappedLocalTime::None
        );
        let after = ny
            .from_local_datetime(&local("2027-03-14 03:00"))
            .single()
            .unwrap();
        assert_eq!(after.with_timezone(&Utc), utc("2027-03-14 07:00"));
        // 2027-11-07: 01:00–02:00 happens twice, first in EDT, then in EST.
        match ny.from_local_datetime(&local("2027-11-07 01:30")) {
            MappedLocalTime::Ambiguous(first, second) => {
                assert_eq!(first.with_timezone(&Utc), utc("2027-11-07 05:30"));
                assert_eq!(second.with_timezone(&Utc), utc("2027-11-07 06:30"));
                assert_eq!(first.format("%Z").to_string(), "EDT");
                assert_eq!(second.format("%Z").to_string(), "EST");
            }
            other => panic!("expected a fold, got {other:?}"),
        }
    }

    #[test]
    fn far_future_years_use_the_zone_rule() {
        let berlin = zone("Europe/Berlin");
        let summer = berlin
            .with_ymd_and_hms(2099, 7, 1, 12, 0, 0)
            .single()
            .unwrap();
        assert_eq!(summer.format("%Z %z").to_string(), "CEST +0200");
    }

    #[test]
    fn out_of_range_instants_do_not_panic() {
        let ny = zone("America/New_York");
        let far = NaiveDate::from_ymd_opt(200_000, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert_eq!(ny.offset_from_local_datetime(&far), MappedLocalTime::None);
        let _ = ny.offset_from_utc_datetime(&far);
        let _ = ny.offset_from_utc_datetime(&NaiveDateTime::MIN);
    }

    #[test]
    fn abbreviations_are_cut_at_a_character_boundary() {
        assert_eq!(Abbreviation::new("CEST").as_str(), "CEST");
        assert_eq!(Abbreviation::new("ééééééééé").as_str(), "ééééééé");
    }
}
