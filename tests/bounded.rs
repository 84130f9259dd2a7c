//! Bounded everything from a registry: a referrers API listing hundreds of thousands of
//! descriptors, layer descriptors claiming sizes no bundle can hold, sizes that overflow when
//! summed. Each run is refused clearly within a time and memory bound, before a part file or
//! a big allocation exists.

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::http_proxy::{HttpProxy, Resp};
use common::measure::{assert_bounded_failure, run_measured};
use common::*;
use serde_json::json;

/// A referrers API (in front of the real registry) answering `pages` `Link` pages of
/// `per_page` synthetic artifact descriptors each, whatever the subject.
fn synthetic_referrers(per_page: usize, pages: usize) -> common::http_proxy::Handler {
    Box::new(move |req, _| {
        if req.method != "GET" || !req.path().contains("/referrers/") {
            return None;
        }
        let page: usize = req.query("page").and_then(|p| p.parse().ok()).unwrap_or(0);
        let mut body = String::with_capacity(per_page * 160 + 100);
        body.push_str(&format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":["#
        ));
        for i in 0..per_page {
            if i > 0 {
                body.push(',');
            }
            // Compact descriptors: 24 000 of them still fit the 4 MiB manifest limit.
            let d = sha256_hex(format!("referrer {page} {i}").as_bytes());
            body.push_str(&format!(
                r#"{{"mediaType":"{OCI_MANIFEST}","digest":"sha256:{d}","size":{}}}"#,
                400 + i % 100
            ));
        }
        body.push_str("]}");
        let mut headers = vec![("Content-Type".to_string(), OCI_INDEX.to_string())];
        if page + 1 < pages {
            let next = format!("{}?page={}", req.path(), page + 1);
            headers.push(("Link".into(), format!("<{next}>; rel=\"next\"")));
        }
        Some(Resp {
            status: 200,
            headers,
            body: body.into_bytes(),
        })
    })
}

fn referrer_pages_read(proxy: &HttpProxy) -> usize {
    proxy
        .seen()
        .iter()
        .filter(|(m, t, _)| m == "GET" && t.contains("/referrers/"))
        .count()
}

/// Refused at plan time: no blob was downloaded, so no output was laid out before.
fn assert_no_blob_read(proxy: &HttpProxy) {
    let blobs: Vec<_> = proxy
        .seen()
        .into_iter()
        .filter(|(m, t, _)| m == "GET" && t.contains("/blobs/"))
        .collect();
    assert!(blobs.is_empty(), "blobs were fetched: {blobs:?}");
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect()
}

#[test]
fn twenty_pages_of_24000_referrers_are_refused_quickly_in_flat_memory() {
    let reg = Registry::start();
    let img = push_oci_manifest(&reg, "many/refs", "v1", 41);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("refs.tar");

    // One page alone lists more than the per-subject cap.
    let proxy = HttpProxy::start(&reg.host);
    proxy.handle(synthetic_referrers(24_000, 20));
    let image = format!("{}/many/refs:v1", proxy.addr);
    let m = run_measured(
        ferry_cmd(&["export", &image, "-q", "-o", out.to_str().unwrap()]),
        Duration::from_secs(30),
    );
    assert_bounded_failure(
        &m,
        Duration::from_secs(30),
        128,
        &[&image, img.digest(), &proxy.addr, "10000 referrers"],
    );
    assert_eq!(
        referrer_pages_read(&proxy),
        1,
        "read past the page over the cap"
    );
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());

    // Pages under the cap that together pass it: refused at the page that crosses it.
    let proxy = HttpProxy::start(&reg.host);
    proxy.handle(synthetic_referrers(4_000, 20));
    let image = format!("{}/many/refs:v1", proxy.addr);
    let m = run_measured(
        ferry_cmd(&["export", &image, "-q", "-o", out.to_str().unwrap()]),
        Duration::from_secs(30),
    );
    assert_bounded_failure(
        &m,
        Duration::from_secs(30),
        128,
        &[&image, img.digest(), &proxy.addr, "10000 referrers"],
    );
    assert_eq!(
        referrer_pages_read(&proxy),
        3,
        "12 000 referrers pass the cap"
    );
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

/// Pushes `repo:tag`: an OCI image whose layer descriptors claim `sizes` (each layer a real,
/// small, distinct blob). Returns the layer digests.
fn push_claiming(reg: &Registry, repo: &str, tag: &str, sizes: &[u64]) -> Vec<String> {
    let c = reg.client();
    let layers: Vec<Layer> = (0..sizes.len()).map(|i| layer(900 + i as u64)).collect();
    let diff_ids: Vec<String> = layers.iter().map(|l| l.diff_id.clone()).collect();
    let config = config_blob(OCI_CONFIG, &Platform::parse("linux/amd64"), &diff_ids);
    c.push_blob(repo, &config.bytes);
    let mut descriptors = Vec::new();
    for (l, size) in layers.iter().zip(sizes) {
        c.push_blob(repo, &l.blob.bytes);
        descriptors
            .push(json!({"mediaType": OCI_LAYER_GZIP, "digest": l.blob.digest, "size": size}));
    }
    let manifest = Blob::json(
        OCI_MANIFEST,
        &json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config.descriptor(), "layers": descriptors}),
    );
    // distribution 2.8.2 checks that layer blobs exist, not that their sizes match.
    c.push_manifest(repo, tag, OCI_MANIFEST, &manifest.bytes);
    layers.into_iter().map(|l| l.blob.digest).collect()
}

#[test]
fn a_layer_of_4_eib_with_fat32_parts_is_refused_before_any_part_exists() {
    let reg = Registry::start();
    let layers = push_claiming(&reg, "huge/layer", "v1", &[1 << 62]);
    let proxy = HttpProxy::start(&reg.host);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("huge.tar");
    let image = format!("{}/huge/layer:v1", proxy.addr);
    let m = run_measured(
        ferry_cmd(&[
            "export",
            &image,
            "-q",
            "--split-size",
            "fat32",
            "-o",
            out.to_str().unwrap(),
        ]),
        Duration::from_secs(20),
    );
    assert_bounded_failure(
        &m,
        Duration::from_secs(5),
        64,
        &[&image, &layers[0], "10000 parts"],
    );
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    assert_no_blob_read(&proxy);
}

#[test]
fn a_layer_of_1_tib_with_64m_parts_is_refused_before_any_part_exists() {
    let reg = Registry::start();
    let layers = push_claiming(&reg, "big/layer", "v1", &[1 << 40]);
    let proxy = HttpProxy::start(&reg.host);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big.tar");
    let image = format!("{}/big/layer:v1", proxy.addr);
    let m = run_measured(
        ferry_cmd(&[
            "export",
            &image,
            "-q",
            "--split-size",
            "64M",
            "-o",
            out.to_str().unwrap(),
        ]),
        Duration::from_secs(20),
    );
    assert_bounded_failure(
        &m,
        Duration::from_secs(5),
        64,
        &[&image, &layers[0], "16385 parts", "10000 parts"],
    );
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    assert_no_blob_read(&proxy);
}

#[test]
fn layer_sizes_that_overflow_when_summed_name_image_and_blob() {
    let reg = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sum.tar");
    // Two sizes past what a file can hold together (2^63 - 1 bytes), and two whose padded
    // tar members do not even fit in 64 bits.
    let cases: [(&str, [u64; 2]); 2] = [
        ("sum/past-off-t", [6 << 60, 6 << 60]),
        ("sum/past-u64", [i64::MAX as u64, i64::MAX as u64]),
    ];
    for (repo, sizes) in cases {
        let layers = push_claiming(&reg, repo, "v1", &sizes);
        let image = format!("{}/{repo}:v1", reg.host);
        let m = run_measured(
            ferry_cmd(&["export", &image, "-q", "-o", out.to_str().unwrap()]),
            Duration::from_secs(20),
        );
        assert_bounded_failure(&m, Duration::from_secs(5), 64, &[&image]);
        assert!(
            layers.iter().any(|l| m.stderr.contains(l.as_str())),
            "{repo}: the error names no layer:\n{}",
            m.stderr
        );
        assert!(
            !m.stderr.contains("out of range integral type conversion"),
            "{repo}: {}",
            m.stderr
        );
        assert_eq!(leftovers(dir.path()), Vec::<String>::new(), "{repo}");
    }
}
