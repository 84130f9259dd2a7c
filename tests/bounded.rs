//! Bounded everything from a registry: a referrers API listing hundreds of thousands of
//! descriptors, layer descriptors claiming sizes no bundle can hold, sizes that overflow when
//! summed. Each run is refused clearly within a time and memory bound, before a part file or
//! a big allocation exists.

mod common;

use std::path::Path;
use std::time::Duration;

use common::http_proxy::{HttpProxy, Resp};
use common::measure::{assert_bounded_failure, run_measured};
use common::*;

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
