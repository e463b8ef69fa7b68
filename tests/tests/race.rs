//! Issue #13 case 5: no lost intent when the alarm-handler, the pre-scaler and the janitor
//! act on one cluster at once. A few dozen drawn interleavings here; `make bench` runs 200.

use acu_pilot_tests::race;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_functions_lose_no_layer_and_converge_to_the_tags() {
    let base: u64 = std::env::var("ACU_PILOT_RACE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(13);
    let mut failures = Vec::new();
    for seed in base..base + 30 {
        let outcome = race::run(seed).await;
        if !outcome.ok() {
            failures.push(format!("{outcome:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 30 runs failed (replay one with ACU_PILOT_RACE_SEED=<seed>):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
