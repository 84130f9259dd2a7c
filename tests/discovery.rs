//! Signature and referrer discovery across many manifests (DESIGN §6): the questions go to the
//! registry `-j` at a time, the bundle is the same whatever order the answers come in, and a
//! registry whose referrers API answers is not also asked for the fallback tag.

use crate::common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::cosign::*;
use common::http_proxy::{Fault, HttpProxy, Rule};
use common::referrers_api::referrers_api;
use common::*;
use serde_json::{json, Value};

const P3: [&str; 3] = ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"];
const SPDX: &str = "application/spdx+json";

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

fn names(bundle: &Path) -> Vec<String> {
    index_json(bundle)["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn hex(d: &str) -> &str {
    d.trim_start_matches("sha256:")
}

/// An index of [`P3`] in `repo`, its amd64 manifest signed, an SBOM referrer of the index
/// listed in the fallback tag; returns (index, every subject: index then platforms, SBOM).
fn signed_index(reg: &Registry, repo: &str) -> (ImageIndex, Vec<String>, Blob) {
    let c = reg.client();
    let idx = push_oci_index(reg, repo, "v1", &P3, true, false);
    let amd = idx.image("linux/amd64").digest().to_string();
    push_cosign_signature(&c, repo, &format!("{}/{repo}", reg.host), &amd, &key(3));
    let subject = json!({"mediaType": OCI_INDEX, "digest": idx.digest(), "size": idx.index.size()});
    let sbom = push_referrer(&c, repo, &subject, SPDX, b"{\"spdx\":\"disc\"}");
    set_fallback(&c, repo, idx.digest(), &[(&sbom, SPDX)]);
    let mut subjects = vec![idx.digest().to_string()];
    subjects.extend(idx.images.iter().map(|i| i.digest().to_string()));
    (idx, subjects, sbom)
}

/// Requests of `seen` for the fallback tag `sha256-<hex>` of one of `subjects` (not the cosign
/// tags `sha256-<hex>.sig` and so on).
fn fallback_requests(seen: &[(String, String, u16)], subjects: &[String]) -> Vec<String> {
    seen.iter()
        .filter(|(_, t, _)| {
            subjects
                .iter()
                .any(|s| t.ends_with(&format!("/manifests/sha256-{}", hex(s))))
        })
        .map(|(m, t, s)| format!("{m} {t} {s}"))
        .collect()
}

#[test]
fn fallback_tags_are_read_only_without_a_referrers_api_and_only_where_listed() {
    let reg = Registry::start();
    let (_idx, subjects, sbom) = signed_index(&reg, "disc/app");
    let dir = tempfile::tempdir().unwrap();

    // A registry with the referrers API (the proxy serves it from the fallback tags).
    let api = HttpProxy::start(&reg.host);
    api.handle(referrers_api(10));
    let out = dir.path().join("api.tar");
    let image = format!("{}/disc/app:v1", api.addr);
    assert_success(&ferry(&["export", &image, "-o", out.to_str().unwrap()]));
    assert!(names(&out).contains(&format!("{}/disc/app@{}", api.addr, sbom.digest)));
    let seen = api.seen();
    for s in &subjects {
        let asked = seen
            .iter()
            .any(|(m, t, st)| m == "GET" && t.contains(&format!("/referrers/{s}")) && *st == 200);
        assert!(asked, "no referrers query for {s}: {seen:?}");
    }
    let fallback = fallback_requests(&seen, &subjects);
    assert!(
        fallback.is_empty(),
        "the API answered, yet ferry asked for the fallback tag: {fallback:?}"
    );

    // Distribution 2.8.2 itself: the API answers 404, so the fallback tags are used. The
    // repository's tag list says which exist: only the index's is read, and no tag is HEADed.
    let plain = HttpProxy::start(&reg.host);
    let out = dir.path().join("plain.tar");
    let image = format!("{}/disc/app:v1", plain.addr);
    assert_success(&ferry(&["export", &image, "-o", out.to_str().unwrap()]));
    assert!(names(&out).contains(&format!("{}/disc/app@{}", plain.addr, sbom.digest)));
    let seen = plain.seen();
    assert!(
        seen.iter()
            .any(|(m, t, st)| m == "GET" && t.contains("/referrers/") && *st == 404),
        "no referrers query: {seen:?}"
    );
    assert!(
        seen.iter()
            .any(|(m, t, st)| m == "GET" && t.contains("/disc/app/tags/list") && *st == 200),
        "the tags were not listed: {seen:?}"
    );
    assert_eq!(
        fallback_requests(&seen, &subjects),
        vec![format!(
            "GET /v2/disc/app/manifests/sha256-{} 200",
            hex(&subjects[0])
        )],
        "expected exactly the index's fallback tag to be read"
    );
    let heads: Vec<_> = seen.iter().filter(|(m, _, _)| m == "HEAD").collect();
    assert!(heads.is_empty(), "tags HEADed despite the list: {heads:?}");

    // A registry that does not list tags: each tag is asked for, and the same things travel.
    let unlisted = HttpProxy::start(&reg.host);
    unlisted.rule(Rule::new(None, "/tags/list", Fault::Status(403, None), 100));
    let out = dir.path().join("unlisted.tar");
    let image = format!("{}/disc/app:v1", unlisted.addr);
    assert_success(&ferry(&["export", &image, "-o", out.to_str().unwrap()]));
    let got = names(&out);
    assert!(got.contains(&format!("{}/disc/app@{}", unlisted.addr, sbom.digest)));
    assert_eq!(
        got.len(),
        3,
        "index, its amd64 signature, the SBOM: {got:?}"
    );
    let seen = unlisted.seen();
    for s in &subjects {
        assert!(
            !fallback_requests(&seen, std::slice::from_ref(s)).is_empty(),
            "without a tag list, the fallback tag of {s} was not asked for: {seen:?}"
        );
        let sig = format!("/manifests/sha256-{}.sig", hex(s));
        assert!(
            seen.iter()
                .any(|(m, t, _)| m == "HEAD" && t.ends_with(&sig)),
            "without a tag list, {sig} was not asked for: {seen:?}"
        );
    }
}

/// Twelve repositories: single manifests and indexes, every one signed, some with an SBOM.
fn many_signed(reg: &Registry) -> Vec<String> {
    let c = reg.client();
    let mut images = Vec::new();
    for i in 0..12u64 {
        let repo = format!("det/app{i:02}");
        let name = format!("{}/{repo}", reg.host);
        if i % 4 == 0 {
            let (idx, _, _) = signed_index(reg, &repo);
            push_cosign_signature(&c, &repo, &name, idx.digest(), &key(4));
        } else {
            let img = push_oci_manifest(reg, &repo, "v1", 100 + i);
            push_cosign_signature(&c, &repo, &name, img.digest(), &key(5));
            if i % 3 == 0 {
                let subject = json!({"mediaType": OCI_MANIFEST, "digest": img.digest(), "size": img.manifest.size()});
                let sbom = push_referrer(&c, &repo, &subject, SPDX, format!("{i}").as_bytes());
                set_fallback(&c, &repo, img.digest(), &[(&sbom, SPDX)]);
            }
        }
        images.push(format!("{repo}:v1"));
    }
    images
}

#[test]
fn the_bundle_is_the_same_with_one_job_and_with_eight() {
    let reg = Registry::start();
    let images = many_signed(&reg);
    let proxy = HttpProxy::start(&reg.host);
    let dir = tempfile::tempdir().unwrap();
    let mut bundles = Vec::new();
    for jobs in ["1", "8"] {
        // The first answers come late, so with eight jobs later ones overtake them.
        proxy.clear_rules();
        for path in [".sig", "/referrers/"] {
            let delay = Fault::Delay(Duration::from_millis(150));
            proxy.rule(Rule::new(None, path, delay, 4));
        }
        let out = dir.path().join(format!("j{jobs}.tar"));
        let mut args = vec!["export", "-j", jobs, "-o", out.to_str().unwrap()];
        let refs: Vec<String> = images
            .iter()
            .map(|r| format!("{}/{r}", proxy.addr))
            .collect();
        args.extend(refs.iter().map(String::as_str));
        assert_success(&ferry(&args));
        bundles.push(out);
    }
    let (one, eight) = (&bundles[0], &bundles[1]);
    assert_eq!(names(one), names(eight), "index.json entries differ");
    assert_eq!(
        std::fs::read(one).unwrap(),
        std::fs::read(eight).unwrap(),
        "the bundles differ"
    );
    // Each image is followed by what is attached to it, before the next image.
    let v = index_json(one);
    let entries = v["manifests"].as_array().unwrap();
    let roots: Vec<usize> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e["annotations"]["io.ferry.subject"].is_null())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(roots.len(), images.len());
    // 3 indexes: signature of index and of amd64, SBOM; 9 manifests: a signature, 3 an SBOM.
    assert_eq!(entries.len(), images.len() + 3 * 3 + 9 + 3);
    for (k, &at) in roots.iter().enumerate() {
        let repo = format!("/{}", images[k].trim_end_matches(":v1"));
        let end = roots.get(k + 1).copied().unwrap_or(entries.len());
        for e in &entries[at..end] {
            let n = e["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap();
            assert!(n.contains(&format!("{repo}:")) || n.contains(&format!("{repo}@")));
        }
    }
}

#[test]
fn discovery_asks_several_manifests_at_once_within_jobs() {
    let reg = Registry::start();
    let images: Vec<String> = (0..10u64)
        .map(|i| {
            let repo = format!("par/app{i:02}");
            push_oci_manifest(&reg, &repo, "v1", 200 + i);
            format!("{repo}:v1")
        })
        .collect();
    let proxy = HttpProxy::start(&reg.host);
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (n, m) = (now.clone(), most.clone());
    // Each tag list and referrers query is held 150 ms while the number in flight is counted.
    proxy.handle(Box::new(move |req, _| {
        if req.path().contains("/referrers/") || req.path().ends_with("/tags/list") {
            let inflight = n.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(inflight, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(150));
            n.fetch_sub(1, Ordering::SeqCst);
        }
        None
    }));
    let dir = tempfile::tempdir().unwrap();
    let refs: Vec<String> = images
        .iter()
        .map(|r| format!("{}/{r}", proxy.addr))
        .collect();
    for (jobs, lo, hi) in [("1", 1, 1), ("4", 2, 4)] {
        most.store(0, Ordering::SeqCst);
        let out = dir.path().join(format!("j{jobs}.tar"));
        let mut args = vec!["export", "-j", jobs, "-o", out.to_str().unwrap()];
        args.extend(refs.iter().map(String::as_str));
        assert_success(&ferry(&args));
        let got = most.load(Ordering::SeqCst);
        assert!(
            (lo..=hi).contains(&got),
            "-j {jobs}: {got} discovery requests at once, expected {lo}..={hi}"
        );
    }
}
