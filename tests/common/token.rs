//! A small bearer-token issuer (the registry "realm"), answering
//! `GET /token?service=..&scope=..` with an ES256 JWT that distribution 2.8.2 accepts:
//! header `x5c` = [leaf cert DER] whose chain ends at the CA in the registry's
//! `rootcertbundle`. Every request is recorded for assertions.

use super::pki::{Ca, Leaf};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use p256::ecdsa::{signature::Signer, Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

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
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// No `Authorization` header.
    None,
    /// Basic credentials matching the configured user/password.
    Valid,
    /// Anything else (wrong password, unparsable header): answered 401.
    Invalid,
}

/// One request the issuer saw.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    pub method: String,
    /// Path and query, as sent (`/token?service=...&scope=...`).
    pub target: String,
    pub service: Option<String>,
    /// Every `scope` parameter, percent-decoded (`repository:a/b:pull,push`).
    pub scopes: Vec<String>,
    pub credentials: Credentials,
    /// The HTTP status answered.
    pub status: u16,
}

pub struct TokenIssuer {
    /// `127.0.0.1:PORT`
    pub addr: String,
    pub config: TokenConfig,
    /// The CA to put in the registry's `rootcertbundle`.
    pub ca_cert: PathBuf,
    requests: Arc<Mutex<Vec<TokenRequest>>>,
    signer: Arc<Signer256>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

struct Signer256 {
    key: SigningKey,
    x5c: String,
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
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let signer = Arc::new(signer);
        let thread = {
            let (requests, stop, config) = (requests.clone(), stop.clone(), config.clone());
            let signer = signer.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (requests, config, signer) =
                        (requests.clone(), config.clone(), signer.clone());
                    std::thread::spawn(move || {
                        let _ = serve(conn, &config, &signer, &requests);
                    });
                }
            })
        };
        TokenIssuer {
            addr,
            config,
            ca_cert: ca.cert,
            requests,
            signer,
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
        self.requests.lock().unwrap().clone()
    }

    /// Every scope requested so far, in order.
    pub fn scopes(&self) -> Vec<String> {
        self.requests().into_iter().flat_map(|r| r.scopes).collect()
    }

    /// Forgets the recorded requests.
    pub fn clear(&self) {
        self.requests.lock().unwrap().clear();
    }

    /// Signs a token directly (no HTTP, not recorded) granting every action of `scopes`
    /// to `sub`, e.g. to hand a client a ready-made bearer token.
    pub fn issue(&self, sub: &str, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let access = grant(&scopes, true, self.config.anonymous);
        sign_token(&self.signer, &self.config, sub, access)
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

fn serve(
    conn: TcpStream,
    config: &TokenConfig,
    signer: &Signer256,
    requests: &Mutex<Vec<TokenRequest>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut authorization = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            if name.trim().eq_ignore_ascii_case("authorization") {
                authorization = Some(value.trim().to_string());
            }
        }
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    let service = params
        .iter()
        .find(|(k, _)| k == "service")
        .map(|(_, v)| v.clone());
    let scopes: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' ').map(str::to_string).collect::<Vec<_>>())
        .filter(|s| !s.is_empty())
        .collect();
    let credentials = check_credentials(authorization.as_deref(), config);
    let (status, body) = if method != "GET" || path != "/token" {
        (404, json!({"error": "not found"}).to_string())
    } else if credentials == Credentials::Invalid {
        (401, json!({"error": "invalid credentials"}).to_string())
    } else {
        let sub = if credentials == Credentials::Valid {
            config.user.as_str()
        } else {
            ""
        };
        let access = grant(&scopes, credentials == Credentials::Valid, config.anonymous);
        let token = sign_token(signer, config, sub, access);
        let body = json!({
            "token": token,
            "access_token": token,
            "expires_in": config.expires_in,
            "issued_at": rfc3339_now(),
        });
        (200, body.to_string())
    };
    requests.lock().unwrap().push(TokenRequest {
        method,
        target: target.clone(),
        service,
        scopes,
        credentials,
        status,
    });
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        _ => "Not Found",
    };
    let mut extra = String::new();
    if status == 401 {
        extra.push_str("WWW-Authenticate: Basic realm=\"ferry-token\"\r\n");
    }
    let mut out = conn;
    write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    out.flush()
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
        Credentials::Valid
    } else {
        Credentials::Invalid
    }
}

/// Turns `type:name:a,b` scopes into `access` claims.
fn grant(scopes: &[String], authenticated: bool, anonymous: Anonymous) -> Vec<serde_json::Value> {
    let mut access = Vec::new();
    for scope in scopes {
        let Some((typ, rest)) = scope.split_once(':') else {
            continue;
        };
        let Some((name, actions)) = rest.rsplit_once(':') else {
            continue;
        };
        let actions: Vec<&str> = actions
            .split(',')
            .filter(|a| !a.is_empty())
            .filter(|a| authenticated || (anonymous == Anonymous::Pull && *a == "pull"))
            .collect();
        if actions.is_empty() {
            continue;
        }
        access.push(json!({"type": typ, "name": name, "actions": actions}));
    }
    access
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sign_token(
    signer: &Signer256,
    config: &TokenConfig,
    sub: &str,
    access: Vec<serde_json::Value>,
) -> String {
    let header = json!({"typ": "JWT", "alg": "ES256", "x5c": [signer.x5c]});
    let iat = now();
    let claims = json!({
        "iss": config.issuer,
        // A JSON string: distribution 2.8.2 fails to decode an array here.
        "aud": config.service,
        "sub": sub,
        "exp": iat + config.expires_in,
        "nbf": iat - 1,
        "iat": iat,
        "jti": format!("{:032x}", rand::random::<u128>()),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    // JWS ES256: SHA-256 then the raw 64-byte r||s signature.
    let sig: Signature = signer.key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

fn rfc3339_now() -> String {
    // Days-from-civil conversion, enough for a timestamp field nobody parses strictly.
    let secs = now();
    let (days, rem) = (secs / 86400, secs % 86400);
    let z = days as i64 + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 3 <= b.len() => match std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(v) => {
                    out.push(v);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
