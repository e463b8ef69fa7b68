//! The `pre-scaler` Lambda function. All logic lives in the `acu-pilot` crate.

use acu_pilot::lambda::{Function, run};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run(Function::PreScaler, |event, now, deps| {
        Box::pin(acu_pilot::service::prescaler::handle(event, now, deps))
    })
    .await
}
