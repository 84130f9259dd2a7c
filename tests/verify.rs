//! `ferry verify` on bundles written by hand (fixed bytes, see common/layout.rs), damaged in
//! the ways DESIGN §10 lists, and on a bundle exported from a real registry.

use crate::common;
#[path = "verify/policy.rs"]
mod policy;

use std::path::{Path, PathBuf};

use common::cosign::{key, public_pem, push_cosign_signature};
use common::images::{Image, Kind};
use common::layout::*;
use common::*;
use serde_json::{json, Value};

struct Fixture {
    _t: tempfile::TempDir,
    s: Sample,
    /// `cosign.pub` of the key that signed the sample.
    key: PathBuf,
    /// Another key's public half.
    other_key: PathBuf,
}

fn fixture() -> Fixture {
    let t = tempfile::tempdir().unwrap();
    let s = sample(&t.path().join("layout"));
    let key_path = t.path().join("cosign.pub");
    std::fs::write(&key_path, public_pem(&key(7))).unwrap();
    let other_key = t.path().join("other.pub");
    std::fs::write(&other_key, public_pem(&key(8))).unwrap();
    Fixture {
        _t: t,
        s,
        key: key_path,
        other_key,
    }
}

/// The sample's layers `--deep` can check: the tar and tar+gzip layers of the images in the
/// bundle (the attestation's in-toto statement and the signatures' payloads are no tars; the
/// tool's zstd layer is reported as not checked).
fn deep_checkable(s: &Sample) -> usize {
    [&s.amd64, &s.alpine, &s.tool]
        .iter()
        .flat_map(|i| &i.layers)
        .filter(|l| {
            [OCI_LAYER_GZIP, DOCKER_LAYER_GZIP, OCI_LAYER_TAR].contains(&l.blob.media_type.as_str())
        })
        .count()
}

/// The members under `blobs/` of a layout directory.
fn blob_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("blobs/sha256")).unwrap().count()
}

fn verify(bundle: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["verify", bundle.to_str().unwrap()];
    args.extend(extra);
    ferry(&args)
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn rewrite_index(dir: &Path, f: impl FnOnce(&mut Value)) {
    let p = dir.join("index.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
}

#[test]
fn a_sound_bundle_passes_as_directory_tar_and_tar_gz() {
    let f = fixture();
    let key = f.key.to_str().unwrap();
    let out = verify(&f.s.dir, &["--deep", "--key", key]);
    assert_success(&out);
    let text = stdout(&out);
    for want in [
        "verify: OK",
        &format!("index {}: signed, valid", f.s.index.digest),
        &format!("linux/amd64 {}: signed, valid", f.s.amd64.digest()),
        &format!(
            "manifest {}: signed in a format not checked",
            f.s.alpine.digest()
        ),
        &format!("manifest {}: unsigned", f.s.tool.digest()),
        &format!("absent on purpose: linux/arm64/v8 {}", f.s.arm64.digest()),
        "not checked: registry.local/tools/tool:1.0 layer",
        &format!("deep: {} layer(s)", deep_checkable(&f.s)),
    ] {
        assert!(text.contains(want), "stdout lacks {want:?}:\n{text}");
    }
    let tar = f.s.dir.with_extension("tar");
    tar_layout(&f.s.dir, &tar);
    assert_success(&verify(&tar, &["--deep", "--key", key]));
    let gz = f.s.dir.with_extension("tar.gz");
    std::fs::write(&gz, gzip(&std::fs::read(&tar).unwrap())).unwrap();
    let out = verify(&gz, &["--deep", "--key", key, "--json"]);
    assert_success(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["hashing"]["members"], blob_files(&f.s.dir));
    assert_eq!(
        v["images"][0]["signatures"][0]["signature"]["status"],
        "valid"
    );
    assert_eq!(v["deep"]["layers_checked"], deep_checkable(&f.s));
}

#[test]
fn a_flipped_byte_names_the_member_and_the_image() {
    let f = fixture();
    let layer = f.s.amd64.layers[0].blob.digest.clone();
    let p = Layout::new(&f.s.dir).path_of(&layer);
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&p, &bytes).unwrap();
    let member = format!("blobs/sha256/{}", layer.trim_start_matches("sha256:"));
    assert_failure(
        &verify(&f.s.dir, &[]),
        &[&member, "layer of example.com/app:v1", "hash to"],
    );
    let tar = f.s.dir.with_extension("tar");
    tar_layout(&f.s.dir, &tar);
    assert_failure(&verify(&tar, &[]), &[&member, "example.com/app:v1"]);
    let gz = f.s.dir.with_extension("tar.gz");
    std::fs::write(&gz, gzip(&std::fs::read(&tar).unwrap())).unwrap();
    assert_failure(&verify(&gz, &[]), &[&member]);
}

#[test]
fn missing_blobs_are_errors_unless_left_out_on_purpose() {
    let f = fixture();
    let l = Layout::new(&f.s.dir);
    // The sample already lacks arm64 and its attestation: deliberate (io.ferry.platforms).
    assert_success(&verify(&f.s.dir, &[]));
    let config = f.s.alpine.config.digest.clone();
    std::fs::remove_file(l.path_of(&config)).unwrap();
    assert_failure(
        &verify(&f.s.dir, &[]),
        &["docker.io/library/alpine:3.19: config", &config, "missing"],
    );

    // Without io.ferry.platforms the index reads as another tool's sparse export: a warning
    // that names the absent platform, an error with --strict.
    let f = fixture();
    rewrite_index(&f.s.dir, |v| {
        v["manifests"][0]["annotations"]
            .as_object_mut()
            .unwrap()
            .remove("io.ferry.platforms");
    });
    let o = verify(&f.s.dir, &[]);
    assert_success(&o);
    let warned = stderr(&o);
    assert!(
        warned.contains("warning: example.com/app:v1: linux/arm64/v8")
            && warned.contains(f.s.arm64.digest())
            && warned.contains("not recorded as deliberate"),
        "{warned}"
    );
    assert_failure(
        &verify(&f.s.dir, &["--strict"]),
        &[
            "example.com/app:v1: linux/arm64/v8",
            f.s.arm64.digest(),
            "not recorded as deliberate",
        ],
    );

    // The attestation of a kept platform must be there.
    let f = fixture();
    let att = Image::attestation_for(&f.s.amd64);
    std::fs::remove_file(Layout::new(&f.s.dir).path_of(att.digest())).unwrap();
    assert_failure(
        &verify(&f.s.dir, &[]),
        &["example.com/app:v1: attestation manifest", att.digest()],
    );
}

#[test]
fn sizes_stray_members_and_broken_index_entries_are_reported() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("layout");
    let mut l = Layout::new(&dir);
    let img = Image::from_layers(
        Kind::Oci,
        "linux/amd64",
        vec![text_layer(OCI_LAYER_GZIP, "a", "a\n")],
    );
    let mut m: Value = serde_json::from_slice(&img.manifest.bytes).unwrap();
    m["layers"][0]["size"] = json!(img.layers[0].blob.size() + 1);
    let manifest = Blob::json(OCI_MANIFEST, &m);
    l.put(&manifest);
    l.put(&img.config);
    l.put(&img.layers[0].blob);
    l.entry("example.com/sized:v1", &manifest, json!({}), None);
    l.finish();
    std::fs::write(dir.join("blobs/sha256/not-a-digest"), b"x").unwrap();
    rewrite_index(&dir, |v| {
        v["manifests"]
            .as_array_mut()
            .unwrap()
            .push(json!({"mediaType": OCI_MANIFEST, "digest": "sha256:../../etc", "size": 3}));
    });
    let out = verify(&dir, &[]);
    assert_failure(
        &out,
        &[
            "example.com/sized:v1: layer",
            "but manifest",
            "blobs/sha256/not-a-digest",
            "index.json entry 1",
        ],
    );
    assert!(
        stdout(&out).contains("verify: FAILED, 3 problem(s)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn deep_finds_layers_that_do_not_match_their_diff_ids() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("layout");
    let mut l = Layout::new(&dir);
    let good = text_layer(OCI_LAYER_GZIP, "a", "a\n");
    let lying = Layer {
        diff_id: digest(b"something else"),
        blob: text_layer(DOCKER_LAYER_GZIP, "b", "b\n").blob,
    };
    let not_gzip = Layer {
        diff_id: digest(b"whatever"),
        blob: Blob::new(OCI_LAYER_GZIP, b"plainly not gzip".to_vec()),
    };
    let img = Image::from_layers(
        Kind::Oci,
        "linux/amd64",
        vec![good, lying.clone(), not_gzip.clone()],
    );
    l.put_image(&img);
    l.entry("example.com/deep:v1", &img.manifest, json!({}), None);
    l.finish();
    assert_success(&verify(&dir, &[]));
    let actual = digest(&text_tar("b", "b\n"));
    assert_failure(
        &verify(&dir, &["--deep"]),
        &[
            "example.com/deep:v1: layer",
            &lying.blob.digest,
            &format!(
                "uncompresses to diff_id {actual}, but the config expects {}",
                lying.diff_id
            ),
            &not_gzip.blob.digest,
            "cannot be decompressed",
        ],
    );
}

#[test]
fn signatures_that_do_not_verify_are_invalid() {
    // Another key.
    let f = fixture();
    let out = verify(&f.s.dir, &["--key", f.other_key.to_str().unwrap()]);
    assert_failure(
        &out,
        &[
            "example.com/app:v1: signature",
            "INVALID",
            "the cosign signature does not verify",
        ],
    );
    assert!(stdout(&out).contains("signed, INVALID (the cosign signature does not verify)"));

    // A valid signature by the right key, but over a payload naming another manifest.
    let f = fixture();
    let l = Layout::new(&f.s.dir);
    let forged = cosign_signature("example.com/app", f.s.arm64.digest(), &key(7));
    forged.iter().for_each(|b| l.put(b));
    rewrite_index(&f.s.dir, |v| {
        let sig = v["manifests"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|e| e["digest"] == f.s.sig_index[0].digest.as_str())
            .unwrap();
        sig["digest"] = json!(forged[0].digest);
        sig["size"] = json!(forged[0].size());
    });
    assert_failure(
        &verify(&f.s.dir, &["--key", f.key.to_str().unwrap()]),
        &[
            "INVALID",
            &format!(
                "the payload signs {}, not this manifest {}",
                f.s.arm64.digest(),
                f.s.index.digest
            ),
        ],
    );
    // Without --key the same bundle is structurally fine.
    let out = verify(&f.s.dir, &[]);
    assert_success(&out);
    assert!(stdout(&out).contains("signed, not checked (no --key or --certificate-identity)"));

    // One byte of the signature changed: the right key no longer verifies it.
    let f = fixture();
    let l = Layout::new(&f.s.dir);
    let payload = f.s.sig_index[2].bytes.clone();
    let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(&key(7), &payload);
    let mut der = sig.to_der().as_bytes().to_vec();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    use base64::Engine;
    let flipped = signature_with(
        payload,
        &base64::engine::general_purpose::STANDARD.encode(&der),
    );
    flipped.iter().for_each(|b| l.put(b));
    rewrite_index(&f.s.dir, |v| {
        let sig = v["manifests"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|e| e["digest"] == f.s.sig_index[0].digest.as_str())
            .unwrap();
        sig["digest"] = json!(flipped[0].digest);
        sig["size"] = json!(flipped[0].size());
    });
    assert_failure(
        &verify(&f.s.dir, &["--key", f.key.to_str().unwrap()]),
        &["example.com/app:v1: signature", "INVALID"],
    );

    // Not base64, and a key file that is not a key.
    let f = fixture();
    let l = Layout::new(&f.s.dir);
    let junk = signature_with(f.s.sig_index[2].bytes.clone(), "%%%");
    junk.iter().for_each(|b| l.put(b));
    rewrite_index(&f.s.dir, |v| {
        let sig = v["manifests"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|e| e["digest"] == f.s.sig_index[0].digest.as_str())
            .unwrap();
        sig["digest"] = json!(junk[0].digest);
        sig["size"] = json!(junk[0].size());
    });
    assert_failure(
        &verify(&f.s.dir, &["--key", f.key.to_str().unwrap()]),
        &["not base64"],
    );
    let bad_key = f.s.dir.join("oci-layout");
    assert_failure(
        &verify(&f.s.dir, &["--key", bad_key.to_str().unwrap()]),
        &["--key", "not a PEM"],
    );
}

#[test]
fn garbage_never_panics() {
    let t = tempfile::tempdir().unwrap();
    let f = fixture();
    let tar = t.path().join("b.tar");
    tar_layout(&f.s.dir, &tar);
    let bytes = std::fs::read(&tar).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.tar", Vec::new()),
        ("junk.tar", b"not a tar".repeat(100)),
        ("truncated.tar", bytes[..bytes.len() / 2].to_vec()),
        ("truncated.tar.gz", gzip(&bytes)[..2000].to_vec()),
        ("zeros.tar", vec![0u8; 10240]),
    ];
    for (name, data) in cases {
        let p = t.path().join(name);
        std::fs::write(&p, data).unwrap();
        let out = verify(&p, &["--deep"]);
        assert_failure(&out, &[]);
    }
    assert_failure(&verify(&t.path().join("absent.tar"), &[]), &["absent.tar"]);
    for index in [
        &b"[]"[..],
        b"{",
        b"{\"schemaVersion\":2}",
        b"{\"manifests\":[{\"digest\":1}]}",
    ] {
        let d = t.path().join("layout");
        Layout::new(&d);
        std::fs::write(d.join("index.json"), index).unwrap();
        assert_failure(&verify(&d, &["--deep"]), &["index.json"]);
    }
}

#[test]
fn an_exported_bundle_verifies_deep_with_its_signatures() {
    let reg = Registry::start();
    let idx = push_oci_index(
        &reg,
        "sig/app",
        "v1",
        &["linux/amd64", "linux/arm64/v8"],
        true,
        true,
    );
    let k = key(9);
    let name = format!("{}/sig/app", reg.host);
    push_cosign_signature(&reg.client(), "sig/app", &name, idx.digest(), &k);
    let t = tempfile::tempdir().unwrap();
    let pubkey = t.path().join("cosign.pub");
    std::fs::write(&pubkey, public_pem(&k)).unwrap();
    let bundle = t.path().join("b.tar");
    let image = format!("{name}:v1");
    let out = ferry(&[
        "export",
        &image,
        "--platform",
        "linux/arm64",
        "-o",
        bundle.to_str().unwrap(),
    ]);
    assert_success(&out);
    let out = verify(&bundle, &["--deep", "--key", pubkey.to_str().unwrap()]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("index {}: signed, valid", idx.digest())),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "absent on purpose: linux/amd64 {}",
            idx.image("linux/amd64").digest()
        )),
        "{text}"
    );
    // The deep check covers the layers of the one platform exported.
    let layers = idx.image("linux/arm64/v8").layers.len();
    assert!(text.contains(&format!("deep: {layers} layer(s)")), "{text}");
}
