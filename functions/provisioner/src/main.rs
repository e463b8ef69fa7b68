//! The `provisioner` Lambda function: its logic lives in `acu-pilot-app`, its set-up and runtime
//! loop in `acu-pilot-lambda`.

use acu_pilot_lambda::{Function, run};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run(Function::Provisioner, |event, now, deps| {
        Box::pin(acu_pilot_lambda::provisioner(event, now, deps))
    })
    .await
}
