//! Turns a real series with no ACU unit (CPU %, requests, passengers — e.g. the NAB
//! traces: `timestamp,value`, local wall-clock times) into a demand trace: resolved to UTC
//! in a time zone, put on a fixed grid, and scaled so its peak is a chosen ACU value.

use acu_pilot_core::zone::Zone;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};

use super::trace::{Sample, Trace, TraceError, csv_rows};

/// How a series becomes demand.
#[derive(Clone, Debug)]
pub struct Import {
    /// The zone the series' wall-clock timestamps are in (UTC for CloudWatch exports).
    pub timezone: Zone,
    /// The grid step of the trace (at most 5 minutes).
    pub step: Duration,
    /// The ACU the series' highest value becomes; everything scales linearly.
    pub peak_acu: f64,
}

/// Parses `timestamp,value` rows (header first; timestamps `YYYY-MM-DD HH:MM:SS` in
/// `import.timezone`, or RFC 3339) into a trace. On the grid, a step takes the highest
/// value that falls in it (a fall-back night's repeated hour lands in the same steps), and
/// a step with no value — the series is coarser than the grid, or the clocks jumped
/// forward — repeats the previous one.
pub fn import(text: &str, import: &Import) -> Result<Trace, TraceError> {
    let mut points: Vec<(DateTime<Utc>, f64)> = Vec::new();
    let (_header, rows) = csv_rows(text)?;
    for row in &rows {
        let line = row.line;
        let [timestamp, value] = row.fields_at(1, 2)?;
        let at =
            parse_instant(timestamp, import.timezone).ok_or_else(|| TraceError::BadTimestamp {
                line,
                value: timestamp.to_owned(),
                reason: "expected YYYY-MM-DD HH:MM:SS or RFC 3339".to_owned(),
            })?;
        let value = row.number(value)?;
        if value < 0.0 {
            return Err(TraceError::Negative { line, value });
        }
        points.push((at, value));
    }
    points.sort_by_key(|(at, _)| *at);
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Err(TraceError::Empty);
    };
    let step_secs = import.step.num_seconds().max(1);
    let start = floor_to_step(first.0, step_secs);
    let slots = ((last.0 - start).num_seconds() / step_secs + 1) as usize;
    let mut grid: Vec<Option<f64>> = vec![None; slots];
    for (at, value) in &points {
        let slot = ((*at - start).num_seconds() / step_secs) as usize;
        grid[slot] = Some(grid[slot].map_or(*value, |v: f64| v.max(*value)));
    }
    let series_peak = points.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    let scale = if series_peak > 0.0 {
        import.peak_acu / series_peak
    } else {
        0.0
    };
    let mut previous = 0.0;
    let samples = grid
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            previous = value.unwrap_or(previous);
            Sample {
                at: start + Duration::seconds(i as i64 * step_secs),
                acu: (previous * scale * 100.0).round() / 100.0,
            }
        })
        .collect();
    Trace::new(samples)
}

fn parse_instant(text: &str, zone: Zone) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").ok()?;
    Some(acu_pilot_core::calendar::resolve_local(zone, local))
}

fn floor_to_step(at: DateTime<Utc>, step_secs: i64) -> DateTime<Utc> {
    let secs = at.timestamp();
    DateTime::from_timestamp(secs - secs.rem_euclid(step_secs), 0).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import_with(text: &str, zone: &str, step_min: i64) -> Result<Trace, TraceError> {
        import(
            text,
            &Import {
                timezone: zone.parse().unwrap(),
                step: Duration::minutes(step_min),
                peak_acu: 48.0,
            },
        )
    }

    #[test]
    fn a_coarse_series_is_scaled_to_the_peak_and_held_between_points() {
        let csv = "timestamp,value\n2014-07-01 00:00:00,10\n2014-07-01 00:30:00,20\n2014-07-01 01:00:00,5\n";
        let trace = import_with(csv, "UTC", 5).unwrap();
        assert_eq!(trace.samples().len(), 13);
        assert_eq!(trace.peak(), 48.0);
        assert_eq!(trace.samples()[0].acu, 24.0);
        assert_eq!(trace.samples()[5].acu, 24.0, "held until the next point");
        assert_eq!(trace.samples()[6].acu, 48.0);
        assert_eq!(trace.samples()[12].acu, 12.0);
    }

    #[test]
    fn a_fall_back_night_counted_twice_stays_ascending() {
        // New York, 2014-11-02: 01:00 and 01:30 happen twice; the series repeats them.
        let csv = "timestamp,value\n2014-11-02 00:30:00,1\n2014-11-02 01:00:00,2\n2014-11-02 01:30:00,3\n2014-11-02 01:00:00,4\n2014-11-02 01:30:00,5\n2014-11-02 02:00:00,6\n";
        let trace = import_with(csv, "America/New_York", 5).unwrap();
        let first = trace.samples()[0].at;
        assert_eq!(first.to_rfc3339(), "2014-11-02T04:30:00+00:00");
        assert!(trace.samples().windows(2).all(|w| w[0].at < w[1].at));
    }

    #[test]
    fn bad_rows_name_their_line() {
        for (csv, line) in [
            ("timestamp,value\n2014-07-01 00:00:00,1\nyesterday,2\n", 3),
            ("timestamp,value\n2014-07-01 00:00:00,lots\n", 2),
            ("timestamp,value\n2014-07-01 00:00:00,-1\n", 2),
        ] {
            assert_eq!(
                import_with(csv, "UTC", 5).unwrap_err().line(),
                line,
                "{csv}"
            );
        }
    }
}
