use super::*;
use crate::model::CalendarText;

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
    let cal = Calendar::parse(include_str!("../../../examples/calendar.yaml")).unwrap();
    assert!(cal.events.len() >= 2);
    assert_eq!(cal.files[0].timezone.name(), "America/New_York");
    assert!(!cal.files[0].exclude.is_empty());
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
        rejected("timezone: Nowhere/Land\nevents: []\n").contains("timezone: unknown time zone")
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
    let doc = include_str!("../../../docs/calendar.md");
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

/// Issue #12: one entry's problems are all reported, not only the first.
#[test]
fn every_problem_of_one_entry_is_reported() {
    let err = Calendar::parse(
        "events:\n  - name: e\n    start: 2026-13-01T00:00\n    duration: soon\n    clusters: []\n    min: -1\n    lead: 9d\n",
    )
    .unwrap_err();
    let paths: Vec<_> = err.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "events[0] (e).lead",
            "events[0] (e).duration",
            "events[0] (e).start",
            "events[0] (e).clusters",
            "events[0] (e).min",
        ],
        "{err}"
    );
}

fn text(name: Option<&str>, yaml: &str) -> CalendarText {
    CalendarText {
        origin: format!("SSM parameter /acu-pilot/calendars/{}", name.unwrap_or("-")),
        name: name.map(str::to_owned),
        text: yaml.to_owned(),
    }
}

/// Two teams, each with its own zone, lead and holidays, and an entry name both use: each
/// window is named by its calendar, and one team's holiday does not silence the other.
#[test]
fn team_calendars_merge_each_with_its_own_zone_lead_and_exclusions() {
    let shop = "timezone: Europe/Berlin\nlead: 1h\nexclude: [2026-12-24]\nevents:\n  - name: nightly\n    every: \"0 20 * * *\"\n    duration: 2h\n    clusters: [shop-db]\n    min: 4\n";
    let search = "timezone: America/New_York\nevents:\n  - name: nightly\n    every: \"0 20 * * *\"\n    duration: 2h\n    clusters: [search-db]\n    min: 2\n";
    let (calendar, broken) =
        Calendar::parse_each(&[text(Some("shop"), shop), text(Some("search"), search)]);
    assert!(broken.is_empty(), "{broken:?}");
    let calendar = calendar.unwrap();
    assert_eq!(calendar.files.len(), 2);
    let windows = calendar.windows(t("2026-12-23T12:00:00Z"), t("2026-12-25T12:00:00Z"));
    let seen: Vec<(String, DateTime<Utc>, TimeDelta)> = windows
        .into_iter()
        .map(|w| (w.name, w.start, w.lead))
        .collect();
    let hour = TimeDelta::hours(1);
    let half = TimeDelta::minutes(30);
    assert_eq!(
        seen,
        vec![
            ("shop/nightly".into(), t("2026-12-23T19:00:00Z"), hour),
            ("search/nightly".into(), t("2026-12-24T01:00:00Z"), half),
            // 2026-12-24 is the shop's holiday, not search's.
            ("search/nightly".into(), t("2026-12-25T01:00:00Z"), half),
        ]
    );
}

/// A broken calendar is refused by name, with every problem in it; the others still parse.
#[test]
fn a_broken_team_calendar_is_refused_alone_with_all_its_problems() {
    let good = "events:\n  - name: sale\n    start: 2026-12-10T14:00\n    duration: 1h\n    clusters: [shop-db]\n    min: 8\n";
    let bad = "events:\n  - name: a\n    start: 2026-12-10T14:00\n    duration: 1h\n    clusters: [db]\n    min: lots\n  - name: a\n    every: \"0 25 * * *\"\n    duration: 1h\n    clusters: [db]\n    min: 1\n  - name: b\n    colour: red\n";
    let (calendar, broken) =
        Calendar::parse_each(&[text(Some("shop"), good), text(Some("ops"), bad)]);
    assert_eq!(calendar.unwrap().events.len(), 1);
    assert_eq!(broken.len(), 1);
    assert_eq!(broken[0].calendar, "ops");
    let problems = broken[0].problems.join("\n");
    for expected in [
        "events[0] (a).min: ",
        "events[1] (a).every: ",
        "events[2] (b).colour: unknown field",
    ] {
        assert!(problems.contains(expected), "{expected} in {problems}");
    }
    assert!(broken[0].to_string().starts_with("calendar ops ("));
    // The same name in one file is refused; in two files it is two windows.
    let dup = Calendar::parse_named("ops", "events:\n  - name: x\n    start: 2026-12-10T14:00\n    duration: 1h\n    clusters: [db]\n    min: 1\n  - name: x\n    start: 2026-12-11T14:00\n    duration: 1h\n    clusters: [db]\n    min: 1\n").unwrap_err();
    assert!(
        dup.to_string()
            .starts_with("invalid calendar ops: events[1] (x).name: is also"),
        "{dup}"
    );
    let (none, broken) = Calendar::parse_each(&[text(Some("ops"), bad)]);
    assert!(none.is_none() && broken.len() == 1);
}

/// The template's first team calendar is the shipped example, and it parses.
#[test]
fn the_template_team_calendar_mirrors_its_example() {
    let example = include_str!("../../../examples/calendars/dev.yaml");
    let template: serde_norway::Value =
        serde_norway::from_str(include_str!("../../../template.yaml")).unwrap();
    let value = template["Resources"]["DevCalendar"]["Properties"]["Value"]
        .as_str()
        .unwrap();
    assert_eq!(value, example);
    let calendar = Calendar::parse_named("dev", example).unwrap();
    assert_eq!(calendar.events.len(), 2);
    assert!(calendar.events.iter().all(|e| e.quiet.is_some()));
}
