//! Issue #13 case 5: the alarm-handler, the pre-scaler and the janitor against one cluster
//! at once, in an order and with delays drawn from a seed. Shared by the test (a few dozen
//! seeds) and `make bench` (hundreds).

use std::time::Duration;

use acu_pilot_app::janitor::{NoDecommission, Scope, sweep};
use acu_pilot_app::reconcile::plan;
use acu_pilot_core::config::Config;
use acu_pilot_lambda::{Deps, Function, handle};
use acu_pilot_ports::Clusters;

use crate::{
    at, create_cluster, fixture, fixture_path, rds, recipe_alarms, recorded_aws, unique_id,
};

/// "Now" for every function: the fixture's high alarm fired a minute ago, the calendar's
/// window is open, and the economy layer seeded below has expired.
pub const NOW: &str = "2026-11-25T18:01:00Z";

/// A small deterministic generator (splitmix64): a failing seed replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What one run ended with.
#[derive(Debug)]
pub struct Outcome {
    pub seed: u64,
    /// The order the functions were started in, with their delays (ms).
    pub schedule: Vec<(&'static str, u64)>,
    /// Layers a function reported writing, still live, missing from the cluster.
    pub lost: Vec<String>,
    /// The live range when it differs from `desired()` of the final tags.
    pub diverged: Option<String>,
    /// Errors the functions returned.
    pub errors: Vec<String>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.lost.is_empty() && self.diverged.is_none() && self.errors.is_empty()
    }
}

/// One run: a fresh cluster on its baseline with an expired economy layer, then the
/// three functions concurrently, then one read of the tags and the range.
pub async fn run(seed: u64) -> Outcome {
    let mut rng = Rng(seed);
    let id = unique_id("race");
    create_cluster(
        &id,
        0.5,
        16.0,
        &[
            ("acu-pilot:managed", "true"),
            ("acu-pilot:baseline", "min=0.5 max=16"),
            (
                "acu-pilot:economy",
                "until=2026-11-25T17:00:00Z by=alarm:old",
            ),
        ],
    )
    .await;
    recipe_alarms(&id).await;
    let calendar = std::env::temp_dir().join(format!("acu-pilot-race-{id}.yaml"));
    std::fs::write(
        &calendar,
        format!(
            "events:\n  - name: sale\n    start: 2026-11-25T17:00\n    duration: 4h\n    clusters: [{id}]\n    min: 8\n    max: 32\n"
        ),
    )
    .expect("write the calendar");
    let mut config = Config::default();
    config.prescale.calendar_file = Some(calendar.display().to_string());
    config.prescale.forecast_enabled = false;

    let (aws, _) = recorded_aws(&config).await;
    let deps = std::sync::Arc::new(Deps {
        config: config.clone(),
        aws,
    });
    let scheduled: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_path("scheduled-event.json")).expect("fixture"),
    )
    .expect("fixture is JSON");
    let alarm = fixture("alarm-eventbridge-high-alarm.json", &id);

    // Each function once, some twice, in a drawn order with drawn delays.
    let mut schedule: Vec<(&'static str, u64)> = Vec::new();
    for name in ["alarm-handler", "pre-scaler", "janitor"] {
        for _ in 0..1 + usize::from(rng.below(3) == 0) {
            let delay = rng.below(25);
            schedule.push((name, delay));
        }
    }
    for i in (1..schedule.len()).rev() {
        schedule.swap(i, rng.below(i as u64 + 1) as usize);
    }

    // Tasks on one LocalSet: they interleave at every AWS call (the services' futures are
    // not Send, which spawning on the multi-threaded pool would need).
    let local = tokio::task::LocalSet::new();
    let mut tasks = Vec::new();
    for (name, delay) in schedule.clone() {
        let deps = deps.clone();
        let id = id.clone();
        let event = if name == "alarm-handler" {
            alarm.clone()
        } else {
            scheduled.clone()
        };
        tasks.push(local.spawn_local(async move {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let now = at(NOW);
            let result = match name {
                "janitor" => sweep(
                    &deps.aws.clusters,
                    &deps.aws.alarms,
                    &deps.aws.notifier,
                    &NoDecommission,
                    &deps.config,
                    &Scope {
                        clusters: Some([id].into_iter().collect()),
                    },
                    now,
                )
                .await
                .map(|summary| serde_json::to_value(summary).unwrap_or_default()),
                "pre-scaler" => handle(Function::PreScaler, event, now, &deps).await,
                _ => handle(Function::AlarmHandler, event, now, &deps).await,
            };
            (name, result)
        }));
    }
    local.await;
    let mut errors = Vec::new();
    let mut boosted = false;
    for task in tasks {
        match task.await {
            Ok((name, Ok(out))) => {
                if name == "alarm-handler" && out["decision"] == "boost" {
                    boosted = true;
                }
            }
            Ok((name, Err(err))) => errors.push(format!("{name}: {err}")),
            Err(join) => errors.push(format!("task: {join}")),
        }
    }

    // One more read, no reconcile: the range must already be what the tags say.
    let cluster = deps.aws.clusters.describe(&id).await.expect("describe");
    let mut lost = Vec::new();
    if boosted && !cluster.tags.contains_key("acu-pilot:boost") {
        lost.push("acu-pilot:boost (the alarm-handler reported boost)".to_owned());
    }
    if !cluster.tags.contains_key("acu-pilot:prescale") {
        lost.push("acu-pilot:prescale (the calendar window is open)".to_owned());
    }
    let diverged = match plan(&config, &cluster, at(NOW)) {
        Ok(p) if p.changed => Some(format!("live {} but the tags say {}", p.before, p.after)),
        Ok(_) => None,
        Err(err) => Some(format!("cannot plan: {err}")),
    };

    // Out of later ticks' way: the next runs' pre-scaler lists only its own cluster.
    let arn = cluster.arn.clone();
    let _ = rds()
        .await
        .remove_tags_from_resource()
        .resource_name(arn)
        .tag_keys("acu-pilot:managed")
        .send()
        .await;
    let _ = std::fs::remove_file(&calendar);

    Outcome {
        seed,
        schedule,
        lost,
        diverged,
        errors,
    }
}
