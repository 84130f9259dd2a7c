//! A small bearer-token issuer (the registry "realm"), answering
//! `GET /token?service=..&scope=..` with an ES256 JWT that distribution 2.8.2 accepts:
//! header `x5c` = [leaf cert DER] whose chain ends at the CA in the registry's
//! `rootcertbundle`. It also serves the OAuth2 refresh-token grant (`POST /token`, see
//! `token/oauth.rs`). Every request is recorded for assertions.

mod jwt;
mod oauth;
mod wire;

use super::pki::{Ca, Leaf};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jwt::{grant, sign_token, Signer256};
use p256::ecdsa::SigningKey;
use p256::pkcs8::DecodePrivateKey;
use serde_json::json;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// What a request without credentials gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anonymous {
    /// A token with no access at all (the registry then answers 401 to everything).
    Deny,
    /// `pull` on every repository (actions other than pull are dropped).
    Pull,
}

#[derive(Clone, Debug)]
pub struct TokenConfig {
    pub user: String,
    pub pass: String,
    pub anonymous: Anonymous,
    pub service: String,
    pub issuer: String,
    /// `expires_in` of the answer and `exp - iat` of the JWT.
    pub expires_in: u64,
    /// The OAuth2 refresh token this issuer accepts (POST grant, or as a GET's Basic
    /// password); it grants what `user` may do.
    pub refresh_token: Option<String>,
    /// Answer every POST with this status instead of serving the grant (404, 405: a token
    /// server without OAuth2).
    pub post_status: Option<u16>,
}

impl TokenConfig {
    pub fn new(user: &str, pass: &str, anonymous: Anonymous) -> TokenConfig {
        TokenConfig {
            user: user.into(),
            pass: pass.into(),
            anonymous,
            service: "ferry-test-registry".into(),
            issuer: "ferry-test-issuer".into(),
            expires_in: 300,
            refresh_token: None,
            post_status: None,
        }
    }

    pub fn with_refresh_token(mut self, token: &str) -> TokenConfig {
        self.refresh_token = Some(token.into());
        self
    }

    pub fn post_answers(mut self, status: u16) -> TokenConfig {
        self.post_status = Some(status);
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// No `Authorization` header (and, for a POST, no refresh token).
    None,
    /// Basic credentials matching the configured user/password.
    Valid,
    /// The configured refresh token: in a POST grant, or as the password of a GET's Basic.
    Refresh,
    /// Anything else (wrong password or refresh token, unparsable header): refused.
    Invalid,
}

/// One request the issuer saw.
#[derive(Clone)]
pub struct TokenRequest {
    pub method: String,
    /// Path and query, as sent (`/token?service=...&scope=...`).
    pub target: String,
    pub service: Option<String>,
    /// Every scope of every `scope` parameter (query or form), percent-decoded and split at
    /// spaces (`repository:a/b:pull,push`).
    pub scopes: Vec<String>,
    pub credentials: Credentials,
    /// The HTTP status answered.
    pub status: u16,
    /// A POST's form fields in order, decoded; `refresh_token` and `password` values are
    /// `<redacted>`.
    pub form: Vec<(String, String)>,
    /// The scheme of the `Authorization` header (`Basic`, `Bearer`), never its value.
    pub authorization: Option<String>,
    /// Everything received (plus a Basic header decoded): see [`TokenRequest::saw`].
    raw: String,
}

impl TokenRequest {
    /// Whether `needle` reached the issuer anywhere in this request (line, headers, body,
    /// or inside a Basic header).
    pub fn saw(&self, needle: &str) -> bool {
        self.raw.contains(needle)
    }

    /// The values of form field `name`.
    pub fn field(&self, name: &str) -> Vec<&str> {
        self.form
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

impl std::fmt::Debug for TokenRequest {
    /// Everything but the raw request, which may hold a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("service", &self.service)
            .field("scopes", &self.scopes)
            .field("credentials", &self.credentials)
            .field("status", &self.status)
            .field("form", &self.form)
            .field("authorization", &self.authorization)
            .finish()
    }
}

/// What the serving threads share.
struct Shared {
    config: TokenConfig,
    signer: Signer256,
    requests: Mutex<Vec<TokenRequest>>,
    /// Every token handed out, so tests can look for them in output.
    issued: Mutex<Vec<String>>,
}

pub struct TokenIssuer {
    /// `127.0.0.1:PORT`
    pub addr: String,
    pub config: TokenConfig,
    /// The CA to put in the registry's `rootcertbundle`.
    pub ca_cert: PathBuf,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TokenIssuer {
    /// Makes a CA and a signing certificate in `dir` and starts serving on a free port.
    pub fn start(dir: &Path, config: TokenConfig) -> TokenIssuer {
        let ca = Ca::new(dir, "token");
        let leaf: Leaf = ca.issue("token-signer", &["keyUsage=critical,digitalSignature"]);
        let pem = std::fs::read_to_string(&leaf.key).unwrap();
        let key = SigningKey::from_pkcs8_pem(&pem).expect("PKCS#8 P-256 key from openssl");
        let signer = Signer256 {
            key,
            x5c: STANDARD.encode(leaf.cert_der()),
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            config: config.clone(),
            signer,
            requests: Mutex::new(Vec::new()),
            issued: Mutex::new(Vec::new()),
        });
        let thread = {
            let (shared, stop) = (shared.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let shared = shared.clone();
                    std::thread::spawn(move || {
                        let _ = serve(conn, &shared);
                    });
                }
            })
        };
        TokenIssuer {
            addr,
            config,
            ca_cert: ca.cert,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/token`
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// Every request seen so far.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Every scope requested so far, in order.
    pub fn scopes(&self) -> Vec<String> {
        self.requests().into_iter().flat_map(|r| r.scopes).collect()
    }

    /// Every token this issuer handed out over HTTP.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.issued.lock().unwrap().clone()
    }

    /// Forgets the recorded requests.
    pub fn clear(&self) {
        self.shared.requests.lock().unwrap().clear();
    }

    /// Signs a token directly (no HTTP, not recorded) granting every action of `scopes`
    /// to `sub`, e.g. to hand a client a ready-made bearer token.
    pub fn issue(&self, sub: &str, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let access = grant(&scopes, true, self.config.anonymous);
        sign_token(&self.shared.signer, &self.config, sub, access)
    }
}

impl Drop for TokenIssuer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What a grant decided, before anything is signed.
pub(crate) struct Decision {
    pub status: u16,
    pub credentials: Credentials,
    pub service: Option<String>,
    pub scopes: Vec<String>,
    pub form: Vec<(String, String)>,
    /// `(sub, authenticated)` when a token is to be issued.
    pub grant: Option<(String, bool)>,
    /// The OAuth2 `error` of a refusal.
    pub error: &'static str,
    /// POST answers carry only `access_token` (the OAuth2 field); GET answers both.
    pub oauth: bool,
}

/// A `scope` value may hold several scopes separated by spaces.
pub(crate) fn split_scopes(v: &str) -> Vec<String> {
    v.split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn get_grant(
    query: &[(String, String)],
    authorization: Option<&str>,
    config: &TokenConfig,
) -> Decision {
    let credentials = check_credentials(authorization, config);
    let mut d = Decision {
        status: 200,
        credentials,
        service: query
            .iter()
            .find(|(k, _)| k == "service")
            .map(|(_, v)| v.clone()),
        scopes: query
            .iter()
            .filter(|(k, _)| k == "scope")
            .flat_map(|(_, v)| split_scopes(v))
            .collect(),
        form: Vec::new(),
        grant: None,
        error: "",
        oauth: false,
    };
    match credentials {
        Credentials::Invalid => {
            d.status = 401;
            d.error = "invalid credentials";
        }
        Credentials::None => d.grant = Some((String::new(), false)),
        Credentials::Valid | Credentials::Refresh => d.grant = Some((config.user.clone(), true)),
    }
    d
}

fn serve(conn: TcpStream, issuer: &Shared) -> std::io::Result<()> {
    let req = wire::read_request(&conn)?;
    let (path, query) = req.path_and_query();
    let authorization = req.header("authorization");
    let config = &issuer.config;
    let mut d = match (req.method.as_str(), path) {
        ("GET", "/token") => get_grant(&query, authorization, config),
        ("POST", "/token") => oauth::post_grant(&req, config),
        _ => Decision {
            status: 404,
            credentials: check_credentials(authorization, config),
            service: None,
            scopes: Vec::new(),
            form: Vec::new(),
            grant: None,
            error: "not found",
            oauth: false,
        },
    };
    let body = match d.grant.take() {
        Some((sub, authenticated)) => {
            let access = grant(&d.scopes, authenticated, config.anonymous);
            let token = sign_token(&issuer.signer, config, &sub, access);
            issuer.issued.lock().unwrap().push(token.clone());
            let mut body = json!({
                "access_token": token,
                "expires_in": config.expires_in,
                "issued_at": wire::rfc3339_now(),
            });
            if d.oauth {
                body["scope"] = json!(d.scopes.join(" "));
            } else {
                body["token"] = json!(token);
            }
            body.to_string()
        }
        None => json!({"error": d.error}).to_string(),
    };
    issuer.requests.lock().unwrap().push(TokenRequest {
        method: req.method.clone(),
        target: req.target.clone(),
        service: d.service,
        scopes: d.scopes,
        credentials: d.credentials,
        status: d.status,
        form: d.form,
        authorization: authorization.map(|h| h.split(' ').next().unwrap_or("").to_string()),
        raw: req.raw.clone(),
    });
    let extra = if d.status == 401 {
        "WWW-Authenticate: Basic realm=\"ferry-token\"\r\n"
    } else {
        ""
    };
    wire::write_json(conn, d.status, extra, &body)
}

fn check_credentials(header: Option<&str>, config: &TokenConfig) -> Credentials {
    let Some(h) = header else {
        return Credentials::None;
    };
    let Some(b64) = h
        .strip_prefix("Basic ")
        .or_else(|| h.strip_prefix("basic "))
    else {
        return Credentials::Invalid;
    };
    let Ok(raw) = STANDARD.decode(b64.trim()) else {
        return Credentials::Invalid;
    };
    let expected = format!("{}:{}", config.user, config.pass);
    if raw == expected.as_bytes() {
        return Credentials::Valid;
    }
    // A refresh token as the Basic password (any user): the GET fallback of an OAuth2 login.
    let pass = raw.splitn(2, |b| *b == b':').nth(1);
    match (&config.refresh_token, pass) {
        (Some(r), Some(p)) if p == r.as_bytes() => Credentials::Refresh,
        _ => Credentials::Invalid,
    }
}

pub use wire::percent_decode;
