//! The values of the provisioner's own cluster tags.

use super::*;

impl Followup {
    pub fn to_tag_value(self) -> String {
        format!(
            "readers={} pi={} alarms={}",
            self.readers,
            self.performance_insights_days,
            if self.recipe_alarms {
                "recipe"
            } else {
                "default"
            }
        )
    }

    pub fn parse(value: &str) -> Result<Self> {
        let bad = |message: String| Error::invalid(PROVISIONING, message);
        let mut readers = None;
        let mut pi = None;
        let mut recipe = None;
        for token in value.split_whitespace() {
            let (key, val) = token
                .split_once('=')
                .ok_or_else(|| bad(format!("{token:?} is not key=value")))?;
            match key {
                "readers" => readers = val.parse::<u32>().ok().filter(|n| *n <= MAX_READERS),
                "pi" => pi = val.parse::<i32>().ok(),
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
        match (readers, pi, recipe) {
            (Some(readers), Some(performance_insights_days), Some(recipe_alarms)) => Ok(Followup {
                readers,
                performance_insights_days,
                recipe_alarms,
            }),
            _ => Err(bad(format!(
                "{value:?} is not readers=<n> pi=<days> alarms=default|recipe"
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
