//! Crash safety and full disks (DESIGN §3.5): `kill -9` of an export never leaves a file under
//! the final name and the next run cleans up and succeeds; a full disk or a file size limit is
//! a clear error with no partial file.

use crate::common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::Duration;

use common::http_proxy::{Fault, HttpProxy, Rule};
use common::*;

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn kill_9_of_export_at_random_points_never_leaves_a_bundle() {
    let reg = Registry::start();
    let layers: Vec<Layer> = (0..4)
        .map(|i| layer_with(OCI_LAYER_GZIP, 300 + i, 2 << 20))
        .collect();
    let img = Image::from_layers(Kind::Oci, "linux/amd64", layers);
    img.push(&reg.client(), "crash/app", Some("v1"));
    // Slow blob downloads down so a kill lands in the middle of the work.
    let proxy = HttpProxy::start(&reg.host);
    proxy.rule(Rule::new(
        Some("GET"),
        "/blobs/",
        Fault::Delay(Duration::from_millis(150)),
        10_000,
    ));
    let image = format!("{}/crash/app:v1", proxy.addr);
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference.tar");
    assert_success(&ferry(&[
        "export",
        &image,
        "-o",
        reference.to_str().unwrap(),
    ]));
    let want = std::fs::read(&reference).unwrap();
    std::fs::remove_file(&reference).unwrap();

    let out = dir.path().join("bundle.tar");
    let mut interrupted = 0;
    for seed in 1u64..=5 {
        // A deterministic "random" point between 20 and 260 ms.
        let delay = 20
            + (seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407)
                >> 33)
                % 240;
        let mut c = ferry_cmd(&[
            "export",
            &image,
            "-o",
            out.to_str().unwrap(),
            "-q",
            "-j",
            "1",
        ]);
        c.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = c.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        if status.success() {
            // Finished before the kill: a complete, correct bundle is the only acceptable file.
            assert_eq!(std::fs::read(&out).unwrap(), want, "seed {seed}");
            std::fs::remove_file(&out).unwrap();
            continue;
        }
        interrupted += 1;
        assert!(
            !out.exists(),
            "seed {seed}: a killed export left a file under the final name"
        );
        let o = ferry(&["export", &image, "-o", out.to_str().unwrap()]);
        assert_success(&o);
        assert_eq!(
            std::fs::read(&out).unwrap(),
            want,
            "seed {seed}: the rerun differs"
        );
        assert_eq!(
            files(dir.path()),
            vec!["bundle.tar".to_string()],
            "seed {seed}: a stale temporary file survived the rerun"
        );
        std::fs::remove_file(&out).unwrap();
    }
    assert!(
        interrupted >= 4,
        "only {interrupted} of 5 kills landed mid-export"
    );
}

fn export_cmd(image: &str, out: &Path) -> std::process::Command {
    let mut c = ferry_cmd(&["export", image, "-o", out.to_str().unwrap()]);
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    c
}

#[test]
fn file_size_limit_is_a_clear_error_without_a_partial_file() {
    let reg = Registry::start();
    let img = Image::from_layers(
        Kind::Oci,
        "linux/amd64",
        vec![layer_with(OCI_LAYER_GZIP, 5, 2 << 20)],
    );
    img.push(&reg.client(), "fsize/app", Some("v1"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.tar");
    let mut c = export_cmd(&format!("{}/fsize/app:v1", reg.host), &out);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        c.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: 1 << 20,
                rlim_max: 1 << 20,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = c.output().unwrap();
    assert_failure(&o, &["file size limit"]);
    assert!(
        files(dir.path()).is_empty(),
        "left behind: {:?}",
        files(dir.path())
    );
}

/// A 1 MiB tmpfs mounted for one test (the tests run as root, as CI does).
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount() -> Tmpfs {
        let d = tempfile::tempdir().unwrap();
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(d.path())
            .status()
            .unwrap();
        assert!(
            st.success(),
            "cannot mount a tmpfs (the tests need root, as in CI)"
        );
        Tmpfs(d)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

#[test]
fn full_disk_is_a_clear_error_without_a_partial_file() {
    let reg = Registry::start();
    let img = Image::from_layers(
        Kind::Oci,
        "linux/amd64",
        vec![layer_with(OCI_LAYER_GZIP, 6, 3 << 20)],
    );
    img.push(&reg.client(), "full/app", Some("v1"));
    let fs = Tmpfs::mount();
    let out = fs.0.path().join("b.tar");
    let o = export_cmd(&format!("{}/full/app:v1", reg.host), &out)
        .output()
        .unwrap();
    assert_failure(&o, &["disk is full"]);
    assert!(
        files(fs.0.path()).is_empty(),
        "left behind: {:?}",
        files(fs.0.path())
    );
}

#[test]
fn killed_export_resumes_fetching_only_what_is_missing() {
    let reg = Registry::start();
    let layers: Vec<Layer> = (0..12)
        .map(|i| layer_with(OCI_LAYER_GZIP, 500 + i, 1 << 20))
        .collect();
    let img = Image::from_layers(Kind::Oci, "linux/amd64", layers);
    img.push(&reg.client(), "resume/app", Some("v1"));
    let proxy = HttpProxy::start(&reg.host);
    proxy.rule(Rule::new(
        Some("GET"),
        "/blobs/",
        Fault::Delay(Duration::from_millis(100)),
        10_000,
    ));
    let image = format!("{}/resume/app:v1", proxy.addr);
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("ref.tar");
    assert_success(&ferry(&[
        "export",
        &image,
        "-o",
        reference.to_str().unwrap(),
        "-j",
        "1",
    ]));
    let want = std::fs::read(&reference).unwrap();
    let blob_gets = |p: &HttpProxy| {
        p.seen()
            .iter()
            .filter(|(m, t, s)| m == "GET" && t.contains("/blobs/") && *s == 200)
            .count()
    };
    let total = blob_gets(&proxy);
    assert_eq!(
        total,
        img.blob_digests().len(),
        "each layer and the config once"
    );

    let out = dir.path().join("bundle.tar");
    let mut c = ferry_cmd(&[
        "export",
        &image,
        "-o",
        out.to_str().unwrap(),
        "-q",
        "-j",
        "1",
    ]);
    c.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = c.spawn().unwrap();
    // Kill after about half the blobs were fetched.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while blob_gets(&proxy) < total + total / 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    assert!(!child.wait().unwrap().success());
    assert!(!out.exists());
    let first_run = blob_gets(&proxy) - total;
    let o = ferry(&["export", &image, "-o", out.to_str().unwrap(), "-j", "1"]);
    assert_success(&o);
    let second_run = blob_gets(&proxy) - total - first_run;
    assert_eq!(
        std::fs::read(&out).unwrap(),
        want,
        "the resumed bundle differs"
    );
    assert!(stderr(&o).contains("resuming"), "{}", stderr(&o));
    // At most the one blob in flight at the kill is fetched twice.
    assert!(
        first_run + second_run <= total + 1,
        "fetched {first_run} then {second_run} of {total}"
    );
    assert!(second_run < total, "the rerun fetched everything again");
}
