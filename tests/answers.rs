//! Import checks what registries answer (DESIGN §4.3): a `201` to a POST that asked no mount,
//! a HEAD "exists" with the wrong size, a registry that accepts manifests but stores nothing,
//! errors that name their blob, repositories a registry does not create on push. The fault
//! proxy's handlers answer in front of a real registry (distribution 2.8.2).

mod common;

use std::path::PathBuf;
use std::process::Output;

use base64::Engine;
use common::http_proxy::{HttpProxy, Req, Resp};
use common::*;

/// A registry holding `repo:v1` (two layers) and a bundle of it.
struct Setup {
    reg: Registry,
    img: Image,
    repo: String,
    dir: tempfile::TempDir,
    bundle: PathBuf,
}

fn setup(repo: &str, seed: u64) -> Setup {
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
    fn import_via(&self, proxy: &HttpProxy, extra: &[&str]) -> Output {
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
    fn target(&self) -> String {
        let name = format!("{}/{}", self.reg.host, self.repo);
        format!(
            "team/{}-{:x}",
            self.repo.replace('/', "-"),
            md5::compute(name.as_bytes())
        )
    }
}

fn is_upload_post(r: &Req) -> bool {
    r.method == "POST" && r.path().ends_with("/blobs/uploads/") && r.query("mount").is_none()
}

fn is_manifest_put(r: &Req) -> bool {
    r.method == "PUT" && r.path().contains("/manifests/")
}

fn oci_error(status: u16, code: &str, message: &str, detail: serde_json::Value) -> Resp {
    let body =
        serde_json::json!({"errors": [{"code": code, "message": message, "detail": detail}]});
    Resp::new(
        status,
        &[("Content-Type", "application/json")],
        serde_json::to_vec(&body).unwrap(),
    )
}

fn manifest_puts(proxy: &HttpProxy) -> usize {
    proxy
        .seen()
        .iter()
        .filter(|(m, t, _)| m == "PUT" && t.contains("/manifests/"))
        .count()
}

fn assert_no_success_line(o: &Output) {
    let err = stderr(o);
    assert!(
        !err.contains("imported ") && !err.contains("mapping written"),
        "a success line was printed:\n{err}"
    );
}

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

/// Bytes a terminal acts on: ESC, BEL, CR, DEL and C1 CSI (U+009B in UTF-8).
fn terminal_controls(bytes: &[u8]) -> Vec<String> {
    let mut found: Vec<String> = bytes
        .iter()
        .filter(|b| matches!(b, 0x1b | 0x07 | 0x0d | 0x7f))
        .map(|b| format!("{b:#04x}"))
        .collect();
    if bytes.windows(2).any(|w| w == [0xc2, 0x9b]) {
        found.push("U+009B".into());
    }
    found
}

#[test]
fn control_characters_from_a_registry_never_reach_the_terminal() {
    let s = setup("ans/escape", 150);
    let proxy = HttpProxy::start(&s.reg.host);
    let message = "\u{1b}[2J\u{7}\rexported OK \u{9b}31m\u{7f}";
    proxy.handle(Box::new(move |r, _| {
        let manifest = r.path().contains("/manifests/");
        (manifest && matches!(r.method.as_str(), "PUT" | "GET"))
            .then(|| oci_error(400, "DENIED", message, serde_json::json!({})))
    }));
    let import = s.import_via(&proxy, &[]);
    let out = s.dir.path().join("e.tar");
    let export = ferry(&[
        "export",
        &format!("{}/{}:v1", proxy.addr, s.repo),
        "-o",
        out.to_str().unwrap(),
    ]);
    for o in [&import, &export] {
        assert_failure(o, &["DENIED", "\\x1b[2J\\x07\\x0dexported OK"]);
        for (name, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
            let found = terminal_controls(bytes);
            assert!(found.is_empty(), "{name} carries {found:?}:\n{}", stderr(o));
        }
        assert!(
            !stderr(o).lines().any(|l| l.starts_with("exported OK")),
            "a forged line"
        );
    }
}

/// What a token service answers: a token that must never be printed.
const PLANTED: &str = "TOKEN-abc7f3-planted-never-printed";

fn token_body() -> Vec<u8> {
    format!(r#"{{"token":"{PLANTED}","access_token":"{PLANTED}","expires_in":300}}"#).into_bytes()
}

/// Another server (not the registry) answering every request with a token.
fn token_server(upstream: &str, status: u16) -> HttpProxy {
    let tok = HttpProxy::start(upstream);
    tok.handle(Box::new(move |_, _| {
        Some(Resp::new(
            status,
            &[("Content-Type", "application/json")],
            token_body(),
        ))
    }));
    tok
}

/// A proxy whose upload sessions point at `other` (an absolute `Location` on another host).
fn upload_elsewhere(upstream: &str, other: &str) -> HttpProxy {
    let proxy = HttpProxy::start(upstream);
    let location = format!("http://{other}/token?service=registry&scope=push");
    proxy.handle(Box::new(move |r, _| {
        is_upload_post(r).then(|| Resp::new(202, &[("Location", location.as_str())], Vec::new()))
    }));
    proxy
}

#[test]
fn an_upload_location_on_another_server_never_quotes_its_answer() {
    let s = setup("ans/elsewhere", 160);
    let tok = token_server(&s.reg.host, 200);
    let proxy = upload_elsewhere(&s.reg.host, &tok.addr);
    let o = s.import_via(&proxy, &["-j", "1"]);
    assert_failure(&o, &[&proxy.addr, &tok.addr, "200"]);
    assert!(
        tok.seen().iter().any(|(m, _, _)| m == "PUT"),
        "the upload never reached the other server"
    );
    assert_secrets_absent(&[&o], &[PLANTED, "TOKEN-"]);
}

fn assert_secrets_absent(outputs: &[&Output], secrets: &[&str]) {
    for o in outputs {
        for bytes in [&o.stdout, &o.stderr] {
            let text = String::from_utf8_lossy(bytes);
            for secret in secrets {
                assert!(!text.contains(secret), "{secret:?} was printed:\n{text}");
            }
        }
    }
}

/// A handful of failures whose answers carry tokens: the error describes them, never quotes.
#[test]
fn no_failure_prints_a_planted_token_or_password() {
    let s = setup("ans/secrets", 170);
    let jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJwbGFudGVkIn0.c2lnbmF0dXJlLXBsYW50ZWQ";
    let password = "Pw-5e1c7-planted";
    let mut outputs = Vec::new();
    // 1. The other server answers 400 with a token body.
    let tok400 = token_server(&s.reg.host, 400);
    let elsewhere = upload_elsewhere(&s.reg.host, &tok400.addr);
    outputs.push(s.import_via(&elsewhere, &["-j", "1"]));
    // 2. The registry itself answers a blob upload with a token body...
    let own = HttpProxy::start(&s.reg.host);
    own.handle(Box::new(|r, _| {
        (r.method == "PUT" && r.path().contains("/blobs/uploads/"))
            .then(|| Resp::new(400, &[], token_body()))
    }));
    outputs.push(s.import_via(&own, &["-j", "1"]));
    // ...and a manifest PUT with a JWT in an OCI error message.
    let jwt_proxy = HttpProxy::start(&s.reg.host);
    let msg = format!("token {jwt} rejected");
    jwt_proxy.handle(Box::new(move |r, _| {
        is_manifest_put(r).then(|| oci_error(400, "DENIED", &msg, serde_json::json!({})))
    }));
    outputs.push(s.import_via(&jwt_proxy, &[]));
    // 3. Export: a blob redirected to another server that answers 403 with a refresh token.
    let tok403 = token_server(&s.reg.host, 403);
    let redirect = HttpProxy::start(&s.reg.host);
    let base = format!("http://{}", tok403.addr);
    redirect.handle(Box::new(move |r, _| {
        (r.method == "GET" && r.path().contains("/blobs/sha256:")).then(|| {
            Resp::new(
                307,
                &[("Location", &format!("{base}{}", r.target))],
                Vec::new(),
            )
        })
    }));
    let out = s.dir.path().join("r.tar");
    let src = format!("{}/{}:v1", redirect.addr, s.repo);
    outputs.push(ferry(&["export", &src, "-o", out.to_str().unwrap()]));
    // 4. A password given on stdin (sent after a Basic challenge), and uploads pointed at the
    //    other server.
    let basic = HttpProxy::start(&s.reg.host);
    basic.handle(Box::new(|r, _| {
        r.header("authorization").is_none().then(|| {
            Resp::new(
                401,
                &[("WWW-Authenticate", r#"Basic realm="r""#)],
                Vec::new(),
            )
        })
    }));
    let location = format!("http://{}/upload", tok400.addr);
    basic.handle(Box::new(move |r, _| {
        is_upload_post(r).then(|| Resp::new(202, &[("Location", location.as_str())], Vec::new()))
    }));
    let to = format!("{}/other", basic.addr);
    let m = s.dir.path().join("m.json");
    let args = [
        "import",
        s.bundle.to_str().unwrap(),
        "--to",
        &to,
        "--mapping-out",
        m.to_str().unwrap(),
        "--username",
        "bob",
        "--password-stdin",
    ];
    outputs.push(ferry_run(ferry_cmd(&args), Some(&format!("{password}\n"))));
    assert!(
        basic
            .seen()
            .iter()
            .any(|(m, _, st)| m == "POST" && *st == 202),
        "the password was never used:\n{}",
        stderr(&outputs[outputs.len() - 1])
    );
    for o in &outputs {
        assert_eq!(
            o.status.code(),
            Some(1),
            "expected a failure:\n{}",
            stderr(o)
        );
    }
    let refs: Vec<&Output> = outputs.iter().collect();
    let basic_auth = base64::engine::general_purpose::STANDARD.encode(format!("bob:{password}"));
    assert_secrets_absent(&refs, &[PLANTED, "TOKEN-", jwt, password, &basic_auth]);
}
