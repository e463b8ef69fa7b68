//! Each function's `[package.metadata.lambda]` (what `cargo lambda deploy <function>`
//! applies) against template.yaml (what `sam deploy` applies): memory, timeout,
//! architecture, tracing, tags and the environment's defaults must agree, or the two ways
//! of deploying would give different functions. Plain file reading: no emulator.
//!
//! The template's values are resolved the way CloudFormation would for a deploy with
//! every parameter at its default and samconfig.toml's stack name: `!Ref` of a parameter
//! is its default, `!Ref` of a resource is its `Name`, `!Sub` knows `AWS::StackName`,
//! `!If` follows the template's conditions, and `AWS::NoValue` or an empty string is an
//! unset variable (the functions read both the same way).

use std::collections::BTreeMap;
use std::path::Path;

use serde_norway::Value as Yaml;

/// Binary name → logical id in template.yaml.
const FUNCTIONS: [(&str, &str); 4] = [
    ("provisioner", "Provisioner"),
    ("alarm-handler", "AlarmHandler"),
    ("pre-scaler", "PreScaler"),
    ("janitor", "Janitor"),
];

/// The settings both files describe, in one comparable shape.
#[derive(Debug, PartialEq, Eq)]
struct Settings {
    memory: Option<i64>,
    timeout: Option<i64>,
    arm64: bool,
    tracing: Option<String>,
    tags: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repo")
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn stack_name(samconfig: &str) -> String {
    let doc: toml_edit::DocumentMut = samconfig.parse().expect("samconfig.toml parses");
    doc["default"]["global"]["parameters"]["stack_name"]
        .as_str()
        .expect("samconfig.toml: default.global.parameters.stack_name")
        .to_owned()
}

// ------------------------------------------------------------------ template.yaml

struct Template<'a> {
    doc: Yaml,
    stack: &'a str,
}

impl Template<'_> {
    fn section(&self, name: &str) -> &Yaml {
        self.doc.get(name).unwrap_or(&Yaml::Null)
    }

    /// A value as CloudFormation would resolve it; `None` is no value.
    fn resolve(&self, value: &Yaml) -> Option<String> {
        match value {
            Yaml::Null => None,
            Yaml::String(s) => Some(s.clone()),
            Yaml::Bool(b) => Some(b.to_string()),
            Yaml::Number(n) => Some(n.to_string()),
            Yaml::Tagged(tagged) => {
                let tag = tagged.tag.to_string();
                match (tag.trim_start_matches('!'), &tagged.value) {
                    ("Ref", Yaml::String(name)) => self.reference(name),
                    ("Sub", Yaml::String(text)) => {
                        Some(text.replace("${AWS::StackName}", self.stack))
                    }
                    ("If", Yaml::Sequence(args)) if args.len() == 3 => {
                        let condition = args[0].as_str().expect("!If names a condition");
                        let cond = &self.section("Conditions")[condition];
                        self.resolve(&args[if self.truth(cond) { 1 } else { 2 }])
                    }
                    (other, _) => panic!("template.yaml: {other} is not resolved by this test"),
                }
            }
            other => panic!("template.yaml: cannot resolve {other:?}"),
        }
    }

    fn reference(&self, name: &str) -> Option<String> {
        if name == "AWS::NoValue" {
            return None;
        }
        if name == "AWS::StackName" {
            return Some(self.stack.to_owned());
        }
        if let Some(parameter) = self.section("Parameters").get(name) {
            return self.resolve(&parameter["Default"]);
        }
        let resource = self
            .section("Resources")
            .get(name)
            .unwrap_or_else(|| panic!("template.yaml: !Ref {name} names nothing"));
        self.resolve(&resource["Properties"]["Name"])
    }

    fn truth(&self, condition: &Yaml) -> bool {
        let Yaml::Tagged(tagged) = condition else {
            panic!("template.yaml: condition {condition:?}")
        };
        let args = tagged
            .value
            .as_sequence()
            .expect("a condition takes a list");
        match tagged.tag.to_string().trim_start_matches('!') {
            "Not" => !self.truth(&args[0]),
            "Equals" => self.resolve(&args[0]) == self.resolve(&args[1]),
            other => panic!("template.yaml: condition {other} is not resolved by this test"),
        }
    }

    /// A function's property, or the Globals' when it has none.
    fn property(&self, logical: &str, key: &str) -> &Yaml {
        let own = &self.section("Resources")[logical]["Properties"][key];
        if own.is_null() {
            &self.section("Globals")["Function"][key]
        } else {
            own
        }
    }

    /// A mapping property, the Globals' merged under the function's (as SAM does).
    fn merged(&self, logical: &str, path: &[&str]) -> BTreeMap<String, String> {
        let at = |mut value: &Yaml| {
            for key in path {
                value = &value[*key];
            }
            value.as_mapping().cloned().unwrap_or_default()
        };
        let globals = at(&self.section("Globals")["Function"]);
        let own = at(&self.section("Resources")[logical]["Properties"]);
        globals
            .iter()
            .chain(own.iter())
            .filter_map(|(k, v)| {
                let key = k.as_str().expect("a string key").to_owned();
                self.resolve(v).filter(|v| !v.is_empty()).map(|v| (key, v))
            })
            .collect()
    }

    fn settings(&self, logical: &str) -> Settings {
        let number = |key| {
            self.resolve(self.property(logical, key)).map(|v| {
                v.parse().unwrap_or_else(|_| {
                    panic!("template.yaml: {logical}.{key} = {v} is not a number")
                })
            })
        };
        let architectures = self
            .property(logical, "Architectures")
            .as_sequence()
            .map(|a| a.iter().filter_map(|v| self.resolve(v)).collect::<Vec<_>>())
            .unwrap_or_default();
        Settings {
            memory: number("MemorySize"),
            timeout: number("Timeout"),
            arm64: architectures == ["arm64"],
            tracing: self
                .resolve(self.property(logical, "Tracing"))
                .map(|t| t.to_ascii_lowercase()),
            tags: self.merged(logical, &["Tags"]),
            env: self.merged(logical, &["Environment", "Variables"]),
        }
    }
}

// ------------------------------------------------------------------ Cargo.toml

fn manifest_settings(binary: &str, manifest: &str) -> Settings {
    let doc: toml_edit::DocumentMut = manifest
        .parse()
        .unwrap_or_else(|e| panic!("functions/{binary}/Cargo.toml: {e}"));
    let lambda = &doc["package"]["metadata"]["lambda"];
    let deploy = &lambda["deploy"];
    let table = |item: &toml_edit::Item| -> BTreeMap<String, String> {
        item.as_table_like()
            .map(|t| {
                t.iter()
                    .map(|(k, v)| {
                        let value = v.as_str().unwrap_or_else(|| {
                            panic!("functions/{binary}/Cargo.toml: {k} must be a string")
                        });
                        (k.to_owned(), value.to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    Settings {
        memory: deploy["memory"].as_integer(),
        timeout: deploy["timeout"].as_integer(),
        arm64: lambda["build"]["arm64"].as_bool() == Some(true),
        tracing: deploy["tracing"].as_str().map(str::to_ascii_lowercase),
        tags: table(&deploy["tags"]),
        env: table(&deploy["env"]),
    }
}

/// Every way in which `manifests` (binary → Cargo.toml text) and the template disagree,
/// each naming the function, the setting and both values.
fn disagreements(template: &str, stack: &str, manifests: &BTreeMap<&str, String>) -> Vec<String> {
    let template = Template {
        doc: serde_norway::from_str(template).expect("template.yaml parses"),
        stack,
    };
    let mut found = Vec::new();
    for (binary, logical) in FUNCTIONS {
        let ours = manifest_settings(binary, &manifests[binary]);
        let theirs = template.settings(logical);
        let mut differ = |field: &str, cargo: String, sam: String| {
            if cargo != sam {
                found.push(format!(
                    "{binary}: {field} is {cargo} in functions/{binary}/Cargo.toml \
                     [package.metadata.lambda] but {sam} in template.yaml ({logical} or Globals)"
                ));
            }
        };
        differ(
            "memory (MemorySize)",
            format!("{:?}", ours.memory),
            format!("{:?}", theirs.memory),
        );
        differ(
            "timeout (Timeout)",
            format!("{:?}", ours.timeout),
            format!("{:?}", theirs.timeout),
        );
        differ(
            "arm64 (Architectures)",
            ours.arm64.to_string(),
            theirs.arm64.to_string(),
        );
        differ(
            "tracing (Tracing)",
            format!("{:?}", ours.tracing),
            format!("{:?}", theirs.tracing),
        );
        differ(
            "tags (Tags)",
            format!("{:?}", ours.tags),
            format!("{:?}", theirs.tags),
        );
        let keys: std::collections::BTreeSet<_> =
            ours.env.keys().chain(theirs.env.keys()).collect();
        for key in keys {
            differ(
                &format!("env {key}"),
                format!("{:?}", ours.env.get(key)),
                format!("{:?}", theirs.env.get(key)),
            );
        }
    }
    found
}

fn manifests() -> BTreeMap<&'static str, String> {
    FUNCTIONS
        .iter()
        .map(|(binary, _)| (*binary, read(&format!("functions/{binary}/Cargo.toml"))))
        .collect()
}

#[test]
fn each_functions_cargo_metadata_matches_the_template() {
    let found = disagreements(
        &read("template.yaml"),
        &stack_name(&read("samconfig.toml")),
        &manifests(),
    );
    assert!(
        found.is_empty(),
        "Cargo.toml and template.yaml disagree ({}):\n  - {}",
        found.len(),
        found.join("\n  - ")
    );
}

#[test]
fn a_changed_memory_size_in_the_template_is_caught() {
    let template = read("template.yaml");
    let janitor = template.find("  Janitor:\n").expect("the Janitor resource");
    let at = janitor
        + template[janitor..]
            .find("MemorySize: 256")
            .expect("its MemorySize");
    let changed = format!(
        "{}MemorySize: 512{}",
        &template[..at],
        &template[at + "MemorySize: 256".len()..]
    );
    let found = disagreements(&changed, "acu-pilot", &manifests());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("janitor: memory (MemorySize) is Some(256)"),
        "{}",
        found[0]
    );
    assert!(
        found[0].contains("Some(512) in template.yaml"),
        "{}",
        found[0]
    );
}

#[test]
fn a_changed_global_default_or_metadata_value_is_caught() {
    // A parameter's default reaches every function through the Globals.
    let template = read("template.yaml").replacen("Default: \"true\"", "Default: \"false\"", 1);
    let found = disagreements(&template, "acu-pilot", &manifests());
    assert_eq!(
        found.len(),
        4,
        "DryRun's default, once per function: {found:#?}"
    );
    assert!(
        found.iter().all(|f| f.contains("env ACU_PILOT_DRY_RUN")),
        "{found:#?}"
    );

    let mut manifests = manifests();
    let alarm = manifests.get_mut("alarm-handler").expect("alarm-handler");
    *alarm = alarm
        .replace("timeout = 30", "timeout = 31")
        .replace("arm64 = true", "arm64 = false");
    let found = disagreements(&read("template.yaml"), "acu-pilot", &manifests);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("alarm-handler: timeout (Timeout) is Some(31)"),
        "{found:#?}"
    );
    assert!(
        found[1].starts_with("alarm-handler: arm64 (Architectures) is false"),
        "{found:#?}"
    );
}
