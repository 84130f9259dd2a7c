//! `ferry export` of the less common shapes: nested indexes, single manifests with
//! `--platform`, and artifacts of any media type.

use crate::common;

use common::tarball::*;
use common::*;

#[test]
fn nested_index_single_manifest_and_artifacts() {
    let reg = Registry::start();
    let c = reg.client();
    // An index whose children are indexes: walked recursively with the same platform rules.
    let inner_a = build_index(
        Kind::Oci,
        "nest/app",
        "a",
        &["linux/amd64", "linux/arm64/v8"],
        false,
        false,
        11,
    );
    let inner_b = build_index(
        Kind::Oci,
        "nest/app",
        "b",
        &["linux/arm/v7"],
        false,
        false,
        12,
    );
    inner_a.push(&c, "nest/app", "a");
    inner_b.push(&c, "nest/app", "b");
    let outer = index_blob(
        OCI_INDEX,
        &[
            index_entry(&inner_a.index, None, None),
            index_entry(&inner_b.index, None, None),
        ],
    );
    c.push_manifest("nest/app", "outer", OCI_INDEX, &outer.bytes);
    // A single amd64 manifest, and an artifact with an unknown config type (carried as is).
    let single = push_oci_manifest(&reg, "nest/single", "v1", 5);
    let cfg = Blob::new(
        "application/vnd.example.unknown.config.v1+json",
        b"{}".to_vec(),
    );
    let payload = Blob::new(
        "application/vnd.example.chart.layer.v1.tar",
        random_bytes(3, 777),
    );
    for b in [&cfg, &payload] {
        push_blob(&reg.host, "nest/chart", &b.bytes);
    }
    let art = manifest_blob(OCI_MANIFEST, &cfg, std::slice::from_ref(&payload), None);
    c.push_manifest("nest/chart", "0.1.0", OCI_MANIFEST, &art.bytes);

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("n.tar");
    let outer_ref = format!("{}/nest/app:outer", reg.host);
    assert_success(&ferry(&[
        "export",
        &outer_ref,
        "--platform",
        "linux/arm64",
        "-o",
        out.to_str().unwrap(),
    ]));
    let names: std::collections::BTreeSet<String> =
        blob_names(&members(&out)).into_iter().collect();
    let arm = inner_a.image("linux/arm64/v8");
    assert!(names.contains(&outer.digest) && names.contains(&inner_a.index.digest));
    assert!(
        !names.contains(&inner_b.index.digest),
        "an inner index with no kept platform was stored"
    );
    for d in arm.blob_digests() {
        assert!(names.contains(&d));
    }
    for d in inner_a.image("linux/amd64").layer_digests() {
        assert!(!names.contains(&d), "amd64 layer leaked");
    }
    assert_eq!(
        index_entries(&members(&out))[0]["annotations"]["io.ferry.platforms"],
        "linux/arm64/v8"
    );

    // --platform against a single manifest checks its config.
    let single_ref = format!("{}/nest/single:v1", reg.host);
    let e = ferry(&[
        "export",
        &single_ref,
        "--platform",
        "linux/arm64",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_failure(
        &e,
        &["nest/single:v1", "linux/arm64", "it has: linux/amd64"],
    );
    assert_success(&ferry(&[
        "export",
        &single_ref,
        "--platform",
        "linux/amd64",
        "-o",
        out.to_str().unwrap(),
    ]));
    let names = blob_names(&members(&out));
    assert!(names.contains(&single.config.digest) && names.contains(&single.digest().to_string()));

    // Artifacts of any media type are carried byte for byte.
    let chart = format!("{}/nest/chart:0.1.0", reg.host);
    assert_success(&ferry(&["export", &chart, "-o", out.to_str().unwrap()]));
    let m = members(&out);
    for b in [&cfg, &payload, &art] {
        let found = m
            .iter()
            .find(|(n, _)| n.ends_with(b.digest.trim_start_matches("sha256:")))
            .expect("artifact blob");
        assert_eq!(found.1, b.bytes);
    }
}
