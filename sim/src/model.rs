//! An explicit, configurable model of how Aurora Serverless v2 moves an instance's
//! capacity inside its configured range. It is a model, not Aurora: AWS does not publish
//! the scaling algorithm, only its shape. Every default below says where it comes from;
//! `docs/simulator.md` lists the sources.
//!
//! Per step of `dt`, capacity moves toward `clamp(demand × headroom, min, max)`:
//! - up at `max(base_up_acu_per_min, up_fraction_per_min × current)` ACU per minute: the
//!   increment grows with the current capacity, as AWS documents;
//! - down, once the target has stayed below capacity for `down_delay_secs`, at
//!   `max(base_down_acu_per_min, down_fraction_per_min × current)`: slower than up;
//! - a lowered max applies at once (max is a hard limit); a raised min is reached at the
//!   up rate, since it is Aurora scaling up like any other.

use serde::{Deserialize, Serialize};

use acu_pilot_core::capacity::CapacityRange;

/// The parameters of the model. Unknown fields in a config file are refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuroraModel {
    /// Capacity Aurora aims for, as a multiple of demand. Default 1.0: a trace's `acu` is
    /// by definition the capacity the workload needs, so the model adds no margin of its
    /// own and any margin shows up as a policy's choice.
    pub headroom: f64,
    /// The scale-up rate at small capacities, ACU per minute. Default 2.0: AWS documents
    /// increments "as small as 0.5 ACU" at low capacity (Aurora User Guide, "How Aurora
    /// Serverless v2 works"), and published measurements put a scaling step at 15–90 s
    /// (Laniakea, "Aurora Serverless v2 cold start behavior under bursty workloads",
    /// 2025): 0.5 ACU every 15 s.
    pub base_up_acu_per_min: f64,
    /// The scale-up rate as a fraction of the current capacity per minute. Default 0.7,
    /// i.e. capacity doubles in about one minute (ln 2 / 0.7) once it is large enough: AWS
    /// documents larger increments when current capacity is higher, and its own advice for
    /// a known spike is to raise the minimum beforehand (Aurora User Guide, "Choosing the
    /// minimum Aurora Serverless v2 capacity setting"); the AWS Database Blog (Nov 2024,
    /// "Understanding how ACU minimum and maximum range impacts scaling in Amazon Aurora
    /// Serverless v2") observed quick scale-up during spikes, better from a higher minimum.
    /// The rate itself is a calibration assumption: no source publishes one.
    pub up_fraction_per_min: f64,
    /// The scale-down rate at small capacities, ACU per minute. Default 0.5 (one 0.5-ACU
    /// step a minute). No published figure: an assumption honouring the documented
    /// shape — scale-down is gradual and slower than scale-up (same AWS blog post).
    pub base_down_acu_per_min: f64,
    /// The scale-down rate as a fraction of the current capacity per minute. Default 0.1.
    /// No published figure: chosen so that 48 → 5 ACU takes about 23 minutes, matching the
    /// gradual step-down the AWS blog post shows after its load stops.
    pub down_fraction_per_min: f64,
    /// How long the target must stay below capacity before Aurora starts scaling down,
    /// seconds. Default 60. No published figure: Aurora avoids flapping by not releasing
    /// capacity on the first quiet sample (same sources).
    pub down_delay_secs: u32,
    /// The model's integration step, seconds (the trace step is cut into equal sub-steps
    /// no longer than this). Default 10: well under Aurora's reaction time.
    pub substep_secs: u32,
}

impl Default for AuroraModel {
    fn default() -> Self {
        Self {
            headroom: 1.0,
            base_up_acu_per_min: 2.0,
            up_fraction_per_min: 0.7,
            base_down_acu_per_min: 0.5,
            down_fraction_per_min: 0.1,
            down_delay_secs: 60,
            substep_secs: 10,
        }
    }
}

/// Why a model configuration was refused; names the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("model.{field}: {message}")]
pub struct ModelError {
    pub field: &'static str,
    pub message: String,
}

impl AuroraModel {
    /// Refuses parameters that would make the model meaningless: non-positive rates, a
    /// scale-down faster than scale-up (the one shape every source agrees on).
    pub fn validate(&self) -> Result<(), ModelError> {
        let positive = [
            ("headroom", self.headroom),
            ("base_up_acu_per_min", self.base_up_acu_per_min),
            ("base_down_acu_per_min", self.base_down_acu_per_min),
        ];
        for (field, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                return Err(ModelError {
                    field,
                    message: format!("{value} must be a positive number"),
                });
            }
        }
        let fractions = [
            ("up_fraction_per_min", self.up_fraction_per_min),
            ("down_fraction_per_min", self.down_fraction_per_min),
        ];
        for (field, value) in fractions {
            if !(value.is_finite() && value >= 0.0) {
                return Err(ModelError {
                    field,
                    message: format!("{value} must be a number ≥ 0"),
                });
            }
        }
        if self.base_down_acu_per_min > self.base_up_acu_per_min {
            return Err(ModelError {
                field: "base_down_acu_per_min",
                message: format!(
                    "{} is faster than base_up_acu_per_min {}; Aurora scales down more slowly than up",
                    self.base_down_acu_per_min, self.base_up_acu_per_min
                ),
            });
        }
        if self.down_fraction_per_min > self.up_fraction_per_min {
            return Err(ModelError {
                field: "down_fraction_per_min",
                message: format!(
                    "{} is faster than up_fraction_per_min {}; Aurora scales down more slowly than up",
                    self.down_fraction_per_min, self.up_fraction_per_min
                ),
            });
        }
        if self.substep_secs == 0 {
            return Err(ModelError {
                field: "substep_secs",
                message: "must be at least 1".into(),
            });
        }
        Ok(())
    }

    /// Where capacity is heading for this demand and range.
    pub fn target(&self, demand: f64, range: CapacityRange) -> f64 {
        (demand * self.headroom).clamp(range.min.value(), range.max.value())
    }

    pub fn up_rate_per_min(&self, capacity: f64) -> f64 {
        self.base_up_acu_per_min
            .max(self.up_fraction_per_min * capacity)
    }

    pub fn down_rate_per_min(&self, capacity: f64) -> f64 {
        self.base_down_acu_per_min
            .max(self.down_fraction_per_min * capacity)
    }

    /// A cluster that has been serving `demand` inside `range` for a while.
    pub fn settled(&self, demand: f64, range: CapacityRange) -> ModelState {
        ModelState {
            capacity: self.target(demand, range),
            quiet_secs: 0.0,
        }
    }

    /// Advances `state` by `secs` seconds of `demand` inside `range` (one Euler step: call
    /// it with `secs` ≤ `substep_secs`).
    pub fn advance(&self, state: &mut ModelState, demand: f64, range: CapacityRange, secs: f64) {
        let max = range.max.value();
        state.capacity = state.capacity.min(max);
        let target = self.target(demand, range);
        let minutes = secs / 60.0;
        if target > state.capacity {
            state.quiet_secs = 0.0;
            let rate = self.up_rate_per_min(state.capacity);
            state.capacity = (state.capacity + rate * minutes).min(target);
        } else if target < state.capacity {
            state.quiet_secs += secs;
            let waiting = f64::from(self.down_delay_secs);
            if state.quiet_secs > waiting {
                let moving = (state.quiet_secs - waiting).min(secs) / 60.0;
                let rate = self.down_rate_per_min(state.capacity);
                state.capacity = (state.capacity - rate * moving).max(target);
            }
        } else {
            state.quiet_secs = 0.0;
        }
    }
}

/// The modelled capacity of one instance and how long it has been over-provisioned.
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct ModelState {
    /// ACUs now, as `ServerlessDatabaseCapacity` would report them.
    pub capacity: f64,
    /// Seconds the target has been below capacity (the down-scaling delay's clock).
    pub quiet_secs: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use acu_pilot_core::capacity::Acu;
    use proptest::prelude::*;

    fn range(min: f64, max: f64) -> CapacityRange {
        CapacityRange::from_f64(min, max).unwrap()
    }

    /// Seconds the model takes to move from `from` to within 0.01 ACU of `to`.
    fn seconds_to_reach(model: &AuroraModel, from: f64, to: f64, r: CapacityRange) -> f64 {
        let mut state = ModelState {
            capacity: from,
            quiet_secs: 0.0,
        };
        let dt = f64::from(model.substep_secs);
        let mut t = 0.0;
        while (state.capacity - to).abs() > 0.01 {
            model.advance(&mut state, to, r, dt);
            t += dt;
            assert!(t < 1e6, "never reached {to} from {from}");
        }
        t
    }

    #[test]
    fn defaults_are_valid_and_serialise_back() {
        let model = AuroraModel::default();
        model.validate().unwrap();
        let json = serde_json::to_string(&model).unwrap();
        assert_eq!(serde_json::from_str::<AuroraModel>(&json).unwrap(), model);
        let partial: AuroraModel = serde_json::from_str(r#"{"headroom": 1.2}"#).unwrap();
        assert_eq!(partial.headroom, 1.2);
        assert_eq!(partial.up_fraction_per_min, model.up_fraction_per_min);
        assert!(serde_json::from_str::<AuroraModel>(r#"{"speed": 1}"#).is_err());
    }

    #[test]
    fn validation_names_the_field() {
        let bad = AuroraModel {
            down_fraction_per_min: 2.0,
            ..AuroraModel::default()
        };
        let err = bad.validate().unwrap_err();
        assert_eq!(err.field, "down_fraction_per_min");
        assert!(err.to_string().starts_with("model.down_fraction_per_min"));
        let bad = AuroraModel {
            headroom: f64::NAN,
            ..AuroraModel::default()
        };
        assert_eq!(bad.validate().unwrap_err().field, "headroom");
    }

    #[test]
    fn scale_up_speeds_up_with_current_capacity() {
        let model = AuroraModel::default();
        let r = range(0.5, 128.0);
        // Adding 16 ACU from 16 is faster than adding 16 ACU from 0.5.
        let from_low = seconds_to_reach(&model, 0.5, 16.5, r);
        let from_high = seconds_to_reach(&model, 16.0, 32.0, r);
        assert!(from_high < from_low / 2.0, "{from_high} vs {from_low}");
        // The defaults: 0.5 → 48 ACU in minutes, not seconds and not an hour.
        let ramp = seconds_to_reach(&model, 0.5, 48.0, r);
        assert!((180.0..600.0).contains(&ramp), "{ramp}");
    }

    #[test]
    fn scale_down_waits_for_the_delay_then_steps_down() {
        let model = AuroraModel::default();
        let r = range(0.5, 64.0);
        let mut state = model.settled(48.0, r);
        for _ in 0..6 {
            model.advance(&mut state, 5.0, r, 10.0);
        }
        assert_eq!(state.capacity, 48.0, "nothing released during the delay");
        model.advance(&mut state, 5.0, r, 10.0);
        assert!(state.capacity < 48.0);
    }

    #[test]
    fn a_lowered_max_applies_at_once_and_a_raised_min_is_climbed() {
        let model = AuroraModel::default();
        let mut state = model.settled(30.0, range(0.5, 64.0));
        model.advance(&mut state, 30.0, range(0.5, 16.0), 10.0);
        assert_eq!(state.capacity, 16.0);
        let mut state = model.settled(1.0, range(0.5, 64.0));
        model.advance(&mut state, 1.0, range(24.0, 64.0), 10.0);
        assert!(state.capacity > 1.0 && state.capacity < 24.0);
    }

    fn any_range() -> impl Strategy<Value = CapacityRange> {
        (0u16..=256, 2u16..=256).prop_map(|(a, b)| {
            let (lo, hi) = (a.min(b), a.max(b));
            CapacityRange::new(Acu::from_halves(lo).unwrap(), Acu::from_halves(hi).unwrap())
                .unwrap()
        })
    }

    fn any_model() -> impl Strategy<Value = AuroraModel> {
        (
            0.5f64..2.0,
            0.5f64..8.0,
            0.0f64..2.0,
            0.1f64..0.5,
            0.0f64..0.5,
            0u32..600,
            1u32..=10,
        )
            .prop_map(
                |(headroom, up, up_f, down_share, down_f_share, delay, sub)| AuroraModel {
                    headroom,
                    base_up_acu_per_min: up,
                    up_fraction_per_min: up_f,
                    base_down_acu_per_min: (up * down_share).max(0.01),
                    down_fraction_per_min: up_f * down_f_share,
                    down_delay_secs: delay,
                    substep_secs: sub,
                },
            )
            .prop_filter("valid", |m| m.validate().is_ok())
    }

    proptest! {
        #[test]
        fn capacity_is_never_negative_and_ends_inside_the_range(
            model in any_model(),
            r in any_range(),
            start in 0.0f64..300.0,
            demands in prop::collection::vec(0.0f64..300.0, 1..20),
        ) {
            let mut state = ModelState { capacity: start, quiet_secs: 0.0 };
            let dt = f64::from(model.substep_secs);
            for demand in &demands {
                for _ in 0..30 {
                    model.advance(&mut state, *demand, r, dt);
                    prop_assert!(state.capacity >= 0.0);
                    prop_assert!(state.capacity <= r.max.value().max(0.0) + 1e-9);
                }
            }
            // Converge on the last demand: the model settles at the clamped target.
            let last = *demands.last().unwrap();
            for _ in 0..20_000 {
                model.advance(&mut state, last, r, 60.0);
            }
            prop_assert!(state.capacity >= r.min.value() - 1e-9);
            prop_assert!(state.capacity <= r.max.value() + 1e-9);
            prop_assert!((state.capacity - model.target(last, r)).abs() < 1e-6);
        }

        #[test]
        fn a_valid_model_never_scales_down_faster_than_up(
            model in any_model(),
            capacity in 0.0f64..256.0,
        ) {
            prop_assert!(model.up_rate_per_min(capacity) >= model.down_rate_per_min(capacity));
        }

        #[test]
        fn scaling_up_takes_less_time_than_scaling_down(
            model in any_model(),
            low in 1u16..100,
            extra in 1u16..100,
        ) {
            let low = f64::from(low);
            let high = low + f64::from(extra);
            let r = range(0.5, 256.0);
            let model = AuroraModel { headroom: 1.0, ..model };
            let up = seconds_to_reach(&model, low, high, r);
            let down = seconds_to_reach(&model, high, low, r);
            prop_assert!(up <= down, "up {} s, down {} s", up, down);
        }
    }
}
