//! `scripts/test.sh` stops at once, with the repair command, when `/dev/null` is not a
//! character device (a rename onto it once turned it into a plain file, and cargo then failed
//! in ways that looked like toolchain faults). The broken `/dev/null` is a bind mount in a
//! private mount namespace (`unshare -m`), so the real one is never touched.
//!
//! Every run sets `FERRY_TEST_SH_DRY=1` (stop right after the checks) and puts a `cargo` first
//! in `PATH` that fails at once, so a script that went past its checks can never run the
//! suite recursively.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const REPAIR: &str = "test.sh: /dev/null is not a character device (something replaced it with a file); repair it as root: rm -f /dev/null && mknod -m 666 /dev/null c 1 3 && rm -f target/.rustc_info.json";

/// Runs `sh -c SCRIPT sh ARG` from the crate root in a dry, cargo-less environment.
fn run(wrap: &[&str], script: &str, arg: &Path) -> (Output, Duration) {
    let bin = tempfile::tempdir().unwrap();
    let cargo = bin.path().join("cargo");
    std::fs::write(
        &cargo,
        "#!/bin/sh\necho 'fake cargo: test.sh went past its checks' >&2\nexit 99\n",
    )
    .unwrap();
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let start = Instant::now();
    let out = Command::new(wrap[0])
        .args(&wrap[1..])
        .args(["sh", "-c", script, "sh"])
        .arg(arg)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("FERRY_TEST_SH_DRY", "1")
        .env("PATH", path)
        .output()
        .unwrap();
    (out, start.elapsed())
}

fn dev_null_is_a_device() -> bool {
    std::fs::metadata("/dev/null").is_ok_and(|m| m.file_type().is_char_device())
}

#[test]
fn a_dev_null_that_is_a_file_stops_test_sh_before_cargo() {
    // unshare needs root (CAP_SYS_ADMIN); say so rather than pass quietly.
    let probe = Command::new("unshare").args(["-m", "true"]).status();
    assert!(
        probe.is_ok_and(|s| s.success()),
        "unshare -m does not work here (needs root): cannot run this test"
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    let (out, took) = run(
        &["unshare", "-m"],
        "mount --bind \"$1\" /dev/null && exec scripts/test.sh",
        file.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}\n{stderr}", out.status);
    assert!(stderr.contains(REPAIR), "no repair message:\n{stderr}");
    assert!(!stderr.contains("fake cargo"), "{stderr}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(dev_null_is_a_device(), "the real /dev/null was changed");
    assert!(
        std::fs::read(file.path()).unwrap().is_empty(),
        "something wrote to the stand-in /dev/null before the check"
    );
}

#[test]
fn a_good_dev_null_passes_the_checks() {
    let (out, took) = run(&["env"], "exec scripts/test.sh", Path::new("-"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{}\n{stderr}", out.status);
    assert!(!stderr.contains(REPAIR), "{stderr}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
}
