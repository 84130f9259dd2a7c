//! Indexes nested in indexes: one depth limit for everything (DESIGN §2, layout::MAX_DEPTH =
//! 16). The deepest chain export accepts, verify and import accept too; a chain of 8 000 served
//! by a registry (the test proxy makes it up in front of a real one) is a clear error, not a
//! stack overflow.

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::http_proxy::{HttpProxy, Resp};
use common::*;

const LIMIT: usize = 16;

/// Indexes over `base`, each listing the next: returns them top first. With `levels` indexes
/// the base manifest sits at depth `levels`.
fn chain(base: &Blob, levels: usize) -> Vec<Blob> {
    let mut out: Vec<Blob> = Vec::with_capacity(levels);
    let mut child = base.clone();
    for _ in 0..levels {
        let idx = index_blob(
            OCI_INDEX,
            &[index_entry(
                &child,
                Some(&Platform::parse("linux/amd64")),
                None,
            )],
        );
        child = idx.clone();
        out.push(idx);
    }
    out.reverse();
    out
}

#[test]
fn the_deepest_chain_export_writes_is_what_verify_and_import_take() {
    let src = Registry::start();
    let c = src.client();
    let img = Image::new(Kind::Oci, "linux/amd64", &[4242]);
    img.push(&c, "deep/app", None);
    let dir = tempfile::tempdir().unwrap();
    // LIMIT indexes: the image manifest at depth 16, the deepest allowed.
    let ok = chain(&img.manifest, LIMIT);
    for idx in ok.iter().rev() {
        c.push_manifest("deep/app", &idx.digest, OCI_INDEX, &idx.bytes);
    }
    c.push_manifest("deep/app", "ok", OCI_INDEX, &ok[0].bytes);
    let bundle = dir.path().join("ok.tar");
    assert_success(&ferry(&[
        "export",
        &format!("{}/deep/app:ok", src.host),
        "-o",
        bundle.to_str().unwrap(),
    ]));
    assert_success(&ferry(&["verify", bundle.to_str().unwrap()]));
    let dst = Registry::start();
    assert_success(&ferry(&[
        "import",
        bundle.to_str().unwrap(),
        "--to",
        &format!("{}/team", dst.host),
        "--mapping-out",
        dir.path().join("m.json").to_str().unwrap(),
    ]));

    // One more level is refused by export, naming the image and the limit.
    let deeper = chain(&img.manifest, LIMIT + 1);
    for idx in deeper.iter().rev() {
        c.push_manifest("deep/app", &idx.digest, OCI_INDEX, &idx.bytes);
    }
    c.push_manifest("deep/app", "deeper", OCI_INDEX, &deeper[0].bytes);
    let o = ferry(&[
        "export",
        &format!("{}/deep/app:deeper", src.host),
        "-o",
        dir.path().join("deeper.tar").to_str().unwrap(),
    ]);
    assert_failure(&o, &["deep/app:deeper", "nested more than 16"]);
    assert!(!dir.path().join("deeper.tar").exists());
}

#[test]
fn a_chain_of_8000_indexes_is_a_clear_error_not_a_crash() {
    let reg = Registry::start();
    let img = Image::new(Kind::Oci, "linux/amd64", &[4343]);
    img.push(&reg.client(), "deep/app", None);
    let levels = chain(&img.manifest, 8000);
    let top = levels[0].clone();
    let served: Arc<BTreeMap<String, Blob>> =
        Arc::new(levels.into_iter().map(|b| (b.digest.clone(), b)).collect());
    let proxy = HttpProxy::start(&reg.host);
    proxy.handle(Box::new(move |req, _| {
        if req.method != "GET" && req.method != "HEAD" {
            return None;
        }
        let reference = req.path().strip_prefix("/v2/deep/app/manifests/")?;
        let blob = if reference == "top" {
            &top
        } else {
            served.get(reference)?
        };
        Some(Resp::new(
            200,
            &[
                ("Content-Type", OCI_INDEX),
                ("Docker-Content-Digest", &blob.digest),
            ],
            blob.bytes.clone(),
        ))
    }));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.tar");
    let o = ferry(&[
        "export",
        &format!("{}/deep/app:top", proxy.addr),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_failure(
        &o,
        &["deep/app:top", "nested more than 16", "cannot be exported"],
    );
    assert!(!out.exists());
    // Refused as soon as the limit is passed: a few manifests fetched, not 8 000.
    let fetched = proxy
        .seen()
        .iter()
        .filter(|(m, t, _)| m == "GET" && t.contains("/manifests/"))
        .count();
    assert!(fetched <= LIMIT + 2, "{fetched} manifests fetched");
}
