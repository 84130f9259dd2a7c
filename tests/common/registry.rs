//! A real CNCF distribution 2.8.2 (`docker-registry serve CONFIG`) on a free loopback port,
//! with its own config, storage and log in a temp dir. Killed (SIGTERM, then SIGKILL) on drop.

use super::http::{agent_with_identity, Auth, Client};
use super::pki::{Ca, Leaf};
use super::proxy::RecordingProxy;
use super::s3::Moto;
use super::token::{Anonymous, TokenConfig, TokenIssuer};
use super::{free_port, run, terminate};
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};
use tempfile::TempDir;

const READY_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone, Debug, Default)]
pub enum RegistryAuth {
    #[default]
    None,
    /// `auth.htpasswd` with one bcrypt user.
    Htpasswd { user: String, pass: String },
    /// `auth.token` with a [`TokenIssuer`] started alongside.
    Token(TokenConfig),
}

/// Options for [`Registry`]; the `Registry::start_*` constructors cover the usual cases.
#[derive(Clone, Debug, Default)]
pub struct RegistryBuilder {
    pub auth: RegistryAuth,
    pub tls: bool,
    /// TLS with `http.tls.clientcas`: clients must present a certificate from a client CA.
    pub mtls: bool,
    pub s3: bool,
    /// Put a recording proxy between the registry and moto (see `Moto::front`).
    pub s3_recorded: bool,
}

impl RegistryBuilder {
    pub fn htpasswd(mut self, user: &str, pass: &str) -> Self {
        self.auth = RegistryAuth::Htpasswd {
            user: user.into(),
            pass: pass.into(),
        };
        self
    }
    pub fn token(mut self, config: TokenConfig) -> Self {
        self.auth = RegistryAuth::Token(config);
        self
    }
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }
    /// Mutual TLS (implies `tls`): see `Registry::client_cert`.
    pub fn mtls(mut self) -> Self {
        self.tls = true;
        self.mtls = true;
        self
    }
    pub fn s3(mut self) -> Self {
        self.s3 = true;
        self
    }
    /// S3 storage reached through a recording proxy, so a test sees what reached storage.
    pub fn s3_recorded(mut self) -> Self {
        self.s3 = true;
        self.s3_recorded = true;
        self
    }
    pub fn start(self) -> Registry {
        Registry::start_with(self)
    }
}

pub struct Registry {
    /// `127.0.0.1:PORT`
    pub host: String,
    pub dir: TempDir,
    /// PEM of the private CA that signed the server certificate (TLS registries).
    pub ca_pem: Option<PathBuf>,
    /// A directory holding only `ca.crt` (for `skopeo --cert-dir`, containers certs.d).
    pub cert_dir: Option<PathBuf>,
    /// An `mtls` registry's client certificate and key, issued by the CA in `client_ca`.
    pub client_cert: Option<Leaf>,
    /// The CA an `mtls` registry accepts client certificates from (`http.tls.clientcas`).
    pub client_ca: Option<Ca>,
    /// The token issuer of a `start_token` registry.
    pub token: Option<TokenIssuer>,
    /// The moto_server behind a `start_s3` registry.
    pub s3: Option<Moto>,
    child: Child,
    pub(super) log_path: PathBuf,
    pub(super) config_path: PathBuf,
    pub(super) sync_counter: AtomicU64,
}

impl Registry {
    /// Plain HTTP, no auth, filesystem storage.
    pub fn start() -> Registry {
        RegistryBuilder::default().start()
    }

    /// `auth.htpasswd` with a bcrypt entry for `user:pass`.
    pub fn start_htpasswd(user: &str, pass: &str) -> Registry {
        RegistryBuilder::default().htpasswd(user, pass).start()
    }

    /// `auth.token` with a token issuer accepting `user:pass`; `anonymous` says what requests
    /// without credentials get. The issuer is in `self.token`.
    pub fn start_token(user: &str, pass: &str, anonymous: Anonymous) -> Registry {
        RegistryBuilder::default()
            .token(TokenConfig::new(user, pass, anonymous))
            .start()
    }

    /// HTTPS with a server certificate (SAN 127.0.0.1, localhost) from a private CA; see
    /// `ca_pem` and `cert_dir`.
    pub fn start_tls() -> Registry {
        RegistryBuilder::default().tls().start()
    }

    /// `storage: s3` against a fresh moto_server (in `self.s3`), redirects enabled: blob GETs
    /// answer 307 to a presigned URL on the moto port.
    pub fn start_s3() -> Registry {
        RegistryBuilder::default().s3().start()
    }

    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    pub fn start_with(opts: RegistryBuilder) -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("ferry-registry-")
            .tempdir()
            .unwrap();
        let d = dir.path().to_path_buf();
        let log_path = d.join("registry.log");
        let config_path = d.join("config.yml");

        let s3 = opts.s3.then(|| {
            let mut m = Moto::start(d.join("moto.log"));
            if opts.s3_recorded {
                m.front = Some(RecordingProxy::start(&m.addr));
            }
            m
        });
        let storage = match &s3 {
            Some(m) => m.storage_yaml(),
            None => format!(
                "storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\n",
                d.join("data").display()
            ),
        };

        let mut auth_yaml = String::new();
        let mut token = None;
        match &opts.auth {
            RegistryAuth::None => {}
            RegistryAuth::Htpasswd { user, pass } => {
                let out = run(Command::new("htpasswd").args(["-Bbn", user, pass]));
                let htpasswd = d.join("htpasswd");
                std::fs::write(&htpasswd, out.stdout).unwrap();
                auth_yaml = format!(
                    "auth:\n  htpasswd:\n    realm: ferry-basic-realm\n    path: {}\n",
                    htpasswd.display()
                );
            }
            RegistryAuth::Token(config) => {
                let issuer = TokenIssuer::start(&d, config.clone());
                auth_yaml = format!(
                    "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                    issuer.realm(),
                    config.service,
                    config.issuer,
                    issuer.ca_cert.display()
                );
                token = Some(issuer);
            }
        }

        let (mut ca_pem, mut cert_dir, mut tls_yaml) = (None, None, String::new());
        let (mut client_ca, mut client_cert) = (None, None);
        if opts.tls {
            let ca = Ca::new(&d, "server");
            let leaf = ca.issue(
                "registry-server",
                &[
                    "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "keyUsage=critical,digitalSignature,keyEncipherment",
                    "extendedKeyUsage=serverAuth",
                ],
            );
            let certs = d.join("certs.d");
            std::fs::create_dir_all(&certs).unwrap();
            std::fs::copy(&ca.cert, certs.join("ca.crt")).unwrap();
            tls_yaml = format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                leaf.cert.display(),
                leaf.key.display()
            );
            ca_pem = Some(ca.cert.clone());
            cert_dir = Some(certs);
            if opts.mtls {
                let cca = Ca::new(&d, "client");
                let leaf = cca.issue(
                    "registry-client",
                    &[
                        "keyUsage=critical,digitalSignature",
                        "extendedKeyUsage=clientAuth",
                    ],
                );
                tls_yaml.push_str(&format!("    clientcas:\n      - {}\n", cca.cert.display()));
                client_ca = Some(cca);
                client_cert = Some(leaf);
            }
        }

        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let host = format!("127.0.0.1:{port}");
            let config = format!(
                "version: 0.1\nlog:\n  level: info\n  formatter: text\n  accesslog:\n    disabled: false\n{storage}http:\n  addr: {host}\n  secret: ferry-test-http-secret\n{tls_yaml}{auth_yaml}"
            );
            std::fs::write(&config_path, config).unwrap();
            let log = File::create(&log_path).unwrap();
            let mut cmd = Command::new("docker-registry");
            cmd.arg("serve")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                // distribution 2.8.2's s3 driver panics when AWS_CA_BUNDLE is set.
                .env_remove("AWS_CA_BUNDLE");
            // REGISTRY_* variables override the config file: keep the test's config in charge.
            for (k, _) in std::env::vars_os() {
                if k.to_string_lossy().starts_with("REGISTRY_") {
                    cmd.env_remove(k);
                }
            }
            let mut child = cmd.spawn().unwrap_or_else(|e| {
                panic!("cannot run docker-registry: {e} (run scripts/setup.sh)")
            });
            let url = format!(
                "{}://{host}",
                if ca_pem.is_some() { "https" } else { "http" }
            );
            let identity = client_cert
                .as_ref()
                .map(|l: &Leaf| (l.cert.as_path(), l.key.as_path()));
            let agent = agent_with_identity(ca_pem.as_ref(), identity, 0);
            match wait_ready(&mut child, &agent, &url, &log_path) {
                Ok(()) => {
                    return Registry {
                        host,
                        dir,
                        ca_pem,
                        cert_dir,
                        client_cert,
                        client_ca,
                        token,
                        s3,
                        child,
                        log_path,
                        config_path,
                        sync_counter: AtomicU64::new(0),
                    }
                }
                Err(log) => {
                    terminate(&mut child, Duration::from_secs(3));
                    if !log.contains("address already in use") {
                        panic!(
                            "docker-registry did not answer GET {url}/v2/ within {READY_TIMEOUT:?}; config {}; log:\n{log}",
                            config_path.display()
                        );
                    }
                    last_log = log;
                }
            }
        }
        panic!("docker-registry: no free port after 5 attempts; last log:\n{last_log}");
    }

    /// `http://HOST` or `https://HOST`.
    pub fn url(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.host)
    }

    /// A ureq agent for this registry: trusts its CA (and presents the client certificate of
    /// an `mtls` one), does not turn 4xx/5xx into errors, follows no redirects.
    pub fn agent(&self) -> ureq::Agent {
        agent_with_identity(self.ca_pem.as_ref(), self.identity(), 0)
    }

    fn identity(&self) -> Option<(&std::path::Path, &std::path::Path)> {
        self.client_cert
            .as_ref()
            .map(|l| (l.cert.as_path(), l.key.as_path()))
    }

    /// An uploader for this registry with no credentials.
    pub fn client(&self) -> Client {
        let c = Client::new(&self.url());
        let c = match &self.ca_pem {
            Some(ca) => c.with_ca(ca),
            None => c,
        };
        match self.identity() {
            Some((cert, key)) => c.with_identity(cert, key),
            None => c,
        }
    }

    /// An uploader for this registry with `auth`.
    pub fn client_with(&self, auth: Auth) -> Client {
        self.client().with_auth(auth)
    }

    /// The pid of the registry process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn wait_ready(
    child: &mut Child,
    agent: &ureq::Agent,
    url: &str,
    log_path: &std::path::Path,
) -> Result<(), String> {
    let log = || std::fs::read_to_string(log_path).unwrap_or_default();
    let url = format!("{url}/v2/");
    let deadline = Instant::now() + READY_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited with {status}:\n{}", log()));
        }
        if let Ok(resp) = agent.get(&url).call() {
            // 200, or 401 under auth: either way the registry is serving.
            if resp.status() == 200 || resp.status() == 401 {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    Err(format!("timed out:\n{}", log()))
}

impl Drop for Registry {
    fn drop(&mut self) {
        terminate(&mut self.child, Duration::from_secs(3));
    }
}
