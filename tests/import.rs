//! `ferry import` into a real registry (distribution 2.8.2), checked with skopeo and raw HTTP.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;

const P3: [&str; 3] = ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"];

fn read_mapping(p: &Path) -> BTreeMap<String, String> {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

struct Source {
    /// Kept alive for the test's duration (dropping it stops the registry).
    _reg: Registry,
    oci: ImageIndex,
    refs: Vec<String>,
    digests: Vec<String>,
}

/// The export issue's three images in one source registry.
fn source() -> Source {
    let reg = Registry::start();
    let oci = push_oci_index(&reg, "multi/oci", "v1", &P3, true, true);
    let list = push_docker_list(
        &reg,
        "multi/docker",
        "v1",
        &["linux/amd64", "linux/arm64/v8"],
        true,
    );
    let single = push_docker_manifest(&reg, "a/b/c/d", "tag", SHARED_SEED);
    let refs = vec![
        format!("{}/multi/oci:v1", reg.host),
        format!("{}/multi/docker:v1", reg.host),
        format!("{}/a/b/c/d:tag", reg.host),
    ];
    let digests = vec![
        oci.digest().to_string(),
        list.digest().to_string(),
        single.digest().to_string(),
    ];
    Source {
        _reg: reg,
        oci,
        refs,
        digests,
    }
}

fn export(src: &Source, out: &Path) {
    let mut args = vec!["export"];
    args.extend(src.refs.iter().map(String::as_str));
    args.extend(["-o", out.to_str().unwrap()]);
    assert_success(&ferry(&args));
}

fn import(bundle: &Path, to: &str, mapping: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "import",
        bundle.to_str().unwrap(),
        "--to",
        to,
        "--mapping-out",
        mapping.to_str().unwrap(),
    ];
    args.extend(extra);
    ferry(&args)
}

/// Every relocated reference serves the original bytes, by tag and by digest.
fn check_target(src: &Source, dst: &Registry, prefix: &str, mapping: &BTreeMap<String, String>) {
    let mut want = BTreeMap::new();
    for (r, d) in src.refs.iter().zip(&src.digests) {
        let (name, tag) = r.rsplit_once(':').unwrap();
        let target = hashed(prefix, name);
        want.insert(r.clone(), format!("{target}:{tag}"));
        let repo = target
            .trim_start_matches(&format!("{}/", dst.host))
            .to_string();
        assert_eq!(
            &digest(&skopeo_inspect_raw(
                &dst.host,
                &format!("{repo}:{tag}"),
                &[]
            )),
            d,
            "{target}:{tag}"
        );
        assert_eq!(
            &digest(&skopeo_inspect_raw(&dst.host, &format!("{repo}@{d}"), &[])),
            d,
            "{target}@{d}"
        );
    }
    assert_eq!(mapping, &want, "mapping file");
}

#[test]
fn round_trip_from_tar_tar_gz_and_directory() {
    let src = source();
    let dst = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.tar");
    export(&src, &bundle);

    // Plain tar.
    let prefix = format!("{}/team", dst.host);
    let m = dir.path().join("m1.json");
    assert_success(&import(&bundle, &prefix, &m, &[]));
    check_target(&src, &dst, &prefix, &read_mapping(&m));
    let target = hashed(&prefix, src.refs[0].rsplit_once(':').unwrap().0);
    let out = dir.path().join("pulled");
    skopeo_copy(
        &format!("docker://{target}:v1"),
        &format!("oci:{}:v1", out.display()),
        &["--src-tls-verify=false"],
    );
    for d in src.oci.blob_digests() {
        assert!(
            out.join("blobs/sha256")
                .join(d.trim_start_matches("sha256:"))
                .exists(),
            "pulled copy lacks {d}"
        );
    }

    // The same bundle gzipped, into another prefix: read in two streaming passes.
    let gz = dir.path().join("bundle.tar.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut std::fs::File::open(&bundle).unwrap(), &mut enc).unwrap();
    enc.finish().unwrap();
    let prefix_gz = format!("{}/gz", dst.host);
    let m = dir.path().join("m2.json");
    assert_success(&import(&gz, &prefix_gz, &m, &[]));
    check_target(&src, &dst, &prefix_gz, &read_mapping(&m));

    // The same as a layout directory.
    let layout = dir.path().join("layout");
    tar::Archive::new(std::fs::File::open(&bundle).unwrap())
        .unpack(&layout)
        .unwrap();
    let prefix_dir = format!("{}/dir", dst.host);
    let m = dir.path().join("m3.json");
    assert_success(&import(&layout, &prefix_dir, &m, &[]));
    check_target(&src, &dst, &prefix_dir, &read_mapping(&m));
}

#[test]
fn skopeo_archive_needs_and_takes_a_name() {
    let src = Registry::start();
    let idx = push_oci_index(&src, "sk/app", "v3", &P3, true, false);
    let dst = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("skopeo.tar");
    skopeo_copy(
        &format!("docker://{}/sk/app:v3", src.host),
        &format!("oci-archive:{}:v3", archive.display()),
        &["--src-tls-verify=false"],
    );
    let m = dir.path().join("m.json");
    let prefix = format!("{}/team", dst.host);
    let o = import(&archive, &prefix, &m, &[]);
    assert_failure(&o, &["--name", idx.digest()]);
    let name = format!("{}/sk/app", src.host);
    assert_success(&import(&archive, &prefix, &m, &["--name", &name]));
    let target = hashed(&prefix, &name);
    let mut want = BTreeMap::new();
    want.insert(format!("{name}:v3"), format!("{target}:v3"));
    assert_eq!(read_mapping(&m), want);
    let repo = target.trim_start_matches(&format!("{}/", dst.host));
    assert_eq!(
        digest(&skopeo_inspect_raw(&dst.host, &format!("{repo}:v3"), &[])),
        idx.digest()
    );
}

fn count(reg: &Registry, method: &str, part: &str) -> usize {
    reg.count_requests(method, part)
}

/// Blob uploads the registry committed (`PUT …/blobs/uploads/…` answered 201).
fn committed_uploads(reg: &Registry) -> usize {
    reg.requests()
        .iter()
        .filter(|a| a.method == "PUT" && a.path.contains("/blobs/uploads/") && a.status == 201)
        .count()
}

#[test]
fn second_import_pushes_no_blob_and_chunks_when_asked() {
    let src = Registry::start();
    // Layers over 1 MiB so --chunk-size 1M needs several PATCHes.
    let big: Vec<Layer> = (0..2)
        .map(|i| layer_with(OCI_LAYER_GZIP, 900 + i, 3 << 20))
        .collect();
    let img = Image::from_layers(Kind::Oci, "linux/amd64", big);
    img.push(&src.client(), "big/app", Some("v1"));
    let dst = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.tar");
    assert_success(&ferry(&[
        "export",
        &format!("{}/big/app:v1", src.host),
        "-o",
        bundle.to_str().unwrap(),
    ]));
    let m = dir.path().join("m.json");
    let prefix = format!("{}/team", dst.host);
    assert_success(&import(&bundle, &prefix, &m, &["--chunk-size", "1M"]));
    let patches = count(&dst, "PATCH", "/blobs/uploads/");
    assert!(
        patches >= 6,
        "expected several PATCH requests per 3 MiB layer at 1 MiB chunks, saw {patches}"
    );
    let target = hashed(&prefix, &format!("{}/big/app", src.host));
    let repo = target
        .trim_start_matches(&format!("{}/", dst.host))
        .to_string();
    for l in &img.layers {
        assert_eq!(digest(&get_blob(&dst.host, &repo, l.digest())), l.digest());
    }
    // Again: every blob is already there (HEAD), nothing is uploaded.
    let puts_before = count(&dst, "PUT", "/blobs/uploads/");
    let o = import(&bundle, &prefix, &m, &["--json"]);
    assert_success(&o);
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["blobs"]["uploaded"], 0);
    assert_eq!(summary["blobs"]["existing"], 3);
    assert_eq!(count(&dst, "PUT", "/blobs/uploads/"), puts_before);
    assert_eq!(
        count(&dst, "POST", "/blobs/uploads/"),
        3,
        "the second run opened upload sessions"
    );
}

#[test]
fn kill_during_import_then_rerun_completes() {
    let src = Registry::start();
    let layers: Vec<Layer> = (0..10)
        .map(|i| layer_with(OCI_LAYER_GZIP, 700 + i, 4 << 20))
        .collect();
    let img = Image::from_layers(Kind::Oci, "linux/amd64", layers);
    img.push(&src.client(), "kill/app", Some("v1"));
    let dst = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.tar");
    assert_success(&ferry(&[
        "export",
        &format!("{}/kill/app:v1", src.host),
        "-o",
        bundle.to_str().unwrap(),
    ]));
    let m = dir.path().join("m.json");
    let prefix = format!("{}/team", dst.host);
    // Killed twice, after the first and after the third committed blob upload. Only 201s
    // count: the PUT a kill cuts off is logged too, with an error status.
    for kill_after in [1, 3] {
        let mut cmd = ferry_cmd(&[
            "import",
            bundle.to_str().unwrap(),
            "--to",
            &prefix,
            "--mapping-out",
            m.to_str().unwrap(),
            "-j",
            "1",
        ]);
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while committed_uploads(&dst) < kill_after && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "the import finished before it could be killed (after {kill_after})"
        );
    }
    assert!(!m.exists(), "a killed import wrote its mapping file");
    let target = hashed(&prefix, &format!("{}/kill/app", src.host));
    let repo = target
        .trim_start_matches(&format!("{}/", dst.host))
        .to_string();
    assert_eq!(
        dst.client().head_manifest(&repo, "v1"),
        404,
        "the tag exists before its blobs"
    );
    let committed = committed_uploads(&dst) as u64;
    assert!(
        committed >= 3,
        "the killed runs committed {committed} blobs"
    );
    let o = import(&bundle, &prefix, &m, &["--json"]);
    assert_success(&o);
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let existing = summary["blobs"]["existing"].as_u64().unwrap();
    assert!(
        existing >= committed,
        "the rerun uploaded blobs the killed runs had already pushed ({committed}): {summary}"
    );
    assert_eq!(
        existing + summary["blobs"]["uploaded"].as_u64().unwrap(),
        img.blob_digests().len() as u64,
        "{summary}"
    );
    assert_eq!(
        digest(&skopeo_inspect_raw(&dst.host, &format!("{repo}:v1"), &[])),
        img.digest()
    );
    for d in img.blob_digests() {
        assert_eq!(digest(&get_blob(&dst.host, &repo, &d)), d);
    }
}

#[test]
fn sparse_bundle_keep_fails_with_the_ways_out_and_strip_succeeds() {
    let src = Registry::start();
    let idx = push_oci_index(&src, "sp/app", "v1", &P3, true, false);
    let dst = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("arm.tar");
    let image = format!("{}/sp/app:v1", src.host);
    assert_success(&ferry(&[
        "export",
        &image,
        "--platform",
        "linux/arm64",
        "-o",
        bundle.to_str().unwrap(),
    ]));
    let prefix = format!("{}/team", dst.host);
    let m = dir.path().join("m.json");
    let o = import(&bundle, &prefix, &m, &[]);
    assert_failure(
        &o,
        &[
            "sp/app:v1",
            "linux/amd64",
            "linux/arm/v7",
            "were left out of the bundle on purpose",
            "MANIFEST_BLOB_UNKNOWN",
            "--sparse strip",
            "accept",
        ],
    );
    let target = hashed(&prefix, &format!("{}/sp/app", src.host));
    let repo = target
        .trim_start_matches(&format!("{}/", dst.host))
        .to_string();
    let c = dst.client();
    let arm = idx.image("linux/arm64/v8");
    assert_eq!(
        c.head_manifest(&repo, arm.digest()),
        200,
        "the kept platform was not pushed by digest first"
    );
    assert_eq!(
        c.head_manifest(&repo, "v1"),
        404,
        "a tag was created for a refused index"
    );

    assert_success(&import(&bundle, &prefix, &m, &["--sparse", "strip"]));
    let mapping = read_mapping(&m);
    let value = &mapping[&image];
    let (tagged, new_digest) = value
        .split_once('@')
        .expect("the value carries the new digest");
    assert_eq!(tagged, format!("{target}:v1"));
    assert_ne!(new_digest, idx.digest());
    let old_key = format!("{}/sp/app@{}", src.host, idx.digest());
    assert_eq!(mapping[&old_key], format!("{target}@{new_digest}"));
    let served = skopeo_inspect_raw(&dst.host, &format!("{repo}:v1"), &[]);
    assert_eq!(digest(&served), new_digest);
    let v: serde_json::Value = serde_json::from_slice(&served).unwrap();
    let kept: Vec<&str> = v["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["digest"].as_str().unwrap())
        .collect();
    assert_eq!(kept, vec![arm.digest()]);
    let out: PathBuf = dir.path().join("pulled");
    skopeo_copy(
        &format!("docker://{target}:v1"),
        &format!("oci:{}:v1", out.display()),
        &["--src-tls-verify=false"],
    );
}

#[test]
fn import_from_a_pipe_when_index_json_comes_first() {
    let src = source();
    let dst = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.tar");
    export(&src, &bundle);
    let prefix = format!("{}/pipe", dst.host);
    let m = dir.path().join("m.json");
    let mut c = ferry_cmd(&[
        "import",
        "-",
        "--to",
        &prefix,
        "--mapping-out",
        m.to_str().unwrap(),
    ]);
    c.stdin(std::fs::File::open(&bundle).unwrap());
    let o = c.output().unwrap();
    assert_success(&o);
    check_target(&src, &dst, &prefix, &read_mapping(&m));

    // skopeo puts index.json after the blobs: a pipe cannot carry that; a clear error, no push.
    let archive = dir.path().join("skopeo.tar");
    skopeo_copy(
        &format!("docker://{}", src.refs[0]),
        &format!("oci-archive:{}:v1", archive.display()),
        &["--src-tls-verify=false"],
    );
    let before = dst.count_requests("PUT", "/");
    let mut c = ferry_cmd(&[
        "import",
        "-",
        "--to",
        &prefix,
        "--name",
        "x.io/y",
        "--mapping-out",
        m.to_str().unwrap(),
    ]);
    c.stdin(std::fs::File::open(&archive).unwrap());
    let o = c.output().unwrap();
    assert_failure(&o, &["index.json", "save the stream to a file"]);
    assert_eq!(
        dst.count_requests("PUT", "/"),
        before,
        "something was pushed"
    );

    // A pipe cut in the middle of a layer: nothing is tagged.
    let bytes = std::fs::read(&bundle).unwrap();
    let cut = dir.path().join("cut.tar");
    std::fs::write(&cut, &bytes[..bytes.len() - 6000]).unwrap();
    let fresh = format!("{}/cut", dst.host);
    let mut c = ferry_cmd(&[
        "import",
        "-",
        "--to",
        &fresh,
        "--mapping-out",
        m.to_str().unwrap(),
    ]);
    c.stdin(std::fs::File::open(&cut).unwrap());
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let target = hashed(&fresh, src.refs[0].rsplit_once(':').unwrap().0);
    let repo = target
        .trim_start_matches(&format!("{}/", dst.host))
        .to_string();
    assert_eq!(dst.client().head_manifest(&repo, "v1"), 404);
}
