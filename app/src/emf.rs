//! CloudWatch Embedded Metric Format: metrics written as one JSON log line, which
//! CloudWatch Logs turns into metrics with no API call, no extra permission and no
//! latency on the request path. The dashboard in template.yaml reads them.
//!
//! Lambda's JSON log format treats a line without a `level` as INFO, so a function
//! whose log level is above INFO would drop these lines; the template therefore only
//! offers TRACE, DEBUG and INFO.

use serde_json::{Map, Value, json};

use acu_pilot_core::capacity::CapacityRange;

/// Namespace of every acu-pilot metric.
pub const NAMESPACE: &str = "acu-pilot";

/// Decision counts of one invocation (`Changes`, `Drift`, `Errors`, `CeilingReached`),
/// under the `Function` dimension. Names must be distinct; non-finite values are left
/// out (JSON cannot carry them and CloudWatch would reject the whole line).
pub fn format_emf(function: &str, metrics: &[(&str, f64)], now_ms: i64) -> String {
    let metrics: Vec<(&str, f64, &str)> = metrics.iter().map(|&(n, v)| (n, v, "Count")).collect();
    format_line(&[("Function", function)], &metrics, &[], now_ms)
}

/// Where EMF lines go: Lambda collects them from stdout; the CLI keeps stdout for its
/// result and shows them on stderr only when asked (`--verbose`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Sink {
    Stdout = 0,
    Stderr = 1,
    Off = 2,
}

static SINK: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(Sink::Stdout as u8);

pub fn set_sink(sink: Sink) {
    SINK.store(sink as u8, std::sync::atomic::Ordering::Relaxed);
}

fn print_line(line: String) {
    match SINK.load(std::sync::atomic::Ordering::Relaxed) {
        0 => println!("{line}"),
        1 => eprintln!("{line}"),
        _ => {}
    }
}

/// Prints [`format_emf`]'s line to stdout, where Lambda sends it to CloudWatch Logs.
pub fn emit(function: &str, metrics: &[(&str, f64)], now_ms: i64) {
    print_line(format_emf(function, metrics, now_ms));
}

/// A cluster's range after reconcile (`MinCapacity`, `MaxCapacity`, in ACU), under the
/// `DBClusterIdentifier` dimension, so the dashboard can draw it next to AWS/RDS
/// `ServerlessDatabaseCapacity`, which has the same dimension.
///
/// The function is a plain property (searchable in Logs Insights), not a dimension:
/// the range is the cluster's, whichever function set it.
pub fn format_emf_range(
    function: &str,
    cluster: &str,
    range: CapacityRange,
    now_ms: i64,
) -> String {
    format_line(
        &[(acu_pilot_core::events::CLUSTER_DIMENSION, cluster)],
        &[
            ("MinCapacity", range.min.value(), "None"),
            ("MaxCapacity", range.max.value(), "None"),
        ],
        &[("Function", function)],
        now_ms,
    )
}

/// Prints [`format_emf_range`]'s line to stdout.
pub fn emit_range(function: &str, cluster: &str, range: CapacityRange, now_ms: i64) {
    print_line(format_emf_range(function, cluster, range, now_ms));
}

/// One fleet target's sweep: its managed clusters (`ManagedClusters`) and whether it
/// failed (`TargetFailed`), under the `Function`, `Account` and `Region` dimensions, so
/// the dashboard shows the fleet by account and region.
pub fn format_emf_target(
    function: &str,
    account: &str,
    region: &str,
    managed_clusters: Option<usize>,
    failed: bool,
    now_ms: i64,
) -> String {
    let mut metrics = vec![("TargetFailed", f64::from(u8::from(failed)), "Count")];
    if let Some(n) = managed_clusters {
        metrics.push(("ManagedClusters", n as f64, "Count"));
    }
    format_line(
        &[
            ("Function", function),
            ("Account", account),
            ("Region", region),
        ],
        &metrics,
        &[],
        now_ms,
    )
}

/// Prints [`format_emf_target`]'s line to stdout.
pub fn emit_target(
    function: &str,
    account: &str,
    region: &str,
    managed_clusters: Option<usize>,
    failed: bool,
    now_ms: i64,
) {
    print_line(format_emf_target(
        function,
        account,
        region,
        managed_clusters,
        failed,
        now_ms,
    ));
}

fn format_line(
    dimensions: &[(&str, &str)],
    metrics: &[(&str, f64, &str)],
    properties: &[(&str, &str)],
    now_ms: i64,
) -> String {
    let mut root = Map::new();
    let mut definitions = Vec::new();
    for &(name, value, unit) in metrics.iter().filter(|m| m.1.is_finite()) {
        definitions.push(json!({"Name": name, "Unit": unit}));
        root.insert(name.to_owned(), json!(value));
    }
    for &(name, value) in dimensions.iter().chain(properties) {
        root.insert(name.to_owned(), Value::from(value));
    }
    let dimension_names: Vec<&str> = dimensions.iter().map(|d| d.0).collect();
    root.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimension_names],
                "Metrics": definitions,
            }],
        }),
    );
    Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use acu_pilot_core::capacity::Acu;

    #[test]
    fn a_targets_line_has_its_account_and_region_as_dimensions() {
        let line = format_emf_target("janitor", "111111111111", "eu-west-1", Some(40), false, 1);
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            parsed["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function", "Account", "Region"]])
        );
        assert_eq!(parsed["Account"], "111111111111");
        assert_eq!(parsed["Region"], "eu-west-1");
        assert_eq!(parsed["ManagedClusters"], 40.0);
        assert_eq!(parsed["TargetFailed"], 0.0);
        let failed: Value =
            serde_json::from_str(&format_emf_target("janitor", "1", "r", None, true, 1)).unwrap();
        assert_eq!(failed["TargetFailed"], 1.0);
        assert!(failed.get("ManagedClusters").is_none());
    }

    #[test]
    fn a_decision_line_has_the_exact_emf_structure() {
        let line = format_emf(
            "janitor",
            &[("Changes", 1.0), ("Drift", 2.0), ("Errors", 0.0)],
            1_764_000_000_000,
        );
        assert!(!line.contains('\n'), "one log line");
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            parsed,
            json!({
                "_aws": {
                    "Timestamp": 1_764_000_000_000_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "acu-pilot",
                        "Dimensions": [["Function"]],
                        "Metrics": [
                            {"Name": "Changes", "Unit": "Count"},
                            {"Name": "Drift", "Unit": "Count"},
                            {"Name": "Errors", "Unit": "Count"},
                        ],
                    }],
                },
                "Function": "janitor",
                "Changes": 1.0,
                "Drift": 2.0,
                "Errors": 0.0,
            })
        );
    }

    #[test]
    fn non_finite_values_are_left_out_entirely() {
        let parsed: Value = serde_json::from_str(&format_emf(
            "pre-scaler",
            &[("Changes", f64::NAN), ("Errors", 1.0)],
            0,
        ))
        .unwrap();
        assert!(parsed.get("Changes").is_none());
        assert_eq!(
            parsed["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "Errors", "Unit": "Count"}])
        );
    }

    #[test]
    fn a_range_line_is_keyed_by_cluster() {
        let range = CapacityRange::new(Acu::new(2.0).unwrap(), Acu::new(16.0).unwrap()).unwrap();
        let parsed: Value =
            serde_json::from_str(&format_emf_range("alarm-handler", "shop-db", range, 5)).unwrap();
        assert_eq!(
            parsed,
            json!({
                "_aws": {
                    "Timestamp": 5,
                    "CloudWatchMetrics": [{
                        "Namespace": "acu-pilot",
                        "Dimensions": [["DBClusterIdentifier"]],
                        "Metrics": [
                            {"Name": "MinCapacity", "Unit": "None"},
                            {"Name": "MaxCapacity", "Unit": "None"},
                        ],
                    }],
                },
                "DBClusterIdentifier": "shop-db",
                "Function": "alarm-handler",
                "MinCapacity": 2.0,
                "MaxCapacity": 16.0,
            })
        );
    }
}
