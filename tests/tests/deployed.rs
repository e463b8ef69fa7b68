//! The application as a whole, through the deployed path: template.yaml deployed into the
//! emulator's CloudFormation, the four function binaries run by its Lambda service, and
//! one cluster taken through provisioning, an alarm, a calendar window, a janitor sweep,
//! a new build of one function deployed the way `make deploy-fn` does it, and
//! decommissioning, with its range checked at each step.
//!
//! The steps share one cluster, so they run in one test. A step that fails is recorded
//! (naming the function that misbehaved) and the later steps still run, each judged
//! against the range as the previous step left it; the test fails at the end with every
//! failure listed.

use std::time::{Duration, Instant};

use acu_pilot_tests::deploy::{
    Deployed, build_bootstrap, deploy, deploy_fn, invoke, lambda, snapshot,
};
use acu_pilot_tests::*;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
use chrono::{SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

/// How long the Provision Cluster event may take to become a cluster (rule delivery,
/// cold start, the provisioner's first step).
const PROVISION_WAIT: Duration = Duration::from_secs(60);
/// How long a step that answers `in_progress` is re-invoked for: time, not a count, since
/// an emulator shared with a busy test run answers each invoke more slowly.
const RESUME_WAIT: Duration = Duration::from_secs(120);

/// The recipe's boost step from the template's defaults: 16 × 1.5.
const BOOSTED_MAX: f64 = 24.0;
/// The calendar window's min in step (c).
const WINDOW_MIN: f64 = 4.0;

#[derive(Default)]
struct Report {
    failures: Vec<String>,
}

impl Report {
    fn fail(&mut self, message: impl Into<String>) {
        let message = message.into();
        eprintln!("FAILED: {message}");
        self.failures.push(message);
    }

    fn check(&mut self, ok: bool, message: impl FnOnce() -> String) {
        if !ok {
            self.fail(message());
        }
    }

    fn finish(self, started: Instant) {
        eprintln!(
            "end-to-end run took {:.1} s",
            started.elapsed().as_secs_f64()
        );
        assert!(
            self.failures.is_empty(),
            "{} step(s) of the deployed application misbehaved:\n  - {}",
            self.failures.len(),
            self.failures.join("\n  - ")
        );
    }
}

#[tokio::test]
async fn the_deployed_application_manages_a_cluster_end_to_end() {
    let started = Instant::now();
    let stack = unique_id("acu-pilot-e2e");
    let deployed = deploy(&stack, &[]);
    eprintln!(
        "deployed {stack} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let lambda = lambda().await;
    let id = unique_id("e2e-shop");
    let mut report = Report::default();

    let request = json!({
        "cluster_id": id,
        "db_subnet_group": deployed.subnet_group,
        "security_group_ids": [deployed.security_group],
        "min_acu": 0.5,
        "max_acu": 16,
        "backup_retention_days": 1,
        "deletion_protection": false,
        "recipe_alarms": true,
    });

    provision(&deployed, &lambda, &id, &request, &mut report).await;
    alarm(&deployed, &lambda, &id, &mut report).await;
    prescale(&deployed, &lambda, &id, &mut report).await;
    janitor(&deployed, &lambda, &id, &mut report).await;
    deploy_one_function(&deployed, &lambda, &id, &mut report).await;
    decommission(&deployed, &lambda, &id, &mut report).await;

    report.finish(started);
}

async fn cluster_exists(id: &str) -> bool {
    rds()
        .await
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send()
        .await
        .is_ok_and(|out| !out.db_clusters().is_empty())
}

/// Invokes `function` until it answers something other than `status: in_progress` (a
/// throttled or failed call is retried too, within the same budget).
async fn invoke_until_done(
    lambda: &aws_sdk_lambda::Client,
    deployed: &Deployed,
    function: &str,
    event: &Value,
) -> Result<Value, String> {
    let mut last = String::new();
    let started = Instant::now();
    let mut invokes = 0;
    while started.elapsed() < RESUME_WAIT {
        invokes += 1;
        match invoke(lambda, deployed.function(function), event).await {
            Ok(invoked) => match invoked.result(function) {
                Ok(result) if result["status"] == "in_progress" => {
                    last = format!("{function} still in_progress: {result}");
                }
                Ok(result) => return Ok(result.clone()),
                Err(err) => return Err(err),
            },
            Err(err) => last = err,
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(format!(
        "{last} (after {invokes} invokes in {:.0} s)",
        started.elapsed().as_secs_f64()
    ))
}

/// (a) A `Provision Cluster` event on the stack's request bus → ProvisionRequestRule →
/// provisioner. (The emulator does not enforce the bus's resource policy; who may send is
/// reasoned about in docs/security.md.)
async fn provision(
    deployed: &Deployed,
    lambda: &aws_sdk_lambda::Client,
    id: &str,
    request: &Value,
    report: &mut Report,
) {
    let step = Instant::now();
    let events = aws_sdk_eventbridge::Client::new(&sdk_config().await);
    let put = events
        .put_events()
        .entries(
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .source("acu-pilot")
                .detail_type("Provision Cluster")
                .detail(request.to_string())
                .event_bus_name(deployed.output("RequestBusArn"))
                .build(),
        )
        .send()
        .await
        .expect("PutEvents to the emulator");
    assert_eq!(put.failed_entry_count(), 0, "PutEvents refused the request");

    let mut created = false;
    while step.elapsed() < PROVISION_WAIT {
        if cluster_exists(id).await {
            created = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!(
        "(a) provision: cluster {} after {:.1} s",
        if created { "created" } else { "NOT created" },
        step.elapsed().as_secs_f64()
    );
    report.check(created, || {
        format!(
            "provisioner: the Provision Cluster event (PutEvents → ProvisionRequestRule) did not \
             create {id} within {} s",
            PROVISION_WAIT.as_secs()
        )
    });

    // The rest of provisioning (instances, alarms) may wait on AWS and answer in_progress;
    // a retry resumes it (the RDS lifecycle events that resume it in AWS are not emitted
    // by the emulator). The same request again must also be harmless.
    let mut direct = request.clone();
    direct["action"] = json!("provision");
    match invoke_until_done(lambda, deployed, "provisioner", &direct).await {
        Ok(result) => eprintln!("(a) provisioner (direct invoke): {result}"),
        Err(err) => report.fail(format!(
            "provisioner (direct invoke, action provision): {err}"
        )),
    }

    if !cluster_exists(id).await {
        report.fail(format!(
            "provisioner: no cluster {id} after the event and a direct invoke; the later steps \
             use a cluster the test creates itself"
        ));
        create_cluster(
            id,
            0.5,
            16.0,
            &[
                ("acu-pilot:managed", "true"),
                ("acu-pilot:baseline", "min=0.5 max=16"),
            ],
        )
        .await;
    } else {
        let tags = cluster_tags(id).await;
        report.check(
            tags.get("acu-pilot:managed").map(String::as_str) == Some("true"),
            || format!("provisioner: {id} is not tagged acu-pilot:managed=true: {tags:?}"),
        );
        let range = live_range(id).await;
        report.check(range == (0.5, 16.0), || {
            format!("provisioner: {id} has range {range:?}, requested 0.5–16")
        });
        let alarms = alarm_names(id).await;
        for name in [high_alarm(id), format!("Aurora-{id}-Low-ACU")] {
            report.check(alarms.contains(&name), || {
                format!(
                    "provisioner: recipe_alarms is set but alarm {name} is missing ({alarms:?})"
                )
            });
        }
    }
    eprintln!("(a) done in {:.1} s", step.elapsed().as_secs_f64());
}

fn high_alarm(id: &str) -> String {
    format!("Aurora-{id}-High-ACU")
}

async fn alarm_names(id: &str) -> Vec<String> {
    cloudwatch()
        .await
        .describe_alarms()
        .alarm_name_prefix(format!("Aurora-{id}-"))
        .send()
        .await
        .map(|out| {
            out.metric_alarms()
                .iter()
                .filter_map(|a| a.alarm_name().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn alarm_threshold(name: &str) -> Option<f64> {
    cloudwatch()
        .await
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .ok()?
        .metric_alarms()
        .first()?
        .threshold()
}

/// The recipe's high alarm as the provisioner creates it, for when it did not.
async fn ensure_high_alarm(id: &str) {
    let name = high_alarm(id);
    if alarm_threshold(&name).await.is_some() {
        return;
    }
    cloudwatch()
        .await
        .put_metric_alarm()
        .alarm_name(&name)
        .namespace("AWS/RDS")
        .metric_name("ServerlessDatabaseCapacity")
        .dimensions(
            Dimension::builder()
                .name("DBClusterIdentifier")
                .value(id)
                .build(),
        )
        .statistic(Statistic::Average)
        .period(300)
        .evaluation_periods(2)
        .datapoints_to_alarm(2)
        .threshold(12.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .set_tags(Some(alarm_ownership_tags(id, "high")))
        .send()
        .await
        .expect("PutMetricAlarm (the recipe's high alarm)");
}

/// A fixture made about this cluster, in this account, happening now: one transition,
/// delivered in three shapes (they share the state timestamp, so they are duplicates).
fn alarm_event(fixture: &str, id: &str) -> Value {
    let path = format!("{}/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let now = Utc::now();
    let stamp = |t: chrono::DateTime<Utc>| {
        t.to_rfc3339_opts(SecondsFormat::Secs, true)
            .trim_end_matches('Z')
            .to_owned()
    };
    let text = text
        .replace("shop-db", id)
        .replace("123456789012", "000000000000")
        .replace("2026-11-25T18:00:40", &stamp(now))
        .replace("2026-11-25T17:50:40", &stamp(now - TimeDelta::minutes(10)));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// (b) The same high ALARM transition in each shape it reaches Lambda in: the first
/// widens max, the duplicates change nothing.
async fn alarm(
    deployed: &Deployed,
    lambda: &aws_sdk_lambda::Client,
    id: &str,
    report: &mut Report,
) {
    let step = Instant::now();
    ensure_high_alarm(id).await;
    let threshold_before = alarm_threshold(&high_alarm(id)).await;
    let before = live_range(id).await;
    let boosted = (before.0, BOOSTED_MAX);
    let fixtures = [
        "alarm-eventbridge-high-alarm.json",
        "alarm-lambda-action-high-alarm.json",
        "alarm-sns-high-alarm.json",
    ];
    for (i, fixture) in fixtures.into_iter().enumerate() {
        let event = alarm_event(fixture, id);
        match invoke(lambda, deployed.function("alarm-handler"), &event).await {
            Err(err) => report.fail(format!("alarm-handler ({fixture}): {err}")),
            Ok(invoked) => match invoked.result("alarm-handler") {
                Err(err) => report.fail(format!("{err} (event {fixture})")),
                Ok(result) => {
                    eprintln!("(b) alarm-handler ({fixture}): {result}");
                    report.check(result["build"]["id"] == acu_pilot_lambda::BUILD_ID, || {
                        format!(
                            "alarm-handler ({fixture}): answered as build {}, expected this \
                             build's {}",
                            result["build"],
                            acu_pilot_lambda::BUILD_ID
                        )
                    });
                    let first = i == 0;
                    report.check(result["changed"] == json!(first), || {
                        format!(
                            "alarm-handler ({fixture}): changed should be {first} (the {} \
                             delivery of one transition), got {result}",
                            if first { "first" } else { "duplicate" }
                        )
                    });
                }
            },
        }
        let range = live_range(id).await;
        report.check(range == boosted, || {
            format!(
                "alarm-handler ({fixture}): range {range:?} after delivery {} of one high ALARM \
                 on {before:?}; expected {boosted:?} (one boost step, then nothing)",
                i + 1
            )
        });
    }
    // The recipe's absolute threshold (> 12 at max 16) moves in the same ratio as max,
    // or the alarm could never fire again.
    let after = live_range(id).await;
    if let Some(original) = threshold_before.filter(|_| after.1 != before.1) {
        let expected = original * after.1 / before.1;
        let threshold = alarm_threshold(&high_alarm(id)).await;
        report.check(threshold == Some(expected), || {
            format!(
                "alarm-handler: the high alarm's threshold is {threshold:?} after max went \
                 {} → {}; expected {original} × {}/{} = {expected}",
                before.1, after.1, after.1, before.1
            )
        });
    }
    eprintln!("(b) done in {:.1} s", step.elapsed().as_secs_f64());
}

/// The payload the template's schedules send.
fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": "e2e-scheduled-event",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "000000000000",
        "time": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        "region": "us-east-1",
        "resources": ["arn:aws:scheduler:us-east-1:000000000000:schedule/default/e2e"],
        "detail": {}
    })
}

/// (c) A calendar window active now, put in the stack's SSM parameter: the pre-scaler's
/// tick raises min.
async fn prescale(
    deployed: &Deployed,
    lambda: &aws_sdk_lambda::Client,
    id: &str,
    report: &mut Report,
) {
    let step = Instant::now();
    let now = Utc::now();
    let local = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M").to_string();
    let calendar = format!(
        "timezone: UTC\nevents:\n  - name: e2e-sale\n    start: {}\n    end: {}\n    \
         clusters: [{id}]\n    min: {WINDOW_MIN}\n",
        local(now - TimeDelta::minutes(10)),
        local(now + TimeDelta::hours(2)),
    );
    put_calendar_parameter(deployed.output("CalendarParameterName"), &calendar).await;

    let before = live_range(id).await;
    let expected = (WINDOW_MIN, before.1);
    match invoke(lambda, deployed.function("pre-scaler"), &scheduled_event()).await {
        Err(err) => report.fail(format!("pre-scaler: {err}")),
        Ok(invoked) => match invoked.result("pre-scaler") {
            Err(err) => report.fail(err),
            Ok(result) => eprintln!("(c) pre-scaler: {result}"),
        },
    }
    let range = live_range(id).await;
    report.check(range == expected, || {
        format!(
            "pre-scaler: range {range:?} with a calendar window (min {WINDOW_MIN}) active now on \
             {before:?}; expected {expected:?}"
        )
    });
    eprintln!("(c) done in {:.1} s", step.elapsed().as_secs_f64());
}

/// Every JSON object in `value` that names `id` as its `cluster`.
fn entries_for<'a>(value: &'a Value, id: &str, found: &mut Vec<&'a Value>) {
    match value {
        Value::Object(fields) => {
            if fields.get("cluster").and_then(Value::as_str) == Some(id) {
                found.push(value);
            }
            fields.values().for_each(|v| entries_for(v, id, found));
        }
        Value::Array(items) => items.iter().for_each(|v| entries_for(v, id, found)),
        _ => {}
    }
}

/// (d) A janitor sweep: the cluster is on its desired range with live layers, so it is
/// in sync and left alone.
async fn janitor(
    deployed: &Deployed,
    lambda: &aws_sdk_lambda::Client,
    id: &str,
    report: &mut Report,
) {
    let step = Instant::now();
    let before = live_range(id).await;
    match invoke(lambda, deployed.function("janitor"), &scheduled_event()).await {
        Err(err) => report.fail(format!("janitor: {err}")),
        Ok(invoked) => {
            match invoked.result("janitor") {
                Err(err) => report.fail(err),
                Ok(summary) => {
                    eprintln!("(d) janitor: {summary}");
                    report.check(summary.is_object(), || {
                        format!("janitor: the summary is not a JSON object: {summary}")
                    });
                    let mut entries = Vec::new();
                    entries_for(summary, id, &mut entries);
                    for entry in entries {
                        let verdict = &entry["verdict"];
                        report.check(verdict.is_null() || verdict == "in_sync", || {
                        format!("janitor: {id} is on its desired range, but the summary says {entry}")
                    });
                        report.check(entry.get("code").is_none(), || {
                            format!("janitor: failed on {id}: {entry}")
                        });
                    }
                }
            }
        }
    }
    let range = live_range(id).await;
    report.check(range == before, || {
        format!("janitor: changed {id} from {before:?} to {range:?}; it was in sync")
    });
    eprintln!("(d) done in {:.1} s", step.elapsed().as_secs_f64());
}

/// (e) `make deploy-fn`'s path into the deployed stack: a freshly built alarm-handler,
/// with a build id of its own, goes to the stack's function through `cargo lambda deploy
/// --endpoint-url` (name and role from the stack's outputs). The new build answers the
/// duplicate of (b)'s transition, and nothing but the code changed: configuration
/// (memory, timeout, environment, role, tags, concurrency, destinations), rules and
/// schedules are as the stack made them.
async fn deploy_one_function(
    deployed: &Deployed,
    lambda: &aws_sdk_lambda::Client,
    id: &str,
    report: &mut Report,
) {
    let step = Instant::now();
    let before = snapshot(&deployed.stack);
    let build_id = unique_id("e2e-build");
    let bootstrap = build_bootstrap("alarm-handler", &build_id);
    eprintln!(
        "(e) built alarm-handler as {build_id} in {:.1} s",
        step.elapsed().as_secs_f64()
    );
    if let Err(err) = deploy_fn("alarm-handler", &deployed.stack, &bootstrap) {
        report.fail(format!("alarm-handler (deploy-fn): {err}"));
        return;
    }
    let range = live_range(id).await;
    let event = alarm_event("alarm-eventbridge-high-alarm.json", id);
    match invoke(lambda, deployed.function("alarm-handler"), &event).await {
        Err(err) => report.fail(format!("alarm-handler (after deploy-fn): {err}")),
        Ok(invoked) => match invoked.result("alarm-handler") {
            Err(err) => report.fail(format!("{err} (after deploy-fn)")),
            Ok(result) => {
                eprintln!("(e) alarm-handler (new build): {result}");
                report.check(result["build"]["id"] == build_id.as_str(), || {
                    format!(
                        "alarm-handler: after deploy-fn of build {build_id}, build {} answered",
                        result["build"]
                    )
                });
                report.check(result["changed"] == json!(false), || {
                    format!("alarm-handler (new build): a duplicate alarm changed {id}: {result}")
                });
            }
        },
    }
    let after_range = live_range(id).await;
    report.check(after_range == range, || {
        format!("alarm-handler (new build): {id} went from {range:?} to {after_range:?}")
    });
    let after = snapshot(&deployed.stack);
    let keys = before
        .as_object()
        .into_iter()
        .chain(after.as_object())
        .flat_map(|o| o.keys())
        .collect::<std::collections::BTreeSet<_>>();
    for key in keys {
        report.check(before.get(key) == after.get(key), || {
            format!(
                "deploy-fn of alarm-handler changed {key} beyond its code:\n    before: {}\n    after:  {}",
                before.get(key).unwrap_or(&Value::Null),
                after.get(key).unwrap_or(&Value::Null)
            )
        });
    }
    report.check(before.get("AlarmHandler").is_some(), || {
        format!("the stack snapshot has no AlarmHandler: {before}")
    });
    eprintln!("(e) done in {:.1} s", step.elapsed().as_secs_f64());
}

/// (f) Decommission, the recipe's clean-up: the cluster and its alarms go.
async fn decommission(
    deployed: &Deployed,
    lambda: &aws_sdk_lambda::Client,
    id: &str,
    report: &mut Report,
) {
    let step = Instant::now();
    let request = json!({"action": "decommission", "cluster_id": id});
    match invoke_until_done(lambda, deployed, "provisioner", &request).await {
        Ok(result) => eprintln!("(f) provisioner (decommission): {result}"),
        Err(err) => {
            report.fail(format!("provisioner (decommission): {err}"));
            return;
        }
    }
    let mut gone = false;
    for _ in 0..20 {
        if !cluster_exists(id).await {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    report.check(gone, || {
        format!("provisioner (decommission): {id} still exists")
    });
    let alarms = alarm_names(id).await;
    report.check(alarms.is_empty(), || {
        format!("provisioner (decommission): alarms left behind: {alarms:?}")
    });
    eprintln!("(f) done in {:.1} s", step.elapsed().as_secs_f64());
}
