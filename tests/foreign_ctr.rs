//! A real `ctr images export` bundle (DESIGN §2, "Foreign bundles"): containerd 1.6 pulls a
//! three-platform OCI index from a real registry (distribution 2.8.2) for its default platform
//! only and exports it; ferry verifies that bundle with a warning naming the absent platforms and
//! imports it with `--sparse strip`. The containerd daemon is a private one
//! (`tests/common/readers.rs`); `tests/foreign.rs` has the hand-made bundle of the same shape.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use common::readers::*;
use common::tarball::*;
use common::*;
use serde_json::{json, Value};

const PLATFORMS: [&str; 3] = ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"];

/// The blobs of a tar (`blobs/sha256/<hex>` members with contents): digest → bytes.
fn blobs(m: &[(String, Vec<u8>)]) -> BTreeMap<String, Vec<u8>> {
    m.iter()
        .filter_map(|(n, d)| {
            let hex = n.strip_prefix("blobs/sha256/")?;
            (!hex.is_empty()).then(|| (format!("sha256:{hex}"), d.clone()))
        })
        .collect()
}

fn read_mapping(p: &Path) -> BTreeMap<String, String> {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn a_real_ctr_export_of_the_host_platform_verifies_with_a_warning_and_imports_with_strip() {
    let src = Registry::start();
    let idx = hello_index(Kind::Oci, &PLATFORMS, "hello from ctr images export\n");
    idx.push(&src.client(), "ctr/app", "v1");
    let name = format!("{}/ctr/app:v1", src.host);
    let [amd, arm64, armv7] = PLATFORMS.map(|p| idx.image(p).clone());

    // ctr pulls the host's platform only (no --all-platforms): the index and linux/amd64.
    let ctd = Containerd::start();
    run(&mut ctd.ctr(&[
        "images",
        "pull",
        "--plain-http",
        "--snapshotter",
        "native",
        &name,
    ]));
    assert_eq!(ctd.content(idx.digest()), Some(idx.index.bytes.clone()));
    assert_eq!(ctd.content(amd.digest()), Some(amd.manifest.bytes.clone()));
    for other in [&arm64, &armv7] {
        assert_eq!(ctd.content(other.digest()), None, "{}", other.platform);
    }
    let dst = Registry::start();
    // Only the bundle from here on (dst started first: it cannot take the source's port).
    drop(src);
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("ctr.tar");
    let b = bundle.to_str().unwrap();
    // Default export: the host's platform.
    run(&mut ctd.ctr(&["images", "export", b, &name]));
    drop(ctd);

    // What ctr wrote: one entry, the unchanged index, named by io.containerd.image.name (the full
    // reference) and a tag-only ref.name; no io.ferry.platforms.
    let m = members(&bundle);
    let entries = index_entries(&m);
    assert_eq!(
        entries,
        vec![json!({
            "mediaType": OCI_INDEX,
            "digest": idx.digest(),
            "size": idx.index.bytes.len(),
            "annotations": {
                "io.containerd.image.name": name,
                "org.opencontainers.image.ref.name": "v1",
            },
        })]
    );
    assert!(entries[0]["annotations"]
        .get("io.ferry.platforms")
        .is_none());
    // The index lists the three platforms; only linux/amd64's manifest, config and layer are
    // there.
    let blobs = blobs(&m);
    assert_eq!(blobs[idx.digest()], idx.index.bytes);
    let index: Value = serde_json::from_slice(&blobs[idx.digest()]).unwrap();
    let listed: Vec<(&str, &str)> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let arch = e["platform"]["architecture"].as_str().unwrap();
            (e["digest"].as_str().unwrap(), arch)
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            (amd.digest(), "amd64"),
            (arm64.digest(), "arm64"),
            (armv7.digest(), "arm")
        ]
    );
    let mut want: Vec<String> = vec![idx.digest().into(), amd.digest().into()];
    want.extend(amd.blob_digests());
    want.sort();
    assert_eq!(blobs.keys().cloned().collect::<Vec<_>>(), want);
    assert_eq!(blobs[amd.digest()], amd.manifest.bytes);
    // Beside the layout, ctr writes directory entries and Docker's manifest.json for the host's
    // platform (ferry ignores it).
    let docker: Value =
        serde_json::from_slice(&m.iter().find(|(n, _)| n == "manifest.json").unwrap().1).unwrap();
    let path = |d: &str| format!("blobs/sha256/{}", &d["sha256:".len()..]);
    assert_eq!(
        docker,
        json!([{
            "Config": path(&amd.config.digest),
            "RepoTags": [name],
            "Layers": [path(&amd.layers[0].blob.digest)],
        }])
    );
    let mut other: Vec<&str> = m
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !n.starts_with("blobs/sha256/") || n.len() == "blobs/sha256/".len())
        .collect();
    other.sort();
    assert_eq!(
        other,
        [
            "blobs/",
            "blobs/sha256/",
            "index.json",
            "manifest.json",
            "oci-layout"
        ]
    );

    // verify: OK, with a warning naming the absent platforms; --strict: an error.
    let absent = format!(
        "linux/arm64/v8 {}, linux/arm/v7 {} absent from the bundle, \
         not recorded as deliberate by the tool that wrote it",
        arm64.digest(),
        armv7.digest()
    );
    let o = ferry(&["verify", b]);
    assert_success(&o);
    assert!(
        stderr(&o).contains(&format!("warning: {name}: {absent}")),
        "{}",
        stderr(&o)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("verify: OK"));
    assert_failure(
        &ferry(&["verify", "--strict", b]),
        &[&name, &absent, "--strict makes this an error"],
    );

    // import, --sparse keep (default): distribution 2.8.2 refuses the index; the way out is named.
    let prefix = format!("{}/team", dst.host);
    let mapping = dir.path().join("m.json");
    let import = |extra: &[&str]| {
        let mut args = vec![
            "import",
            b,
            "--to",
            &prefix,
            "--mapping-out",
            mapping.to_str().unwrap(),
        ];
        args.extend(extra);
        ferry(&args)
    };
    let o = import(&[]);
    assert_failure(
        &o,
        &[
            &name,
            "refused the sparse index",
            idx.digest(),
            "linux/arm64/v8",
            "linux/arm/v7",
            "are absent from the bundle, not recorded as deliberate by the tool that wrote it",
            "MANIFEST_BLOB_UNKNOWN",
            "--sparse strip",
        ],
    );
    assert!(!stderr(&o).contains("on purpose"), "{}", stderr(&o));
    let source_repo = name.rsplit_once(':').unwrap().0;
    let path = source_repo.split_once('/').unwrap().1.replace('/', "-");
    let target = format!("{prefix}/{path}-{:x}", md5::compute(source_repo.as_bytes()));
    let repo = target.strip_prefix(&format!("{}/", dst.host)).unwrap();
    let c = dst.client();
    assert_eq!(c.head_manifest(repo, amd.digest()), 200);
    assert_eq!(c.head_manifest(repo, "v1"), 404, "tag of a refused index");

    // --sparse strip: a new index of linux/amd64, whose manifest keeps its digest.
    let o = import(&["--sparse", "strip"]);
    assert_success(&o);
    let mapped = read_mapping(&mapping);
    let tagged = &mapped[&name];
    let (tag_ref, new) = tagged.split_once('@').unwrap();
    assert_eq!(tag_ref, format!("{target}:v1"));
    assert_ne!(new, idx.digest());
    assert_eq!(
        mapped,
        BTreeMap::from([
            (name.clone(), tagged.clone()),
            (
                format!("{source_repo}@{}", idx.digest()),
                format!("{target}@{new}")
            ),
        ])
    );
    let raw = skopeo_inspect_raw(&dst.host, &format!("{repo}:v1"), &[]);
    assert_eq!(digest(&raw), new);
    let stripped: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        stripped["manifests"],
        json!([{
            "mediaType": OCI_MANIFEST,
            "digest": amd.digest(),
            "size": amd.manifest.bytes.len(),
            "platform": {"architecture": "amd64", "os": "linux"},
        }])
    );
    let pulled = dir.path().join("pulled");
    skopeo_copy(
        &format!("docker://{tag_ref}"),
        &format!("oci:{}:x", pulled.display()),
        &["--src-tls-verify=false"],
    );
    let layout: Value =
        serde_json::from_slice(&std::fs::read(pulled.join("index.json")).unwrap()).unwrap();
    assert_eq!(layout["manifests"][0]["digest"], new);
    let hex = |d: &str| pulled.join("blobs/sha256").join(&d["sha256:".len()..]);
    assert_eq!(
        std::fs::read(hex(amd.digest())).unwrap(),
        amd.manifest.bytes
    );
    assert_eq!(
        std::fs::read(hex(&amd.layers[0].blob.digest)).unwrap(),
        amd.layers[0].blob.bytes
    );
}
