//! Nothing from outside reaches the terminal as it came (DESIGN §1): control characters in a
//! registry's error are escaped, an answer from another server is never quoted, and no failure
//! prints a token, a JWT or a password planted in it.

use crate::answers::setup;
use crate::common;

use std::process::Output;

use base64::Engine;
use common::http_proxy::{HttpProxy, Resp};
use common::*;
use setup::*;

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
