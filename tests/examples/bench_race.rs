//! `make bench`: 200 drawn interleavings of the alarm-handler, the pre-scaler and the
//! janitor on one cluster each (issue #13 case 5), counted.

use acu_pilot_tests::race;

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let runs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let started = std::time::Instant::now();
    let (mut lost, mut diverged, mut errors) = (0, 0, 0);
    for seed in 0..runs {
        let outcome = race::run(seed).await;
        lost += usize::from(!outcome.lost.is_empty());
        diverged += usize::from(outcome.diverged.is_some());
        errors += usize::from(!outcome.errors.is_empty());
        if !outcome.ok() {
            println!("seed {seed}: {outcome:?}");
        }
    }
    println!(
        "{runs} runs in {:.1} s: {lost} with a lost layer, {diverged} with a range that differs from the tags, {errors} with an error",
        started.elapsed().as_secs_f64()
    );
    if lost + diverged + errors > 0 {
        std::process::exit(1);
    }
}
