//! The deployed path on the emulator: template.yaml deployed through CloudFormation (SAM
//! transform) with the functions' own binaries as their code, and Lambda invokes of the
//! deployed functions.
//!
//! The packaging and the stack creation are `scripts/deploy-local.py` (boto3 from the
//! emulator's virtualenv): it rewrites the template's CodeUris to S3 objects, which is
//! plain YAML work, and needs no S3 or CloudFormation SDK crates in this workspace.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use aws_sdk_lambda::primitives::Blob;
use serde_json::Value;

use crate::{endpoint, repo_root, sdk_config};

/// The four functions, by their binary (and `Function::name`) names.
pub const FUNCTIONS: [&str; 4] = ["provisioner", "alarm-handler", "pre-scaler", "janitor"];

/// A stack deployed into the emulator.
#[derive(Clone, Debug)]
pub struct Deployed {
    pub stack: String,
    /// The stack's outputs (function ARNs, DLQs, `CalendarParameterName`, ...).
    pub outputs: BTreeMap<String, String>,
    /// Physical function name, by binary name (`alarm-handler` → `stack-AlarmHandler-…`).
    pub functions: BTreeMap<String, String>,
    /// The DB subnet group and security group the deploy created for provisioned clusters.
    pub subnet_group: String,
    pub security_group: String,
}

impl Deployed {
    /// The deployed function built from `binary`.
    pub fn function(&self, binary: &str) -> &str {
        self.functions
            .get(binary)
            .unwrap_or_else(|| panic!("the stack has no function built from {binary}"))
    }

    pub fn output(&self, key: &str) -> &str {
        self.outputs
            .get(key)
            .unwrap_or_else(|| panic!("the stack has no output {key}"))
    }
}

/// Where cargo put this build's binaries: the test executable runs from
/// `<target>/<profile>/deps/`, so the function binaries are one level up.
pub(crate) fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("the test runs from <target>/<profile>/deps")
        .to_path_buf()
}

/// Cargo, run from the repository's root as a developer would run it. Cargo gives a test
/// process the variables it gives a package's build (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_NAME`, `OUT_DIR`, …); build scripts that watch them (ring's does) would see
/// them changed and rebuild half the workspace, twice: once here, once more in the next
/// ordinary build. They are removed.
fn cargo() -> Command {
    let program = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").into());
    let mut command = Command::new(program);
    command.current_dir(repo_root());
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_for_the_test = [
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_MANIFEST_LINKS",
            "CARGO_CRATE_NAME",
            "CARGO_BIN_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
            "OUT_DIR",
        ]
        .contains(&name.as_ref())
            || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_");
        if set_for_the_test {
            command.env_remove(name.as_ref());
        }
    }
    command
}

/// Builds the four function binaries (x86_64, this build's profile) so a test run from a
/// fresh clone deploys current code. It is `make test`'s own build command, so there it
/// is a no-op; a narrower `-p` build would unify features differently and rebuild the
/// SDK crates twice over.
pub fn build_functions() {
    let mut command = cargo();
    command.args(["build", "--workspace", "--all-targets"]);
    if bin_dir().file_name().is_some_and(|p| p == "release") {
        command.arg("--release");
    }
    let status = command.status().expect("run cargo build");
    assert!(status.success(), "building the function binaries failed");
}

/// Deploys template.yaml as `stack` into the emulator, with `DryRun=false`,
/// `LocalEndpointUrl` set to the emulator and `params` on top (`Key=Value`). Panics with
/// the stack events when the stack does not reach CREATE_COMPLETE.
pub fn deploy(stack: &str, params: &[&str]) -> Deployed {
    build_functions();
    let root = repo_root();
    let mut command = Command::new(root.join(".venv-ministack/bin/python"));
    command
        .arg(root.join("scripts/deploy-local.py"))
        .args(["--stack-name", stack, "--endpoint", endpoint()])
        .arg("--bin-dir")
        .arg(bin_dir())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1");
    for param in params {
        command.args(["--param", param]);
    }
    let out = command.output().expect("run scripts/deploy-local.py");
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprint!("{stderr}");
    assert!(
        out.status.success(),
        "deploying template.yaml into the emulator failed (see above)"
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("deploy-local.py prints JSON");
    let strings = |key: &str| -> BTreeMap<String, String> {
        json[key]
            .as_object()
            .map(|fields| {
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    };
    Deployed {
        stack: stack.to_owned(),
        outputs: strings("outputs"),
        functions: strings("functions"),
        subnet_group: json["network"]["subnet_group"]
            .as_str()
            .expect("subnet group")
            .to_owned(),
        security_group: json["network"]["security_group"]
            .as_str()
            .expect("security group")
            .to_owned(),
    }
}

pub async fn lambda() -> aws_sdk_lambda::Client {
    aws_sdk_lambda::Client::new(&sdk_config().await)
}

/// What a synchronous invoke returned.
#[derive(Clone, Debug)]
pub struct Invoked {
    /// `FunctionError` (`Unhandled`) when the handler returned an error.
    pub function_error: Option<String>,
    /// The handler's result, or its `{errorType, errorMessage}` on error.
    pub payload: Value,
}

impl Invoked {
    /// The result when the handler succeeded; otherwise a message naming `function` and
    /// its error, for an assertion.
    pub fn result(&self, function: &str) -> Result<&Value, String> {
        match &self.function_error {
            None => Ok(&self.payload),
            Some(kind) => Err(format!(
                "{function} returned an error ({kind}): {}",
                self.payload
            )),
        }
    }
}

/// Invokes a deployed function synchronously (RequestResponse) with `event`. A failed
/// call (not a handler error) is an `Err` naming the function.
pub async fn invoke(
    client: &aws_sdk_lambda::Client,
    name: &str,
    event: &Value,
) -> Result<Invoked, String> {
    let out = client
        .invoke()
        .function_name(name)
        .payload(Blob::new(serde_json::to_vec(event).expect("event JSON")))
        .send()
        .await
        .map_err(|err| {
            format!(
                "Lambda Invoke of {name} failed: {}",
                aws_sdk_lambda::error::DisplayErrorContext(&err)
            )
        })?;
    let bytes = out.payload().map(|b| b.as_ref()).unwrap_or_default();
    let payload = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
    };
    Ok(Invoked {
        function_error: out.function_error().map(str::to_owned),
        payload,
    })
}

/// Builds `binary` (x86_64, this build's profile: what the emulator runs) with
/// `ACU_PILOT_BUILD_ID=build_id` and returns a copy of it as a `bootstrap`. The binary in
/// the target directory is then rebuilt without that id, so later deploys use an
/// ordinary build.
pub fn build_bootstrap(binary: &str, build_id: &str) -> PathBuf {
    let build = |id: Option<&str>| {
        let mut command = cargo();
        command.args([
            "build",
            "--message-format=json-render-diagnostics",
            "-p",
            binary,
        ]);
        if bin_dir().file_name().is_some_and(|p| p == "release") {
            command.arg("--release");
        }
        match id {
            Some(id) => command.env("ACU_PILOT_BUILD_ID", id),
            None => command.env_remove("ACU_PILOT_BUILD_ID"),
        };
        let out = command.output().expect("run cargo build");
        assert!(
            out.status.success(),
            "building {binary} (build id {id:?}) failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == binary)
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .unwrap_or_else(|| panic!("cargo built no executable {binary}"))
    };
    let dir = std::env::temp_dir().join(format!("acu-pilot-{build_id}"));
    std::fs::create_dir_all(&dir).expect("a directory for the bootstrap");
    let bootstrap = dir.join("bootstrap");
    std::fs::copy(build(Some(build_id)), &bootstrap).expect("copy the bootstrap");
    build(None);
    bootstrap
}

/// Makes sure `cargo lambda` is installed where the Makefile puts it (.venv-tools), the
/// way `make test` does before the tests run.
fn ensure_cargo_lambda() -> PathBuf {
    let root = repo_root();
    let status = Command::new("make")
        .current_dir(&root)
        .args(["--silent", ".venv-tools/.build-installed"])
        .status()
        .expect("run make");
    assert!(
        status.success(),
        "installing cargo-lambda (make .venv-tools/.build-installed) failed"
    );
    root.join(".venv-tools/bin")
}

/// `make deploy-fn`'s script with a given bootstrap: the function's name and role from
/// the stack's outputs, then `cargo lambda deploy --endpoint-url <emulator>`.
pub fn deploy_fn(binary: &str, stack: &str, bootstrap: &std::path::Path) -> Result<String, String> {
    let tools = ensure_cargo_lambda();
    let root = repo_root();
    let path = format!(
        "{}:{}",
        tools.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(root.join("scripts/deploy-fn.sh"))
        .current_dir(&root)
        .args([binary, stack])
        .env("PATH", path)
        .env("DEPLOY_FN_BOOTSTRAP", bootstrap)
        .env("DEPLOY_FN_PYTHON", root.join(".venv-ministack/bin/python"))
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .map_err(|e| format!("run scripts/deploy-fn.sh: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "scripts/deploy-fn.sh {binary} {stack} failed:\n{text}"
        ))
    }
}

/// `scripts/stack-snapshot.py`: everything about the stack's functions but their code,
/// and the rules and schedules that invoke them, by logical id.
pub fn snapshot(stack: &str) -> Value {
    let root = repo_root();
    let out = Command::new(root.join(".venv-ministack/bin/python"))
        .arg(root.join("scripts/stack-snapshot.py"))
        .arg(stack)
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .expect("run scripts/stack-snapshot.py");
    assert!(
        out.status.success(),
        "scripts/stack-snapshot.py {stack} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stack-snapshot.py prints JSON")
}
