//! The `alarm-handler` Lambda function: its logic lives in `acu-pilot-app`, its set-up and runtime
//! loop in `acu-pilot-lambda`.

use acu_pilot_lambda::{Function, run};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run(Function::AlarmHandler, |event, now, deps| {
        Box::pin(acu_pilot_lambda::alarm_handler(event, now, deps))
    })
    .await
}
