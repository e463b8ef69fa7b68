//! The build id the functions report (`ACU_PILOT_BUILD_ID`): set by whoever builds, or
//! the git commit of the sources that go into a bootstrap, `-dirty` when they differ from
//! it, or `unknown` outside a git checkout (a source tarball).

use std::path::{Path, PathBuf};
use std::process::Command;

/// What a bootstrap is built from: editing anything else (the CLI, the tests, docs) does
/// not make a bootstrap dirty.
const SOURCES: [&str; 8] = [
    "core",
    "ports",
    "aws",
    "app",
    "lambda",
    "functions",
    "Cargo.toml",
    "Cargo.lock",
];

fn main() {
    println!("cargo:rerun-if-env-changed=ACU_PILOT_BUILD_ID");
    let id = match std::env::var("ACU_PILOT_BUILD_ID") {
        Ok(id) if !id.trim().is_empty() => id.trim().to_owned(),
        _ => from_git().unwrap_or_else(|| "unknown".to_owned()),
    };
    println!("cargo:rustc-env=ACU_PILOT_BUILD_ID={id}");
}

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn from_git() -> Option<String> {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let root = manifest.parent()?;
    let commit = git(root, &["rev-parse", "--short=12", "HEAD"])?;
    // A new commit or checkout moves HEAD or the branch it names; an edit of a source
    // changes a file under SOURCES. Both re-run this script, so the id never goes stale.
    // A path that does not exist would re-run the script on every build: a packed
    // branch lives in packed-refs.
    let branch = git(root, &["rev-parse", "--symbolic-full-name", "HEAD"])
        .filter(|r| r.starts_with("refs/"))
        .and_then(|r| git(root, &["rev-parse", "--git-path", &r]))
        .filter(|path| root.join(path).exists())
        .or_else(|| git(root, &["rev-parse", "--git-path", "packed-refs"]));
    for path in [git(root, &["rev-parse", "--git-path", "HEAD"]), branch]
        .into_iter()
        .flatten()
        .map(|path| root.join(path))
        .filter(|path| path.exists())
    {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    for source in SOURCES {
        println!("cargo:rerun-if-changed={}", root.join(source).display());
    }
    let mut status = vec!["status", "--porcelain", "--untracked-files=no", "--"];
    status.extend(SOURCES);
    let dirty = !git(root, &status)?.is_empty();
    Some(if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    })
}
