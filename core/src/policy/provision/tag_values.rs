//! The values of the provisioner's own cluster tags.

use super::*;

impl Followup {
    /// `readers=1 pi=7 alarms=default`, plus `tier=<n>` when the readers' tier is not the
    /// default (so tags written before the tier could be chosen read back unchanged).
    pub fn to_tag_value(self) -> String {
        let mut value = format!(
            "readers={} pi={} alarms={}",
            self.readers,
            self.performance_insights_days,
            if self.recipe_alarms {
                "recipe"
            } else {
                "default"
            }
        );
        if self.reader_tier != DEFAULT_READER_TIER {
            value.push_str(&format!(" tier={}", self.reader_tier));
        }
        value
    }

    pub fn parse(value: &str) -> Result<Self> {
        let bad = |message: String| Error::invalid(PROVISIONING, message);
        let mut readers = None;
        let mut pi = None;
        let mut recipe = None;
        let mut reader_tier = Some(DEFAULT_READER_TIER);
        for token in value.split_whitespace() {
            let (key, val) = token
                .split_once('=')
                .ok_or_else(|| bad(format!("{token:?} is not key=value")))?;
            match key {
                "readers" => readers = val.parse::<u32>().ok().filter(|n| *n <= MAX_READERS),
                "pi" => pi = val.parse::<i32>().ok(),
                "tier" => {
                    reader_tier = val
                        .parse::<i32>()
                        .ok()
                        .filter(|t| (0..=MAX_PROMOTION_TIER).contains(t))
                }
                "alarms" => {
                    recipe = match val {
                        "recipe" => Some(true),
                        "default" => Some(false),
                        _ => None,
                    }
                }
                _ => return Err(bad(format!("unknown key {key:?}"))),
            }
        }
        match (readers, pi, recipe, reader_tier) {
            (
                Some(readers),
                Some(performance_insights_days),
                Some(recipe_alarms),
                Some(reader_tier),
            ) => Ok(Followup {
                readers,
                reader_tier,
                performance_insights_days,
                recipe_alarms,
            }),
            _ => Err(bad(format!(
                "{value:?} is not readers=<n> pi=<days> alarms=default|recipe [tier=<0-15>]"
            ))),
        }
    }
}

pub fn decommissioning_tag_value(skip_final_snapshot: bool) -> &'static str {
    if skip_final_snapshot {
        "skip-final-snapshot"
    } else {
        "final-snapshot"
    }
}
