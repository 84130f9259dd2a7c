//! The referrers paths no local registry shows (DESIGN §6, §10): a referrers API with `Link`
//! pages and `OCI-Filters-Applied`, and `OCI-Subject` answers, served by the test proxy in
//! front of a real registry from that registry's own content.

use crate::common;

use common::cosign::*;
use common::http_proxy::HttpProxy;
use common::referrers_api::referrers_api;
use common::*;
use serde_json::{json, Value};

const SPDX: &str = "application/spdx+json";
const CDX: &str = "application/vnd.cyclonedx+json";

fn entries(bundle: &std::path::Path) -> Vec<Value> {
    let mut ar = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == "index.json" {
            let v: Value = serde_json::from_reader(&mut e).unwrap();
            return v["manifests"].as_array().unwrap().clone();
        }
    }
    panic!("no index.json")
}

#[test]
fn export_reads_every_page_of_the_referrers_api_and_trusts_its_filter() {
    let reg = Registry::start();
    let c = reg.client();
    let img = push_oci_manifest(&reg, "ref/app", "v1", 31);
    let subject =
        json!({"mediaType": OCI_MANIFEST, "digest": img.digest(), "size": img.manifest.size()});
    let a = push_referrer(&c, "ref/app", &subject, SPDX, b"{\"spdx\":1}");
    let b = push_referrer(&c, "ref/app", &subject, CDX, b"{\"cdx\":1}");
    set_fallback(&c, "ref/app", img.digest(), &[(&a, SPDX), (&b, CDX)]);
    let proxy = HttpProxy::start(&reg.host);
    let page = 1;
    proxy.handle(referrers_api(page));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("all.tar");
    let image = format!("{}/ref/app:v1", proxy.addr);
    assert_success(&ferry(&["export", &image, "-o", out.to_str().unwrap()]));
    let names: Vec<String> = entries(&out)
        .iter()
        .map(|e| {
            e["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for d in [&a.digest, &b.digest] {
        assert!(
            names.contains(&format!("{}/ref/app@{d}", proxy.addr)),
            "{d} not found through the API: {names:?}"
        );
    }
    let seen = proxy.seen();
    let pages = seen
        .iter()
        .filter(|(m, t, _)| m == "GET" && t.contains(&format!("/referrers/{}", img.digest())))
        .count();
    let referrers = [&a, &b].len();
    assert_eq!(
        pages,
        referrers.div_ceil(page),
        "expected one Link page per {page} of the {referrers} referrers: {seen:?}"
    );
    let fallback = format!("sha256-{}", img.digest().trim_start_matches("sha256:"));
    assert!(
        !seen
            .iter()
            .any(|(m, t, _)| m == "GET" && t.ends_with(&fallback)),
        "ferry read the fallback tag although the API exists"
    );

    // A filtered request: the proxy says it applied the filter; only that type travels.
    let out = dir.path().join("spdx.tar");
    assert_success(&ferry(&[
        "export",
        &image,
        "--referrers",
        SPDX,
        "-o",
        out.to_str().unwrap(),
    ]));
    let got: Vec<String> = entries(&out)
        .iter()
        .filter_map(|e| e["artifactType"].as_str().map(str::to_string))
        .collect();
    assert_eq!(got, vec![SPDX.to_string()]);
    assert!(
        proxy
            .seen()
            .iter()
            .any(|(_, t, _)| t.contains("artifactType=")),
        "the filter was not sent to the registry"
    );
}

#[test]
fn import_leaves_the_fallback_tag_alone_when_the_registry_answers_oci_subject() {
    let src = Registry::start();
    let c = src.client();
    let img = push_oci_manifest(&src, "ref/app", "v1", 32);
    let subject =
        json!({"mediaType": OCI_MANIFEST, "digest": img.digest(), "size": img.manifest.size()});
    let a = push_referrer(&c, "ref/app", &subject, SPDX, b"{\"spdx\":2}");
    set_fallback(&c, "ref/app", img.digest(), &[(&a, SPDX)]);
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.tar");
    assert_success(&ferry(&[
        "export",
        &format!("{}/ref/app:v1", src.host),
        "-o",
        bundle.to_str().unwrap(),
    ]));

    let dst = Registry::start();
    let proxy = HttpProxy::start(&dst.host);
    proxy.answer_oci_subject(true);
    let m = dir.path().join("m.json");
    assert_success(&ferry(&[
        "import",
        bundle.to_str().unwrap(),
        "--to",
        &format!("{}/team", proxy.addr),
        "--mapping-out",
        m.to_str().unwrap(),
    ]));
    let mapping: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
    let target = mapping
        .values()
        .next()
        .unwrap()
        .rsplit_once(':')
        .unwrap()
        .0
        .to_string();
    let repo = target.split_once('/').unwrap().1.to_string();
    let dc = dst.client();
    assert_eq!(
        dc.head_manifest(&repo, &a.digest),
        200,
        "the referrer was not pushed"
    );
    let fallback = format!("sha256-{}", img.digest().trim_start_matches("sha256:"));
    assert_eq!(
        dc.head_manifest(&repo, &fallback),
        404,
        "ferry wrote the fallback tag although the registry indexed the subject"
    );
    assert!(proxy
        .seen()
        .iter()
        .any(|(m, t, s)| m == "PUT" && t.contains(&a.digest) && *s == 201));
}
