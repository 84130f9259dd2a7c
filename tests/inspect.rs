//! `ferry inspect` on bundles written by hand from fixed bytes: the text and JSON output are
//! compared with snapshots under tests/snapshots/ (`UPDATE_SNAPSHOTS=1` rewrites them).

mod common;

use std::path::Path;

use common::layout::*;
use common::snapshot::assert_snapshot;
use common::*;
use serde_json::Value;

/// Runs `ferry inspect` and returns stdout with the bundle path replaced by `BUNDLE`.
fn inspect(bundle: &Path, extra: &[&str]) -> String {
    let mut args = vec!["inspect", bundle.to_str().unwrap()];
    args.extend(extra);
    let out = ferry(&args);
    assert_success(&out);
    String::from_utf8(out.stdout)
        .unwrap()
        .replace(bundle.to_str().unwrap(), "BUNDLE")
}

#[test]
fn text_tree_of_the_sample_bundle() {
    let t = tempfile::tempdir().unwrap();
    let s = sample(&t.path().join("layout"));
    let text = inspect(&s.dir, &[]);
    assert_snapshot("inspect-sample.txt", &text);
    // The same bundle as a tar and a tar.gz reads the same.
    let tar = t.path().join("b.tar");
    tar_layout(&s.dir, &tar);
    assert_eq!(inspect(&tar, &[]), text);
    let gz = t.path().join("b.tar.gz");
    std::fs::write(&gz, gzip(&std::fs::read(&tar).unwrap())).unwrap();
    assert_eq!(inspect(&gz, &[]), text);
}

#[test]
fn json_of_the_sample_bundle() {
    let t = tempfile::tempdir().unwrap();
    let s = sample(&t.path().join("layout"));
    let text = inspect(&s.dir, &["--json"]);
    assert_snapshot("inspect-sample.json", &text);
    let v: Value = serde_json::from_str(&text).unwrap();
    let images = v["images"].as_array().unwrap();
    assert_eq!(images.len(), 3);
    let app = &images[0];
    assert_eq!(app["reference"], "example.com/app:v1");
    assert_eq!(app["digest"], s.index.digest.as_str());
    assert_eq!(app["kept_platforms"][0], "linux/amd64");
    let states: Vec<(&str, &str)> = app["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["platform"].as_str().unwrap(),
                p["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("linux/amd64", "kept"),
            ("attestation of linux/amd64", "kept"),
            ("linux/arm64/v8", "absent"),
            ("attestation of linux/arm64/v8", "absent"),
        ]
    );
    let attached = app["attached"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = attached
        .iter()
        .map(|a| (a["kind"].as_str().unwrap(), a["on"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("signature", "index"),
            ("signature", "linux/amd64"),
            ("sbom", "linux/amd64")
        ]
    );
    assert_eq!(attached[2]["digest"], s.sbom[0].digest.as_str());
    assert_eq!(attached[2]["attached"][0]["kind"], "signature");
    assert_eq!(attached[2]["attached"][0]["on"], "sbom");
    assert_eq!(images[1]["attached"][0]["artifact_type"], SIGSTORE_BUNDLE);
    assert_eq!(images[2]["attached"].as_array().unwrap().len(), 0);
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);
    // Sizes: every blob of the image counted once, manifests included.
    let tool: u64 = s.tool.manifest.size() as u64
        + s.tool.config.size() as u64
        + s.tool
            .layers
            .iter()
            .map(|l| l.blob.size() as u64)
            .sum::<u64>();
    assert_eq!(images[2]["size"], tool);
}

#[test]
fn missing_parts_are_reported_not_fatal() {
    let t = tempfile::tempdir().unwrap();
    let s = sample(&t.path().join("layout"));
    std::fs::remove_file(Layout::new(&s.dir).path_of(s.alpine.config.digest.as_str())).unwrap();
    let out = ferry(&["inspect", s.dir.to_str().unwrap()]);
    assert_success(&out);
    let err = stderr(&out);
    assert!(
        err.contains("docker.io/library/alpine:3.19: config"),
        "{err}"
    );
    assert!(err.contains("is missing"), "{err}");
}

#[test]
fn garbage_is_a_clean_error() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("junk.tar");
    std::fs::write(&f, b"this is not a tar file at all, just some bytes").unwrap();
    assert_failure(&ferry(&["inspect", f.to_str().unwrap()]), &["junk.tar"]);
    let d = t.path().join("layout");
    Layout::new(&d);
    std::fs::write(d.join("index.json"), b"{\"manifests\": 3}").unwrap();
    assert_failure(&ferry(&["inspect", d.to_str().unwrap()]), &["index.json"]);
}
