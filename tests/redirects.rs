//! Redirects and `Location` headers (DESIGN §1): never from https down to http, bounded, and a
//! relative `Location` resolved against the URL of the request that returned it (RFC 3986).

use crate::common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::http_proxy::{forward, Fault, HttpProxy, Req, Resp, Rule};
use common::*;

fn image(reg: &Registry, repo: &str, seed: u64) -> Image {
    let layers = (0..2)
        .map(|i| layer_with(OCI_LAYER_GZIP, seed + i, 3 << 20))
        .collect();
    let img = Image::from_layers(Kind::Oci, "linux/amd64", layers);
    img.push(&reg.client(), repo, Some("v1"));
    img
}

#[test]
fn a_redirect_from_https_to_http_is_refused() {
    // distribution over TLS with S3 storage on moto's plain http port: every blob GET answers
    // 307 to an http:// presigned URL, a downgrade.
    let reg = Registry::builder().tls().s3().start();
    let img = image(&reg, "r/down", 1);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.tar");
    let ca = reg.ca_pem.as_ref().unwrap().to_str().unwrap();
    let image = format!("{}/r/down:v1", reg.host);
    let o = ferry(&[
        "export",
        &image,
        "-o",
        out.to_str().unwrap(),
        "--ca-file",
        ca,
    ]);
    let layer = img
        .blob_digests()
        .into_iter()
        .find(|d| stderr(&o).contains(d.as_str()))
        .unwrap_or_default();
    assert_failure(&o, &[&image, &reg.host, "https", "http://", "downgrade"]);
    assert!(!layer.is_empty(), "the error names no blob: {}", stderr(&o));
    eprintln!("{}", stderr(&o).trim());
    // The presigned URL's signature stays out of the output.
    assert!(!stderr(&o).contains("X-Amz-Signature"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn a_redirect_loop_ends_at_the_limit() {
    let reg = Registry::start();
    let img = image(&reg, "r/loop", 10);
    let proxy = HttpProxy::start(&reg.host);
    let layer = img.layers[0].digest();
    proxy.rule(Rule::new(
        Some("GET"),
        layer,
        Fault::Redirect(format!("http://{}", proxy.addr)),
        1000,
    ));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.tar");
    let image = format!("{}/r/loop:v1", proxy.addr);
    let o = ferry(&["export", &image, "-o", out.to_str().unwrap()]);
    assert_failure(&o, &[&image, layer, "more than 10 redirects"]);
    eprintln!("{}", stderr(&o).trim());
    let hops = proxy
        .seen()
        .iter()
        .filter(|(_, t, _)| t.contains(layer))
        .count();
    assert_eq!(hops, 11, "the first request and ten redirects");
}

/// Answers every upload `Location` as a relative reference (`u1`, `u2`, …) and serves the
/// requests sent to where it resolves (`/v2/REPO/blobs/uploads/uN`) from the real upload URL.
fn relative_locations(proxy: &HttpProxy) {
    let sessions: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    proxy.handle(Box::new(move |req: &Req, upstream: &str| {
        let path = req.path().to_string();
        let real = sessions.lock().unwrap().get(&path).cloned();
        let mut fwd = req.clone();
        if let Some(real) = real {
            let query = req.target.split_once('?').map(|(_, q)| q).unwrap_or("");
            let sep = if real.contains('?') { '&' } else { '?' };
            fwd.target = format!("{real}{sep}{query}");
        } else if !(req.method == "POST" && path.ends_with("/blobs/uploads/")) {
            return None;
        }
        let mut resp: Resp = forward(upstream, &fwd).ok()?;
        if resp.status != 202 {
            return Some(resp);
        }
        let loc = resp.header("location")?.to_string();
        // The registry's own Location, as a path with its query.
        let real = match loc.split_once("://") {
            Some((_, rest)) => rest[rest.find('/').unwrap_or(rest.len())..].to_string(),
            None => loc,
        };
        let mut map = sessions.lock().unwrap();
        let id = format!("u{}", map.len() + 1);
        let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        map.insert(format!("{dir}/{id}"), real);
        for h in resp.headers.iter_mut() {
            if h.0.eq_ignore_ascii_case("location") {
                h.1 = id.clone();
            }
        }
        Some(resp)
    }));
}

fn import(bundle: &Path, to: &str, dir: &Path, extra: &[&str]) -> std::process::Output {
    let m = dir.join("m.json");
    let mut args = vec![
        "import",
        bundle.to_str().unwrap(),
        "--to",
        to,
        "--mapping-out",
        m.to_str().unwrap(),
    ];
    args.extend(extra);
    ferry(&args)
}

#[test]
fn relative_upload_locations_resolve_against_the_request_url() {
    let src = Registry::start();
    let img = image(&src, "r/rel", 20);
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.tar");
    assert_success(&ferry(&[
        "export",
        &format!("{}/r/rel:v1", src.host),
        "-o",
        bundle.to_str().unwrap(),
    ]));
    let name = format!("{}/r/rel", src.host);
    let repo = format!("team/r-rel-{:x}", md5::compute(name.as_bytes()));
    // Monolithic PUTs, then chunked PATCHes whose every answer is relative again.
    for extra in [&[][..], &["--chunk-size", "1M"][..]] {
        let dst = Registry::start();
        let proxy = HttpProxy::start(&dst.host);
        relative_locations(&proxy);
        let o = import(&bundle, &format!("{}/team", proxy.addr), dir.path(), extra);
        assert_success(&o);
        for d in img.blob_digests() {
            assert_eq!(digest(&get_blob(&dst.host, &repo, &d)), d);
        }
        let seen = proxy.seen();
        let uploads = format!("/v2/{repo}/blobs/uploads/u");
        let method = if extra.is_empty() { "PUT" } else { "PATCH" };
        assert!(
            seen.iter().any(|(m, t, s)| m == method
                && t.starts_with(&uploads)
                && (*s == 201 || *s == 202)),
            "no {method} at the resolved {uploads}N: {seen:?}"
        );
        assert!(
            !seen.iter().any(|(_, t, _)| t.starts_with("/u")),
            "a relative Location was taken as an absolute path: {seen:?}"
        );
    }
}
