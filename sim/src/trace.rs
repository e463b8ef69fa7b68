//! Demand traces: the CSV format `acu-pilot simulate` replays, and deterministic example
//! traces to replay when the user has none.
//!
//! A trace is `timestamp,acu`: RFC 3339 instants, strictly ascending, at one fixed step
//! of at most 5 minutes; `acu` is the capacity the workload demands (≥ 0). Each sample
//! holds for one step, so a trace of `n` samples covers `n × step`.

use std::fmt::Write as _;

use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use serde::Serialize;

use acu_pilot_core::tags::format_instant;

/// The longest step a trace may have: the pre-scaler ticks every 5 minutes and alarms
/// look at 1–5 minute periods, so a coarser trace would hide what they react to.
pub const MAX_STEP: Duration = Duration::minutes(5);

pub const HEADER: &str = "timestamp,acu";

/// Why a trace was refused. `line` is 1-based, the header being line 1.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TraceError {
    #[error("the trace is empty; expected the header {HEADER:?} and at least two samples")]
    Empty,
    #[error("line 1: header is {found:?}; expected {HEADER:?}")]
    BadHeader { found: String },
    #[error("line {line}: the trace needs at least two samples to have a step")]
    TooShort { line: usize },
    #[error("line {line}: expected {expected} fields, as in the header, found {found}")]
    FieldCount {
        line: usize,
        expected: usize,
        found: usize,
    },
    #[error("line {line}: not CSV: {message}")]
    Csv { line: usize, message: String },
    #[error("line {line}: timestamp {value:?} is not an RFC 3339 instant ({reason})")]
    BadTimestamp {
        line: usize,
        value: String,
        reason: String,
    },
    #[error("line {line}: acu {value:?} is not a number")]
    NotANumber { line: usize, value: String },
    #[error("line {line}: acu {value} is negative; demand starts at 0")]
    Negative { line: usize, value: f64 },
    #[error("line {line}: {at} is not after the previous sample {previous}; rows must ascend")]
    Unsorted {
        line: usize,
        at: String,
        previous: String,
    },
    #[error(
        "line {line}: step of {found_secs} s differs from the trace's step of {step_secs} s (a gap or a jitter)"
    )]
    Gap {
        line: usize,
        step_secs: i64,
        found_secs: i64,
    },
    #[error("line {line}: step of {step_secs} s is longer than the 5 min maximum")]
    StepTooLong { line: usize, step_secs: i64 },
}

impl TraceError {
    /// The 1-based line the error is about (0 for an empty trace).
    pub fn line(&self) -> usize {
        match self {
            TraceError::Empty => 0,
            TraceError::BadHeader { .. } => 1,
            TraceError::TooShort { line }
            | TraceError::FieldCount { line, .. }
            | TraceError::Csv { line, .. }
            | TraceError::BadTimestamp { line, .. }
            | TraceError::NotANumber { line, .. }
            | TraceError::Negative { line, .. }
            | TraceError::Unsorted { line, .. }
            | TraceError::Gap { line, .. }
            | TraceError::StepTooLong { line, .. } => *line,
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct Sample {
    pub at: DateTime<Utc>,
    /// ACUs the workload demands during `[at, at + step)`.
    pub acu: f64,
}

/// A validated trace: at least two samples, one fixed step ≤ [`MAX_STEP`].
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    samples: Vec<Sample>,
    step: Duration,
}

impl Trace {
    /// Builds a trace from samples, with the same checks as [`Trace::parse`] (line numbers
    /// count as if the samples were CSV rows after a header).
    pub fn new(samples: Vec<Sample>) -> Result<Self, TraceError> {
        let mut builder = Builder::default();
        for (i, sample) in samples.into_iter().enumerate() {
            builder.push(i + 2, sample)?;
        }
        builder.finish()
    }

    /// Parses CSV text. Blank lines are skipped (and still counted).
    pub fn parse(text: &str) -> Result<Self, TraceError> {
        let (header, rows) = csv_rows(text)?;
        if header.line != 1 || header.fields != ["timestamp", "acu"] {
            return Err(TraceError::BadHeader {
                found: header.fields.join(","),
            });
        }
        Self::from_columns(&rows, 1, 2)
    }

    /// A trace from already-read CSV rows `width` fields wide: the timestamp in the first
    /// field, the demand in field `column` (a role trace has one column per role).
    pub(crate) fn from_columns(
        rows: &[CsvRow],
        column: usize,
        width: usize,
    ) -> Result<Self, TraceError> {
        let mut builder = Builder::default();
        for row in rows {
            let line = row.line;
            let [timestamp, acu] = row.fields_at(column, width)?;
            let at = DateTime::parse_from_rfc3339(timestamp)
                .map_err(|e| TraceError::BadTimestamp {
                    line,
                    value: timestamp.to_owned(),
                    reason: e.to_string(),
                })?
                .with_timezone(&Utc);
            let acu = row.number(acu)?;
            builder.push(line, Sample { at, acu })?;
        }
        builder.finish()
    }

    /// The CSV form, as [`Trace::parse`] reads it back: seconds-precision UTC instants,
    /// demand with two decimals.
    pub fn to_csv(&self) -> String {
        let mut out = String::with_capacity(self.samples.len() * 32);
        out.push_str(HEADER);
        out.push('\n');
        for sample in &self.samples {
            let _ = writeln!(out, "{},{:.2}", format_instant(sample.at), sample.acu);
        }
        out
    }

    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    pub fn step(&self) -> Duration {
        self.step
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.samples[0].at
    }

    /// The end of the last sample's step.
    pub fn end(&self) -> DateTime<Utc> {
        self.samples[self.samples.len() - 1].at + self.step
    }

    pub fn peak(&self) -> f64 {
        self.samples.iter().map(|s| s.acu).fold(0.0, f64::max)
    }
}

#[derive(Default)]
struct Builder {
    samples: Vec<Sample>,
    step: Option<Duration>,
    last_line: usize,
}

impl Builder {
    fn push(&mut self, line: usize, sample: Sample) -> Result<(), TraceError> {
        if !sample.acu.is_finite() {
            return Err(TraceError::NotANumber {
                line,
                value: sample.acu.to_string(),
            });
        }
        if sample.acu < 0.0 {
            return Err(TraceError::Negative {
                line,
                value: sample.acu,
            });
        }
        if let Some(previous) = self.samples.last() {
            let gap = sample.at - previous.at;
            if gap <= Duration::zero() {
                return Err(TraceError::Unsorted {
                    line,
                    at: format_instant(sample.at),
                    previous: format_instant(previous.at),
                });
            }
            match self.step {
                None if gap > MAX_STEP => {
                    return Err(TraceError::StepTooLong {
                        line,
                        step_secs: gap.num_seconds(),
                    });
                }
                None => self.step = Some(gap),
                Some(step) if step != gap => {
                    return Err(TraceError::Gap {
                        line,
                        step_secs: step.num_seconds(),
                        found_secs: gap.num_seconds(),
                    });
                }
                Some(_) => {}
            }
        }
        self.samples.push(sample);
        self.last_line = line;
        Ok(())
    }

    fn finish(self) -> Result<Trace, TraceError> {
        match self.step {
            Some(step) => Ok(Trace {
                samples: self.samples,
                step,
            }),
            None if self.samples.is_empty() => Err(TraceError::TooShort { line: 2 }),
            None => Err(TraceError::TooShort {
                line: self.last_line,
            }),
        }
    }
}

/// The example traces `acu-pilot trace generate` writes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TraceKind {
    /// 7 days at 5-minute steps from Monday 2026-11-16: a diurnal cycle peaking near
    /// 8 ACU in the afternoon, about 1 ACU at night, quieter weekends, noise.
    Week,
    /// Black Friday 2026-11-27 at 1-minute steps: a diurnal cycle of about 2–6 ACU and a
    /// 10× flash sale ramping within 5 minutes to about 48 ACU at 18:00 UTC for one hour.
    SalesDay,
}

impl TraceKind {
    pub fn name(self) -> &'static str {
        match self {
            TraceKind::Week => "week",
            TraceKind::SalesDay => "sales-day",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [TraceKind::Week, TraceKind::SalesDay]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// When the shipped sales-day trace's flash sale starts, and how long it lasts.
pub const SALE_START: &str = "2026-11-27T18:00:00Z";
pub const SALE_MINUTES: i64 = 60;
/// The flash sale's demand plateau.
pub const SALE_ACU: f64 = 48.0;

/// A deterministic example trace: the same kind and seed always give the same CSV.
pub fn generate(kind: TraceKind, seed: u64) -> Trace {
    let mut rng = SplitMix64::new(seed);
    let samples = match kind {
        TraceKind::Week => {
            let start = Utc.with_ymd_and_hms(2026, 11, 16, 0, 0, 0).unwrap();
            (0..7 * 24 * 12)
                .map(|i| {
                    let at = start + Duration::minutes(5 * i);
                    let weekend = i / (24 * 12) >= 5;
                    let level = 1.0 + 7.0 * diurnal(at) * if weekend { 0.6 } else { 1.0 };
                    let acu = level * (1.0 + 0.08 * rng.normal());
                    Sample {
                        at,
                        acu: round2(acu.max(0.0)),
                    }
                })
                .collect()
        }
        TraceKind::SalesDay => {
            let start = Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap();
            let sale = DateTime::parse_from_rfc3339(SALE_START)
                .unwrap()
                .with_timezone(&Utc);
            (0..24 * 60)
                .map(|i| {
                    let at = start + Duration::minutes(i);
                    let base = 2.0 + 4.0 * diurnal(at);
                    let into_sale = (at - sale).num_minutes();
                    let end_of_sale = into_sale - SALE_MINUTES;
                    // Ramps of 5 minutes up and down: a flash sale announced by push
                    // notification fills up in minutes, not seconds.
                    let level = if (0..SALE_MINUTES).contains(&into_sale) {
                        let ramp = ((into_sale + 1) as f64 / 5.0).min(1.0);
                        base + (SALE_ACU - base) * ramp
                    } else if (0..5).contains(&end_of_sale) {
                        let ramp = 1.0 - (end_of_sale + 1) as f64 / 5.0;
                        base + (SALE_ACU - base) * ramp
                    } else {
                        base
                    };
                    let acu = level * (1.0 + 0.05 * rng.normal());
                    Sample {
                        at,
                        acu: round2(acu.max(0.0)),
                    }
                })
                .collect()
        }
    };
    Trace::new(samples).expect("generated traces are valid")
}

/// 0 at 04:00 UTC, 1 at 16:00 UTC, smooth in between: a shop's day.
fn diurnal(at: DateTime<Utc>) -> f64 {
    let hours = f64::from(at.hour()) + f64::from(at.minute()) / 60.0;
    let phase = (hours - 4.0) / 24.0 * std::f64::consts::TAU;
    ((1.0 - phase.cos()) / 2.0).powi(2)
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// SplitMix64 (Steele, Lea, Flood 2014): a few lines, good enough for noise, and the
/// same sequence on every platform, which a generated file checked into git needs (and
/// the held-out benchmark's noisy variants, which must be the same on every run).
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Approximately standard normal: the sum of 12 uniforms minus 6 (Irwin–Hall), which
    /// needs no logarithm or cosine and so rounds identically everywhere.
    pub fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }
}

/// One CSV row with the 1-based line it started on, fields trimmed.
pub(crate) struct CsvRow {
    pub line: usize,
    pub fields: Vec<String>,
}

impl CsvRow {
    /// The timestamp (first field) and field `column` of a row that is as wide as its
    /// header, or the error naming the row's line and how many fields it had.
    pub fn fields_at(&self, column: usize, width: usize) -> Result<[&str; 2], TraceError> {
        match (
            self.fields.len() == width,
            self.fields.first(),
            self.fields.get(column),
        ) {
            (true, Some(at), Some(value)) => Ok([at.as_str(), value.as_str()]),
            _ => Err(TraceError::FieldCount {
                line: self.line,
                expected: width,
                found: self.fields.len(),
            }),
        }
    }

    /// One of this row's fields as a finite number, or the error naming the row's line.
    pub fn number(&self, field: &str) -> Result<f64, TraceError> {
        field
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| TraceError::NotANumber {
                line: self.line,
                value: field.to_owned(),
            })
    }
}

/// The header and the data rows of a CSV text (a leading byte-order mark and blank lines
/// are skipped), read by the `csv` crate so quoting follows RFC 4180. Every row keeps its
/// line number for the errors.
pub(crate) fn csv_rows(text: &str) -> Result<(CsvRow, Vec<CsvRow>), TraceError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    // The reader's own line count leaves out the blank lines it skips, and a record's
    // position is where the reader stood before skipping them; a person counts lines in an
    // editor, so the line is counted from the record's first byte.
    let bytes = text.as_bytes();
    let line_at = |position: Option<&csv::Position>| {
        position.map_or(0, |p| {
            let mut byte = usize::try_from(p.byte())
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            while byte < bytes.len() && matches!(bytes[byte], b'\n' | b'\r') {
                byte += 1;
            }
            1 + bytes[..byte].iter().filter(|&&b| b == b'\n').count()
        })
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| TraceError::Csv {
            line: line_at(e.position()),
            message: e.to_string(),
        })?;
        let line = line_at(record.position());
        let fields: Vec<String> = record.iter().map(str::to_owned).collect();
        if fields.iter().all(String::is_empty) {
            continue;
        }
        rows.push(CsvRow { line, fields });
    }
    if rows.is_empty() {
        return Err(TraceError::Empty);
    }
    let header = rows.remove(0);
    Ok((header, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> TraceError {
        Trace::parse(text).unwrap_err()
    }

    #[test]
    fn a_valid_trace_parses_and_round_trips() {
        let text = "timestamp,acu\n2026-11-27T00:00:00Z,1.5\n2026-11-27T00:01:00Z,2\n2026-11-27T00:02:00+01:00,0\n";
        // The third row is 23:02 UTC the day before: not ascending.
        assert_eq!(parse_err(text).line(), 4);
        let text =
            "timestamp,acu\r\n2026-11-27T00:00:00Z,1.5\r\n2026-11-27T01:01:00+01:00,2\r\n\r\n";
        let trace = Trace::parse(text).unwrap();
        assert_eq!(trace.samples().len(), 2);
        assert_eq!(trace.step(), Duration::minutes(1));
        assert_eq!(trace.peak(), 2.0);
        assert_eq!(trace.end(), trace.start() + Duration::minutes(2));
        assert_eq!(Trace::parse(&trace.to_csv()).unwrap(), trace);
    }

    #[test]
    fn each_malformation_is_rejected_with_its_line_number() {
        let ok1 = "2026-11-27T00:00:00Z,1";
        let ok2 = "2026-11-27T00:01:00Z,1";
        let cases: Vec<(String, usize, &str)> = vec![
            (String::new(), 0, "empty"),
            ("   \n\n".into(), 0, "empty"),
            ("time,acu\n".into(), 1, "header is"),
            ("timestamp,acu\n".into(), 2, "at least two samples"),
            (format!("timestamp,acu\n{ok1}\n"), 2, "at least two samples"),
            (
                format!("timestamp,acu\n{ok1}\nyesterday,1\n"),
                3,
                "RFC 3339",
            ),
            (
                format!("timestamp,acu\n{ok1}\n2026-11-27 00:01:00,1\n"),
                3,
                "RFC 3339",
            ),
            (
                format!("timestamp,acu\n{ok1}\n{ok2}\n2026-11-27T00:02:00Z,-1\n"),
                4,
                "negative",
            ),
            (
                format!("timestamp,acu\n{ok1}\n2026-11-27T00:01:00Z,lots\n"),
                3,
                "not a number",
            ),
            (
                format!("timestamp,acu\n{ok1}\n2026-11-27T00:01:00Z,NaN\n"),
                3,
                "not a number",
            ),
            (
                format!("timestamp,acu\n{ok1}\n2026-11-27T00:01:00Z,\n"),
                3,
                "not a number",
            ),
            (
                format!("timestamp,acu\n{ok1}\n2026-11-27T00:01:00Z,1,2\n"),
                3,
                "2 fields",
            ),
            (format!("timestamp,acu\n{ok2}\n{ok1}\n"), 3, "ascend"),
            (format!("timestamp,acu\n{ok1}\n{ok1}\n"), 3, "ascend"),
            (
                format!("timestamp,acu\n{ok1}\n{ok2}\n\n2026-11-27T00:03:00Z,1\n"),
                5,
                "differs",
            ),
            (
                format!("timestamp,acu\n{ok1}\n2026-11-27T00:10:00Z,1\n"),
                3,
                "5 min",
            ),
        ];
        for (text, line, message) in cases {
            let err = parse_err(&text);
            assert_eq!(err.line(), line, "{text:?} gave {err}");
            assert!(err.to_string().contains(message), "{text:?} gave {err}");
            if line > 0 {
                assert!(
                    err.to_string().starts_with(&format!("line {line}:")),
                    "{err}"
                );
            }
        }
    }

    #[test]
    fn generation_is_deterministic_per_seed() {
        for kind in [TraceKind::Week, TraceKind::SalesDay] {
            let a = generate(kind, 42).to_csv();
            assert_eq!(a, generate(kind, 42).to_csv());
            assert_ne!(a, generate(kind, 43).to_csv());
            assert_eq!(Trace::parse(&a).unwrap().to_csv(), a);
        }
    }

    #[test]
    fn the_week_and_the_sales_day_have_their_promised_shape() {
        let week = generate(TraceKind::Week, 42);
        assert_eq!(week.samples().len(), 2016);
        assert_eq!(week.step(), Duration::minutes(5));
        assert!((6.5..10.0).contains(&week.peak()), "{}", week.peak());
        let night = week.samples()[4 * 12].acu; // Monday 04:00
        assert!(night < 1.5, "{night}");

        let day = generate(TraceKind::SalesDay, 42);
        assert_eq!(day.samples().len(), 1440);
        assert_eq!(day.step(), Duration::minutes(1));
        let at = |h: usize, m: usize| day.samples()[h * 60 + m].acu;
        assert!(at(17, 55) < 7.0 && at(17, 55) > 1.5);
        assert!(at(18, 4) > 40.0, "{}", at(18, 4));
        assert!(at(18, 30) > 40.0 && at(18, 59) > 40.0);
        assert!(at(19, 10) < 7.0);
        assert!((45.0..56.0).contains(&day.peak()), "{}", day.peak());
    }

    #[test]
    fn kinds_are_named_as_the_cli_spells_them() {
        assert_eq!(TraceKind::from_name("sales-day"), Some(TraceKind::SalesDay));
        assert_eq!(TraceKind::from_name("week"), Some(TraceKind::Week));
        assert_eq!(TraceKind::from_name("month"), None);
    }
}
