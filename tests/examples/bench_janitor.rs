//! `make bench`'s janitor figures: a sweep of an unchanged fleet of 100, then 500,
//! emulated clusters (each with its high and low alarm, as the provisioner makes them),
//! timed, with the API calls counted by the SDK interceptor.
//!
//!     scripts/with-emulator.sh cargo run -p acu-pilot-tests --example bench_janitor
//!
//! A fleet is "unchanged" when every cluster already has its desired range: the sweep must
//! then make zero write calls (PutEvents excepted: one `Janitor Sweep` event per sweep),
//! and its calls per cluster must stay flat as the fleet grows.

use std::time::Instant;

use acu_pilot_app::janitor::{NoDecommission, Scope, sweep};
use acu_pilot_core::config::Config;
use acu_pilot_tests::*;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
use futures::stream::{self, StreamExt};

const FLEETS: [usize; 2] = [100, 500];

async fn add_cluster(cw: &aws_sdk_cloudwatch::Client, n: usize) {
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
    for (role, threshold) in [("high", 12.0), ("low", 1.0)] {
        cw.put_metric_alarm()
            .alarm_name(format!("acu-pilot-{id}-{role}"))
            .namespace("AWS/RDS")
            .metric_name("ServerlessDatabaseCapacity")
            .dimensions(
                Dimension::builder()
                    .name("DBClusterIdentifier")
                    .value(&id)
                    .build(),
            )
            .statistic(Statistic::Average)
            .period(60)
            .evaluation_periods(3)
            .threshold(threshold)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .set_tags(Some(alarm_ownership_tags(&id, role)))
            .send()
            .await
            .expect("put alarm");
    }
}

struct Row {
    fleet: usize,
    seen: usize,
    millis: f64,
    calls: usize,
    writes: usize,
    events: usize,
    breakdown: String,
}

#[tokio::main]
async fn main() {
    // The sweep's metric line is for CloudWatch Logs, not this table.
    acu_pilot_app::emf::set_sink(acu_pilot_app::emf::Sink::Off);
    let config = Config::default();
    let (aws, calls) = recorded_aws(&config).await;
    let cw = cloudwatch().await;
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
        let writes = calls.writes();
        let events = writes.iter().filter(|op| *op == "PutEvents").count();
        rows.push(Row {
            fleet,
            seen: summary.clusters_seen,
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
        });
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
            r.calls as f64 / r.seen as f64,
            r.writes,
            r.events,
        );
    }
    println!();
    for r in &rows {
        println!("calls at {}: {}", r.fleet, r.breakdown);
    }
    let (small, large) = (&rows[0], &rows[1]);
    let size = large.seen as f64 / small.seen as f64;
    println!(
        "\n{}x the clusters: {:.2}x the calls, {:.2}x the time (linear = {:.2}x)",
        size,
        large.calls as f64 / small.calls as f64,
        large.millis / small.millis,
        size,
    );
    let failed = rows.iter().any(|r| r.writes > 0);
    if failed {
        eprintln!("FAIL: a sweep of an unchanged fleet made write calls");
        std::process::exit(1);
    }
}
