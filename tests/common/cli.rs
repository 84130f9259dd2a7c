//! Running the built `ferry` binary the way a user does, in an isolated environment (no real
//! docker config or auth files leak in).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// An empty HOME (and XDG dirs) for ferry runs, so no credentials leak in from the machine.
/// One shared directory: ferry only reads there, and tests that need auth files set their own
/// `DOCKER_CONFIG` / `XDG_*` paths.
pub fn isolated_home() -> PathBuf {
    let p = std::env::temp_dir().join("ferry-test-home");
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// A `ferry` command with an isolated environment.
pub fn ferry_cmd(args: &[&str]) -> Command {
    let home = isolated_home();
    let mut c = Command::new(env!("CARGO_BIN_EXE_ferry"));
    c.args(args)
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("HTTPS_PROXY")
        .env_remove("HTTP_PROXY")
        .env_remove("ALL_PROXY");
    c
}

/// Runs ferry with `stdin` as standard input (empty when None).
pub fn ferry_run(mut c: Command, stdin: Option<&str>) -> Output {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("run ferry");
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        // ferry may exit before reading its input (e.g. a usage error): not a test failure.
        let _ = input.write_all(s.as_bytes());
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// Runs ferry with `args`.
pub fn ferry(args: &[&str]) -> Output {
    ferry_run(ferry_cmd(args), None)
}

/// `ferry import BUNDLE --to PREFIX --mapping-out MAPPING`, which must succeed.
pub fn import_mapped(bundle: &std::path::Path, prefix: &str, mapping: &std::path::Path) {
    assert_success(&ferry(&[
        "import",
        bundle.to_str().unwrap(),
        "--to",
        prefix,
        "--mapping-out",
        mapping.to_str().unwrap(),
    ]));
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Asserts exit 0, printing stderr otherwise.
pub fn assert_success(o: &Output) {
    assert!(
        o.status.success(),
        "ferry failed ({}):\n{}",
        o.status,
        stderr(o)
    );
}

/// Asserts a clean failure: exit code 1 (not a panic), and stderr naming each of `needles`.
pub fn assert_failure(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "expected exit 1, got {}:\n{err}",
        o.status
    );
    assert!(!err.contains("panicked"), "ferry panicked:\n{err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
}

/// Fails the test unless kubectl runs (scripts/setup.sh installs Debian's kubernetes-client
/// when it is missing).
pub fn require_kubectl() {
    assert!(
        Command::new("kubectl")
            .arg("version")
            .arg("--client")
            .output()
            .is_ok(),
        "kubectl is not installed: run scripts/setup.sh"
    );
}
