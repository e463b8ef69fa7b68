//! What the `make bench` sweeps share: the provisioner's alarms for a benchmark cluster,
//! one measured sweep, and the table's growth line.

use acu_pilot_aws::CallRecorder;
use acu_pilot_aws::cloudwatch::CloudWatchAlarms;
use acu_pilot_core::capacity::Acu;
use acu_pilot_core::ownership::{CREATED_BY, Resource};
use acu_pilot_core::policy::provision;
use acu_pilot_ports::Alarms;

use crate::ownership_key;

/// The high and low alarms the provisioner makes for `cluster` (max 16 ACU), tagged with
/// acu-pilot's proof, as a fleet acu-pilot created has them.
pub async fn put_recipe_alarms(alarms: &CloudWatchAlarms, cluster: &str) {
    let max = Acu::new(16.0).expect("max");
    for (spec, mut tags) in provision::alarm_specs(cluster, max, true) {
        tags.push((
            CREATED_BY.to_owned(),
            ownership_key().proof(Resource::Alarm(&spec.name)),
        ));
        alarms.put(&spec, &tags).await.expect("put alarm");
    }
}

/// One sweep's figures: the calls the recorder saw, writes apart from the sweep's own
/// PutEvents.
pub struct Sweep {
    pub fleet: usize,
    pub seen: usize,
    pub millis: f64,
    pub calls: usize,
    pub writes: usize,
    pub events: usize,
    pub breakdown: String,
}

impl Sweep {
    pub fn measured(fleet: usize, seen: usize, millis: f64, calls: &CallRecorder) -> Self {
        let writes = calls.writes();
        let events = writes.iter().filter(|op| *op == "PutEvents").count();
        Sweep {
            fleet,
            seen,
            millis,
            calls: calls.operations().len(),
            writes: writes.len() - events,
            events,
            breakdown: calls
                .counts()
                .iter()
                .map(|(op, n)| format!("{op}={n}"))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    pub fn calls_per_cluster(&self) -> f64 {
        self.calls as f64 / self.seen as f64
    }
}

/// Each sweep's calls by operation, then how calls and time grew from the first fleet to
/// the last.
pub fn print_breakdown_and_growth(sweeps: &[&Sweep]) {
    println!();
    for s in sweeps {
        println!("calls at {}: {}", s.fleet, s.breakdown);
    }
    let (small, large) = (sweeps[0], sweeps[sweeps.len() - 1]);
    let size = large.seen as f64 / small.seen as f64;
    println!(
        "\n{}x the clusters: {:.2}x the calls, {:.2}x the time (linear = {:.2}x)",
        size,
        large.calls as f64 / small.calls as f64,
        large.millis / small.millis,
        size,
    );
}
