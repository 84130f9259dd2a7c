//! `ferry export -o` onto paths that are not regular files (a character device, a FIFO, a
//! terminal) and into directories that are not there: devices and FIFOs are written in place
//! like `-o -`, a terminal is refused, and a bad output directory fails before any request.

use crate::common;

use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Stdio;

use common::nodes::*;
use common::*;

/// A registry with one small image; returns it and the image's reference.
fn seeded() -> (Registry, String) {
    let reg = Registry::start();
    push_docker_manifest(&reg, "local/app", "v1", SHARED_SEED);
    let r = format!("{}/local/app:v1", reg.host);
    (reg, r)
}

fn export_to(image: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["export", image, "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    ferry(&args)
}

/// A reference on a loopback port where nothing listens: any request fails with an error
/// that names this host.
fn dead_image() -> (String, String) {
    let host = format!("127.0.0.1:{}", free_port());
    (format!("{host}/local/app:v1"), host)
}

#[test]
fn export_onto_a_char_device_writes_in_place() {
    let (_reg, image) = seeded();
    let dir = tempfile::tempdir().unwrap();
    let dev = dir.path().join("null");
    mknod_null(&dev);
    let out = export_to(&image, &dev, &[]);
    assert_success(&out);
    assert!(is_char_device(&dev), "-o DEVICE replaced the device");
    assert_eq!(
        dir_names(dir.path()),
        ["null"],
        "temporary files left behind"
    );
}

#[test]
fn export_onto_a_fifo_streams_the_regular_file_bytes() {
    let (_reg, image) = seeded();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file.tar");
    assert_success(&export_to(&image, &file, &[]));
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let reader = FifoReader::start(&fifo, &dir.path().join("from-fifo.tar"));
    let out = export_to(&image, &fifo, &[]);
    let got = reader.finish();
    assert_success(&out);
    assert!(is_fifo(&fifo), "-o FIFO replaced the FIFO");
    let want = std::fs::read(&file).unwrap();
    assert!(!want.is_empty());
    assert_eq!(
        sha256_hex(&got),
        sha256_hex(&want),
        "the FIFO's reader got other bytes than the regular-file export ({} vs {} bytes)",
        got.len(),
        want.len()
    );
    assert_eq!(dir_names(dir.path()), ["fifo", "file.tar", "from-fifo.tar"]);
}

#[test]
fn split_size_onto_a_device_is_refused_before_any_request() {
    let (image, host) = dead_image();
    let dir = tempfile::tempdir().unwrap();
    let dev = dir.path().join("null");
    mknod_null(&dev);
    let out = export_to(&image, &dev, &["--split-size", "1M"]);
    assert_failure(&out, &["--split-size", dev.to_str().unwrap()]);
    assert!(!stderr(&out).contains(&host), "{}", stderr(&out));
    assert!(is_char_device(&dev));
    assert_eq!(dir_names(dir.path()), ["null"]);
}

#[test]
fn stdout_on_a_terminal_is_refused() {
    let (reg, image) = seeded();
    let dir = tempfile::tempdir().unwrap();
    let before = reg.requests().len();
    let (mut master, slave) = openpty();
    // Drain the terminal, so a ferry that wrote the tar there would not block on it.
    let drain = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let _ = std::io::Read::read_to_end(&mut master, &mut seen);
        seen
    });
    let mut cmd = ferry_cmd(&["export", &image, "-o", "-"]);
    cmd.current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped());
    let out = cmd.output().unwrap();
    drop(cmd); // closes our copy of the slave, so the drain sees the end
    let seen = drain.join().unwrap();
    assert_failure(
        &out,
        &["refusing to write a tar to a terminal; redirect it or use -o FILE"],
    );
    assert!(
        seen.len() < 512,
        "{} bytes reached the terminal",
        seen.len()
    );
    assert!(dir_names(dir.path()).is_empty(), "a file was written");
    assert_eq!(
        reg.requests().len(),
        before,
        "ferry asked the registry before refusing"
    );
}

#[test]
fn a_terminal_device_as_the_output_path_is_refused() {
    let (_reg, image) = seeded();
    let (mut master, slave) = openpty();
    let tty = std::fs::read_link(format!("/proc/self/fd/{}", slave.as_raw_fd())).unwrap();
    let drain = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let _ = std::io::Read::read_to_end(&mut master, &mut seen);
        seen
    });
    let out = export_to(&image, &tty, &[]);
    drop(slave);
    let seen = drain.join().unwrap();
    assert_failure(
        &out,
        &[
            tty.to_str().unwrap(),
            "refusing to write a tar to a terminal",
        ],
    );
    assert!(
        seen.len() < 512,
        "{} bytes reached the terminal",
        seen.len()
    );
}

#[test]
fn missing_output_directory_fails_before_any_request() {
    let (image, host) = dead_image();
    let missing = format!("/nonexistent-ferry-{}", std::process::id());
    let out = export_to(&image, Path::new(&format!("{missing}/x.tar")), &[]);
    assert_failure(&out, &[&missing, "does not exist"]);
    assert!(
        !stderr(&out).contains(&host),
        "ferry talked to the registry first:\n{}",
        stderr(&out)
    );
}

#[test]
fn output_directory_that_is_a_file_or_an_output_that_is_a_directory_fail_first() {
    let (image, host) = dead_image();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, b"x").unwrap();
    let out = export_to(&image, &file.join("x.tar"), &[]);
    assert_failure(&out, &[file.to_str().unwrap(), "not a directory"]);
    assert!(!stderr(&out).contains(&host), "{}", stderr(&out));

    let out = export_to(&image, dir.path(), &[]);
    assert_failure(&out, &[dir.path().to_str().unwrap(), "is a directory"]);
    assert!(!stderr(&out).contains(&host), "{}", stderr(&out));
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}
