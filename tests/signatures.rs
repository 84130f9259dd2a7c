//! Signatures, SBOMs and referrers travel with their images (DESIGN §6), byte for byte, through
//! a real registry without a referrers API (distribution 2.8.2: fallback tags).

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use common::cosign::*;
use common::*;
use serde_json::{json, Value};

const P3: [&str; 3] = ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"];
const SPDX: &str = "application/spdx+json";

fn index_entries(bundle: &Path) -> Vec<Value> {
    let mut ar = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == "index.json" {
            let v: Value = serde_json::from_reader(&mut e).unwrap();
            return v["manifests"].as_array().unwrap().clone();
        }
    }
    panic!("no index.json");
}

/// The digests `index.json` lists.
fn entry_digests(bundle: &Path) -> BTreeSet<String> {
    index_entries(bundle)
        .iter()
        .map(|e| e["digest"].as_str().unwrap().to_string())
        .collect()
}

/// A set of digests.
fn set_of(digests: &[&str]) -> BTreeSet<String> {
    digests.iter().map(|d| d.to_string()).collect()
}

fn blobs(bundle: &Path) -> BTreeSet<String> {
    let mut ar = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    ar.entries()
        .unwrap()
        .filter_map(|e| {
            e.unwrap()
                .path()
                .unwrap()
                .to_string_lossy()
                .strip_prefix("blobs/sha256/")
                .map(|h| format!("sha256:{h}"))
        })
        .collect()
}

struct Signed {
    reg: Registry,
    idx: ImageIndex,
    sig_index: Blob,
    sig_arm: Blob,
    sbom: Blob,
}

/// An index whose index and arm64 manifest are signed, plus an SBOM referrer of the index.
fn signed_image() -> Signed {
    let reg = Registry::start();
    let c = reg.client();
    let idx = push_oci_index(&reg, "sig/app", "v1", &P3, true, false);
    let k = key(7);
    let name = format!("{}/sig/app", reg.host);
    let sig_index = push_cosign_signature(&c, "sig/app", &name, idx.digest(), &k);
    let arm = idx.image("linux/arm64/v8");
    let sig_arm = push_cosign_signature(&c, "sig/app", &name, arm.digest(), &k);
    let subject = json!({"mediaType": OCI_INDEX, "digest": idx.digest(), "size": idx.index.size()});
    let sbom = push_referrer(
        &c,
        "sig/app",
        &subject,
        SPDX,
        br#"{"spdxVersion":"SPDX-2.3","name":"app"}"#,
    );
    set_fallback(&c, "sig/app", idx.digest(), &[(&sbom, SPDX)]);
    Signed {
        reg,
        idx,
        sig_index,
        sig_arm,
        sbom,
    }
}

#[test]
fn signatures_and_sbom_travel_and_the_fallback_index_is_merged() {
    let s = signed_image();
    let dst = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.tar");
    let image = format!("{}/sig/app:v1", s.reg.host);
    assert_success(&ferry(&["export", &image, "-o", bundle.to_str().unwrap()]));

    let entries = index_entries(&bundle);
    let named = |n: &str| {
        entries
            .iter()
            .find(|e| e["annotations"]["org.opencontainers.image.ref.name"] == n)
            .unwrap_or_else(|| panic!("no entry {n}: {entries:?}"))
            .clone()
    };
    let hex = |d: &str| d.trim_start_matches("sha256:").to_string();
    let arm = s.idx.image("linux/arm64/v8").digest().to_string();
    let e = named(&format!(
        "{}/sig/app:sha256-{}.sig",
        s.reg.host,
        hex(s.idx.digest())
    ));
    assert_eq!(e["digest"], s.sig_index.digest.as_str());
    assert_eq!(e["annotations"]["io.ferry.subject"], s.idx.digest());
    let e = named(&format!("{}/sig/app:sha256-{}.sig", s.reg.host, hex(&arm)));
    assert_eq!(e["digest"], s.sig_arm.digest.as_str());
    assert_eq!(e["annotations"]["io.ferry.subject"], arm.as_str());
    let e = named(&format!("{}/sig/app@{}", s.reg.host, s.sbom.digest));
    assert_eq!(e["artifactType"], SPDX);
    assert_eq!(e["annotations"]["io.ferry.subject"], s.idx.digest());
    // The fallback index itself is bookkeeping, not an image of the bundle.
    assert!(!entries
        .iter()
        .any(|e| e["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":sha256-{}", hex(s.idx.digest())))));

    let prefix = format!("{}/team", dst.host);
    let m = dir.path().join("m.json");
    import_mapped(&bundle, &prefix, &m);
    let mapping: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
    assert_eq!(
        mapping.len(),
        1,
        "attached artifacts are not mapping keys: {mapping:?}"
    );
    let target = mapping[&image].rsplit_once(':').unwrap().0.to_string();
    let repo = target
        .trim_start_matches(&format!("{}/", dst.host))
        .to_string();
    for (tag, want) in [
        (format!("sha256-{}.sig", hex(s.idx.digest())), &s.sig_index),
        (format!("sha256-{}.sig", hex(&arm)), &s.sig_arm),
    ] {
        assert_eq!(
            digest(&skopeo_inspect_raw(
                &dst.host,
                &format!("{repo}:{tag}"),
                &[]
            )),
            want.digest
        );
    }
    assert_eq!(
        digest(&skopeo_inspect_raw(
            &dst.host,
            &format!("{repo}@{}", s.sbom.digest),
            &[]
        )),
        s.sbom.digest
    );
    let fallback_tag = format!("sha256-{}", hex(s.idx.digest()));
    let listed = |digests: &[&str]| {
        let v: Value = serde_json::from_slice(&skopeo_inspect_raw(
            &dst.host,
            &format!("{repo}:{fallback_tag}"),
            &[],
        ))
        .unwrap();
        let got: Vec<String> = v["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["digest"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            got,
            digests.iter().map(|d| d.to_string()).collect::<Vec<_>>()
        );
        assert!(v["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["artifactType"].is_string()));
    };
    listed(&[&s.sbom.digest]);

    // A second referrer of the same subject, from a later bundle: the first stays listed.
    let c = s.reg.client();
    let subject =
        json!({"mediaType": OCI_INDEX, "digest": s.idx.digest(), "size": s.idx.index.size()});
    let sbom2 = push_referrer(
        &c,
        "sig/app",
        &subject,
        "application/vnd.cyclonedx+json",
        br#"{"bomFormat":"CycloneDX"}"#,
    );
    set_fallback(
        &c,
        "sig/app",
        s.idx.digest(),
        &[(&sbom2, "application/vnd.cyclonedx+json")],
    );
    let bundle2 = dir.path().join("b2.tar");
    assert_success(&ferry(&["export", &image, "-o", bundle2.to_str().unwrap()]));
    assert_success(&ferry(&[
        "import",
        bundle2.to_str().unwrap(),
        "--to",
        &prefix,
        "--mapping-out",
        m.to_str().unwrap(),
    ]));
    listed(&[&s.sbom.digest, &sbom2.digest]);
}

#[test]
fn platform_subset_keeps_the_signed_index_and_its_signatures() {
    let s = signed_image();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("arm.tar");
    let image = format!("{}/sig/app:v1", s.reg.host);
    assert_success(&ferry(&[
        "export",
        &image,
        "--platform",
        "linux/arm64",
        "-o",
        bundle.to_str().unwrap(),
    ]));
    let b = blobs(&bundle);
    for d in [
        s.idx.digest(),
        &s.sig_index.digest,
        &s.sig_arm.digest,
        &s.sbom.digest,
    ] {
        assert!(b.contains(d), "{d} missing from the subset bundle");
    }
    for p in ["linux/amd64", "linux/arm/v7"] {
        assert!(
            !b.contains(s.idx.image(p).digest()),
            "{p} manifest in an arm64 bundle"
        );
    }
    // No signature exists for the other platforms, and none was invented: the image, its two
    // signatures and the SBOM, nothing else.
    assert_eq!(
        entry_digests(&bundle),
        set_of(&[
            s.idx.digest(),
            &s.sig_index.digest,
            &s.sig_arm.digest,
            &s.sbom.digest
        ])
    );
    // Offline, the signed index and the signed arm64 manifest still verify after the subset.
    let pubkey = dir.path().join("cosign.pub");
    std::fs::write(&pubkey, public_pem(&key(7))).unwrap();
    let o = ferry(&[
        "verify",
        bundle.to_str().unwrap(),
        "--key",
        pubkey.to_str().unwrap(),
    ]);
    assert_success(&o);
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        text.contains(s.idx.digest()) && text.contains(s.idx.image("linux/arm64/v8").digest()),
        "{text}"
    );
    let valid = [
        format!("index {}: signed, valid", s.idx.digest()),
        format!(
            "linux/arm64/v8 {}: signed, valid",
            s.idx.image("linux/arm64/v8").digest()
        ),
    ];
    for v in &valid {
        assert!(text.contains(v.as_str()), "no {v:?}:\n{text}");
    }
    assert_eq!(text.matches("signed, valid").count(), valid.len(), "{text}");
    // With another key both are invalid, and verify fails naming the image.
    std::fs::write(&pubkey, public_pem(&key(9))).unwrap();
    let o = ferry(&[
        "verify",
        bundle.to_str().unwrap(),
        "--key",
        pubkey.to_str().unwrap(),
    ]);
    assert_failure(&o, &["sig/app:v1"]);
}

#[test]
fn no_signatures_and_referrer_filters() {
    let s = signed_image();
    let dir = tempfile::tempdir().unwrap();
    let image = format!("{}/sig/app:v1", s.reg.host);
    let plain = dir.path().join("plain.tar");
    assert_success(&ferry(&[
        "export",
        &image,
        "--no-signatures",
        "-o",
        plain.to_str().unwrap(),
    ]));
    let image_only = set_of(&[s.idx.digest()]);
    let with_sigs = set_of(&[s.idx.digest(), &s.sig_index.digest, &s.sig_arm.digest]);
    assert_eq!(entry_digests(&plain), image_only);
    let only_sigs = dir.path().join("sigs.tar");
    assert_success(&ferry(&[
        "export",
        &image,
        "--referrers",
        "none",
        "-o",
        only_sigs.to_str().unwrap(),
    ]));
    assert_eq!(entry_digests(&only_sigs), with_sigs);
    let other_type = dir.path().join("other.tar");
    assert_success(&ferry(&[
        "export",
        &image,
        "--referrers",
        "application/x-other",
        "-o",
        other_type.to_str().unwrap(),
    ]));
    assert_eq!(entry_digests(&other_type), with_sigs);
    let spdx = dir.path().join("spdx.tar");
    assert_success(&ferry(&[
        "export",
        &image,
        "--referrers",
        SPDX,
        "-o",
        spdx.to_str().unwrap(),
    ]));
    let mut with_sbom = with_sigs.clone();
    with_sbom.insert(s.sbom.digest.clone());
    assert_eq!(entry_digests(&spdx), with_sbom);
}
