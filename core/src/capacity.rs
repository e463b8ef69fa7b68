//! Aurora Serverless v2 capacity: ACU values, ranges and the guardrails around them.
//!
//! ACUs are stored as a count of half-ACUs, so every value is on the 0.5 grid by
//! construction and comparisons are exact (no float drift, no casting to int).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Aurora's hard upper bound for max capacity.
pub const ACU_LIMIT: f64 = 256.0;

/// Why an ACU value or range was refused. `field` names where the value came from
/// (`min_acu`, `acu-pilot:boost.max`, `ACU_PILOT_CEILING`, …).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {value} {problem}")]
pub struct CapacityError {
    pub field: String,
    pub value: String,
    pub problem: CapacityProblem,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CapacityProblem {
    #[error("is not a number")]
    NotANumber,
    #[error("is negative; ACUs start at 0")]
    Negative,
    #[error("is not a multiple of 0.5 ACU")]
    OffStep,
    #[error("is above Aurora's limit of 256 ACU")]
    AboveLimit,
    #[error("is below 1 ACU, the smallest max capacity Aurora accepts")]
    MaxBelowOne,
    #[error("is above the max capacity {max}")]
    MinAboveMax { max: Acu },
    #[error("is above the ceiling {ceiling}")]
    FloorAboveCeiling { ceiling: Acu },
}

impl CapacityError {
    fn new(field: &str, value: impl fmt::Display, problem: CapacityProblem) -> Self {
        Self {
            field: field.to_owned(),
            value: value.to_string(),
            problem,
        }
    }

    /// Re-label an error with the field the caller knows and the callee did not.
    pub fn in_field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

/// A capacity in Aurora Capacity Units: 0 to 256 in steps of 0.5.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Acu(u16);

impl Acu {
    pub const ZERO: Acu = Acu(0);
    pub const HALF: Acu = Acu(1);
    pub const ONE: Acu = Acu(2);
    pub const MAX: Acu = Acu(512);

    /// Exact construction: refuses NaN, negatives, off-step values and values above 256.
    pub fn new(value: f64) -> Result<Self, CapacityError> {
        Self::in_field("acu", value)
    }

    /// As [`Acu::new`], naming `field` in the error.
    pub fn in_field(field: &str, value: f64) -> Result<Self, CapacityError> {
        if !value.is_finite() {
            return Err(CapacityError::new(
                field,
                value,
                CapacityProblem::NotANumber,
            ));
        }
        if value < 0.0 {
            return Err(CapacityError::new(field, value, CapacityProblem::Negative));
        }
        if value > ACU_LIMIT {
            return Err(CapacityError::new(
                field,
                value,
                CapacityProblem::AboveLimit,
            ));
        }
        let halves = value * 2.0;
        if halves.fract() != 0.0 {
            return Err(CapacityError::new(field, value, CapacityProblem::OffStep));
        }
        Ok(Acu(halves as u16))
    }

    /// Parses text such as `16` or `0.5`, naming `field` in the error.
    pub fn parse_field(field: &str, text: &str) -> Result<Self, CapacityError> {
        let value: f64 = text.trim().parse().map_err(|_| {
            CapacityError::new(field, format!("{text:?}"), CapacityProblem::NotANumber)
        })?;
        Self::in_field(field, value)
    }

    /// The smallest valid ACU at or above `value`, saturating at 0 and 256. For computed
    /// values (a step factor, a forecast), never for user input.
    pub fn ceil_step(value: f64) -> Self {
        if value.is_nan() || value <= 0.0 {
            return Acu::ZERO;
        }
        let halves = (value * 2.0 - 1e-9).ceil();
        Acu(halves.min(f64::from(Acu::MAX.0)) as u16)
    }

    pub const fn from_halves(halves: u16) -> Option<Self> {
        if halves <= Acu::MAX.0 {
            Some(Acu(halves))
        } else {
            None
        }
    }

    pub const fn halves(self) -> u16 {
        self.0
    }

    pub fn value(self) -> f64 {
        f64::from(self.0) / 2.0
    }

    pub fn saturating_add(self, other: Acu) -> Acu {
        Acu(self.0.saturating_add(other.0).min(Acu::MAX.0))
    }
}

impl fmt::Display for Acu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(2) {
            write!(f, "{}", self.0 / 2)
        } else {
            write!(f, "{}.5", self.0 / 2)
        }
    }
}

impl fmt::Debug for Acu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self} ACU")
    }
}

impl FromStr for Acu {
    type Err = CapacityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Acu::parse_field("acu", s)
    }
}

impl Serialize for Acu {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.value())
    }
}

impl<'de> Deserialize<'de> for Acu {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        Acu::new(value).map_err(serde::de::Error::custom)
    }
}

/// A Serverless v2 scaling range as Aurora accepts it: min ≤ max, 1 ≤ max ≤ 256.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct CapacityRange {
    pub min: Acu,
    pub max: Acu,
}

impl CapacityRange {
    pub fn new(min: Acu, max: Acu) -> Result<Self, CapacityError> {
        Self::in_fields("min", "max", min, max)
    }

    /// As [`CapacityRange::new`], naming the two fields in the error.
    pub fn in_fields(
        min_field: &str,
        max_field: &str,
        min: Acu,
        max: Acu,
    ) -> Result<Self, CapacityError> {
        if max < Acu::ONE {
            return Err(CapacityError::new(
                max_field,
                max,
                CapacityProblem::MaxBelowOne,
            ));
        }
        if min > max {
            return Err(CapacityError::new(
                min_field,
                min,
                CapacityProblem::MinAboveMax { max },
            ));
        }
        Ok(Self { min, max })
    }

    /// From the SDK's floats, as DescribeDBClusters reports them.
    pub fn from_f64(min: f64, max: f64) -> Result<Self, CapacityError> {
        Self::new(Acu::in_field("min", min)?, Acu::in_field("max", max)?)
    }
}

impl fmt::Display for CapacityRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{} ACU", self.min, self.max)
    }
}

impl fmt::Debug for CapacityRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<'de> Deserialize<'de> for CapacityRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            min: Acu,
            max: Acu,
        }
        let raw = Raw::deserialize(deserializer)?;
        CapacityRange::new(raw.min, raw.max).map_err(serde::de::Error::custom)
    }
}

/// The limits every desired range is clamped to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Guardrails {
    /// The lowest min acu-pilot will set (an economy layer falls to it).
    pub floor: Acu,
    /// The highest max acu-pilot will set: 1 ≤ ceiling ≤ 256.
    pub ceiling: Acu,
    /// Whether min may be 0 (auto-pause): configured *and* supported by the engine version.
    pub allow_auto_pause: bool,
}

impl Guardrails {
    pub fn new(floor: Acu, ceiling: Acu, allow_auto_pause: bool) -> Result<Self, CapacityError> {
        if ceiling < Acu::ONE {
            return Err(CapacityError::new(
                "ceiling",
                ceiling,
                CapacityProblem::MaxBelowOne,
            ));
        }
        if floor > ceiling {
            return Err(CapacityError::new(
                "floor",
                floor,
                CapacityProblem::FloorAboveCeiling { ceiling },
            ));
        }
        Ok(Self {
            floor,
            ceiling,
            allow_auto_pause,
        })
    }

    /// The smallest min these guardrails allow.
    pub fn lowest_min(&self) -> Acu {
        if self.allow_auto_pause {
            self.floor
        } else {
            self.floor.max(Acu::HALF)
        }
    }
}

impl Default for Guardrails {
    /// The safe defaults: floor 0.5, ceiling 64, no auto-pause.
    fn default() -> Self {
        Self {
            floor: Acu::HALF,
            ceiling: Acu(128),
            allow_auto_pause: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acu_accepts_the_half_grid_and_displays_it_back() {
        for (value, text) in [
            (0.0, "0"),
            (0.5, "0.5"),
            (16.0, "16"),
            (24.5, "24.5"),
            (256.0, "256"),
        ] {
            let acu = Acu::new(value).unwrap();
            assert_eq!(acu.to_string(), text);
            assert_eq!(text.parse::<Acu>().unwrap(), acu);
        }
    }

    #[test]
    fn acu_rejects_nan_negative_off_step_and_too_large_naming_the_value() {
        let cases = [
            (f64::NAN, CapacityProblem::NotANumber),
            (-0.5, CapacityProblem::Negative),
            (0.3, CapacityProblem::OffStep),
            (300.0, CapacityProblem::AboveLimit),
        ];
        for (value, problem) in cases {
            let err = Acu::in_field("max_acu", value).unwrap_err();
            assert_eq!(err.problem, problem);
            assert_eq!(err.field, "max_acu");
            assert!(err.to_string().contains("max_acu"), "{err}");
        }
        let err = "abc".parse::<Acu>().unwrap_err();
        assert_eq!(err.problem, CapacityProblem::NotANumber);
        assert!(err.to_string().contains("abc"));
    }

    #[test]
    fn range_rejects_min_above_max_and_max_below_one() {
        let err = CapacityRange::new(Acu::new(8.0).unwrap(), Acu::new(4.0).unwrap()).unwrap_err();
        assert_eq!(err.field, "min");
        assert!(matches!(err.problem, CapacityProblem::MinAboveMax { .. }));
        let err = CapacityRange::new(Acu::ZERO, Acu::HALF).unwrap_err();
        assert_eq!(err.field, "max");
        assert_eq!(err.problem, CapacityProblem::MaxBelowOne);
        assert!(CapacityRange::from_f64(0.5, 300.0).is_err());
    }

    #[test]
    fn ceil_step_rounds_up_to_the_half_grid_and_saturates() {
        assert_eq!(Acu::ceil_step(16.1), Acu::new(16.5).unwrap());
        assert_eq!(Acu::ceil_step(16.0), Acu::new(16.0).unwrap());
        assert_eq!(Acu::ceil_step(-3.0), Acu::ZERO);
        assert_eq!(Acu::ceil_step(1e9), Acu::MAX);
    }

    #[test]
    fn guardrails_reject_floor_above_ceiling() {
        let err =
            Guardrails::new(Acu::new(10.0).unwrap(), Acu::new(8.0).unwrap(), false).unwrap_err();
        assert_eq!(err.field, "floor");
        assert_eq!(Guardrails::default().ceiling, Acu::new(64.0).unwrap());
    }
}
