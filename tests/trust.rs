//! Trust as docker, podman and skopeo have it (DESIGN §1): the system's CA store (honouring
//! `SSL_CERT_FILE`/`SSL_CERT_DIR`), certs.d directories per registry, `--cert-dir`, and client
//! certificates for registries that demand mutual TLS. Real distribution 2.8.2 over TLS from
//! a private CA made with openssl; every store and certs.d root is a temp dir.

use crate::common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::pki::Ca;
use common::*;

/// `ferry ARGS` with extra environment variables set (and `unset` removed).
fn ferry_env(args: &[&str], env: &[(&str, OsString)], unset: &[&str]) -> Output {
    let mut c = ferry_cmd(args);
    for (k, v) in env {
        c.env(k, v);
    }
    for k in unset {
        c.env_remove(k);
    }
    ferry_run(c, None)
}

/// Exports `image` to a fresh file in `dir`; returns ferry's output.
fn export(dir: &Path, image: &str, extra: &[&str], env: &[(&str, OsString)]) -> Output {
    export_unset(dir, image, extra, env, &[])
}

fn export_unset(
    dir: &Path,
    image: &str,
    extra: &[&str],
    env: &[(&str, OsString)],
    unset: &[&str],
) -> Output {
    let out = dir.join(format!("b-{}.tar", rand::random::<u32>()));
    let mut args = vec!["export", image, "-o", out.to_str().unwrap(), "-q"];
    args.extend(extra);
    let o = ferry_env(&args, env, unset);
    assert_eq!(
        o.status.success(),
        out.exists(),
        "bundle left behind or missing"
    );
    o
}

/// `ROOT/HOST/NAME` copies of `files` (`(NAME, source)`); returns `ROOT/HOST`.
fn host_dir(root: &Path, host: &str, files: &[(&str, &Path)]) -> PathBuf {
    let d = root.join(host);
    std::fs::create_dir_all(&d).unwrap();
    for (name, src) in files {
        std::fs::copy(src, d.join(name)).unwrap();
    }
    d
}

fn os(p: &Path) -> OsString {
    p.as_os_str().to_os_string()
}

/// A TLS registry (private CA) serving `trust/app:v1`, and the reference to export.
fn tls_source() -> (Registry, String) {
    let reg = Registry::start_tls();
    push_oci_manifest(&reg, "trust/app", "v1", 11);
    let image = format!("{}/trust/app:v1", reg.host);
    (reg, image)
}

#[test]
fn certs_d_directories_and_cert_dir() {
    let (reg, image) = tls_source();
    let ca = reg.ca_pem.clone().unwrap();
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let empty_roots = [("FERRY_CERTS_D", os(&d.join("none")))];

    // Nothing trusts the private CA: the certificate error, and no fallback to http.
    let o = export(d, &image, &[], &empty_roots);
    assert_failure(&o, &["not trusted", &reg.host]);

    // --cert-dir DIR holds the files themselves, as skopeo's does, for every registry.
    let cert_dir = host_dir(&d.join("certs.d"), &reg.host, &[("ca.crt", &ca)]);
    let o = export(d, &image, &["--cert-dir", cert_dir.to_str().unwrap()], &[]);
    assert_success(&o);
    // A certs.d root is no --cert-dir: its HOST:PORT subdirectories are not read.
    let root = d.join("certs.d");
    let o = export(d, &image, &["--cert-dir", root.to_str().unwrap()], &[]);
    assert_failure(&o, &["not trusted"]);

    // Default roots laid out like /etc/containers/certs.d (overridden for the test), the first
    // one holding HOST:PORT wins; *.crt files are CAs whatever their name.
    let etc = d.join("etc-containers-certs.d");
    host_dir(&etc, &reg.host, &[("private-ca.crt", &ca)]);
    let roots = format!("{}:{}", d.join("none").display(), etc.display());
    let o = export(d, &image, &[], &[("FERRY_CERTS_D", roots.into())]);
    assert_success(&o);
    // --cert-dir replaces the default directories, as in containers/image.
    let bare = d.join("bare");
    std::fs::create_dir_all(&bare).unwrap();
    let o = export(
        d,
        &image,
        &["--cert-dir", bare.to_str().unwrap()],
        &[("FERRY_CERTS_D", os(&etc))],
    );
    assert_failure(&o, &["not trusted"]);

    // Without the override, the per-user root ~/.config/containers/certs.d is a default one.
    let home = d.join("home");
    host_dir(
        &home.join(".config/containers/certs.d"),
        &reg.host,
        &[("ca.crt", &ca)],
    );
    let o = export(d, &image, &[], &[("HOME", os(&home))]);
    assert_success(&o);
}

#[test]
fn the_system_store_from_ssl_cert_file_and_ssl_cert_dir() {
    let (reg, image) = tls_source();
    let ca = reg.ca_pem.clone().unwrap();
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let no_roots = ("FERRY_CERTS_D", os(&d.join("none")));

    // A bundle file holding another CA and ours, as update-ca-certificates writes one.
    let other = Ca::new(d, "other");
    let mut bundle = std::fs::read(&other.cert).unwrap();
    bundle.extend(std::fs::read(&ca).unwrap());
    std::fs::write(d.join("bundle.pem"), bundle).unwrap();
    let o = export_unset(
        d,
        &image,
        &[],
        &[
            no_roots.clone(),
            ("SSL_CERT_FILE", os(&d.join("bundle.pem"))),
        ],
        &["SSL_CERT_DIR"],
    );
    assert_success(&o);
    // The store is what decides: one without our CA is not trusted.
    let o = export_unset(
        d,
        &image,
        &[],
        &[no_roots.clone(), ("SSL_CERT_FILE", os(&other.cert))],
        &["SSL_CERT_DIR"],
    );
    assert_failure(&o, &["not trusted"]);

    // A hashed directory (openssl rehash), as /etc/ssl/certs is.
    let hashed = d.join("hashed");
    std::fs::create_dir_all(&hashed).unwrap();
    std::fs::copy(&ca, hashed.join("ferry-private.pem")).unwrap();
    run(Command::new("openssl").arg("rehash").arg(&hashed));
    let links = std::fs::read_dir(&hashed).unwrap().count();
    assert!(links >= 2, "openssl rehash made no hash link");
    let o = export_unset(
        d,
        &image,
        &[],
        &[no_roots.clone(), ("SSL_CERT_DIR", os(&hashed))],
        &["SSL_CERT_FILE"],
    );
    assert_success(&o);

    // A store that names nothing readable is an error naming it, not a silent fallback.
    let missing = d.join("missing.pem");
    let o = export_unset(
        d,
        &image,
        &[],
        &[no_roots, ("SSL_CERT_FILE", os(&missing))],
        &["SSL_CERT_DIR"],
    );
    assert_failure(&o, &["SSL_CERT_FILE", missing.to_str().unwrap()]);
}

#[test]
fn mutual_tls_export_and_import() {
    let reg = Registry::builder().mtls().start();
    let img = push_oci_manifest(&reg, "trust/mtls", "v1", 12);
    let image = format!("{}/trust/mtls:v1", reg.host);
    let ca = reg.ca_pem.clone().unwrap();
    let leaf = reg.client_cert.as_ref().unwrap();
    let t = tempfile::tempdir().unwrap();
    let d = t.path();

    // The server is trusted, but no client certificate: the clear error, naming where to put one.
    let only_ca = host_dir(&d.join("a"), &reg.host, &[("ca.crt", &ca)]);
    let o = export(d, &image, &["--cert-dir", only_ca.to_str().unwrap()], &[]);
    let want = format!(
        "{} requires a client certificate (mutual TLS): put client.cert and client.key in /etc/docker/certs.d/{}/ or --cert-dir DIR",
        reg.host, reg.host
    );
    assert_failure(&o, &[&want]);

    // docker's names for the pair, in a --cert-dir.
    let full = host_dir(
        &d.join("b"),
        &reg.host,
        &[
            ("ca.crt", &ca),
            ("client.cert", &leaf.cert),
            ("client.key", &leaf.key),
        ],
    );
    let full_s = full.to_str().unwrap();
    let bundle = d.join("mtls.tar");
    let o = ferry(&[
        "export",
        &image,
        "-o",
        bundle.to_str().unwrap(),
        "-q",
        "--cert-dir",
        full_s,
    ]);
    assert_success(&o);

    // The same directory as a certs.d entry of a default root.
    let o = export(d, &image, &[], &[("FERRY_CERTS_D", os(&d.join("b")))]);
    assert_success(&o);

    // A certificate from a CA the registry does not accept is refused, and said so.
    let stranger = Ca::new(d, "stranger").issue("stranger", &["extendedKeyUsage=clientAuth"]);
    let wrong = host_dir(
        &d.join("c"),
        &reg.host,
        &[
            ("ca.crt", &ca),
            ("me.cert", &stranger.cert),
            ("me.key", &stranger.key),
        ],
    );
    let o = export(d, &image, &["--cert-dir", wrong.to_str().unwrap()], &[]);
    assert_failure(&o, &["rejected the client certificate", "me.cert"]);

    // Import pushes with the client certificate, and is refused without it.
    let mapping = d.join("mapping.json");
    let to = format!("{}/mirror", reg.host);
    let import = |cert_dir: &Path| {
        ferry(&[
            "import",
            bundle.to_str().unwrap(),
            "--to",
            &to,
            "--mapping-out",
            mapping.to_str().unwrap(),
            "-q",
            "--cert-dir",
            cert_dir.to_str().unwrap(),
        ])
    };
    assert_failure(&import(&only_ca), &["requires a client certificate"]);
    assert_success(&import(&full));
    let map: BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(&mapping).unwrap()).unwrap();
    let target = &map[&image];
    let (name, tag) = target.rsplit_once(':').unwrap();
    let repo = name.strip_prefix(&format!("{}/", reg.host)).unwrap();
    let (bytes, _) = get_manifest_raw(&reg, repo, tag);
    assert_eq!(digest(&bytes), img.digest(), "{target}");
}

#[test]
fn broken_client_certificate_files_are_named() {
    let reg = Registry::start_tls();
    let ca = reg.ca_pem.clone().unwrap();
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let issuer = Ca::new(d, "clients");
    let me = issuer.issue("me", &["extendedKeyUsage=clientAuth"]);
    let you = issuer.issue("you", &["extendedKeyUsage=clientAuth"]);
    let image = format!("{}/trust/none:v1", reg.host);

    // A certificate without its key (the Note of containers/image: CAs are *.crt).
    let lone = host_dir(&d.join("lone"), &reg.host, &[("client.cert", &me.cert)]);
    let o = export(d, &image, &["--cert-dir", lone.to_str().unwrap()], &[]);
    assert_failure(&o, &["client.key", "client.cert", lone.to_str().unwrap()]);

    // A key without its certificate.
    let keyonly = host_dir(&d.join("keyonly"), &reg.host, &[("client.key", &me.key)]);
    let o = export(d, &image, &["--cert-dir", keyonly.to_str().unwrap()], &[]);
    assert_failure(
        &o,
        &["client.cert", "client.key", keyonly.to_str().unwrap()],
    );

    // A key that belongs to another certificate, found in a default certs.d root.
    let root = d.join("mismatch");
    let dir = host_dir(
        &root,
        &reg.host,
        &[
            ("ca.crt", &ca),
            ("client.cert", &me.cert),
            ("client.key", &you.key),
        ],
    );
    let o = export(d, &image, &[], &[("FERRY_CERTS_D", os(&root))]);
    let cert = dir.join("client.cert");
    assert_failure(&o, &["does not match", cert.to_str().unwrap()]);

    // An unreadable CA file (a directory where a file should be).
    let unreadable = host_dir(&d.join("unreadable"), &reg.host, &[]);
    std::fs::create_dir_all(unreadable.join("ca.crt")).unwrap();
    let o = export(
        d,
        &image,
        &["--cert-dir", unreadable.to_str().unwrap()],
        &[],
    );
    let path = unreadable.join("ca.crt");
    assert_failure(&o, &["cannot read", path.to_str().unwrap()]);

    // A --cert-dir that does not exist is a mistake worth naming.
    let nowhere = d.join("nowhere");
    let o = export(d, &image, &["--cert-dir", nowhere.to_str().unwrap()], &[]);
    assert_failure(&o, &["--cert-dir", nowhere.to_str().unwrap()]);
}
