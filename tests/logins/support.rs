//! What the `logins` tests share: the secrets, registries whose issuer takes a refresh token,
//! docker configs and helpers, and a ferry runner that fails a test when a secret shows up in
//! ferry's output.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;

use crate::common::*;
use base64::Engine;

pub const USER: &str = "carol";
pub const PASS: &str = "SECRET-PASSWORD-123";
pub const REFRESH: &str = "REFRESH-TOKEN-456";

pub fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A token registry whose issuer also accepts `REFRESH`.
pub fn token_registry(config: TokenConfig, tls: bool) -> Registry {
    let b = Registry::builder().token(config.with_refresh_token(REFRESH));
    if tls {
        b.tls().start()
    } else {
        b.start()
    }
}

pub fn refresh_config() -> TokenConfig {
    TokenConfig::new(USER, PASS, Anonymous::Deny)
}

/// A `DOCKER_CONFIG` directory whose `config.json` is `json`.
pub fn docker_config(json: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("config.json"), json).unwrap();
    d
}

pub fn identity_token_config(host: &str) -> tempfile::TempDir {
    docker_config(&format!(
        r#"{{"auths":{{"{host}":{{"identitytoken":"{REFRESH}"}}}}}}"#
    ))
}

/// Runs ferry with `DOCKER_CONFIG` (and `bin` first in `PATH`) and checks that no password,
/// refresh token or issued token reaches its stdout or stderr, whatever the outcome.
pub fn ferry_checked(
    args: &[&str],
    config: Option<&Path>,
    bin: Option<&Path>,
    stdin: Option<&str>,
    issuer: &TokenIssuer,
) -> Output {
    let mut c = ferry_cmd(args);
    if let Some(d) = config {
        c.env("DOCKER_CONFIG", d);
    }
    if let Some(b) = bin {
        let sys = std::env::var("PATH").unwrap_or_default();
        c.env("PATH", format!("{}:{sys}", b.display()));
    }
    let o = ferry_run(c, stdin);
    let mut secrets = vec![
        ("the password", PASS.to_string()),
        ("the refresh token", REFRESH.to_string()),
        ("Basic user:password", b64(&format!("{USER}:{PASS}"))),
    ];
    for t in issuer.issued_tokens() {
        secrets.push(("an issued token", t));
    }
    for (what, s) in &secrets {
        for (name, stream) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
            assert!(
                !String::from_utf8_lossy(stream).contains(s.as_str()),
                "{what} appears in ferry's {name} (args {args:?})"
            );
        }
    }
    o
}

/// `repository:NAME:a,b` → (NAME, {a, b}).
pub fn scope_actions(scope: &str) -> (String, BTreeSet<String>) {
    let rest = scope.strip_prefix("repository:").expect("repository scope");
    let (name, actions) = rest.rsplit_once(':').expect("scope actions");
    (
        name.to_string(),
        actions.split(',').map(str::to_string).collect(),
    )
}

pub fn set(actions: &[&str]) -> BTreeSet<String> {
    actions.iter().map(|a| a.to_string()).collect()
}

/// Every request is a refresh-token POST that was granted: the spec's fields, one `scope`
/// field, no Authorization header; no GET at all.
pub fn assert_refresh_posts(issuer: &TokenIssuer) -> Vec<TokenRequest> {
    let reqs = issuer.requests();
    assert!(!reqs.is_empty(), "no token was requested");
    for r in &reqs {
        assert_eq!(r.method, "POST", "{r:?}");
        assert_eq!(r.target, "/token", "{r:?}");
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.credentials, Credentials::Refresh, "{r:?}");
        assert_eq!(r.field("grant_type"), ["refresh_token"], "{r:?}");
        assert_eq!(r.field("refresh_token"), ["<redacted>"], "{r:?}");
        assert_eq!(
            r.field("service"),
            [issuer.config.service.as_str()],
            "{r:?}"
        );
        assert_eq!(r.field("client_id"), ["ferry"], "{r:?}");
        // The spec: "should only be specified once but may contain multiple scopes".
        assert_eq!(r.field("scope").len(), 1, "{r:?}");
        assert_eq!(r.authorization, None, "{r:?}");
        assert!(!r.saw(PASS), "the password reached the token service");
    }
    reqs
}

/// `(repository, tag)` of each target in a `--mapping-out` file.
pub fn targets(mapping: &Path, host: &str) -> Vec<(String, String)> {
    let m: BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(mapping).unwrap()).unwrap();
    m.values()
        .map(|t| {
            let rest = t.strip_prefix(&format!("{host}/")).unwrap();
            let (repo, tag) = rest.rsplit_once(':').unwrap();
            (repo.to_string(), tag.to_string())
        })
        .collect()
}

/// A `docker-credential-NAME` script answering `<token>` and the refresh token for `host`.
pub fn token_helper(bin: &Path, name: &str, host: &str) {
    use std::os::unix::fs::PermissionsExt;
    let script = format!("#!/bin/sh\nread server\nif [ \"$server\" = \"{host}\" ]; then echo '{{\"ServerURL\":\"{host}\",\"Username\":\"<token>\",\"Secret\":\"{REFRESH}\"}}'; else echo 'credentials not found in native keychain'; exit 1; fi\n");
    let p = bin.join(format!("docker-credential-{name}"));
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}
