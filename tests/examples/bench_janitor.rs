//! `make bench`'s janitor figures: a sweep of an unchanged fleet of 200, then 1,000,
//! emulated clusters (each with its high and low alarm, as the provisioner makes them:
//! on the writer's series, tagged with their cluster, role and proof), timed, with the API
//! calls counted by the SDK interceptor.
//!
//!     scripts/with-emulator.sh cargo run -p acu-pilot-tests --example bench_janitor
//!
//! A fleet is "unchanged" when every cluster already has its desired range: the sweep must
//! then make zero write calls (PutEvents excepted: one `Janitor Sweep` event per sweep),
//! and its calls per cluster must stay at most 0.1 (issue #18): the alarms' tags are read
//! only for alarms the sweep would act on, and none of these is one.

use std::time::Instant;

use acu_pilot_app::janitor::{NoDecommission, Scope, sweep};
use acu_pilot_aws::cloudwatch::CloudWatchAlarms;
use acu_pilot_core::config::Config;
use acu_pilot_tests::bench::{self, Sweep, print_breakdown_and_growth};
use acu_pilot_tests::*;
use futures::stream::{self, StreamExt};

const FLEETS: [usize; 2] = [200, 1000];
/// Issue #18: an unchanged fleet costs at most this many calls per cluster and sweep.
const MAX_CALLS_PER_CLUSTER: f64 = 0.1;

async fn add_cluster(alarms: &CloudWatchAlarms, n: usize) {
    let id = format!("bench-{n:04}");
    create_cluster(
        &id,
        0.5,
        16.0,
        &[
            ("acu-pilot:managed", "true"),
            ("acu-pilot:baseline", "min=0.5 max=16"),
        ],
    )
    .await;
    bench::put_recipe_alarms(alarms, &id).await;
}

#[tokio::main]
async fn main() {
    // The sweep's metric line is for CloudWatch Logs, not this table.
    acu_pilot_app::emf::set_sink(acu_pilot_app::emf::Sink::Off);
    let config = Config::default();
    let (aws, calls) = recorded_aws(&config).await;
    let cw = CloudWatchAlarms::new(cloudwatch().await);
    let now = at("2026-11-25T19:00:00Z");
    let everything = Scope::default();
    let mut created = 0;
    let mut rows = Vec::new();
    for fleet in FLEETS {
        let started = Instant::now();
        stream::iter(created..fleet)
            .for_each_concurrent(16, |n| add_cluster(&cw, n))
            .await;
        eprintln!(
            "created clusters {created}..{fleet} in {:.1}s",
            started.elapsed().as_secs_f64()
        );
        created = fleet;

        // One sweep to settle anything the set-up left (there should be nothing), then
        // the measured one.
        let run = || {
            sweep(
                &aws.clusters,
                &aws.alarms,
                &aws.notifier,
                &NoDecommission,
                &config,
                &everything,
                now,
            )
        };
        run().await.expect("warm-up sweep");
        calls.clear();
        let started = Instant::now();
        let summary = run().await.expect("sweep");
        let millis = started.elapsed().as_secs_f64() * 1000.0;
        rows.push(Sweep::measured(
            fleet,
            summary.clusters_seen,
            millis,
            &calls,
        ));
        assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    }

    println!();
    println!(
        "| fleet | clusters seen | sweep ms | ms/cluster | API calls | calls/cluster | write calls | PutEvents |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {:.0} | {:.2} | {} | {:.2} | {} | {} |",
            r.fleet,
            r.seen,
            r.millis,
            r.millis / r.seen as f64,
            r.calls,
            r.calls_per_cluster(),
            r.writes,
            r.events,
        );
    }
    print_breakdown_and_growth(&rows.iter().collect::<Vec<_>>());
    let mut failed = false;
    if rows.iter().any(|r| r.writes > 0) {
        eprintln!("FAIL: a sweep of an unchanged fleet made write calls");
        failed = true;
    }
    if let Some(r) = rows
        .iter()
        .find(|r| r.calls_per_cluster() > MAX_CALLS_PER_CLUSTER)
    {
        eprintln!(
            "FAIL: {} calls for {} clusters, more than {MAX_CALLS_PER_CLUSTER} per cluster",
            r.calls, r.seen
        );
        failed = true;
    }
    if failed {
        std::process::exit(1);
    }
}
