//! The `pre-scaler` Lambda function: its logic lives in `acu-pilot-app`, its set-up and runtime
//! loop in `acu-pilot-lambda`.

use acu_pilot_lambda::{Function, run};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run(Function::PreScaler, |event, now, deps| {
        Box::pin(acu_pilot_app::fleet::handle(
            event,
            now,
            &deps.aws,
            &deps.config,
            &acu_pilot_app::prescaler::PreScalerSweep,
        ))
    })
    .await
}
