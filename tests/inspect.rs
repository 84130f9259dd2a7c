//! `ferry inspect` on bundles written by hand from fixed bytes: the text and JSON output are
//! compared with snapshots under tests/snapshots/ (`UPDATE_SNAPSHOTS=1` rewrites them), and,
//! independently of the snapshots, with what the fixture says they must be: every digest,
//! name, platform and size computed from the blobs `sample()` wrote, so a snapshot rewritten
//! over a regression still fails here.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use common::images::Image;
use common::layout::*;
use common::snapshot::assert_snapshot;
use common::*;
use serde_json::{json, Value};

/// Bytes and count of `blobs`, each distinct digest counted once.
fn total(blobs: &[&Blob]) -> (u64, usize) {
    let distinct: BTreeMap<&str, u64> = blobs
        .iter()
        .map(|b| (b.digest.as_str(), b.size() as u64))
        .collect();
    (distinct.values().sum(), distinct.len())
}

/// Manifest, config and layers of an image.
fn blobs_of(img: &Image) -> Vec<&Blob> {
    let mut v = vec![&img.manifest, &img.config];
    v.extend(img.layers.iter().map(|l| &l.blob));
    v
}

/// How an artifact is attached: a cosign `sha256-<hex>.sig` tag, or an OCI 1.1 referrer.
#[derive(Clone, Copy)]
enum Via {
    Tag,
    Referrer,
}

/// An attached artifact of the sample as inspect must show it: named by its tag or digest in
/// `repo`, the artifact type its manifest declares, and the size of its own blobs (manifest,
/// config, layers), not of what is attached to it in turn.
fn attached(
    kind: &str,
    via: Via,
    repo: &str,
    parts: &[Blob; 3],
    subject: &str,
    on: &str,
    nested: Vec<Value>,
) -> Value {
    let (format, name) = match via {
        Via::Tag => ("cosign tag", format!("{repo}:{}", sig_tag(subject))),
        Via::Referrer => ("referrer", format!("{repo}@{}", parts[0].digest)),
    };
    let manifest: Value = serde_json::from_slice(&parts[0].bytes).unwrap();
    json!({
        "kind": kind,
        "format": format,
        "name": name,
        "digest": parts[0].digest,
        "artifact_type": manifest["artifactType"],
        "subject": subject,
        "on": on,
        "size": total(&parts.iter().collect::<Vec<_>>()).0,
        "attached": nested,
    })
}

/// One image of the sample as inspect must show it: `size` and `blobs` count the blobs of the
/// bundle it uses, once each (for the sparse index: the index, the kept platform and its
/// attestation; never the absent arm64 parts nor attached artifacts).
fn image(
    reference: &str,
    top: &Blob,
    blobs: Vec<&Blob>,
    kept: Value,
    platforms: Vec<Value>,
    attached: Vec<Value>,
) -> Value {
    let (size, count) = total(&blobs);
    json!({
        "reference": reference,
        "digest": top.digest,
        "media_type": top.media_type,
        "size": size,
        "blobs": count,
        "kept_platforms": kept,
        "platforms": platforms,
        "attached": attached,
    })
}

fn platform(label: &str, digest: &str, state: &str) -> Value {
    json!({"platform": label, "digest": digest, "state": state})
}

/// The whole `inspect --json` document of the sample, from the fixture's blobs.
fn expected(s: &Sample) -> Value {
    let app = "example.com/app";
    let cosign = |parts: &[Blob; 3], subject: &str, on: &str| {
        attached("signature", Via::Tag, app, parts, subject, on, vec![])
    };
    let mut app_blobs = vec![&s.index];
    app_blobs.extend(blobs_of(&s.amd64));
    app_blobs.extend(blobs_of(&s.att_amd64));
    let sbom = attached(
        "sbom",
        Via::Referrer,
        app,
        &s.sbom,
        s.amd64.digest(),
        "linux/amd64",
        vec![cosign(&s.sig_sbom, &s.sbom[0].digest, "sbom")],
    );
    let alpine = "docker.io/library/alpine";
    json!({
        "bundle": "BUNDLE",
        "images": [
            image(
                &format!("{app}:v1"),
                &s.index,
                app_blobs,
                json!(["linux/amd64"]),
                vec![
                    platform("linux/amd64", s.amd64.digest(), "kept"),
                    platform("attestation of linux/amd64", s.att_amd64.digest(), "kept"),
                    platform("linux/arm64/v8", s.arm64.digest(), "absent"),
                    platform("attestation of linux/arm64/v8", s.att_arm64.digest(), "absent"),
                ],
                vec![
                    cosign(&s.sig_index, &s.index.digest, "index"),
                    cosign(&s.sig_amd64, s.amd64.digest(), "linux/amd64"),
                    sbom,
                ],
            ),
            image(
                &format!("{alpine}:3.19"),
                &s.alpine.manifest,
                blobs_of(&s.alpine),
                Value::Null,
                vec![platform("linux/amd64", s.alpine.digest(), "present")],
                vec![attached(
                    "signature",
                    Via::Referrer,
                    alpine,
                    &s.alpine_notation,
                    s.alpine.digest(),
                    "manifest",
                    vec![],
                )],
            ),
            image(
                "registry.local/tools/tool:1.0",
                &s.tool.manifest,
                blobs_of(&s.tool),
                Value::Null,
                vec![platform("linux/arm64/v8", s.tool.digest(), "present")],
                vec![],
            ),
        ],
        "unattached": [],
        "problems": [],
    })
}

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

/// What the text tree must show, in order, from the expected JSON document: each line's end
/// once runs of spaces are collapsed (the column layout is the snapshot's business).
fn text_fragments(want: &Value) -> Vec<String> {
    fn attached(a: &Value, out: &mut Vec<String>) {
        out.push(format!("name {}", a["name"].as_str().unwrap()));
        out.push(format!("digest {}", a["digest"].as_str().unwrap()));
        out.push(format!("size {} bytes", a["size"]));
        for n in a["attached"].as_array().unwrap() {
            attached(n, out);
        }
    }
    let mut out = vec!["bundle BUNDLE".to_string()];
    for img in want["images"].as_array().unwrap() {
        let str_of = |k: &str| img[k].as_str().unwrap().to_string();
        out.push(str_of("reference"));
        out.push(format!("digest {}", str_of("digest")));
        out.push(format!("media type {}", str_of("media_type")));
        out.push(format!("({} bytes) in {} blobs", img["size"], img["blobs"]));
        for p in img["platforms"].as_array().unwrap() {
            let (label, digest) = (
                p["platform"].as_str().unwrap(),
                p["digest"].as_str().unwrap(),
            );
            out.push(match p["state"].as_str().unwrap() {
                "present" => format!("{label} {digest}"),
                state => format!("{label} {digest} {state}"),
            });
        }
        for a in img["attached"].as_array().unwrap() {
            attached(a, &mut out);
        }
    }
    out
}

/// Each fragment ends a line of `text` (spaces collapsed), in order.
fn assert_fragments_in_order(text: &str, fragments: &[String]) {
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let mut at = 0;
    for f in fragments {
        let found = lines[at..]
            .iter()
            .position(|l| l == f || l.ends_with(&format!(" {f}")));
        match found {
            Some(i) => at += i + 1,
            None => panic!("no line ending with {f:?} after line {at}:\n{text}"),
        }
    }
}

#[test]
fn text_tree_of_the_sample_bundle() {
    let t = tempfile::tempdir().unwrap();
    let s = sample(&t.path().join("layout"));
    let text = inspect(&s.dir, &[]);
    assert_snapshot("inspect-sample.txt", &text);
    // Independently of the snapshot: every name, digest, platform and size from the fixture.
    assert_fragments_in_order(&text, &text_fragments(&expected(&s)));
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
    // Independently of the snapshot: the document the fixture's blobs imply, field by field
    // first so that a failure names the field, then whole.
    let v: Value = serde_json::from_str(&text).unwrap();
    let want = expected(&s);
    let got_images = v["images"].as_array().unwrap();
    let want_images = want["images"].as_array().unwrap();
    assert_eq!(got_images.len(), want_images.len(), "{v:#}");
    for (got, want) in got_images.iter().zip(want_images) {
        let name = want["reference"].as_str().unwrap();
        for (key, w) in want.as_object().unwrap() {
            assert_eq!(&got[key], w, "{name}: {key}");
        }
    }
    assert_eq!(v, want);
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
