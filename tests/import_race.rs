//! An index and one of its own children exported as two references of one repository
//! (`repo:multi` and `repo:amd64`): the export writes every blob once, and the import never
//! overlaps the PUT of a manifest with the PUT of an index that lists it (DESIGN §4.3). Before
//! the push waves, distribution 2.8.2 refused such imports at random (`DIGEST_INVALID`,
//! `MANIFEST_BLOB_UNKNOWN`) because its filesystem driver rewrites link files non-atomically.

use crate::common;

use std::collections::BTreeMap;

use common::*;

const P3: [&str; 3] = ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"];

/// A source registry with `race/app:multi` (an OCI index with attestations) and its amd64
/// child also tagged `race/app:amd64`.
fn source() -> (Registry, ImageIndex) {
    let reg = Registry::start();
    let idx = push_oci_index(&reg, "race/app", "multi", &P3, true, true);
    let amd64 = idx.image("linux/amd64");
    push_manifest(
        &reg,
        "race/app",
        "amd64",
        &amd64.manifest.media_type,
        &amd64.manifest.bytes,
    );
    (reg, idx)
}

fn duplicates(names: &[String]) -> Vec<String> {
    let mut count: BTreeMap<&String, usize> = BTreeMap::new();
    for n in names {
        *count.entry(n).or_default() += 1;
    }
    count
        .into_iter()
        .filter(|(_, c)| *c > 1)
        .map(|(n, c)| format!("{n} x{c}"))
        .collect()
}

#[test]
fn an_index_and_its_own_child_export_each_blob_once() {
    let (reg, idx) = source();
    let dir = tempfile::tempdir().unwrap();
    for platforms in [&[][..], &["--platform", "linux/amd64"][..]] {
        let out = dir.path().join("b.tar");
        let mut args = vec![
            "export".to_string(),
            format!("{}/race/app:multi", reg.host),
            format!("{}/race/app:amd64", reg.host),
            "-o".into(),
            out.display().to_string(),
        ];
        args.extend(platforms.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_success(&ferry(&args));
        let members = tarball::members(&out);
        let names: Vec<String> = members.iter().map(|(n, _)| n.clone()).collect();
        assert_eq!(
            duplicates(&names),
            Vec::<String>::new(),
            "duplicate members with {platforms:?}"
        );
        let blobs = tarball::blob_names(&members);
        let amd64 = idx.image("linux/amd64");
        for d in amd64.blob_digests() {
            assert!(blobs.contains(&d), "{d} missing with {platforms:?}");
        }
        assert!(blobs.contains(&idx.digest().to_string()));
    }
}

#[test]
fn an_index_and_its_own_child_import_forty_times_without_a_race() {
    let (src, idx) = source();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.tar");
    assert_success(&ferry(&[
        "export",
        &format!("{}/race/app:multi", src.host),
        &format!("{}/race/app:amd64", src.host),
        "-o",
        bundle.to_str().unwrap(),
    ]));
    let dst = Registry::start();
    let amd64 = idx.image("linux/amd64").digest().to_string();
    let mut failures = Vec::new();
    for i in 0..40 {
        let prefix = format!("{}/round{i}", dst.host);
        let mapping = dir.path().join(format!("m{i}.json"));
        let o = ferry(&[
            "import",
            bundle.to_str().unwrap(),
            "--to",
            &prefix,
            "--mapping-out",
            mapping.to_str().unwrap(),
        ]);
        if !o.status.success() {
            failures.push(format!("round {i}: {}", stderr(&o)));
            continue;
        }
        let m: BTreeMap<String, String> =
            serde_json::from_slice(&std::fs::read(&mapping).unwrap()).unwrap();
        let multi = &m[&format!("{}/race/app:multi", src.host)];
        let (repo_path, tag) = multi
            .strip_prefix(&format!("{}/", dst.host))
            .unwrap()
            .rsplit_once(':')
            .unwrap();
        assert_eq!(tag, "multi");
        let c = dst.client();
        assert_eq!(c.get_manifest_raw(repo_path, "multi").0, idx.index.bytes);
        assert_eq!(
            digest(&c.get_manifest_raw(repo_path, "amd64").0),
            amd64,
            "round {i}: amd64 tag"
        );
    }
    assert!(
        failures.is_empty(),
        "{} of 40 imports failed:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Per repository, each manifest digest PUT once and each tag once.
    let mut puts: BTreeMap<String, usize> = BTreeMap::new();
    for a in dst.requests() {
        if a.method == "PUT" && a.path.contains("/manifests/") {
            *puts.entry(a.path.clone()).or_default() += 1;
        }
    }
    let twice: Vec<_> = puts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "manifests PUT more than once: {twice:?}");
    // Every round PUT the index, its 6 children by digest and both tags.
    let per_round = idx.manifest_digests().len() + 1 + 2;
    assert_eq!(puts.len(), 40 * per_round, "{puts:#?}");
}

#[test]
fn sparse_keep_names_every_refused_index() {
    let src = Registry::start();
    let one = push_oci_index(&src, "sp/one", "v1", &P3, true, false);
    let two = push_oci_index_seeded(&src, "sp/two", "v2", &P3, true, false, 77);
    let whole = push_oci_index_seeded(
        &src,
        "sp/whole",
        "v3",
        &["linux/arm64/v8"],
        false,
        false,
        78,
    );
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("arm.tar");
    assert_success(&ferry(&[
        "export",
        &format!("{}/sp/one:v1", src.host),
        &format!("{}/sp/two:v2", src.host),
        &format!("{}/sp/whole:v3", src.host),
        "--platform",
        "linux/arm64",
        "-o",
        bundle.to_str().unwrap(),
    ]));
    let dst = Registry::start();
    let o = ferry(&[
        "import",
        bundle.to_str().unwrap(),
        "--to",
        &format!("{}/team", dst.host),
        "--mapping-out",
        dir.path().join("m.json").to_str().unwrap(),
    ]);
    assert_failure(
        &o,
        &[
            "sp/one:v1",
            one.digest(),
            "sp/two:v2",
            two.digest(),
            "2 indexes",
            "linux/amd64",
            "MANIFEST_BLOB_UNKNOWN",
            "--sparse strip",
        ],
    );
    // The complete image in the same bundle was pushed with its tag: nothing depended on
    // the refused indexes.
    let tagged: Vec<String> = dst
        .requests()
        .iter()
        .filter(|a| a.method == "PUT" && a.status == 201 && a.path.ends_with("/manifests/v3"))
        .map(|a| a.path.clone())
        .collect();
    assert_eq!(tagged.len(), 1, "{tagged:?}");
    assert!(!whole.digest().is_empty());
    let refused_tags = dst
        .requests()
        .iter()
        .filter(|a| {
            a.method == "PUT"
                && (a.path.ends_with("/manifests/v1") || a.path.ends_with("/manifests/v2"))
        })
        .count();
    assert_eq!(refused_tags, 0, "a tag of a refused index was PUT");
}
