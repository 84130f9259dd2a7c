//! Export and import through a proxy that injects faults in front of a real registry
//! (DESIGN §10): they complete with identical digests, or give up after bounded retries with an
//! error naming registry, image and blob.

use crate::common;

use std::path::Path;

use common::http_proxy::{Fault, HttpProxy, Rule, Seen};
use common::*;

/// The cut-download fault: each of the first CUTS answers for the layer stops after CUT_AT
/// body bytes.
const CUT_AT: usize = 1 << 20;
const CUTS: usize = 2;

fn big_image(reg: &Registry, repo: &str, seed: u64) -> Image {
    let layers: Vec<Layer> = (0..2)
        .map(|i| layer_with(OCI_LAYER_GZIP, seed + i, 3 << 20))
        .collect();
    let img = Image::from_layers(Kind::Oci, "linux/amd64", layers);
    img.push(&reg.client(), repo, Some("v1"));
    img
}

fn export_via(proxy: &HttpProxy, repo: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    let image = format!("{}/{repo}:v1", proxy.addr);
    let mut args = vec!["export", image.as_str(), "-o", out.to_str().unwrap()];
    args.extend(extra);
    ferry(&args)
}

fn blob_bytes(bundle: &Path, d: &str) -> Vec<u8> {
    let mut ar = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path()
            .unwrap()
            .to_string_lossy()
            .ends_with(d.trim_start_matches("sha256:"))
        {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut v).unwrap();
            return v;
        }
    }
    panic!("{d} not in bundle")
}

#[test]
fn export_survives_cut_downloads_5xx_429_and_redirects() {
    let reg = Registry::start();
    let img = big_image(&reg, "f/app", 40);
    let proxy = HttpProxy::start(&reg.host);
    let second = HttpProxy::start(&reg.host);
    proxy.rule(Rule::new(
        Some("GET"),
        "/manifests/v1",
        Fault::Status(503, None),
        2,
    ));
    proxy.rule(Rule::new(
        Some("GET"),
        img.layers[0].digest(),
        Fault::CutResponse(CUT_AT),
        CUTS,
    ));
    proxy.rule(Rule::new(
        Some("GET"),
        img.layers[1].digest(),
        Fault::Status(429, Some(1)),
        1,
    ));
    proxy.rule(Rule::new(
        Some("GET"),
        img.layers[1].digest(),
        Fault::Redirect(format!("http://{}", second.addr)),
        1,
    ));
    proxy.rule(Rule::new(
        Some("GET"),
        &img.config.digest,
        Fault::Status(502, None),
        1,
    ));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.tar");
    let o = export_via(&proxy, "f/app", &out, &[]);
    assert_success(&o);
    for d in img.blob_digests() {
        assert_eq!(digest(&blob_bytes(&out, &d)), d);
    }
    // The cut layer was resumed, not fetched whole again: the first GET asked for everything
    // (200) and was cut after CUT_AT body bytes; each later GET asked with `Range` for the
    // rest from exactly the byte where the previous answer was cut, and got 206.
    let gets: Vec<Seen> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.target.contains(img.layers[0].digest()))
        .collect();
    let log: Vec<_> = gets
        .iter()
        .map(|r| (r.status, r.header("Range").map(str::to_string)))
        .collect();
    assert!(
        img.layers[0].blob.size() > CUTS * CUT_AT,
        "the fixture layer is too small to be cut {CUTS} times"
    );
    assert_eq!(
        gets.len(),
        CUTS + 1,
        "one GET per cut and one that completes: {log:?}"
    );
    assert_eq!(log[0], (200, None), "the first GET: {log:?}");
    for (i, got) in log.iter().enumerate().skip(1) {
        let from = i * CUT_AT;
        assert_eq!(
            got,
            &(206, Some(format!("bytes={from}-"))),
            "GET {i} of the cut layer should resume at byte {from}: {log:?}"
        );
    }
    assert!(
        second
            .seen()
            .iter()
            .any(|(m, t, s)| m == "GET" && t.contains(img.layers[1].digest()) && *s == 200),
        "the 307 was not followed to the second port"
    );
}

#[test]
fn export_gives_up_after_bounded_retries_naming_registry_image_and_blob() {
    let reg = Registry::start();
    let img = big_image(&reg, "f/down", 50);
    let proxy = HttpProxy::start(&reg.host);
    proxy.rule(Rule::new(
        Some("GET"),
        img.layers[1].digest(),
        Fault::Status(503, None),
        1000,
    ));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.tar");
    let retries = 2;
    let o = export_via(&proxy, "f/down", &out, &["--retries", &retries.to_string()]);
    assert_failure(
        &o,
        &[&proxy.addr, "f/down:v1", img.layers[1].digest(), "503"],
    );
    let tries = proxy
        .seen()
        .iter()
        .filter(|(_, t, _)| t.contains(img.layers[1].digest()))
        .count();
    assert_eq!(tries, 1 + retries, "one try and {retries} retries");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "a file was left behind"
    );
}

fn bundle_of(img_repo: &str, reg: &Registry, dir: &Path) -> std::path::PathBuf {
    let out = dir.join("b.tar");
    assert_success(&ferry(&[
        "export",
        &format!("{}/{img_repo}:v1", reg.host),
        "-o",
        out.to_str().unwrap(),
    ]));
    out
}

fn import_via(
    proxy: &HttpProxy,
    bundle: &Path,
    dir: &Path,
    extra: &[&str],
) -> std::process::Output {
    let m = dir.join("m.json");
    let to = format!("{}/team", proxy.addr);
    let mut args = vec![
        "import",
        bundle.to_str().unwrap(),
        "--to",
        to.as_str(),
        "--mapping-out",
        m.to_str().unwrap(),
    ];
    args.extend(extra);
    ferry(&args)
}

fn target_repo(src: &Registry, repo: &str) -> String {
    let name = format!("{}/{repo}", src.host);
    format!(
        "team/{}-{:x}",
        repo.replace('/', "-"),
        md5::compute(name.as_bytes())
    )
}

#[test]
fn import_survives_cut_uploads_5xx_413_and_chunk_minimums() {
    let src = Registry::start();
    let img = big_image(&src, "f/up", 60);
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle_of("f/up", &src, dir.path());
    let dst = Registry::start();
    let proxy = HttpProxy::start(&dst.host);
    // Layer 0: the first monolithic PUT is cut after 1 MiB, the second answered 413 (→ chunks).
    proxy.rule(Rule::new(
        Some("PUT"),
        "/blobs/uploads/",
        Fault::CutRequest(1 << 20),
        1,
    ));
    proxy.rule(Rule::new(
        Some("PUT"),
        "/blobs/uploads/",
        Fault::Status(413, None),
        1,
    ));
    proxy.rule(Rule::new(
        Some("POST"),
        "/blobs/uploads/",
        Fault::Status(500, None),
        1,
    ));
    proxy.rule(Rule::new(
        Some("PUT"),
        "/manifests/",
        Fault::Status(503, None),
        1,
    ));
    let o = import_via(&proxy, &bundle, dir.path(), &["-j", "1"]);
    assert_success(&o);
    let repo = target_repo(&src, "f/up");
    for d in img.blob_digests() {
        assert_eq!(digest(&get_blob(&dst.host, &repo, &d)), d);
    }
    assert_eq!(
        digest(&skopeo_inspect_raw(&dst.host, &format!("{repo}:v1"), &[])),
        img.digest()
    );
    assert!(
        proxy.seen().iter().any(|(m, _, _)| m == "PATCH"),
        "413 did not switch to chunks"
    );

    // A registry that asks for chunks of at least 1 MiB on every upload session.
    let dst2 = Registry::start();
    let proxy2 = HttpProxy::start(&dst2.host);
    proxy2.rule(Rule::new(
        Some("POST"),
        "/blobs/uploads/",
        Fault::AddHeader("OCI-Chunk-Min-Length".into(), (1 << 20).to_string()),
        100,
    ));
    assert_success(&import_via(&proxy2, &bundle, dir.path(), &[]));
    let patches = proxy2
        .seen()
        .iter()
        .filter(|(m, _, _)| m == "PATCH")
        .count();
    assert!(
        patches >= 6,
        "3 MiB layers at a 1 MiB minimum need several PATCHes, saw {patches}"
    );
    for d in img.layer_digests() {
        assert_eq!(digest(&get_blob(&dst2.host, &repo, &d)), d);
    }
}

#[test]
fn import_gives_up_after_bounded_retries_and_creates_no_tag() {
    let src = Registry::start();
    let img = big_image(&src, "f/fail", 70);
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle_of("f/fail", &src, dir.path());
    let dst = Registry::start();
    let proxy = HttpProxy::start(&dst.host);
    proxy.rule(Rule::new(
        Some("PUT"),
        "/blobs/uploads/",
        Fault::Status(503, None),
        1000,
    ));
    let o = import_via(&proxy, &bundle, dir.path(), &["--retries", "1", "-j", "1"]);
    let layer = img
        .layers
        .iter()
        .map(|l| l.digest().to_string())
        .find(|d| stderr(&o).contains(d.as_str()))
        .unwrap_or_default();
    assert_failure(&o, &[&proxy.addr, "f/fail:v1", "503"]);
    assert!(!layer.is_empty(), "the error names no blob: {}", stderr(&o));
    let repo = target_repo(&src, "f/fail");
    assert_eq!(
        dst.client().head_manifest(&repo, "v1"),
        404,
        "a tag was created"
    );
}
