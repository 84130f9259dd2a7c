//! A registry that holds an index sparse (DESIGN §3.2, §7): the index lists three platforms but
//! only linux/amd64's manifest is there. Distribution 2.8.2 refuses to store an index whose
//! children are missing, so the test pushes the whole image and then deletes the other two
//! platform manifests by digest (`storage.delete.enabled`): the registry really lacks them
//! while it still serves the index, as a mirror that copied one platform does.

use crate::common;

use std::path::Path;

use common::*;
use serde_json::Value;

const P3: [&str; 3] = ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"];
const ABSENT: [&str; 2] = ["linux/arm64/v8", "linux/arm/v7"];

/// `repo:v1`, an OCI index of [`P3`] of which only linux/amd64's manifest is in `reg`.
fn sparse_image(reg: &Registry, repo: &str) -> ImageIndex {
    let idx = push_oci_index(reg, repo, "v1", &P3, true, false);
    let c = reg.client();
    for p in ABSENT {
        let d = idx.image(p).digest();
        assert_eq!(c.delete_manifest(repo, d), 202, "cannot delete {p} {d}");
        assert_eq!(c.head_manifest(repo, d), 404, "{p} {d} is still served");
    }
    assert_eq!(c.head_manifest(repo, "v1"), 200, "the index is gone");
    idx
}

fn index_json(bundle: &Path) -> Value {
    let mut ar = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == "index.json" {
            return serde_json::from_reader(&mut e).unwrap();
        }
    }
    panic!("no index.json in {}", bundle.display())
}

fn member(bundle: &Path, digest: &str) -> Option<Vec<u8>> {
    let name = format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"));
    let mut ar = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == name {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut v).unwrap();
            return Some(v);
        }
    }
    None
}

#[test]
fn without_platform_the_error_names_every_absent_platform_and_the_platforms_held() {
    let reg = Registry::start();
    let idx = sparse_image(&reg, "sparse/app");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.tar");
    let image = format!("{}/sparse/app:v1", reg.host);
    let o = ferry(&["export", &image, "-o", out.to_str().unwrap()]);
    let mut needles = vec![
        image.clone(),
        "the registry holds only linux/amd64 of this index".to_string(),
        "--platform linux/amd64".to_string(),
    ];
    for p in ABSENT {
        needles.push(format!("{p} {}", idx.image(p).digest()));
    }
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    assert_failure(&o, &needles);
    assert!(
        !stderr(&o).contains("--platform linux/arm"),
        "suggested an absent platform:\n{}",
        stderr(&o)
    );
    assert!(!out.exists(), "a bundle was written although export failed");

    // With --keep-going the other image still travels, and the run still fails naming both.
    push_oci_index(&reg, "full/app", "v1", &P3, true, false);
    let full = format!("{}/full/app:v1", reg.host);
    let o = ferry(&[
        "export",
        &image,
        &full,
        "--keep-going",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_failure(&o, &needles);
    let names: Vec<String> = index_json(&out)["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(names, vec![full]);
}

#[test]
fn with_the_platforms_held_the_export_works_and_never_asks_for_the_absent_ones() {
    let reg = Registry::start();
    let idx = sparse_image(&reg, "sparse/app");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("amd64.tar");
    let image = format!("{}/sparse/app:v1", reg.host);
    let before = reg.requests().len();
    assert_success(&ferry(&[
        "export",
        &image,
        "--platform",
        "linux/amd64",
        "-o",
        out.to_str().unwrap(),
    ]));
    let seen = reg.requests();
    for p in ABSENT {
        let d = idx.image(p).digest();
        let asked: Vec<_> = seen[before..]
            .iter()
            .filter(|a| a.path.contains(d))
            .cloned()
            .collect();
        assert!(asked.is_empty(), "ferry asked for absent {p}: {asked:?}");
    }
    let v = index_json(&out);
    let e = &v["manifests"][0];
    assert_eq!(e["digest"], idx.digest());
    assert_eq!(e["annotations"]["io.ferry.platforms"], "linux/amd64");
    // The index travels unchanged (sparse), with the one platform it has.
    assert_eq!(member(&out, idx.digest()).unwrap(), idx.index.bytes);
    let amd = idx.image("linux/amd64");
    assert_eq!(member(&out, amd.digest()).unwrap(), amd.manifest.bytes);
    for p in ABSENT {
        assert!(
            member(&out, idx.image(p).digest()).is_none(),
            "{p} in bundle"
        );
    }
    assert_success(&ferry(&["verify", out.to_str().unwrap()]));

    // Asking for an absent platform names it; the registry was asked only for that one.
    let o = ferry(&[
        "export",
        &image,
        "--platform",
        "linux/arm64",
        "-o",
        dir.path().join("arm.tar").to_str().unwrap(),
    ]);
    let arm = format!("linux/arm64/v8 {}", idx.image("linux/arm64/v8").digest());
    assert_failure(&o, &[image.as_str(), arm.as_str()]);
    assert!(
        !stderr(&o).contains(idx.image("linux/arm/v7").digest()),
        "named a platform that was not asked for:\n{}",
        stderr(&o)
    );
}
