//! The small outputs (`import --mapping-out`, `inventory -o`, `map -o DIR`) onto paths that
//! are not regular files, and into output directories that are not there: devices and FIFOs
//! are written in place, and a bad directory fails before any request.

use crate::common;

use std::path::{Path, PathBuf};

use common::nodes::*;
use common::*;

/// A registry with one image and a bundle of it in `dir`.
fn bundle_in(dir: &Path) -> (Registry, String, PathBuf) {
    let reg = Registry::start();
    push_docker_manifest(&reg, "local/app", "v1", SHARED_SEED);
    let image = format!("{}/local/app:v1", reg.host);
    let bundle = dir.join("bundle.tar");
    assert_success(&ferry(&["export", &image, "-o", bundle.to_str().unwrap()]));
    (reg, image, bundle)
}

fn import_with_mapping_out(bundle: &Path, to: &str, out: &Path) -> std::process::Output {
    ferry(&[
        "import",
        bundle.to_str().unwrap(),
        "--to",
        to,
        "--mapping-out",
        out.to_str().unwrap(),
    ])
}

/// A prefix on a loopback port where nothing listens, and that host.
fn dead_prefix() -> (String, String) {
    let host = format!("127.0.0.1:{}", free_port());
    (format!("{host}/team"), host)
}

#[test]
fn mapping_out_onto_a_char_device_and_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let (reg, image, bundle) = bundle_in(dir.path());
    let to = format!("{}/copy", reg.host);
    let nodes = tempfile::tempdir().unwrap();

    let dev = nodes.path().join("null");
    mknod_null(&dev);
    assert_success(&import_with_mapping_out(&bundle, &to, &dev));
    assert!(
        is_char_device(&dev),
        "--mapping-out DEVICE replaced the device"
    );

    let fifo = nodes.path().join("fifo");
    mkfifo(&fifo);
    let reader = FifoReader::start(&fifo, &nodes.path().join("from-fifo.json"));
    let out = import_with_mapping_out(&bundle, &to, &fifo);
    let got = reader.finish();
    assert_success(&out);
    assert!(is_fifo(&fifo), "--mapping-out FIFO replaced the FIFO");
    let mapping: serde_json::Value = serde_json::from_slice(&got)
        .unwrap_or_else(|e| panic!("the FIFO's reader got no mapping JSON ({e}): {got:?}"));
    let target = mapping[&image].as_str().unwrap_or_default();
    assert!(target.starts_with(&format!("{to}/")), "{mapping}");
    assert_eq!(dir_names(nodes.path()), ["fifo", "from-fifo.json", "null"]);
}

#[test]
fn inventory_onto_a_char_device() {
    let dir = tempfile::tempdir().unwrap();
    let (reg, _image, bundle) = bundle_in(dir.path());
    let dev = dir.path().join("null");
    mknod_null(&dev);
    let to = format!("{}/copy", reg.host);
    let out = ferry(&[
        "inventory",
        "--to",
        &to,
        bundle.to_str().unwrap(),
        "-o",
        dev.to_str().unwrap(),
    ]);
    assert_success(&out);
    assert!(
        is_char_device(&dev),
        "inventory -o DEVICE replaced the device"
    );
    assert_eq!(dir_names(dir.path()), ["bundle.tar", "null"]);
}

#[test]
fn map_writes_onto_devices_inside_its_directory_and_refuses_a_device_as_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let dev = dir.path().join("kustomization.yaml");
    mknod_null(&dev);
    let map = |out: &Path| {
        ferry(&[
            "map",
            "--emit",
            "kustomize",
            "--to",
            "reg.local/team",
            "alpine:3.19",
            "-o",
            out.to_str().unwrap(),
        ])
    };
    assert_success(&map(dir.path()));
    assert!(is_char_device(&dev), "map -o replaced {}", dev.display());
    assert_eq!(dir_names(dir.path()), ["kustomization.yaml"]);

    let out = map(&dev);
    assert_failure(&out, &[dev.to_str().unwrap(), "not a directory"]);
    assert!(is_char_device(&dev));
}

#[test]
fn missing_mapping_out_directory_fails_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let (_reg, _image, bundle) = bundle_in(dir.path());
    let (to, host) = dead_prefix();
    let missing = format!("/nonexistent-ferry-{}", std::process::id());
    let out = import_with_mapping_out(&bundle, &to, Path::new(&format!("{missing}/m.json")));
    assert_failure(&out, &[&missing, "does not exist"]);
    assert!(
        !stderr(&out).contains(&host),
        "ferry talked to the registry first:\n{}",
        stderr(&out)
    );
}

#[test]
fn missing_inventory_directory_fails_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let (_reg, _image, bundle) = bundle_in(dir.path());
    let (to, host) = dead_prefix();
    let missing = format!("/nonexistent-ferry-{}", std::process::id());
    let out = ferry(&[
        "inventory",
        "--to",
        &to,
        bundle.to_str().unwrap(),
        "-o",
        &format!("{missing}/inventory.json"),
    ]);
    assert_failure(&out, &[&missing, "does not exist"]);
    assert!(
        !stderr(&out).contains(&host),
        "ferry talked to the registry first:\n{}",
        stderr(&out)
    );
}
