//! Export from registries that demand credentials: distribution 2.8.2 with `auth: token` and
//! the harness's token issuer (a real JWT flow), and object-storage redirects.

use crate::common;

use base64::Engine;
use common::*;

const USER: &str = "alice";
const PASS: &str = "Pw-7f3c9e-not-in-output";

fn members(path: &std::path::Path) -> Vec<String> {
    let mut ar = tar::Archive::new(std::fs::File::open(path).unwrap());
    ar.entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().to_string())
        .collect()
}

fn assert_no_secret(o: &std::process::Output) {
    for s in [&o.stdout, &o.stderr] {
        let text = String::from_utf8_lossy(s);
        assert!(
            !text.contains(PASS),
            "the password appears in ferry's output:\n{text}"
        );
    }
}

#[test]
fn export_with_token_auth_from_stdin_and_docker_config() {
    let reg = Registry::start_token(USER, PASS, Anonymous::Deny);
    let seed = reg.client_with(Auth::basic(USER, PASS));
    let idx = push_oci_index(
        &seed,
        "team/app",
        "v1",
        &["linux/amd64", "linux/arm64/v8"],
        true,
        false,
    );
    let issuer = reg.token.as_ref().expect("token issuer");
    issuer.clear();
    let dir = tempfile::tempdir().unwrap();
    let image = format!("{}/team/app:v1", reg.host);

    // 1. --username + --password-stdin
    let out_a = dir.path().join("a.tar");
    let c = ferry_cmd(&[
        "export",
        &image,
        "-o",
        out_a.to_str().unwrap(),
        "--username",
        USER,
        "--password-stdin",
    ]);
    let o = ferry_run(c, Some(&format!("{PASS}\n")));
    assert_success(&o);
    assert_no_secret(&o);
    let names = members(&out_a);
    assert!(names.contains(&format!(
        "blobs/sha256/{}",
        idx.digest().trim_start_matches("sha256:")
    )));
    // Tokens were asked for exactly the repository's pull scope, with the right credentials.
    let reqs = issuer.requests();
    assert!(!reqs.is_empty(), "no token was requested");
    for r in &reqs {
        assert_eq!(
            r.scopes,
            vec!["repository:team/app:pull".to_string()],
            "{r:?}"
        );
        assert_eq!(r.status, 200, "{r:?}");
    }

    // 2. The same credentials from a docker config.json `auths` entry.
    let cfg = tempfile::tempdir().unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"));
    std::fs::write(
        cfg.path().join("config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host),
    )
    .unwrap();
    let out_b = dir.path().join("b.tar");
    let mut c = ferry_cmd(&["export", &image, "-o", out_b.to_str().unwrap()]);
    c.env("DOCKER_CONFIG", cfg.path());
    let o = ferry_run(c, None);
    assert_success(&o);
    assert_no_secret(&o);
    assert_eq!(
        std::fs::read(&out_a).unwrap(),
        std::fs::read(&out_b).unwrap()
    );

    // 3. A wrong password: a clear message, never the password, no file.
    let out_c = dir.path().join("c.tar");
    let wrong = "Wrong-Pw-61d2-secret";
    let c = ferry_cmd(&[
        "export",
        &image,
        "-o",
        out_c.to_str().unwrap(),
        "--username",
        USER,
        "--password-stdin",
    ]);
    let o = ferry_run(c, Some(wrong));
    assert_failure(
        &o,
        &[
            "refused the credentials",
            "--username/--password-stdin",
            "check the username and password",
        ],
    );
    assert!(!String::from_utf8_lossy(&o.stderr).contains(wrong));
    assert!(!out_c.exists());

    // 4. No credentials at all: says how to log in.
    let o = ferry(&["export", &image, "-o", out_c.to_str().unwrap()]);
    assert_failure(&o, &["requires credentials", "docker login"]);
}

#[test]
fn password_stdin_is_refused_for_several_registries() {
    let a = Registry::start();
    let b = Registry::start();
    let c = ferry_cmd(&[
        "export",
        &format!("{}/x/y:1", a.host),
        &format!("{}/x/y:1", b.host),
        "-o",
        "/nonexistent/out.tar",
        "--username",
        USER,
        "--password-stdin",
    ]);
    let o = ferry_run(c, Some(PASS));
    assert_failure(&o, &["one registry only", "REGISTRY_AUTH_FILE"]);
}

#[test]
fn object_storage_redirects_are_followed_without_the_registry_credentials() {
    let reg = Registry::builder()
        .htpasswd(USER, PASS)
        .s3_recorded()
        .start();
    let seed = reg.client_with(Auth::basic(USER, PASS));
    let idx = push_oci_index(
        &seed,
        "s3/app",
        "v1",
        &["linux/amd64", "linux/arm64/v8"],
        true,
        false,
    );
    let front = reg
        .s3
        .as_ref()
        .and_then(|m| m.front.as_ref())
        .expect("recording proxy");
    let before = front.recorded().len();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s3.tar");
    let c = ferry_cmd(&[
        "export",
        &format!("{}/s3/app:v1", reg.host),
        "-o",
        out.to_str().unwrap(),
        "--username",
        USER,
        "--password-stdin",
    ]);
    let o = ferry_run(c, Some(PASS));
    assert_success(&o);
    assert_no_secret(&o);
    let names = members(&out);
    for d in idx.blob_digests() {
        assert!(
            names.contains(&format!("blobs/sha256/{}", d.trim_start_matches("sha256:"))),
            "{d} missing"
        );
    }
    // Blob GETs were answered with redirects, which ferry followed to the storage host...
    assert!(
        reg.requests()
            .iter()
            .any(|a| a.method == "GET" && a.path.contains("/blobs/") && a.status == 307),
        "the registry sent no redirect"
    );
    let seen = front.recorded()[before..].to_string();
    let presigned: Vec<&str> = seen
        .lines()
        .filter(|l| l.starts_with("GET ") && l.contains("X-Amz-Signature"))
        .collect();
    assert!(!presigned.is_empty(), "no presigned GET reached storage");
    // ...without the registry's Authorization (Basic) header: only the registry's own SigV4 calls carry one.
    for line in seen.lines() {
        let l = line.to_ascii_lowercase();
        if l.starts_with("authorization:") {
            assert!(
                l.contains("aws4-hmac-sha256"),
                "a foreign Authorization reached storage: {line}"
            );
        }
    }
}
