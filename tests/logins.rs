//! Logins beyond user/password (DESIGN §1): docker-config `identitytoken` entries and credential
//! helpers answering `<token>` are OAuth2 refresh tokens (POST grant, GET only on 404/405), and
//! credentials never travel over plain http to the token service of an https registry.
//! Every ferry run here is checked for secrets in its output (`support::ferry_checked`).

use crate::common;
#[path = "logins/support.rs"]
mod support;

use common::*;
use support::*;

#[test]
fn identity_token_in_docker_config_exports_and_imports() {
    let reg = token_registry(refresh_config(), false);
    let issuer = reg.token.as_ref().unwrap();
    let seed = reg.client_with(Auth::basic(USER, PASS));
    push_oci_index(&seed, "team/app", "v1", &["linux/amd64"], true, false);
    issuer.clear();
    let cfg = identity_token_config(&reg.host);
    let dir = tempfile::tempdir().unwrap();

    // Export: refresh-token POSTs for exactly the pull scope.
    let out = dir.path().join("a.tar");
    let image = format!("{}/team/app:v1", reg.host);
    let o = ferry_checked(
        &["export", &image, "-o", out.to_str().unwrap()],
        Some(cfg.path()),
        None,
        None,
        issuer,
    );
    assert_success(&o);
    assert!(out.exists());
    for r in assert_refresh_posts(issuer) {
        assert_eq!(r.scopes, ["repository:team/app:pull"], "{r:?}");
    }

    // Import of two images sharing a layer: pull,push on the targets, and the mount's token
    // names both repositories in one space-separated `scope` field.
    let src = Registry::start();
    let one = push_oci_index(&src, "src/one", "v1", &["linux/amd64"], true, false);
    let two = push_oci_index(&src, "src/two", "v2", &["linux/amd64"], true, false);
    let bundle = dir.path().join("src.tar");
    let (r1, r2) = (
        format!("{}/src/one:v1", src.host),
        format!("{}/src/two:v2", src.host),
    );
    assert_success(&ferry(&[
        "export",
        &r1,
        &r2,
        "-o",
        bundle.to_str().unwrap(),
    ]));
    issuer.clear();
    let mapping = dir.path().join("mapping.json");
    let prefix = format!("{}/team", reg.host);
    let o = ferry_checked(
        &[
            "import",
            bundle.to_str().unwrap(),
            "--to",
            &prefix,
            "--mapping-out",
            mapping.to_str().unwrap(),
        ],
        Some(cfg.path()),
        None,
        None,
        issuer,
    );
    assert_success(&o);
    let reqs = assert_refresh_posts(issuer);
    let repos: Vec<String> = targets(&mapping, &reg.host)
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    assert_eq!(repos.len(), [&r1, &r2].len());
    for r in &reqs {
        for s in &r.scopes {
            let (name, _) = scope_actions(s);
            assert!(repos.contains(&name), "token for {s}");
        }
    }
    for repo in &repos {
        assert!(
            reqs.iter().flat_map(|r| &r.scopes).any(|s| {
                let (name, actions) = scope_actions(s);
                &name == repo && actions == set(&["pull", "push"])
            }),
            "no pull,push token for {repo}: {reqs:?}"
        );
    }
    assert!(
        reqs.iter().any(|r| r.scopes.len() == 2),
        "no token request named both repositories (the mount): {reqs:?}"
    );
    // The imported images serve their digests.
    for ((repo, tag), want) in targets(&mapping, &reg.host)
        .into_iter()
        .zip([one.digest(), two.digest()])
    {
        let (raw, _) = seed.get_manifest_raw(&repo, &tag);
        assert_eq!(digest(&raw), want, "{repo}:{tag}");
    }
}

#[test]
fn credential_helper_token_user_is_a_refresh_token() {
    let reg = token_registry(refresh_config(), false);
    let issuer = reg.token.as_ref().unwrap();
    let seed = reg.client_with(Auth::basic(USER, PASS));
    let idx = push_oci_index(&seed, "team/app", "v1", &["linux/amd64"], true, false);
    issuer.clear();
    let bin = tempfile::tempdir().unwrap();
    token_helper(bin.path(), "ferrytest", &reg.host);
    let cfg = docker_config(&format!(
        r#"{{"credHelpers":{{"{}":"ferrytest"}}}}"#,
        reg.host
    ));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.tar");
    let image = format!("{}/team/app:v1", reg.host);
    let o = ferry_checked(
        &["export", &image, "-o", out.to_str().unwrap()],
        Some(cfg.path()),
        Some(bin.path()),
        None,
        issuer,
    );
    assert_success(&o);
    for r in assert_refresh_posts(issuer) {
        assert_eq!(r.scopes, ["repository:team/app:pull"], "{r:?}");
    }

    // The bundle back into the same registry under another prefix: pull,push tokens.
    issuer.clear();
    let mapping = dir.path().join("mapping.json");
    let prefix = format!("{}/copy", reg.host);
    let o = ferry_checked(
        &[
            "import",
            out.to_str().unwrap(),
            "--to",
            &prefix,
            "--mapping-out",
            mapping.to_str().unwrap(),
        ],
        Some(cfg.path()),
        Some(bin.path()),
        None,
        issuer,
    );
    assert_success(&o);
    let reqs = assert_refresh_posts(issuer);
    let (repo, tag) = targets(&mapping, &reg.host).remove(0);
    assert!(
        reqs.iter().flat_map(|r| &r.scopes).any(|s| {
            let (name, actions) = scope_actions(s);
            name == repo && actions == set(&["pull", "push"])
        }),
        "no pull,push token for {repo}: {reqs:?}"
    );
    let (raw, _) = seed.get_manifest_raw(&repo, &tag);
    assert_eq!(digest(&raw), idx.digest());
}

#[test]
fn token_servers_without_oauth2_get_the_get_flow() {
    for status in [404, 405] {
        let reg = token_registry(refresh_config().post_answers(status), false);
        let issuer = reg.token.as_ref().unwrap();
        push_oci_manifest(
            &reg.client_with(Auth::basic(USER, PASS)),
            "team/app",
            "v1",
            3,
        );
        issuer.clear();
        let cfg = identity_token_config(&reg.host);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.tar");
        let image = format!("{}/team/app:v1", reg.host);
        let args = ["export", &image, "-o", out.to_str().unwrap()];
        let o = ferry_checked(&args, Some(cfg.path()), None, None, issuer);
        assert_success(&o);
        let reqs = issuer.requests();
        let post = reqs.iter().find(|r| r.method == "POST").expect("a POST");
        assert_eq!(post.status, status, "{post:?}");
        assert_eq!(post.field("grant_type"), ["refresh_token"], "{post:?}");
        // The GET carries the refresh token as its Basic password, and is granted.
        let gets: Vec<&TokenRequest> = reqs.iter().filter(|r| r.method == "GET").collect();
        assert!(!gets.is_empty(), "no GET after a {status}: {reqs:?}");
        for g in gets {
            assert_eq!(
                (g.status, g.credentials),
                (200, Credentials::Refresh),
                "{g:?}"
            );
            assert_eq!(g.scopes, ["repository:team/app:pull"], "{g:?}");
        }
    }

    // Any other refusal of the POST is an error, not a GET with the refresh token.
    let reg = token_registry(refresh_config().post_answers(401), false);
    let issuer = reg.token.as_ref().unwrap();
    issuer.clear();
    let cfg = identity_token_config(&reg.host);
    let image = format!("{}/team/app:v1", reg.host);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.tar");
    let args = ["export", &image, "-o", out.to_str().unwrap()];
    let o = ferry_checked(&args, Some(cfg.path()), None, None, issuer);
    assert_failure(&o, &[&reg.host, "identity token", "HTTP 401"]);
    assert!(
        issuer.requests().iter().all(|r| r.method == "POST"),
        "{:?}",
        issuer.requests()
    );
}

#[test]
fn passwords_keep_the_get_flow() {
    let reg = token_registry(refresh_config(), false);
    let issuer = reg.token.as_ref().unwrap();
    push_oci_manifest(
        &reg.client_with(Auth::basic(USER, PASS)),
        "team/app",
        "v1",
        5,
    );
    issuer.clear();
    let cfg = docker_config(&format!(
        r#"{{"auths":{{"{}":{{"auth":"{}"}}}}}}"#,
        reg.host,
        b64(&format!("{USER}:{PASS}"))
    ));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.tar");
    let image = format!("{}/team/app:v1", reg.host);
    let args = ["export", &image, "-o", out.to_str().unwrap()];
    assert_success(&ferry_checked(&args, Some(cfg.path()), None, None, issuer));
    let reqs = issuer.requests();
    assert!(!reqs.is_empty());
    for r in &reqs {
        assert_eq!(
            (r.method.as_str(), r.credentials, r.status),
            ("GET", Credentials::Valid, 200),
            "{r:?}"
        );
    }
}

#[test]
fn https_registry_never_sends_credentials_to_an_http_realm() {
    let reg = token_registry(TokenConfig::new(USER, PASS, Anonymous::Pull), true);
    let issuer = reg.token.as_ref().unwrap();
    let realm = issuer.realm();
    assert!(realm.starts_with("http://"), "{realm}");
    let ca = reg.ca_pem.as_ref().unwrap().to_str().unwrap().to_string();
    let seed = reg.client_with(Auth::basic(USER, PASS));
    push_oci_manifest(&seed, "team/app", "v1", 7);
    issuer.clear();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.tar");
    let image = format!("{}/team/app:v1", reg.host);
    let base = [
        "export",
        &image,
        "-o",
        out.to_str().unwrap(),
        "--ca-file",
        &ca,
    ];
    let refused = format!(
        "refusing to send credentials for {} over plain http to {realm}; the token service must use https",
        reg.host
    );
    let nothing_secret_reached = |issuer: &TokenIssuer| {
        for r in issuer.requests() {
            assert_eq!(r.authorization, None, "{r:?}");
            assert!(r.form.is_empty(), "{r:?}");
            for s in [PASS, REFRESH] {
                assert!(!r.saw(s), "a secret reached the http realm: {r:?}");
            }
        }
    };

    // --username/--password-stdin: refused before anything is sent.
    let mut args = base.to_vec();
    args.extend(["--username", USER, "--password-stdin"]);
    let o = ferry_checked(&args, None, None, Some(&format!("{PASS}\n")), issuer);
    assert_failure(&o, &[&refused]);
    nothing_secret_reached(issuer);
    assert!(!out.exists());

    // An identity token: the same.
    let cfg = identity_token_config(&reg.host);
    let o = ferry_checked(&base, Some(cfg.path()), None, None, issuer);
    assert_failure(&o, &[&refused]);
    nothing_secret_reached(issuer);

    // Import with a password: the same.
    let bundle = dir.path().join("b.tar");
    let src = Registry::start();
    push_oci_manifest(&src, "src/x", "v1", 9);
    let src_image = format!("{}/src/x:v1", src.host);
    assert_success(&ferry(&[
        "export",
        &src_image,
        "-o",
        bundle.to_str().unwrap(),
    ]));
    let prefix = format!("{}/team", reg.host);
    let args = [
        "import",
        bundle.to_str().unwrap(),
        "--to",
        &prefix,
        "--ca-file",
        &ca,
        "--username",
        USER,
        "--password-stdin",
    ];
    let o = ferry_checked(&args, None, None, Some(&format!("{PASS}\n")), issuer);
    assert_failure(&o, &[&refused]);
    nothing_secret_reached(issuer);

    // Without credentials nothing secret is sent: an anonymous token from the http realm is
    // fine (this issuer grants anonymous pull).
    issuer.clear();
    let o = ferry_checked(&base, None, None, None, issuer);
    assert_success(&o);
    let reqs = issuer.requests();
    assert!(!reqs.is_empty());
    for r in &reqs {
        assert_eq!(
            (r.method.as_str(), r.credentials),
            ("GET", Credentials::None)
        );
    }
    nothing_secret_reached(issuer);
}
