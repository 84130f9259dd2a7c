//! A private certificate authority made with the `openssl` CLI (ECDSA P-256 keys).

use super::run;
use base64::Engine;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Ca {
    pub dir: PathBuf,
    /// PEM certificate of the CA (self-signed, CA:TRUE).
    pub cert: PathBuf,
    /// PKCS#8 PEM private key of the CA.
    pub key: PathBuf,
}

/// A certificate issued by a [`Ca`].
pub struct Leaf {
    /// PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    pub key: PathBuf,
    /// PEM certificate.
    pub cert: PathBuf,
}

impl Leaf {
    /// DER bytes of the certificate.
    pub fn cert_der(&self) -> Vec<u8> {
        pem_to_der(&std::fs::read_to_string(&self.cert).unwrap())
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    run(Command::new("openssl").current_dir(dir).args(args));
}

fn genkey(dir: &Path, file: &str) {
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            file,
        ],
    );
}

impl Ca {
    /// Creates `<dir>/<name>-ca.key` and `<dir>/<name>-ca.crt`.
    pub fn new(dir: &Path, name: &str) -> Ca {
        let key = format!("{name}-ca.key");
        let cert = format!("{name}-ca.crt");
        genkey(dir, &key);
        let subj = format!("/CN=ferry test CA {name}");
        openssl(
            dir,
            &[
                "req", "-x509", "-new", "-key", &key, "-sha256", "-days", "3650", "-subj", &subj,
                "-out", &cert,
            ],
        );
        Ca {
            dir: dir.to_path_buf(),
            cert: dir.join(cert),
            key: dir.join(key),
        }
    }

    /// Issues `<dir>/<name>.key` + `<dir>/<name>.crt` signed by this CA. `extensions` are
    /// openssl x509v3 config lines, e.g. `subjectAltName=IP:127.0.0.1,DNS:localhost`.
    pub fn issue(&self, name: &str, extensions: &[&str]) -> Leaf {
        let dir = &self.dir;
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let cert = format!("{name}.crt");
        let ext = format!("{name}.ext");
        genkey(dir, &key);
        let subj = format!("/CN={name}");
        openssl(
            dir,
            &["req", "-new", "-key", &key, "-subj", &subj, "-out", &csr],
        );
        let mut lines = vec!["basicConstraints=CA:FALSE"];
        lines.extend_from_slice(extensions);
        std::fs::write(dir.join(&ext), lines.join("\n") + "\n").unwrap();
        let serial = format!("{}", rand::random::<u32>() | 1);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                self.cert.to_str().unwrap(),
                "-CAkey",
                self.key.to_str().unwrap(),
                "-set_serial",
                &serial,
                "-sha256",
                "-days",
                "3650",
                "-extfile",
                &ext,
                "-out",
                &cert,
            ],
        );
        Leaf {
            key: dir.join(key),
            cert: dir.join(cert),
        }
    }
}

/// DER bytes of the first PEM block in `pem`.
pub fn pem_to_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM body is base64")
}
