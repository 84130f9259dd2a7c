//! Import checks what registries answer (DESIGN §4.3): a `201` to a POST that asked no mount,
//! a HEAD "exists" with the wrong size (or behind a redirect), a registry that accepts
//! manifests but stores nothing, errors that name their blob, repositories a registry does not
//! create on push. The fault proxy's handlers answer in front of a real registry
//! (distribution 2.8.2).

use crate::common;
#[path = "answers/setup.rs"]
pub(crate) mod setup;

use common::http_proxy::{HttpProxy, Resp};
use common::*;
use setup::*;

#[test]
fn a_201_to_a_post_that_asked_no_mount_is_a_protocol_error() {
    let s = setup("ans/created", 100);
    let proxy = HttpProxy::start(&s.reg.host);
    proxy.handle(Box::new(|r, _| {
        is_upload_post(r).then(|| Resp::new(201, &[], Vec::new()))
    }));
    let o = s.import_via(&proxy, &["-j", "1"]);
    assert_failure(&o, &[&proxy.addr, "201", "POST", "mount"]);
    let err = stderr(&o);
    assert!(
        s.img
            .blob_digests()
            .iter()
            .any(|d| err.contains(d.as_str())),
        "the error names no blob:\n{err}"
    );
    assert_no_success_line(&o);
    assert_eq!(
        manifest_puts(&proxy),
        0,
        "manifests were pushed after a protocol error"
    );
}

#[test]
fn a_head_with_the_wrong_size_is_not_there_and_every_push_is_read_back() {
    let s = setup("ans/size", 110);
    let proxy = HttpProxy::start(&s.reg.host);
    proxy.handle(Box::new(|r, _| {
        let d = r.path().rsplit_once("/blobs/")?.1.to_string();
        (r.method == "HEAD" && d.starts_with("sha256:")).then(|| {
            Resp::new(
                200,
                &[
                    ("Content-Length", "3"),
                    ("Docker-Content-Digest", d.as_str()),
                ],
                Vec::new(),
            )
        })
    }));
    let o = s.import_via(&proxy, &["-j", "1"]);
    assert_success(&o);
    let seen = proxy.seen();
    for d in s.img.blob_digests() {
        assert!(
            seen.iter().any(|(m, t, st)| m == "PUT"
                && t.contains("/blobs/uploads/")
                && t.contains(d.as_str())
                && *st == 201),
            "blob {d} was not uploaded: {seen:?}"
        );
        assert_eq!(digest(&get_blob(&s.reg.host, &s.target(), &d)), d);
    }
    let tagged = format!("{}:v1", s.target());
    assert_eq!(
        digest(&skopeo_inspect_raw(&s.reg.host, &tagged, &[])),
        s.img.digest()
    );
    // The read-back: after the PUTs, a HEAD of the tag and of the digest.
    let last_put = seen
        .iter()
        .rposition(|(m, t, _)| m == "PUT" && t.contains("/manifests/"))
        .expect("no manifest PUT");
    for r in ["v1", s.img.digest()] {
        assert!(
            seen[last_put..].iter().any(|(m, t, st)| m == "HEAD"
                && t.ends_with(&format!("/manifests/{r}"))
                && *st == 200),
            "{r} was not read back after the push: {seen:?}"
        );
    }
}

#[test]
fn a_registry_that_accepts_manifests_but_stores_nothing_fails_the_read_back() {
    let s = setup("ans/void", 120);
    let proxy = HttpProxy::start(&s.reg.host);
    proxy.handle(Box::new(|r, _| {
        is_manifest_put(r).then(|| {
            let d = digest(&r.body);
            Resp::new(
                201,
                &[
                    ("Docker-Content-Digest", d.as_str()),
                    ("Location", r.path()),
                ],
                Vec::new(),
            )
        })
    }));
    let o = s.import_via(&proxy, &[]);
    let tagged = format!("{}:v1", s.target());
    assert_failure(&o, &[&proxy.addr, &tagged, "read back"]);
    assert_no_success_line(&o);
}

#[test]
fn registry_errors_name_the_blob_they_concern() {
    let s = setup("ans/unknown", 130);
    let proxy = HttpProxy::start(&s.reg.host);
    let config = s.img.config.digest.clone();
    let c = config.clone();
    proxy.handle(Box::new(move |r, _| {
        is_manifest_put(r).then(|| {
            oci_error(
                400,
                "MANIFEST_BLOB_UNKNOWN",
                "blob unknown to registry",
                serde_json::json!({"digest": c}),
            )
        })
    }));
    let o = s.import_via(&proxy, &[]);
    assert_failure(&o, &[&proxy.addr, "MANIFEST_BLOB_UNKNOWN", &config]);
}

#[test]
fn a_registry_that_does_not_create_repositories_says_create_it_first() {
    let s = setup("ans/harbor", 140);
    // ECR and distribution: NAME_UNKNOWN to the first upload POST.
    let ecr = HttpProxy::start(&s.reg.host);
    let target = s.target();
    let t = target.clone();
    ecr.handle(Box::new(move |r, _| {
        is_upload_post(r).then(|| {
            oci_error(
                404,
                "NAME_UNKNOWN",
                "repository name not known to registry",
                serde_json::json!({"name": t}),
            )
        })
    }));
    // Harbor without the project, Nexus: 403 to the first HEAD.
    let harbor = HttpProxy::start(&s.reg.host);
    harbor.handle(Box::new(|r, _| {
        (r.method == "HEAD" && r.path().contains("/blobs/"))
            .then(|| Resp::new(403, &[], Vec::new()))
    }));
    for proxy in [&ecr, &harbor] {
        let o = s.import_via(proxy, &["-j", "1"]);
        assert_failure(&o, &[&proxy.addr, &target, "created first"]);
        let err = stderr(&o);
        assert_eq!(
            err.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "not one error:\n{err}"
        );
        assert_no_success_line(&o);
    }
}

#[test]
fn a_head_redirected_to_storage_is_followed_and_what_is_there_is_not_sent_again() {
    let s = setup("ans/redirect", 180);
    let direct = HttpProxy::start(&s.reg.host);
    assert_success(&s.import_via(&direct, &[]));
    // Object storage: the registry answers blob HEADs with a 307 to another server.
    let storage = HttpProxy::start(&s.reg.host);
    let proxy = HttpProxy::start(&s.reg.host);
    let base = format!("http://{}", storage.addr);
    proxy.handle(Box::new(move |r, _| {
        (r.method == "HEAD" && r.path().contains("/blobs/sha256:")).then(|| {
            let to = format!("{base}{}", r.target);
            Resp::new(307, &[("Location", to.as_str())], Vec::new())
        })
    }));
    let o = s.import_via(&proxy, &["--json"]);
    assert_success(&o);
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // Every config and layer of the image is already there (the direct import put it).
    let blobs = s.img.blob_digests();
    assert_eq!(summary["blobs"]["existing"], blobs.len(), "{summary}");
    assert_eq!(summary["blobs"]["uploaded"], 0, "{summary}");
    let mut found: Vec<String> = storage
        .seen()
        .iter()
        .filter(|(m, _, st)| m == "HEAD" && *st == 200)
        .map(|(_, t, _)| t.rsplit('/').next().unwrap().to_string())
        .collect();
    found.sort();
    let mut want = blobs.clone();
    want.sort();
    assert_eq!(
        found,
        want,
        "the redirects were not followed: {:?}",
        storage.seen()
    );
    assert!(summary["read_back"].as_u64().unwrap() >= 2, "{summary}");
}
