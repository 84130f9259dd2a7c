#![allow(dead_code)]
//! Shared by `answers.rs` and `answers_secrets.rs`: a registry with one image and its bundle,
//! imports through the fault proxy, and the requests and answers the tests fake.

use std::path::PathBuf;
use std::process::Output;

use crate::common::http_proxy::{HttpProxy, Req, Resp};
use crate::common::*;

/// A registry holding `repo:v1` (two layers) and a bundle of it.
pub struct Setup {
    pub reg: Registry,
    pub img: Image,
    pub repo: String,
    pub dir: tempfile::TempDir,
    pub bundle: PathBuf,
}

pub fn setup(repo: &str, seed: u64) -> Setup {
    let reg = Registry::start();
    let img = Image::new(Kind::Oci, "linux/amd64", &[seed, seed + 1]);
    img.push(&reg.client(), repo, Some("v1"));
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.tar");
    assert_success(&ferry(&[
        "export",
        &format!("{}/{repo}:v1", reg.host),
        "-o",
        bundle.to_str().unwrap(),
    ]));
    Setup {
        reg,
        img,
        repo: repo.into(),
        dir,
        bundle,
    }
}

impl Setup {
    /// `ferry import` of the bundle into `PROXY/team`.
    pub fn import_via(&self, proxy: &HttpProxy, extra: &[&str]) -> Output {
        let m = self.dir.path().join("m.json");
        let to = format!("{}/team", proxy.addr);
        let mut args = vec![
            "import",
            self.bundle.to_str().unwrap(),
            "--to",
            &to,
            "--mapping-out",
            m.to_str().unwrap(),
        ];
        args.extend(extra);
        ferry(&args)
    }

    /// The hashed target repository of the image (DESIGN §5), computed independently.
    pub fn target(&self) -> String {
        let name = format!("{}/{}", self.reg.host, self.repo);
        format!(
            "team/{}-{:x}",
            self.repo.replace('/', "-"),
            md5::compute(name.as_bytes())
        )
    }
}

pub fn is_upload_post(r: &Req) -> bool {
    r.method == "POST" && r.path().ends_with("/blobs/uploads/") && r.query("mount").is_none()
}

pub fn is_manifest_put(r: &Req) -> bool {
    r.method == "PUT" && r.path().contains("/manifests/")
}

pub fn oci_error(status: u16, code: &str, message: &str, detail: serde_json::Value) -> Resp {
    let body =
        serde_json::json!({"errors": [{"code": code, "message": message, "detail": detail}]});
    Resp::new(
        status,
        &[("Content-Type", "application/json")],
        serde_json::to_vec(&body).unwrap(),
    )
}

pub fn manifest_puts(proxy: &HttpProxy) -> usize {
    proxy
        .seen()
        .iter()
        .filter(|(m, t, _)| m == "PUT" && t.contains("/manifests/"))
        .count()
}

pub fn assert_no_success_line(o: &Output) {
    let err = stderr(o);
    assert!(
        !err.contains("imported ") && !err.contains("mapping written"),
        "a success line was printed:\n{err}"
    );
}
