//! The text `acu-pilot calendar check` prints: a person's view of the core's
//! [`check`] report.

use acu_pilot_core::calendar::{Calendar, check};
use chrono::{DateTime, Utc};

/// The text `acu-pilot calendar check` prints.
pub fn render(calendar: &Calendar, from: DateTime<Utc>, count: usize) -> String {
    let report = check(calendar, from, count);
    let utc = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%MZ").to_string();
    let mut out = String::new();
    for file in &calendar.files {
        let plural = |n: usize, one: &str, many: &str| {
            if n == 1 {
                one.to_owned()
            } else {
                many.to_owned()
            }
        };
        out.push_str(&format!(
            "calendar {}OK: {} entr{}, timezone {}, {} exclusion date{}\n",
            file.name
                .as_deref()
                .map(|n| format!("{n} "))
                .unwrap_or_default(),
            file.entries,
            plural(file.entries, "y", "ies"),
            file.timezone.name(),
            file.exclude.len(),
            plural(file.exclude.len(), "", "s"),
        ));
    }
    out.push_str(&format!(
        "next {} window{} per cluster from {}\n",
        count,
        if count == 1 { "" } else { "s" },
        utc(from),
    ));
    for target in &report.targets {
        out.push_str(&format!("\n{}\n", target.target));
        if target.windows.is_empty() {
            out.push_str("  (no upcoming windows)\n");
        }
        for w in &target.windows {
            if let Some(q) = w.quiet {
                // A quiet window acts from its start (no lead) and lowers rather than raises.
                out.push_str(&format!(
                    "  {}  quiet: min {}, max {}{}\n    local {} → {}  ({})\n    utc   {} → {}\n",
                    w.name,
                    q.min.map_or("floor".to_owned(), |m| m.to_string()),
                    q.max.map_or("as it is".to_owned(), |m| m.to_string()),
                    if q.hard { " (hard cap)" } else { "" },
                    w.local_start,
                    w.local_end,
                    w.timezone,
                    utc(w.start),
                    utc(w.end),
                ));
                continue;
            }
            let max = w.max.map(|m| format!(" max {m}")).unwrap_or_default();
            out.push_str(&format!(
                "  {}  min {}{max}, lead {}\n    local {} → {}  ({})\n    utc   {} → {}\n    raise from {}  ({})\n",
                w.name,
                w.min,
                w.lead,
                w.local_start,
                w.local_end,
                w.timezone,
                utc(w.start),
                utc(w.end),
                w.local_lead_start,
                utc(w.lead_start),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_next_windows_per_cluster_in_local_time_and_utc() {
        let calendar = Calendar::parse(include_str!("../../examples/calendar.yaml")).unwrap();
        let from = DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let text = render(&calendar, from, 10);
        assert!(text.starts_with("calendar OK: "), "{text}");
        assert!(text.contains("shop-db"), "{text}");
        assert!(text.contains("black-friday"), "{text}");
        assert!(text.contains("Fri 2026-11-27 00:00 EST"), "{text}");
        assert!(text.contains("2026-11-27T05:00Z"), "{text}");
        assert!(
            text.contains("raise from Thu 2026-11-26 23:00 EST"),
            "{text}"
        );
    }
}
