//! `acu-pilot simulate` and `trace generate` as a user runs them (no AWS needed).

use std::path::PathBuf;
use std::process::Command;

fn repo(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

fn acu_pilot(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_acu-pilot"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("acu-pilot-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn a_malformed_trace_fails_naming_the_line() {
    let path = scratch("bad.csv");
    std::fs::write(
        &path,
        "timestamp,acu\n2026-11-27T00:00:00Z,1\n2026-11-27T00:01:00Z,-2\n",
    )
    .unwrap();
    let (ok, _, err) = acu_pilot(&["simulate", "--trace", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("line 3") && err.contains("negative"), "{err}");
}

#[test]
fn json_has_the_model_and_one_entry_per_policy() {
    let (ok, out, err) = acu_pilot(&[
        "simulate",
        "--trace",
        &repo("examples/traces/sales-day.csv"),
        "--calendar",
        &repo("examples/calendar-sales-day.yaml"),
        "--json",
    ]);
    assert!(ok, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["model"]["up_fraction_per_min"], 0.7);
    let names: Vec<&str> = json["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "static",
            "static-wide",
            "static-peak",
            "alarms-only",
            "prescale-only",
            "acu-pilot",
            "limit"
        ]
    );
    for p in json["policies"].as_array().unwrap() {
        let mut keys: Vec<&str> = p.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "acu_hours",
                "cost",
                "modify_calls",
                "name",
                "unmet_acu_minutes",
                "unmet_minutes",
                "worst_shortfall_acu"
            ]
        );
    }
}

#[test]
fn the_table_says_it_is_a_model_and_a_bad_config_names_the_field() {
    let trace = repo("examples/traces/sales-day.csv");
    let (ok, out, err) = acu_pilot(&["simulate", "--trace", &trace]);
    assert!(ok, "{err}");
    assert!(
        out.contains("acu-pilot") && out.contains("not from Aurora"),
        "{out}"
    );

    let config = scratch("bad-config.yaml");
    std::fs::write(&config, "model:\n  up_fraction_per_minute: 2\n").unwrap();
    let (ok, _, err) = acu_pilot(&[
        "simulate",
        "--trace",
        &trace,
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("up_fraction_per_minute"), "{err}");

    std::fs::write(
        &config,
        "policy:\n  env:\n    ACU_PILOT_BOOST_FACTOR: \"0.5\"\n",
    )
    .unwrap();
    let (ok, _, err) = acu_pilot(&[
        "simulate",
        "--trace",
        &trace,
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("ACU_PILOT_BOOST_FACTOR"), "{err}");
}

#[test]
fn the_plot_is_written_as_svg_and_png() {
    let svg = scratch("plot.svg");
    let (ok, _, err) = acu_pilot(&[
        "simulate",
        "--trace",
        &repo("examples/traces/week.csv"),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    assert!(std::fs::metadata(svg.with_extension("png")).unwrap().len() > 1000);
}

#[test]
fn trace_generate_writes_the_shipped_trace_for_seed_42() {
    let out = scratch("week.csv");
    let (ok, _, err) = acu_pilot(&[
        "trace",
        "generate",
        "--kind",
        "week",
        "--seed",
        "42",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        std::fs::read_to_string(repo("examples/traces/week.csv")).unwrap()
    );
    let (ok, _, err) = acu_pilot(&["trace", "generate", "--kind", "month", "--out", "x.csv"]);
    assert!(!ok && err.contains("month"), "{err}");
}

#[test]
fn with_readers_the_writer_aware_alarm_fires_where_the_diluted_one_never_does() {
    let config = scratch("tight-max.yaml");
    std::fs::write(&config, "baseline: {min: 0.5, max: 16}\n").unwrap();
    let (ok, out, err) = acu_pilot(&[
        "simulate",
        "--trace",
        &repo("examples/traces/sales-day.csv"),
        "--config",
        config.to_str().unwrap(),
        "--readers",
        "2",
        "--json",
    ]);
    assert!(ok, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let runs = json["topology"]["runs"].as_array().unwrap();
    let (writer, average) = (&runs[0], &runs[1]);
    assert_eq!(writer["series"], "Writer");
    assert_eq!(average["series"], "ClusterAverage");
    assert!(
        writer["high_alarms_on_writer"].as_u64().unwrap() >= 1,
        "{writer}"
    );
    assert_eq!(average["high_alarms_on_cluster_average"], 0, "{average}");
    let unmet = |run: &serde_json::Value| run["result"]["unmet_acu_minutes"].as_f64().unwrap();
    assert!(unmet(writer) < unmet(average), "{writer} vs {average}");

    let (ok, _, err) = acu_pilot(&[
        "simulate",
        "--trace",
        &repo("examples/traces/sales-day.csv"),
        "--readers",
        "16",
    ]);
    assert!(!ok);
    assert!(err.contains("--readers"), "{err}");
}
