//! Keyless signatures (Fulcio certificates, Rekor entries) verified offline with a
//! `trusted_root.json`: cosign 2 `.sig` and `.att` tags and cosign 3 sigstore-bundle referrers,
//! made by the test Sigstore of `common/sigstore.rs` (checked on its own by
//! `tests/keyless_fixtures.rs`), exported from a real registry and checked by `ferry verify`,
//! `export --require-signed` and `import --require-signed` (DESIGN §6).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::cosign::set_fallback;
use common::sigstore::*;
use common::snapshot::assert_snapshot;
use common::*;
use serde_json::{json, Value};

const P3: [&str; 3] = ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"];

/// `--trusted-root F --certificate-identity I --certificate-oidc-issuer O` for the defaults.
fn keyless(root: &Path) -> Vec<String> {
    [
        "--trusted-root",
        root.to_str().unwrap(),
        "--certificate-identity",
        IDENTITY,
        "--certificate-oidc-issuer",
        OIDC_ISSUER,
    ]
    .map(String::from)
    .to_vec()
}

fn ferry_with(args: &[&str], extra: &[String]) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(extra.iter().map(String::as_str));
    ferry(&all)
}

fn stdout_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// A signed world: an OCI index `kl/app:v1` over three platforms whose index carries a keyless
/// `.sig`, a keyless `.att` and a sigstore-bundle referrer, and whose linux/amd64 manifest
/// carries a keyless `.sig`; the trust root of the test Sigstore in `dir`.
struct World {
    reg: Registry,
    dir: tempfile::TempDir,
    root: PathBuf,
    idx: ImageIndex,
    image: String,
    sig_index: Blob,
    sig_amd64: Blob,
    att_index: Blob,
    bundle_ref: Blob,
}

fn world() -> World {
    let reg = Registry::start();
    let ts = TestSigstore::new();
    let dir = tempfile::tempdir().unwrap();
    let root = ts.write_trusted_root(dir.path());
    let c = reg.client();
    let idx = push_oci_index(&reg, "kl/app", "v1", &P3, true, false);
    let name = format!("{}/kl/app", reg.host);
    let s = Signing::valid();
    let sig_index = ts.push_keyless_signature(&c, "kl/app", &name, idx.digest(), &s);
    let amd64 = idx.image("linux/amd64").digest().to_string();
    let sig_amd64 = ts.push_keyless_signature(&c, "kl/app", &name, &amd64, &s);
    let att_index = ts.push_keyless_attestation(&c, "kl/app", &name, idx.digest(), &s);
    let subject = json!({"mediaType": OCI_INDEX, "digest": idx.digest(), "size": idx.index.size()});
    let (bundle_ref, _) = ts.push_bundle_referrer(&c, "kl/app", &name, &subject, &s);
    set_fallback(
        &c,
        "kl/app",
        idx.digest(),
        &[(&bundle_ref, SIGSTORE_BUNDLE_V03)],
    );
    World {
        image: format!("{name}:v1"),
        reg,
        dir,
        root,
        idx,
        sig_index,
        sig_amd64,
        att_index,
        bundle_ref,
    }
}

fn export(image: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["export", image, "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    ferry(&args)
}

fn verify_json(bundle: &Path, root: &Path) -> Value {
    let o = ferry_with(
        &["verify", bundle.to_str().unwrap(), "--json"],
        &keyless(root),
    );
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("verify --json: {e}\n{}\n{}", stdout_of(&o), stderr(&o)))
}

/// The `signatures[]` entry of `digest` in the image whose reference is `image`.
fn signature_entry<'a>(v: &'a Value, image: &str, digest: &str) -> &'a Value {
    let img = v["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference"] == image)
        .unwrap_or_else(|| panic!("no image {image} in {v:#}"));
    img["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["digest"] == digest)
        .unwrap_or_else(|| panic!("no signature entry for {digest} in {img:#}"))
}

/// The `found[]` kinds of a signature entry, sorted.
fn kinds(entry: &Value) -> Vec<String> {
    let mut k: Vec<String> = entry["found"]
        .as_array()
        .unwrap_or_else(|| panic!("no found[] in {entry:#}"))
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect();
    k.sort();
    k
}

/// Every `found[]` of `entry` verified, by the default identity and issuer, at [`SIGNED_AT`].
fn assert_all_verified(entry: &Value) {
    assert_eq!(entry["signature"]["status"], "valid", "{entry:#}");
    for f in entry["found"].as_array().unwrap() {
        assert_eq!(f["verified"], true, "{f:#}");
        assert_eq!(f["identity"], IDENTITY, "{f:#}");
        assert_eq!(f["issuer"], OIDC_ISSUER, "{f:#}");
        assert_eq!(f["signing_time"], rfc3339(SIGNED_AT), "{f:#}");
        if f["kind"] != "cosign-signature" {
            assert_eq!(f["predicate_type"], SLSA_PROVENANCE_V1, "{f:#}");
        }
    }
}

/// The keyless verdicts of a bundle holding `w`'s image: text and JSON.
fn assert_world_verifies(w: &World, bundle: &Path) {
    let o = ferry_with(&["verify", bundle.to_str().unwrap()], &keyless(&w.root));
    assert_success(&o);
    let text = stdout_of(&o);
    let amd64 = w.idx.image("linux/amd64").digest();
    for line in [
        format!("  index {}: signed, valid", w.idx.digest()),
        format!("  linux/amd64 {amd64}: signed, valid"),
    ] {
        assert!(text.contains(&line), "no {line:?} in\n{text}");
    }
    assert_eq!(text.matches(": signed, valid").count(), 2, "{text}");
    assert!(!text.contains("INVALID"), "{text}");

    let v = verify_json(bundle, &w.root);
    let idx = signature_entry(&v, &w.image, w.idx.digest());
    assert_eq!(
        kinds(idx),
        ["cosign-attestation", "cosign-signature", "sigstore-bundle"]
    );
    assert_all_verified(idx);
    let plat = signature_entry(&v, &w.image, amd64);
    assert_eq!(kinds(plat), ["cosign-signature"]);
    assert_all_verified(plat);
}

#[test]
fn keyless_signatures_attestations_and_bundles_verify_offline() {
    let w = world();
    let full = w.dir.path().join("full.tar");
    assert_success(&export(&w.image, &full, &[]));
    assert_world_verifies(&w, &full);

    // A platform subset keeps the index bytes, so every signature over it still verifies.
    let sub = w.dir.path().join("amd64.tar");
    assert_success(&export(&w.image, &sub, &["--platform", "linux/amd64"]));
    assert_world_verifies(&w, &sub);

    // Regular expressions for the identity and the issuer, as cosign takes them.
    let o = ferry(&[
        "verify",
        sub.to_str().unwrap(),
        "--trusted-root",
        w.root.to_str().unwrap(),
        "--certificate-identity-regexp",
        "^https://github\\.com/ferry-test/",
        "--certificate-oidc-issuer-regexp",
        "ferry\\.test$",
    ]);
    assert_success(&o);
    assert_eq!(stdout_of(&o).matches(": signed, valid").count(), 2);

    // The same bundle under another instance's trust root: nothing verifies.
    let other = w.dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let other_root = TestSigstore::other().write_trusted_root(&other);
    let o = ferry_with(&["verify", sub.to_str().unwrap()], &keyless(&other_root));
    assert_failure(&o, &[&w.image]);
    assert!(
        !stdout_of(&o).contains("signed, valid"),
        "{}",
        stdout_of(&o)
    );
    // What was verified is what the registry held: the fixture's artifacts, byte for byte.
    let listed = entry_digests(&sub);
    for d in [&w.sig_index, &w.sig_amd64, &w.att_index, &w.bundle_ref] {
        assert!(listed.contains(&d.digest), "{} not in the bundle", d.digest);
    }
}

/// The digests the bundle's `index.json` lists.
fn entry_digests(bundle: &Path) -> Vec<String> {
    let mut ar = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == "index.json" {
            let v: Value = serde_json::from_reader(&mut e).unwrap();
            return v["manifests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["digest"].as_str().unwrap().to_string())
                .collect();
        }
    }
    panic!("no index.json in {}", bundle.display());
}

/// One broken case: an image `kl/<name>:v1` signed in all three ways with `s`; what the
/// reason must say (any of).
struct Broken {
    name: &'static str,
    s: Signing,
    reason: &'static [&'static str],
}

fn broken_cases(other_digest: &str) -> Vec<Broken> {
    let v = Signing::valid;
    vec![
        Broken {
            name: "wrong-identity",
            s: v().identity(OTHER_IDENTITY),
            reason: &["identity"],
        },
        Broken {
            name: "wrong-issuer",
            s: v().issuer(OTHER_ISSUER),
            reason: &["issuer"],
        },
        Broken {
            name: "expired",
            s: v().after_expiry(),
            reason: &["certificate"],
        },
        Broken {
            name: "log-body",
            s: v().tamper(Tamper::LogBody),
            reason: &["transparency log"],
        },
        Broken {
            name: "set-byte",
            s: v().tamper(Tamper::SetByte),
            reason: &["transparency log"],
        },
        Broken {
            name: "bad-signature",
            s: v().tamper(Tamper::BadSignature),
            reason: &["signature", "artifact"],
        },
        Broken {
            name: "other-subject",
            s: v().tamper(Tamper::OtherSubject(other_digest.to_string())),
            // `verify --key` says "the payload signs <other>, not this manifest <digest>".
            reason: &["signature", "artifact", "the payload signs"],
        },
    ]
}

/// Pushes a single-manifest image `kl/<name>:v1` with a `.sig`, a `.att` and a bundle referrer,
/// all made with `s`; returns (image reference, manifest digest).
fn push_signed(
    reg: &Registry,
    ts: &TestSigstore,
    name: &str,
    s: &Signing,
    seed: u64,
) -> (String, String) {
    let c = reg.client();
    let repo = format!("kl/{name}");
    let img = push_oci_manifest(reg, &repo, "v1", seed);
    let full = format!("{}/{repo}", reg.host);
    ts.push_keyless_signature(&c, &repo, &full, img.digest(), s);
    ts.push_keyless_attestation(&c, &repo, &full, img.digest(), s);
    let subject = img.manifest.descriptor();
    let (r, _) = ts.push_bundle_referrer(&c, &repo, &full, &subject, s);
    set_fallback(&c, &repo, img.digest(), &[(&r, SIGSTORE_BUNDLE_V03)]);
    (format!("{full}:v1"), img.digest().to_string())
}

fn mentions_any(text: &str, words: &[&str]) -> bool {
    let t = text.to_lowercase();
    words.iter().any(|w| t.contains(w))
}

#[test]
fn each_broken_keyless_signature_fails_naming_the_image_and_why() {
    let reg = Registry::start();
    let ts = TestSigstore::new();
    let dir = tempfile::tempdir().unwrap();
    let root = ts.write_trusted_root(dir.path());
    let other = push_oci_manifest(&reg, "kl/elsewhere", "v1", 90)
        .digest()
        .to_string();
    for (i, case) in broken_cases(&other).into_iter().enumerate() {
        let (image, digest) = push_signed(&reg, &ts, case.name, &case.s, 100 + i as u64);
        let bundle = dir.path().join(format!("{}.tar", case.name));
        assert_success(&export(&image, &bundle, &[]));
        let o = ferry_with(&["verify", bundle.to_str().unwrap()], &keyless(&root));
        assert_failure(&o, &[&image]);
        let (out, err) = (stdout_of(&o), stderr(&o));
        assert!(
            mentions_any(&err, case.reason),
            "{}: stderr names none of {:?}:\n{err}",
            case.name,
            case.reason
        );
        let line = out
            .lines()
            .find(|l| l.contains(&digest) && l.contains("signed"))
            .unwrap_or_else(|| panic!("{}: no line for {digest}:\n{out}", case.name));
        assert!(line.contains("signed, INVALID ("), "{}: {line}", case.name);
        assert!(mentions_any(line, case.reason), "{}: {line}", case.name);

        let v = verify_json(&bundle, &root);
        assert_eq!(v["ok"], false, "{}", case.name);
        let e = signature_entry(&v, &image, &digest);
        assert_eq!(e["signature"]["status"], "invalid", "{}: {e:#}", case.name);
        assert!(
            mentions_any(e["signature"]["reason"].as_str().unwrap(), case.reason),
            "{}: {e:#}",
            case.name
        );
        assert_eq!(
            kinds(e),
            ["cosign-attestation", "cosign-signature", "sigstore-bundle"],
            "{}",
            case.name
        );
        for f in e["found"].as_array().unwrap() {
            assert_eq!(f["verified"], false, "{}: {f:#}", case.name);
            let reason = f["reason"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: no reason: {f:#}", case.name));
            assert!(
                mentions_any(reason, case.reason),
                "{}: {} says {reason:?}, not any of {:?}",
                case.name,
                f["kind"],
                case.reason
            );
        }
    }
}

/// GET /v2/_catalog of `reg`.
fn catalog(reg: &Registry) -> Vec<String> {
    let r = reg.client().request("GET", "/v2/_catalog", &[], b"");
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    v["repositories"]
        .as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn require_signed_refuses_unsigned_and_wrongly_signed_images_before_writing_or_pushing() {
    let reg = Registry::start();
    let ts = TestSigstore::new();
    let dir = tempfile::tempdir().unwrap();
    let root = ts.write_trusted_root(dir.path());
    let flags = keyless(&root);
    let (good, _) = push_signed(&reg, &ts, "good", &Signing::valid(), 1);
    let (wrong, _) = push_signed(
        &reg,
        &ts,
        "wrong",
        &Signing::valid().identity(OTHER_IDENTITY),
        2,
    );
    push_oci_manifest(&reg, "kl/unsigned", "v1", 3);
    let unsigned = format!("{}/kl/unsigned:v1", reg.host);

    // Export: the signed image passes; an unsigned or wrongly signed one is refused, alone or
    // among others, and no output file appears.
    let ok = dir.path().join("good.tar");
    assert_success(&ferry_with(
        &[
            "export",
            &good,
            "-o",
            ok.to_str().unwrap(),
            "--require-signed",
        ],
        &flags,
    ));
    assert!(ok.exists());
    for (name, images, needles) in [
        ("unsigned", vec![unsigned.as_str()], vec![unsigned.as_str()]),
        (
            "wrong",
            vec![wrong.as_str()],
            vec![wrong.as_str(), "identity"],
        ),
        (
            "mixed",
            vec![good.as_str(), unsigned.as_str(), wrong.as_str()],
            vec![unsigned.as_str(), wrong.as_str()],
        ),
    ] {
        let out = dir.path().join(format!("{name}.tar"));
        let mut args = vec!["export"];
        args.extend(images.iter().copied());
        args.extend(["-o", out.to_str().unwrap(), "--require-signed"]);
        let o = ferry_with(&args, &flags);
        assert_failure(&o, &needles);
        assert!(!out.exists(), "{name}: {} was written", out.display());
    }

    // Import: a bundle with a wrongly signed image (exported without the check) is refused
    // before anything is pushed; the signed bundle imports.
    let mixed = dir.path().join("unchecked.tar");
    let o = ferry(&["export", &good, &wrong, "-o", mixed.to_str().unwrap()]);
    assert_success(&o);
    let dst = Registry::start();
    let prefix = format!("{}/team", dst.host);
    let o = ferry_with(
        &[
            "import",
            mixed.to_str().unwrap(),
            "--to",
            &prefix,
            "--require-signed",
        ],
        &flags,
    );
    assert_failure(&o, &[&wrong, "identity"]);
    assert_eq!(
        catalog(&dst),
        Vec::<String>::new(),
        "import pushed before refusing"
    );
    let unsigned_bundle = dir.path().join("unsigned-unchecked.tar");
    assert_success(&ferry(&[
        "export",
        &unsigned,
        "-o",
        unsigned_bundle.to_str().unwrap(),
    ]));
    let o = ferry_with(
        &[
            "import",
            unsigned_bundle.to_str().unwrap(),
            "--to",
            &prefix,
            "--require-signed",
        ],
        &flags,
    );
    assert_failure(&o, &[&unsigned]);
    assert_eq!(
        catalog(&dst),
        Vec::<String>::new(),
        "import pushed before refusing"
    );
    let m = dir.path().join("m.json");
    assert_success(&ferry_with(
        &[
            "import",
            ok.to_str().unwrap(),
            "--to",
            &prefix,
            "--require-signed",
            "--mapping-out",
            m.to_str().unwrap(),
        ],
        &flags,
    ));
    assert_eq!(catalog(&dst).len(), 1);
}

/// `text` with what changes from run to run replaced: the registry's address, the temporary
/// directory, and every digest (numbered by first appearance; the fixture's signatures name the
/// registry, so their digests change with its port).
fn normalised(text: &str, host: &str, dir: &Path) -> String {
    let mut s = text
        .replace(dir.to_str().unwrap(), "TMP")
        .replace(host, "REGISTRY");
    let re = regex::Regex::new("sha256:[0-9a-f]{64}").unwrap();
    let mut seen: Vec<String> = Vec::new();
    s = re
        .replace_all(&s, |c: &regex::Captures| {
            let d = c[0].to_string();
            let n = match seen.iter().position(|x| *x == d) {
                Some(n) => n,
                None => {
                    seen.push(d);
                    seen.len() - 1
                }
            };
            format!("sha256:<digest-{}>", n + 1)
        })
        .into_owned();
    s
}

#[test]
fn verify_json_of_a_keyless_bundle() {
    let w = world();
    let bundle = w.dir.path().join("b.tar");
    assert_success(&export(&w.image, &bundle, &[]));
    let o = ferry_with(
        &["verify", bundle.to_str().unwrap(), "--json"],
        &keyless(&w.root),
    );
    assert_success(&o);
    let text = stdout_of(&o);
    let v: Value = serde_json::from_str(&text).unwrap();
    // Independently of the snapshot: the verdict, and who signed, when, what.
    assert_eq!(v["ok"], true);
    let idx = signature_entry(&v, &w.image, w.idx.digest());
    assert_eq!(idx["what"], "index");
    assert_eq!(idx["signature"]["status"], "valid");
    assert_all_verified(idx);
    let found = idx["found"].as_array().unwrap();
    let bundle_found = found
        .iter()
        .find(|f| f["kind"] == "sigstore-bundle")
        .unwrap();
    assert_eq!(bundle_found["identity"], IDENTITY);
    assert_eq!(bundle_found["issuer"], OIDC_ISSUER);
    assert_eq!(bundle_found["signing_time"], "2026-06-01T12:01:00Z");
    let amd64 = signature_entry(&v, &w.image, w.idx.image("linux/amd64").digest());
    assert_eq!(amd64["what"], "linux/amd64");
    assert_all_verified(amd64);
    // The other platforms have no signature: unsigned where they are listed at all.
    let img = v["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference"] == w.image.as_str())
        .unwrap();
    for e in img["signatures"].as_array().unwrap() {
        if e["digest"] != w.idx.digest() && e["digest"] != amd64["digest"] {
            assert_eq!(e["signature"]["status"], "unsigned", "{e:#}");
        }
    }
    // What varies from run to run: the hashing speed, the machine's thread count, and the
    // bytes (the registry port, in the signed payloads, has four or five digits).
    let mut stable = v.clone();
    for k in ["bytes", "seconds", "mib_per_s", "threads"] {
        stable["hashing"][k] = Value::from(0);
    }
    let stable = serde_json::to_string_pretty(&stable).unwrap();
    assert_snapshot(
        "verify-keyless.json",
        &normalised(&stable, &w.reg.host, w.dir.path()),
    );
}

#[test]
fn keyless_without_both_identity_and_issuer_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = TestSigstore::new().write_trusted_root(dir.path());
    let root = root.to_str().unwrap();
    let layout = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/single");
    let layout = layout.to_str().unwrap();
    let out = dir.path().join("b.tar");
    let out = out.to_str().unwrap();
    for args in [
        vec![
            "verify",
            layout,
            "--trusted-root",
            root,
            "--certificate-identity",
            IDENTITY,
        ],
        vec![
            "verify",
            layout,
            "--trusted-root",
            root,
            "--certificate-oidc-issuer",
            OIDC_ISSUER,
        ],
        vec!["verify", layout, "--certificate-identity-regexp", ".*"],
        vec![
            "export",
            "127.0.0.1:9/kl/app:v1",
            "-o",
            out,
            "--require-signed",
            "--certificate-identity",
            IDENTITY,
        ],
        vec![
            "import",
            layout,
            "--to",
            "127.0.0.1:9/team",
            "--require-signed",
            "--certificate-oidc-issuer",
            OIDC_ISSUER,
        ],
    ] {
        let o = ferry(&args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}\n{}",
            o.status,
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
    assert!(!Path::new(out).exists());
    // With both, the same verify is no usage error (the layout has no keyless signature).
    let o = ferry(&[
        "verify",
        layout,
        "--trusted-root",
        root,
        "--certificate-identity",
        IDENTITY,
        "--certificate-oidc-issuer",
        OIDC_ISSUER,
    ]);
    assert_ne!(o.status.code(), Some(2), "{}", stderr(&o));
}
