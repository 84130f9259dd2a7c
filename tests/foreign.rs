//! Bundles other tools wrote (DESIGN §2, "Foreign bundles"): regclient's test repository
//! (docker buildx + regctl, OCI 1.1 referrers), a `ctr images export`-shaped sparse index,
//! Docker >= 25 `docker save` archives, legacy `docker save` archives, other layout versions.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::layout::{tar_layout, Layout};
use common::*;
use serde_json::{json, Value};

const TESTREPO: &str = "registry.example.org/testrepo";

fn testrepo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/regclient/testrepo")
}

fn read_mapping(p: &Path) -> BTreeMap<String, String> {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// `index.json` entries of a layout directory: (ref.name if any, digest).
fn layout_entries(dir: &Path) -> Vec<(Option<String>, String)> {
    let v: Value = serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    v["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["annotations"]["org.opencontainers.image.ref.name"]
                    .as_str()
                    .map(str::to_string),
                m["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn regclient_testrepo_imports_ten_times_and_comes_back_with_its_digests() {
    let dst = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let entries = layout_entries(&testrepo());
    let target = format!("testrepo-{:x}", md5::compute(TESTREPO.as_bytes()));
    let mut failures = Vec::new();
    for i in 0..10 {
        let mapping = dir.path().join(format!("m{i}.json"));
        let o = ferry(&[
            "import",
            testrepo().to_str().unwrap(),
            "--name",
            TESTREPO,
            "--to",
            &format!("{}/r{i}", dst.host),
            "--mapping-out",
            mapping.to_str().unwrap(),
        ]);
        if !o.status.success() {
            failures.push(format!("round {i}: {}", stderr(&o)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let c = dst.client();
    for i in 0..10 {
        let repo = format!("r{i}/{target}");
        for (tag, d) in &entries {
            let reference = tag.as_deref().unwrap_or(d);
            let (bytes, _) = c.get_manifest_raw(&repo, reference);
            assert_eq!(&digest(&bytes), d, "round {i}: {repo}:{reference}");
            assert_eq!(c.head_manifest(&repo, d), 200, "round {i}: {repo}@{d}");
        }
    }

    // Exported back from the target, every tag has its original digest and verifies.
    let mut args = vec!["export".to_string()];
    let tags: Vec<(&String, &String)> = entries
        .iter()
        .filter_map(|(t, d)| Some((t.as_ref()?, d)))
        .collect();
    for (t, _) in &tags {
        args.push(format!("{}/r0/{target}:{t}", dst.host));
    }
    let back = dir.path().join("back.tar");
    args.extend(["-o".into(), back.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_success(&ferry(&args));
    let members = tarball::members(&back);
    let recorded: BTreeMap<String, String> = tarball::index_entries(&members)
        .iter()
        .filter_map(|e| {
            let name = e["annotations"]["io.containerd.image.name"].as_str()?;
            Some((name.to_string(), e["digest"].as_str()?.to_string()))
        })
        .collect();
    for (t, d) in &tags {
        let name = format!("{}/r0/{target}:{t}", dst.host);
        assert_eq!(recorded.get(&name), Some(*d), "{name}");
    }
    assert_success(&ferry(&["verify", back.to_str().unwrap()]));
}

#[test]
fn regclient_testrepo_referrers_are_attached_in_inspect_and_verify() {
    let o = ferry(&["inspect", "--json", testrepo().to_str().unwrap()]);
    assert_success(&o);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let image = |name: &str| {
        v["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["reference"] == name)
            .unwrap_or_else(|| panic!("no image {name} in {v:#}"))
            .clone()
    };
    let types = |i: &Value| -> Vec<String> {
        i["attached"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["artifact_type"].as_str().map(str::to_string))
            .collect()
    };
    // v2: tagged referrers a1 (sbom) and a2 (signature) on the index, per-platform ones
    // through fallback-tag indexes.
    let v2 = types(&image("v2"));
    assert!(
        v2.contains(&"application/example.sbom".to_string()),
        "{v2:?}"
    );
    assert!(
        v2.contains(&"application/example.signature".to_string()),
        "{v2:?}"
    );
    assert!(
        v2.contains(&"application/example.arms".to_string()),
        "{v2:?}"
    );
    // v3: referrers pushed by digest, with no tag at all.
    let v3 = image("v3");
    assert_eq!(types(&v3), vec!["application/example.sbom"; 2], "{v3:#}");
    // Attached artifacts are not listed as images of their own.
    let names: Vec<&str> = v["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["reference"].as_str())
        .collect();
    assert!(!names.contains(&"a1"), "{names:?}");
    let text = ferry(&["inspect", testrepo().to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&text.stdout)
            .contains("sbom on index (referrer, application/example.sbom)"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    let o = ferry(&["verify", testrepo().to_str().unwrap()]);
    assert_success(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    let attached: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("attached artifacts: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(attached >= 10, "{out}");
}

/// A layout shaped like `ctr images export`'s default: an index of three platforms with only
/// the host's present, containerd's annotations, no `io.ferry.platforms`.
struct CtrExport {
    dir: tempfile::TempDir,
    tar: PathBuf,
    index: Blob,
    amd64: Image,
}

fn ctr_export() -> CtrExport {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let mut l = Layout::new(&layout);
    let images: Vec<Image> = ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"]
        .iter()
        .enumerate()
        .map(|(i, p)| Image::new(Kind::Oci, p, &[900 + i as u64]))
        .collect();
    let entries: Vec<Value> = images
        .iter()
        .map(|i| index_entry(&i.manifest, Some(&Platform::parse(&i.platform)), None))
        .collect();
    let index = index_blob(OCI_INDEX, &entries);
    l.put(&index);
    l.put_image(&images[0]);
    let name = "docker.io/library/app:1.0";
    l.entry(
        name,
        &index,
        json!({"containerd.io/distribution.source.docker.io": "library/app",
               "org.opencontainers.image.ref.name": "1.0"}),
        None,
    );
    l.finish();
    let tar = dir.path().join("ctr.tar");
    tar_layout(&layout, &tar);
    CtrExport {
        dir,
        tar,
        index,
        amd64: images[0].clone(),
    }
}

#[test]
fn a_ctr_style_sparse_export_verifies_with_a_warning_and_imports_with_strip() {
    let b = ctr_export();
    let o = ferry(&["verify", b.tar.to_str().unwrap()]);
    assert_success(&o);
    let err = stderr(&o);
    assert!(
        err.contains("warning: docker.io/library/app:1.0: linux/arm64/v8")
            && err.contains("linux/arm/v7")
            && err.contains("not recorded as deliberate by the tool that wrote it"),
        "{err}"
    );
    assert!(!err.contains("export it again"), "{err}");
    assert_failure(
        &ferry(&["verify", "--strict", b.tar.to_str().unwrap()]),
        &["linux/arm64/v8", "not recorded as deliberate"],
    );

    let dst = Registry::start();
    let prefix = format!("{}/team", dst.host);
    let m = b.dir.path().join("m.json");
    let import = |extra: &[&str]| {
        let mut args = vec![
            "import",
            b.tar.to_str().unwrap(),
            "--to",
            &prefix,
            "--mapping-out",
            m.to_str().unwrap(),
        ];
        args.extend(extra);
        ferry(&args)
    };
    let o = import(&[]);
    assert_failure(
        &o,
        &[
            "docker.io/library/app:1.0",
            "refused the sparse index",
            &b.index.digest,
            "linux/arm64/v8",
            "not recorded as deliberate by the tool that wrote it",
            "MANIFEST_BLOB_UNKNOWN",
            "--sparse strip",
        ],
    );
    assert!(!stderr(&o).contains("export it again"));
    assert!(!stderr(&o).contains("on purpose"), "{}", stderr(&o));

    let o = import(&["--sparse", "strip"]);
    assert_success(&o);
    let mapping = read_mapping(&m);
    let value = &mapping["docker.io/library/app:1.0"];
    let (tagged, new_digest) = value.split_once('@').unwrap();
    assert_ne!(new_digest, b.index.digest);
    let out = b.dir.path().join("pulled");
    skopeo_copy(
        &format!("docker://{tagged}"),
        &format!("oci:{}:x", out.display()),
        &["--src-tls-verify=false"],
    );
    let pulled: Value =
        serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap();
    assert_eq!(pulled["manifests"][0]["digest"], new_digest);
    assert!(out
        .join("blobs/sha256")
        .join(b.amd64.digest().trim_start_matches("sha256:"))
        .exists());
}

/// Appends a member of any type to a tar being built.
fn append(
    b: &mut tar::Builder<std::fs::File>,
    name: &str,
    kind: tar::EntryType,
    data: &[u8],
    link: Option<&str>,
) {
    let mut h = tar::Header::new_ustar();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(kind);
    if let Some(l) = link {
        h.set_link_name(l).unwrap();
    }
    h.set_path(name).unwrap();
    h.set_cksum();
    b.append(&h, data).unwrap();
}

#[test]
fn a_docker_25_archive_imports_with_its_digests_and_a_legacy_one_is_named() {
    let src = Registry::start();
    let idx = push_oci_index(&src, "d/app", "v1", &["linux/amd64"], false, false);
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.tar");
    assert_success(&ferry(&[
        "export",
        &format!("{}/d/app:v1", src.host),
        "-o",
        bundle.to_str().unwrap(),
    ]));
    // What docker save (>= 25) writes beside the layout: manifest.json, repositories and
    // layer paths that are symlinks into blobs/.
    let archive = dir.path().join("docker25.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&archive).unwrap());
    for (name, data) in tarball::members(&bundle) {
        append(&mut b, &name, tar::EntryType::Regular, &data, None);
    }
    let layer = &idx.images[0].layers[0].blob.digest;
    let hex = layer.trim_start_matches("sha256:");
    let manifest_json = json!([{"Config": "blobs/sha256/x", "RepoTags": ["d/app:v1"],
                                 "Layers": [format!("blobs/sha256/{hex}")]}]);
    append(
        &mut b,
        "manifest.json",
        tar::EntryType::Regular,
        &serde_json::to_vec(&manifest_json).unwrap(),
        None,
    );
    append(
        &mut b,
        "repositories",
        tar::EntryType::Regular,
        br#"{"d/app":{"v1":"x"}}"#,
        None,
    );
    append(
        &mut b,
        &format!("{hex}/"),
        tar::EntryType::Directory,
        b"",
        None,
    );
    append(
        &mut b,
        &format!("{hex}/layer.tar"),
        tar::EntryType::Symlink,
        b"",
        Some(&format!("../blobs/sha256/{hex}")),
    );
    b.into_inner().unwrap();
    let dst = Registry::start();
    let m = dir.path().join("m.json");
    assert_success(&ferry(&["verify", archive.to_str().unwrap()]));
    assert_success(&ferry(&[
        "import",
        archive.to_str().unwrap(),
        "--to",
        &format!("{}/team", dst.host),
        "--mapping-out",
        m.to_str().unwrap(),
    ]));
    let target = &read_mapping(&m)[&format!("{}/d/app:v1", src.host)];
    let repo_ref = target.strip_prefix(&format!("{}/", dst.host)).unwrap();
    assert_eq!(
        digest(&skopeo_inspect_raw(&dst.host, repo_ref, &[])),
        idx.digest()
    );

    // Legacy docker save: manifest.json + <id>/layer.tar, no index.json.
    let legacy = dir.path().join("legacy.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&legacy).unwrap());
    append(&mut b, "abc/", tar::EntryType::Directory, b"", None);
    append(
        &mut b,
        "abc/layer.tar",
        tar::EntryType::Regular,
        b"layer",
        None,
    );
    append(&mut b, "abc/json", tar::EntryType::Regular, b"{}", None);
    append(
        &mut b,
        "def/layer.tar",
        tar::EntryType::Symlink,
        b"",
        Some("../abc/layer.tar"),
    );
    append(
        &mut b,
        "manifest.json",
        tar::EntryType::Regular,
        b"[]",
        None,
    );
    append(&mut b, "repositories", tar::EntryType::Regular, b"{}", None);
    b.into_inner().unwrap();
    for cmd in ["import", "verify", "inspect"] {
        let mut args = vec![cmd, legacy.to_str().unwrap()];
        if cmd == "import" {
            args.extend(["--to", "127.0.0.1:9/team"]);
        }
        assert_failure(
            &ferry(&args),
            &[
                "legacy `docker save` archive",
                "skopeo copy docker-archive:",
            ],
        );
    }
}

#[test]
fn layout_versions_other_than_1_are_refused_by_name() {
    let b = ctr_export();
    let layout = b.dir.path().join("layout");
    std::fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"9.0.0"}"#,
    )
    .unwrap();
    let tar = b.dir.path().join("v9.tar");
    tar_layout(&layout, &tar);
    for bundle in [&layout, &tar] {
        for cmd in ["verify", "inspect", "import"] {
            let mut args = vec![cmd, bundle.to_str().unwrap()];
            if cmd == "import" {
                args.extend(["--to", "127.0.0.1:9/team"]);
            }
            assert_failure(&ferry(&args), &["imageLayoutVersion", "9.0.0", "1.x"]);
        }
    }
}
