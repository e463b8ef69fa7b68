//! `make bench`: the alarm-handler's API economy, counted on the wire against the emulator.
//!
//!   scripts/with-emulator.sh cargo run -p acu-pilot-tests --example bench_alarm
//!
//! Sets up a managed cluster with the recipe's alarms, sends one high ALARM event, then the
//! same event again, and prints the AWS calls each cost, per operation. Exits non-zero if
//! the budget is exceeded: at most one DescribeDBClusters, DescribeAlarms, ModifyDBCluster,
//! tag write and PutEvents per event (plus the absolute threshold's ListTagsForResource,
//! TagResource and PutMetricAlarm), and no write at all for the duplicate.

use std::collections::BTreeMap;
use std::process::ExitCode;

use acu_pilot_aws::recorder::is_write;
use acu_pilot_core::config::Config;
use acu_pilot_lambda::{Deps, Function, handle};
use acu_pilot_tests::*;

fn line(label: &str, counts: &BTreeMap<String, usize>) -> String {
    let ops: Vec<String> = counts.iter().map(|(op, n)| format!("{op}={n}")).collect();
    let writes: usize = counts
        .iter()
        .filter(|(op, _)| is_write(op))
        .map(|(_, n)| n)
        .sum();
    format!("{label}: {} writes={writes}", ops.join(" "))
}

#[tokio::main]
async fn main() -> ExitCode {
    // stdout carries only the counts.
    acu_pilot_app::emf::set_sink(acu_pilot_app::emf::Sink::Off);
    let id = unique_id("bench-alarm");
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
    recipe_alarms(&id).await;

    let config = Config::default();
    let (aws, calls) = recorded_aws(&config).await;
    let deps = Deps { config, aws };
    let event = fixture("alarm-eventbridge-high-alarm.json", &id);
    let now = at("2026-11-25T18:01:00Z");

    let mut ok = true;
    for label in ["alarm-event", "duplicate"] {
        calls.clear();
        match handle(Function::AlarmHandler, event.clone(), now, &deps).await {
            Ok(out) => eprintln!(
                "{label}: decision={} {} → {}",
                out["decision"], out["before"], out["after"]
            ),
            Err(err) => {
                eprintln!("{label}: handler failed: {err}");
                return ExitCode::FAILURE;
            }
        }
        let counts = calls.counts();
        println!("{}", line(label, &counts));
        let at_most_one = [
            "DescribeDBClusters",
            "DescribeAlarms",
            "ModifyDBCluster",
            "AddTagsToResource",
            "PutEvents",
            "ListTagsForResource",
            "TagResource",
            "PutMetricAlarm",
        ];
        for (op, n) in &counts {
            if !at_most_one.contains(&op.as_str()) || *n > 1 {
                eprintln!("{label}: over budget: {op}={n}");
                ok = false;
            }
        }
        if label == "duplicate" && counts.keys().any(|op| is_write(op)) {
            eprintln!("duplicate: a duplicate must write nothing");
            ok = false;
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
