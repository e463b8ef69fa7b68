//! Property tests of the pure code against hostile input (issue #13): arbitrary calendars
//! and arbitrary acu-pilot tag maps, valid and invalid, fed to the parsers and to what
//! the functions compute from them. Three properties:
//!
//! - nothing panics (release builds abort on a panic, so a panic is a crash loop);
//! - work is bounded: a calendar query returns at most one window per entry (`active`) or
//!   [`MAX_WINDOWS_PER_ENTRY`] per entry (`windows`), and no cron look-up visits more than
//!   [`MAX_VISITS`] occurrences, counted by [`calendar::work`] (not wall time: flaky);
//! - every value a writer formats is read back by the reader's parser to the same value.
//!
//! The case counts are kept modest so `make test` stays fast.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;

use crate::calendar::{self, Calendar, MAX_VISITS, MAX_WINDOWS_PER_ENTRY, latest};
use crate::capacity::{Acu, CapacityRange, Guardrails};
use crate::config::{Config, format_duration, parse_duration};
use crate::desired::{desired, effective_guardrails};
use crate::model::Cluster;
use crate::policy::prescale::{LayerChange, plan_prescale};
use crate::tags::{self, ClusterTags, Layer, LayerKind};

const CASES: u32 = 128;

fn instant(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).expect("in chrono's range")
}

/// An instant anywhere from 1970 to the last second of 9999, with the edges often.
fn any_now() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        (0i64..=latest().timestamp()).prop_map(instant),
        // Around today, where the calendars below mostly are.
        (1_767_225_600i64..1_830_297_600).prop_map(instant),
        Just(instant(0)),
        Just(latest()),
        Just(latest() - TimeDelta::hours(1)),
    ]
}

/// Number text: ordinary, off-grid, huge, negative, and the non-finite spellings.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u16..=520).prop_map(|h| format!("{}", f64::from(h) / 2.0)),
        prop::sample::select(vec![
            "0",
            "0.3",
            "-1",
            "-0",
            "256",
            "256.5",
            "1e308",
            "-1e308",
            "1e-320",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "Infinity",
            "99999999999999999999999999",
            "0x10",
            "",
            " ",
            "1_0",
            "auto",
        ])
        .prop_map(str::to_owned),
        any::<f64>().prop_map(|f| f.to_string()),
    ]
}

/// Duration text (`duration:`, `lead:`): within and beyond the limits, and malformed.
fn duration_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            any::<u64>(),
            prop::sample::select(vec!["s", "m", "h", "d", "w"])
        )
            .prop_map(|(n, unit)| format!("{n}{unit}")),
        (
            0u64..=600,
            prop::sample::select(vec!["s", "m", "h", "d", "w"])
        )
            .prop_map(|(n, unit)| format!("{n}{unit}")),
        prop::sample::select(vec![
            "0",
            "0m",
            "1m",
            "30m",
            "90m",
            "3h",
            "1h30m",
            "7d",
            "8d",
            "366d",
            "367d",
            "52w",
            "14000000w",
            "420000w",
            "-1h",
            "1x",
            "",
            "1e9h",
            "h",
            "1h1h",
        ])
        .prop_map(str::to_owned),
    ]
}

fn cron_text() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "* * * * *",
        "*/5 * * * *",
        "0 9 * * 1-5",
        "0 18 * * FRI",
        "30 2 * * *",
        "30 1 * * SUN",
        "0 0 29 2 *",
        "0 0 31 2 *",
        "59 23 31 12 *",
        "0 0 1 1 *",
        "0 25 * * *",
        "61 * * * *",
        "* * *",
        "0 0 * * * *",
        "@yearly",
        "L * * * *",
        "",
    ])
    .prop_map(str::to_owned)
}

/// A local wall-clock time (`start:`/`end:`) from before 1970 to past 9999.
fn local_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (1960i32..=10_001, 1u32..=13, 1u32..=31, 0u32..=24, 0u32..60)
            .prop_map(|(y, mo, d, h, mi)| format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}")),
        (2026i32..=2027, 1u32..=12, 1u32..=28, 0u32..24)
            .prop_map(|(y, mo, d, h)| format!("{y}-{mo:02}-{d:02}T{h:02}:30")),
        prop::sample::select(vec![
            "9999-12-31T23:00",
            "9999-12-31T23:59",
            "9999-12-31",
            "1969-12-31T23:59",
            "1970-01-01T00:00",
            "2026-03-08T02:30",
            "2026-11-01T01:30",
            "2026-11-27T00:00+02:00",
            "tomorrow",
        ])
        .prop_map(str::to_owned),
    ]
}

fn zone_text() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "UTC",
        "America/New_York",
        "Europe/Berlin",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "Asia/Kathmandu",
        "Pacific/Apia",
        "Mars/Olympus",
        "+05:00",
        "",
    ])
    .prop_map(str::to_owned)
}

/// Mostly `valid`, sometimes `hostile`: one bad field refuses the whole calendar, so a
/// calendar of hostile fields only would never reach the queries.
fn mostly<T: std::fmt::Debug + Clone + 'static>(
    valid: impl Strategy<Value = T> + 'static,
    hostile: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    prop_oneof![12 => valid, 1 => hostile].boxed()
}

fn valid_acu() -> impl Strategy<Value = String> {
    (1u16..=512).prop_map(|h| format!("{}", f64::from(h) / 2.0))
}

fn valid_duration(max_minutes: u64) -> impl Strategy<Value = String> {
    prop_oneof![
        (1..=max_minutes).prop_map(|m| format!("{m}m")),
        Just(format!("{}m", max_minutes)),
    ]
}

fn valid_cron() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "* * * * *",
        "*/5 * * * *",
        "0 9 * * 1-5",
        "0 18 * * FRI",
        "30 2 * * *",
        "30 1 * * SUN",
        "0 0 29 2 *",
        "59 23 31 12 *",
        "0 0 1 1 *",
    ])
    .prop_map(str::to_owned)
}

fn valid_local() -> impl Strategy<Value = String> {
    prop_oneof![
        (2026i32..=2027, 1u32..=12, 1u32..=28, 0u32..24)
            .prop_map(|(y, mo, d, h)| format!("{y}-{mo:02}-{d:02}T{h:02}:30")),
        prop::sample::select(vec![
            "9999-12-31T23:00",
            "9999-12-30T00:00",
            "1970-01-01T00:00",
            "2026-03-08T02:30",
            "2026-11-01T01:30",
        ])
        .prop_map(str::to_owned),
    ]
}

fn valid_zone() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "UTC",
        "America/New_York",
        "Europe/Berlin",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "Asia/Kathmandu",
        "Pacific/Apia",
    ])
    .prop_map(str::to_owned)
}

fn entry_text(i: usize) -> impl Strategy<Value = String> {
    let local = || mostly(valid_local(), local_text());
    let duration = || mostly(valid_duration(366 * 24 * 60), duration_text());
    let schedule = prop_oneof![
        1 => (local(), local()).prop_map(|(s, e)| format!("    start: {s}\n    end: {e}\n")),
        3 => (local(), duration()).prop_map(|(s, d)| format!("    start: {s}\n    duration: {d}\n")),
        4 => (mostly(valid_cron(), cron_text()), duration())
            .prop_map(|(c, d)| format!("    every: \"{c}\"\n    duration: {d}\n")),
        // Every minute, lasting about a year: issue #13 case 9.
        1 => Just("    every: \"* * * * *\"\n    duration: 365d\n".to_owned()),
    ];
    (
        schedule,
        mostly(valid_acu(), number_text()),
        prop::option::of(mostly(valid_acu(), number_text())),
        prop::option::of(mostly(valid_duration(7 * 24 * 60), duration_text())),
        prop::option::of(mostly(valid_zone(), zone_text())),
        prop::bool::weighted(0.02),
    )
        .prop_map(move |(schedule, min, max, lead, zone, unknown)| {
            let mut text =
                format!("  - name: e{i}\n{schedule}    clusters: [db]\n    min: {min:?}\n");
            if let Some(max) = max {
                text.push_str(&format!("    max: {max:?}\n"));
            }
            if let Some(lead) = lead {
                text.push_str(&format!("    lead: {lead:?}\n"));
            }
            if let Some(zone) = zone {
                text.push_str(&format!("    timezone: {zone:?}\n"));
            }
            if unknown {
                text.push_str("    color: red\n");
            }
            text
        })
}

fn calendar_text() -> impl Strategy<Value = String> {
    let entries = prop_oneof![1 => Just(0usize), 12 => 1usize..5].prop_flat_map(|n| {
        (0..n)
            .map(entry_text)
            .collect::<Vec<_>>()
            .prop_map(|entries| entries.concat())
    });
    let exclude = prop::collection::vec(
        mostly(
            (2026i32..=2027, 1u32..=12, 1u32..=28)
                .prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
            prop::sample::select(vec!["9999-12-31", "1970-01-01", "2026-02-30", "soon"])
                .prop_map(str::to_owned),
        ),
        0..8,
    );
    (
        prop::option::of(mostly(valid_zone(), zone_text())),
        prop::option::of(mostly(valid_duration(7 * 24 * 60), duration_text())),
        entries,
        exclude,
    )
        .prop_map(|(zone, lead, entries, exclude)| {
            let mut text = String::new();
            if let Some(zone) = zone {
                text.push_str(&format!("timezone: {zone:?}\n"));
            }
            if let Some(lead) = lead {
                text.push_str(&format!("lead: {lead:?}\n"));
            }
            text.push_str("events:\n");
            text.push_str(&entries);
            if !exclude.is_empty() {
                text.push_str(&format!("exclude: [{}]\n", exclude.join(", ")));
            }
            text
        })
}

/// A calendar that parses, with the instants a tick might ask about.
fn query_instants(now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    vec![now, instant(0), latest(), latest() - TimeDelta::minutes(30)]
}

/// Every value of every acu-pilot key, hostile or not.
fn tag_value() -> impl Strategy<Value = String> {
    let layer = (
        prop::option::of(number_text()),
        prop::option::of(number_text()),
        prop::option::of(local_text()),
        prop::option::of("[a-z:=_-]{0,12}"),
    )
        .prop_map(|(min, max, until, by)| {
            let mut parts = Vec::new();
            if let Some(min) = min {
                parts.push(format!("min={min}"));
            }
            if let Some(max) = max {
                parts.push(format!("max={max}"));
            }
            if let Some(until) = until {
                parts.push(format!("until={until}:00Z"));
            }
            if let Some(by) = by {
                parts.push(format!("by={by}"));
            }
            parts.join(" ")
        });
    prop_oneof![
        3 => number_text(),
        3 => layer,
        1 => prop::sample::select(vec![
            "true",
            "9999-12-31T23:59:59Z",
            "+10000-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "min=0.5 max=16",
            "min=16 max=0.5",
            "min=1 min=1",
        ])
        .prop_map(str::to_owned),
        1 => "\\PC{0,300}",
    ]
}

fn tag_key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        tags::MANAGED,
        tags::BASELINE,
        tags::CEILING,
        tags::FLOOR,
        tags::TTL,
        tags::ALARM_CLUSTER,
        tags::ALARM_ROLE,
        tags::ALARM_ORIGINAL_THRESHOLD,
        "acu-pilot:boost",
        "acu-pilot:economy",
        "acu-pilot:prescale",
        "acu-pilot:pin",
        "acu-pilot:unknown",
        "team",
    ])
    .prop_map(str::to_owned)
}

fn any_guardrails() -> impl Strategy<Value = Guardrails> {
    (0u16..=512, 2u16..=512, any::<bool>()).prop_filter_map(
        "floor above ceiling",
        |(floor, ceiling, pause)| {
            Guardrails::new(Acu::from_halves(floor)?, Acu::from_halves(ceiling)?, pause).ok()
        },
    )
}

fn cluster(tags: &BTreeMap<String, String>) -> Cluster {
    Cluster {
        id: "db".into(),
        engine: "aurora-postgresql".into(),
        engine_version: "16.4".into(),
        tags: tags.clone(),
        ..Cluster::default()
    }
}

/// What the pre-scaler writes for these windows, if anything.
fn prescale_layer(now: DateTime<Utc>, windows: &[calendar::Window]) -> Option<Layer> {
    let refs: Vec<&calendar::Window> = windows.iter().collect();
    let config = Config::default();
    let plan = plan_prescale(
        now,
        &refs,
        None,
        None,
        &config.prescale,
        &Guardrails::default(),
    );
    match plan.change {
        LayerChange::Write(layer) => Some(layer),
        _ => None,
    }
}

/// `value` read back by the layer parser and formatted again is `value`.
fn reads_back(kind: LayerKind, value: &str) -> Result<(), TestCaseError> {
    let read = Layer::parse(kind, value)
        .map_err(|e| TestCaseError::fail(format!("{value:?} does not read back: {e}")))?;
    prop_assert_eq!(read.to_tag_value(), value);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn any_calendar_parses_or_is_refused_and_its_queries_are_bounded(
        yaml in calendar_text(),
        now in any_now(),
        span in prop::sample::select(vec![
            TimeDelta::hours(1),
            TimeDelta::days(1),
            TimeDelta::days(366),
        ]),
    ) {
        let Ok(cal) = Calendar::parse(&yaml) else {
            return Ok(());
        };
        let entries = cal.events.len();
        for at in query_instants(now) {
            calendar::work::take();
            let active = cal.active(at);
            let work = calendar::work::take();
            prop_assert!(active.len() <= entries, "{} windows from {entries} entries", active.len());
            prop_assert!(work.look_ups <= 2 * entries, "{work:?}");
            prop_assert!(work.most_visits <= MAX_VISITS, "{work:?}");
            for window in &active {
                prop_assert!(window.start < window.end && window.end <= latest(), "{window:?}");
                prop_assert!(window.active(at), "{window:?} at {at}");
            }
            if let Some(layer) = prescale_layer(at, &active) {
                // The pre-scaler's tag, as it would write it: readable by every function.
                let value = layer.tag_value().map_err(|e| TestCaseError::fail(format!("{yaml}\nat {at}: {e}")))?;
                reads_back(LayerKind::Prescale, &value)?;
            }

            let to = at.checked_add_signed(span).unwrap_or(at).min(latest());
            calendar::work::take();
            let windows = cal.windows(at, to);
            let work = calendar::work::take();
            prop_assert!(windows.len() <= MAX_WINDOWS_PER_ENTRY * entries.max(1));
            prop_assert!(work.look_ups <= (MAX_WINDOWS_PER_ENTRY + 1) * entries, "{work:?}");
            prop_assert!(work.most_visits <= MAX_VISITS, "{work:?}");
            for window in &windows {
                prop_assert!(window.start < window.end && window.end <= latest(), "{window:?}");
            }
        }
    }

    #[test]
    fn any_tag_map_is_read_without_panic_and_what_it_yields_is_safe(
        map in prop::collection::btree_map(tag_key(), tag_value(), 0..10),
        config in any_guardrails(),
        now in any_now(),
    ) {
        let tags = ClusterTags::parse(map.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        for problem in &tags.problems {
            prop_assert!(map.contains_key(problem.tag()), "{problem} names no key of {map:?}");
        }
        // Reader → writer → reader: what was read formats back to a value read the same.
        for layer in &tags.layers {
            prop_assert_eq!(&Layer::parse(layer.kind, &layer.to_tag_value()).unwrap(), layer);
        }
        if let Some(baseline) = tags.baseline {
            prop_assert_eq!(tags::parse_baseline(&tags::format_baseline(baseline)).unwrap(), baseline);
        }
        match effective_guardrails(&config, &tags, &cluster(&map)) {
            Ok(g) => {
                prop_assert!(config.floor <= g.floor && g.floor <= g.ceiling && g.ceiling <= config.ceiling, "{g:?} from {config:?} and {map:?}");
                let baseline = tags.baseline.unwrap_or(CapacityRange { min: Acu::HALF, max: Acu::ONE });
                let range = desired(baseline, &tags.layers, now, &g);
                prop_assert!(CapacityRange::new(range.min, range.max).is_ok());
                prop_assert!(range.max <= g.ceiling && range.min >= g.floor.min(range.max), "{range:?} {g:?}");
            }
            Err(e) => prop_assert!(e.tag() == tags::CEILING || e.tag() == tags::FLOOR, "{e}"),
        }
        if let Some(value) = map.get(tags::ALARM_ORIGINAL_THRESHOLD)
            && let Ok(threshold) = tags::parse_original_threshold(value)
        {
            prop_assert!(threshold.is_finite());
        }
    }

    #[test]
    fn every_layer_a_writer_formats_reads_back(
        kind in prop::sample::select(LayerKind::ALL.to_vec()),
        min in prop::option::of(0u16..=512),
        max in prop::option::of(0u16..=512),
        until in prop_oneof![0i64..=latest().timestamp() + 86_400 * 400, Just(latest().timestamp())],
        at in prop::option::of(0i64..=latest().timestamp()),
        by in "\\PC{0,300}",
    ) {
        let layer = Layer {
            hard: false,
            kind,
            min: min.and_then(Acu::from_halves),
            max: max.and_then(Acu::from_halves),
            until: instant(until),
            by,
            at: at.map(instant),
        };
        if let Ok(value) = layer.tag_value() {
            prop_assert!(value.len() <= 256);
            let read = Layer::parse(kind, &value).unwrap();
            prop_assert_eq!(&read, &Layer { by: tags::sanitize_by(&layer.by), ..layer.clone() });
            reads_back(kind, &value)?;
        } else {
            // Refused only for what no reader could take: an until past 9999, min above
            // max, or no bound where the kind needs one.
            let unreadable = layer.until > latest()
                || matches!((layer.min, layer.max), (Some(a), Some(b)) if a > b)
                || (layer.min.is_none() && layer.max.is_none() && kind != LayerKind::Economy)
                // A cap must be one Aurora keeps; a budget cap states no min.
                || (matches!(kind, LayerKind::Quiet | LayerKind::Budget) && layer.max.is_some_and(|m| m < Acu::ONE))
                || (kind == LayerKind::Budget && (layer.min.is_some() || layer.max.is_none()));
            prop_assert!(unreadable, "{layer:?}");
        }
    }

    #[test]
    fn every_threshold_and_duration_a_writer_formats_reads_back(
        threshold in any::<f64>(),
        secs in prop_oneof![any::<u64>(), 0u64..=86_400 * 400],
    ) {
        if let Ok(value) = tags::format_original_threshold(threshold) {
            prop_assert_eq!(tags::parse_original_threshold(&value).unwrap(), threshold);
        } else {
            let width = threshold.to_string().len();
            prop_assert!(!threshold.is_finite() || width > 256, "{} ({} characters)", threshold, width);
        }
        let duration = std::time::Duration::from_secs(secs);
        let text = format_duration(duration);
        match parse_duration(&text) {
            Ok(read) => prop_assert_eq!(read, duration, "{}", text),
            Err(e) => prop_assert!(secs > 86_400 * 400, "{text}: {e}"),
        }
    }
}

/// The worst calendar, stated plainly rather than left to chance: every-minute
/// entries lasting a year, queried at and near their start and at year 9999.
#[test]
fn every_minute_for_a_year_is_bounded_whatever_the_entry_count() {
    let mut yaml = String::from("events:\n");
    for i in 0..50 {
        yaml.push_str(&format!(
            "  - name: e{i}\n    every: \"* * * * *\"\n    duration: 365d\n    clusters: [db]\n    min: 1\n"
        ));
    }
    let cal = Calendar::parse(&yaml).unwrap();
    for at in query_instants(instant(1_800_000_000)) {
        calendar::work::take();
        let active = cal.active(at);
        let work = calendar::work::take();
        assert!(active.len() <= 50);
        assert!(
            work.look_ups <= 100 && work.most_visits <= MAX_VISITS,
            "{work:?}"
        );
    }
}
