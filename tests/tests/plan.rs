//! `acu-pilot plan` against the emulator: live vs desired, the layers, the calendar's
//! upcoming windows; and nothing but reads.

use acu_pilot_tests::*;

#[tokio::test]
async fn plan_shows_live_desired_and_the_boost_and_writes_nothing() {
    let id = unique_id("plan");
    create_cluster(
        &id,
        0.5,
        16.0,
        &[
            ("acu-pilot:managed", "true"),
            ("acu-pilot:baseline", "min=0.5 max=16"),
            (
                "acu-pilot:boost",
                "max=24 until=2026-11-27T20:00:00Z by=alarm:Aurora-shop-High-ACU",
            ),
        ],
    )
    .await;
    let calendar = std::env::temp_dir().join(format!("{id}-calendar.yaml"));
    std::fs::write(
        &calendar,
        format!(
            "timezone: UTC\nevents:\n  - name: flash-sale\n    start: 2026-11-27T18:00\n    duration: 1h\n    clusters: [{id}]\n    min: 24\n"
        ),
    )
    .unwrap();

    let (ok, out, err) = cli_with_env(
        &[
            "plan",
            "--cluster",
            &id,
            "--now",
            "2026-11-27T17:00:00Z",
            "--json",
            "--api-calls",
        ],
        &[("ACU_PILOT_CALENDAR", calendar.to_str().unwrap())],
    );
    assert!(ok, "{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    let cluster = &plan["clusters"][0];
    assert_eq!(cluster["cluster"], id.as_str());
    assert_eq!(cluster["live"]["max"], 16.0);
    assert_eq!(cluster["desired"]["max"], 24.0);
    assert_eq!(cluster["changes"], true);
    assert_eq!(cluster["layers"][0]["kind"], "boost");
    assert_eq!(cluster["layers"][0]["active"], true);
    assert_eq!(cluster["upcoming"][0]["name"], "flash-sale");
    assert_eq!(cluster["upcoming"][0]["lead_start"], "2026-11-27T17:30:00Z");

    let calls: Vec<&str> = err
        .lines()
        .filter_map(|l| l.strip_prefix("api-calls "))
        .collect();
    assert!(!calls.is_empty(), "{err}");
    assert!(
        calls.iter().all(|c| c.starts_with("DescribeDBClusters ")),
        "plan only reads: {calls:?}"
    );
    assert_eq!(live_range(&id).await, (0.5, 16.0), "the range is untouched");

    // The table says the same, readably.
    let (ok, out, err) = cli(&["plan", "--cluster", &id, "--now", "2026-11-27T17:00:00Z"]);
    assert!(ok, "{err}");
    assert!(out.contains("live     0.5–16 ACU"), "{out}");
    assert!(out.contains("desired  0.5–24 ACU  ← would change"), "{out}");
    assert!(out.contains("layer    boost"), "{out}");
}
