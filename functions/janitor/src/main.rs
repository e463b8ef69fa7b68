//! The `janitor` Lambda function. All logic lives in the `acu-pilot` crate.

use acu_pilot::lambda::{Function, run};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run(Function::Janitor, |event, now, deps| {
        Box::pin(acu_pilot::service::janitor::handle(event, now, deps))
    })
    .await
}
