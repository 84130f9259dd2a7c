//! Real TLS (a private CA) and real Basic auth (htpasswd, bcrypt) with every credential source
//! of DESIGN §1, in its order; passwords never reach the output.

use crate::common;

use std::path::Path;
use std::process::Command;

use base64::Engine;
use common::*;

const USER: &str = "bob";
const PASS: &str = "Basic-9c1e-secret";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn auths(host: &str, user: &str, pass: &str) -> String {
    format!(
        r#"{{"auths":{{"{host}":{{"auth":"{}"}}}}}}"#,
        b64(&format!("{user}:{pass}"))
    )
}

fn no_secret(o: &std::process::Output, secrets: &[&str]) {
    for s in secrets {
        for stream in [&o.stdout, &o.stderr] {
            assert!(
                !String::from_utf8_lossy(stream).contains(s),
                "a password appears in ferry's output"
            );
        }
    }
}

#[test]
fn tls_with_a_private_ca() {
    let reg = Registry::start_tls();
    push_oci_manifest(&reg, "tls/app", "v1", 3);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.tar");
    let image = format!("{}/tls/app:v1", reg.host);
    // https first, and a bad certificate is no reason to fall back to http.
    let o = ferry(&["export", &image, "-o", out.to_str().unwrap()]);
    assert_failure(&o, &["not trusted", "--ca-file"]);
    assert!(!out.exists());
    let ca = reg.ca_pem.as_ref().unwrap().to_str().unwrap();
    let o = ferry(&[
        "export",
        &image,
        "-o",
        out.to_str().unwrap(),
        "--ca-file",
        ca,
    ]);
    assert_success(&o);
    std::fs::remove_file(&out).unwrap();
    let o = ferry(&[
        "export",
        &image,
        "-o",
        out.to_str().unwrap(),
        "--insecure-skip-tls-verify",
    ]);
    assert_success(&o);
    assert!(
        stderr(&o).contains("NOT verified"),
        "no warning: {}",
        stderr(&o)
    );
}

/// Runs an export from `reg` with env settings; returns its output.
fn export_with(
    reg: &Registry,
    dir: &Path,
    env: &[(&str, &Path)],
    stdin: Option<&str>,
    extra: &[&str],
) -> std::process::Output {
    let out = dir.join(format!("b-{}.tar", rand::random::<u32>()));
    let image = format!("{}/auth/app:v1", reg.host);
    let mut args = vec!["export", image.as_str(), "-o", out.to_str().unwrap()];
    args.extend(extra);
    let mut c = ferry_cmd(&args);
    for (k, v) in env {
        c.env(k, v);
    }
    if let Some(path) = env.iter().find(|(k, _)| *k == "PATH").map(|(_, v)| v) {
        let sys = std::env::var("PATH").unwrap_or_default();
        c.env("PATH", format!("{}:{sys}", path.display()));
    }
    ferry_run(c, stdin)
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A `docker-credential-NAME` helper script answering `user:pass` for `host`.
fn helper(bin: &Path, name: &str, host: &str, user: &str, pass: &str) {
    let script = format!("#!/bin/sh\nread server\nif [ \"$server\" = \"{host}\" ]; then echo '{{\"ServerURL\":\"{host}\",\"Username\":\"{user}\",\"Secret\":\"{pass}\"}}'; else echo 'credentials not found in native keychain'; exit 1; fi\n");
    write(bin, &format!("docker-credential-{name}"), &script);
    Command::new("chmod")
        .arg("+x")
        .arg(bin.join(format!("docker-credential-{name}")))
        .status()
        .unwrap();
}

#[test]
fn basic_auth_from_every_credential_source_in_order() {
    let reg = Registry::start_htpasswd(USER, PASS);
    push_oci_manifest(
        &reg.client_with(Auth::basic(USER, PASS)),
        "auth/app",
        "v1",
        4,
    );
    let h = reg.host.clone();
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let wrong = "Wrong-77aa-secret";

    // --password-stdin
    let o = export_with(
        &reg,
        d,
        &[],
        Some(PASS),
        &["--username", USER, "--password-stdin"],
    );
    assert_success(&o);
    no_secret(&o, &[PASS]);

    // docker config: auths, then credsStore, then credHelpers (which wins over both).
    write(d, "docker1/config.json", &auths(&h, USER, PASS));
    assert_success(&export_with(
        &reg,
        d,
        &[("DOCKER_CONFIG", &d.join("docker1"))],
        None,
        &[],
    ));
    helper(&d.join("bin"), "ferrygood", &h, USER, PASS);
    helper(&d.join("bin"), "ferrybad", &h, USER, wrong);
    write(
        d,
        "docker2/config.json",
        &format!(r#"{{"credsStore":"ferrygood","auths":{{"{h}":{{}}}}}}"#),
    );
    assert_success(&export_with(
        &reg,
        d,
        &[
            ("DOCKER_CONFIG", &d.join("docker2")),
            ("PATH", &d.join("bin")),
        ],
        None,
        &[],
    ));
    write(
        d,
        "docker3/config.json",
        &format!(
            r#"{{"credsStore":"ferrybad","credHelpers":{{"{h}":"ferrygood"}},"auths":{{"{h}":{{"auth":"{}"}}}}}}"#,
            b64(&format!("{USER}:{wrong}"))
        ),
    );
    let o = export_with(
        &reg,
        d,
        &[
            ("DOCKER_CONFIG", &d.join("docker3")),
            ("PATH", &d.join("bin")),
        ],
        None,
        &[],
    );
    assert_success(&o);
    no_secret(&o, &[PASS, wrong]);

    // $REGISTRY_AUTH_FILE beats the docker config.
    write(d, "docker-wrong/config.json", &auths(&h, USER, wrong));
    write(d, "raf.json", &auths(&h, USER, PASS));
    assert_success(&export_with(
        &reg,
        d,
        &[
            ("DOCKER_CONFIG", &d.join("docker-wrong")),
            ("REGISTRY_AUTH_FILE", &d.join("raf.json")),
        ],
        None,
        &[],
    ));

    // The containers auth files: $XDG_RUNTIME_DIR first, then $XDG_CONFIG_HOME; a key may name
    // a repository, most specific first.
    write(
        d,
        "run/containers/auth.json",
        &format!(
            r#"{{"auths":{{"{h}/auth/app":{{"auth":"{}"}},"{h}":{{"auth":"{}"}}}}}}"#,
            b64(&format!("{USER}:{PASS}")),
            b64(&format!("{USER}:{wrong}"))
        ),
    );
    write(d, "cfg/containers/auth.json", &auths(&h, USER, wrong));
    assert_success(&export_with(
        &reg,
        d,
        &[
            ("XDG_RUNTIME_DIR", &d.join("run")),
            ("XDG_CONFIG_HOME", &d.join("cfg")),
        ],
        None,
        &[],
    ));
    write(d, "cfg2/containers/auth.json", &auths(&h, USER, PASS));
    assert_success(&export_with(
        &reg,
        d,
        &[
            ("XDG_RUNTIME_DIR", &d.join("empty")),
            ("XDG_CONFIG_HOME", &d.join("cfg2")),
        ],
        None,
        &[],
    ));
    // The docker config beats the containers files.
    let o = export_with(
        &reg,
        d,
        &[
            ("DOCKER_CONFIG", &d.join("docker-wrong")),
            ("XDG_CONFIG_HOME", &d.join("cfg2")),
        ],
        None,
        &[],
    );
    assert_failure(&o, &["docker config", "check the username and password"]);
    no_secret(&o, &[PASS, wrong]);

    // Wrong password on the command line; no credentials at all.
    let o = export_with(
        &reg,
        d,
        &[],
        Some(wrong),
        &["--username", USER, "--password-stdin"],
    );
    assert_failure(
        &o,
        &["rejected the credentials", "--username/--password-stdin"],
    );
    no_secret(&o, &[wrong]);
    let o = export_with(&reg, d, &[], None, &[]);
    assert_failure(&o, &["requires credentials", "docker login"]);
}
