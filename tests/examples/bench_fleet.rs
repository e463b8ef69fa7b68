//! `make bench`'s fleet figures: a janitor tick over 5 accounts (the hub and 4 spokes
//! reached through their spoke roles), first with 200 emulated clusters in all, then
//! 1,000, spread evenly, each with its high and low alarm as the provisioner makes them.
//! The tick sweeps its targets itself (no queue), so one invocation's calls are the
//! whole fleet's: the targets list, the hub's identity, one AssumeRole per spoke, and
//! each account's sweep.
//!
//!     scripts/with-emulator.sh cargo run -p acu-pilot-tests --example bench_fleet
//!
//! The fleet is unchanged (every cluster on its desired range): no write call but one
//! `Janitor Sweep` event per account, and at most 0.1 calls per cluster at 1,000 (issue
//! #18; at 200 the per-account and per-tick calls weigh more, and are reported as they are).

use std::time::Instant;

use acu_pilot_app::fleet;
use acu_pilot_app::janitor::JanitorSweep;
use acu_pilot_aws::cloudwatch::CloudWatchAlarms;
use acu_pilot_aws::{Aws, CallRecorder, SdkConfig};
use acu_pilot_core::config::Config;
use acu_pilot_tests::bench::{self, Sweep, print_breakdown_and_growth};
use acu_pilot_tests::*;
use futures::stream::{self, StreamExt};
use serde_json::json;

const ACCOUNTS: [&str; 5] = [
    "700000000000",
    "700000000001",
    "700000000002",
    "700000000003",
    "700000000004",
];
const FLEETS: [usize; 2] = [200, 1000];
const MAX_CALLS_PER_CLUSTER_AT_1000: f64 = 0.1;
const SPOKE_ROLE: &str = "acu-pilot-spoke-janitor";

async fn add_cluster(sdk: &SdkConfig, alarms: &CloudWatchAlarms, n: usize) {
    let id = format!("fleet-bench-{n:04}");
    create_managed_in(sdk, &id, 0.5, 16.0, &[]).await;
    bench::put_recipe_alarms(alarms, &id).await;
}

#[tokio::main]
async fn main() {
    acu_pilot_app::emf::set_sink(acu_pilot_app::emf::Sink::Off);
    let mut sdks = Vec::new();
    for account in ACCOUNTS {
        sdks.push(account_sdk_config(account).await);
    }
    let hub = sdks[0].clone();
    for spoke in &sdks[1..] {
        create_spoke_role(spoke, SPOKE_ROLE, ACCOUNTS[0]).await;
    }
    let parameter = "/acu-pilot-bench/targets";
    aws_sdk_ssm::Client::new(&hub)
        .put_parameter()
        .name(parameter)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .value(ACCOUNTS.join(","))
        .overwrite(true)
        .send()
        .await
        .expect("put the targets");
    let config = Config {
        spoke_role: Some(SPOKE_ROLE.into()),
        targets_parameter: Some(parameter.into()),
        ..Config::default()
    };
    let now = at("2026-11-25T19:00:00Z");
    let mut created = 0;
    let mut rows = Vec::new();
    for fleet_size in FLEETS {
        let started = Instant::now();
        // Cluster n lives in account n % 5: the same share of the fleet in each.
        stream::iter(created..fleet_size)
            .for_each_concurrent(16, |n| {
                let sdk = &sdks[n % ACCOUNTS.len()];
                async move {
                    let alarms = CloudWatchAlarms::new(aws_sdk_cloudwatch::Client::new(sdk));
                    add_cluster(sdk, &alarms, n).await
                }
            })
            .await;
        eprintln!(
            "created clusters {created}..{fleet_size} in {:.1}s",
            started.elapsed().as_secs_f64()
        );
        created = fleet_size;

        // A fresh process each time, as a Lambda's first tick: the identity and the
        // spoke sessions are asked anew. One tick settles the set-up, then the measured one.
        let tick = || async {
            let recorder = CallRecorder::default();
            let mut aws = Aws::recorded(hub.clone(), &config, &recorder);
            aws.set_ownership_key(Some(ownership_key()));
            let started = Instant::now();
            let out = fleet::handle(json!({}), now, &aws, &config, &JanitorSweep)
                .await
                .expect("tick");
            (out, recorder, started.elapsed().as_secs_f64() * 1000.0)
        };
        tick().await;
        let (out, calls, millis) = tick().await;
        assert_eq!(out["failed"], 0, "{out:#}");
        let seen = out["outcomes"]
            .as_array()
            .expect("outcomes")
            .iter()
            .map(|o| o["result"]["clusters_seen"].as_u64().unwrap_or(0) as usize)
            .sum();
        let swept = out["swept"].as_u64().unwrap_or(0);
        rows.push((swept, Sweep::measured(fleet_size, seen, millis, &calls)));
    }

    println!();
    println!(
        "| clusters | accounts swept | clusters seen | tick ms | ms/cluster | API calls | calls/cluster | write calls | PutEvents |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (swept, r) in &rows {
        println!(
            "| {} | {} | {} | {:.0} | {:.2} | {} | {:.3} | {} | {} |",
            r.fleet,
            swept,
            r.seen,
            r.millis,
            r.millis / r.seen as f64,
            r.calls,
            r.calls_per_cluster(),
            r.writes,
            r.events,
        );
    }
    let sweeps: Vec<&Sweep> = rows.iter().map(|(_, sweep)| sweep).collect();
    print_breakdown_and_growth(&sweeps);
    let large = sweeps[sweeps.len() - 1];
    let mut failed = false;
    if sweeps.iter().any(|r| r.writes > 0) {
        eprintln!("FAIL: a tick over an unchanged fleet made write calls");
        failed = true;
    }
    if large.calls_per_cluster() > MAX_CALLS_PER_CLUSTER_AT_1000 {
        eprintln!(
            "FAIL: {} calls for {} clusters, more than {MAX_CALLS_PER_CLUSTER_AT_1000} per cluster",
            large.calls, large.seen
        );
        failed = true;
    }
    if failed {
        std::process::exit(1);
    }
}
