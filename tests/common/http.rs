//! The HTTP core of the test client (plain ureq, independent of ferry's library): targets,
//! credentials, the bearer-token challenge, and a ureq agent factory.

use super::registry::Registry;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Clone, Debug, Default)]
pub enum Auth {
    #[default]
    None,
    /// Sent as Basic; also exchanged for a token when the registry answers a Bearer challenge.
    Basic(String, String),
    /// A ready-made bearer token.
    Bearer(String),
}

impl Auth {
    pub fn basic(user: &str, pass: &str) -> Auth {
        Auth::Basic(user.into(), pass.into())
    }
}

/// What can be pushed to: a host (`"127.0.0.1:5000"`, plain http), a URL
/// (`"https://..."`), a [`Registry`] or a [`Client`].
pub trait Target {
    fn client(&self) -> Client;
}

impl Target for str {
    fn client(&self) -> Client {
        Client::new(self)
    }
}
impl Target for String {
    fn client(&self) -> Client {
        Client::new(self)
    }
}
impl Target for Registry {
    fn client(&self) -> Client {
        Registry::client(self)
    }
}
impl Target for Client {
    fn client(&self) -> Client {
        self.clone()
    }
}

pub struct Client {
    /// `http://HOST` or `https://HOST`
    pub base: String,
    pub auth: Auth,
    agent: ureq::Agent,
    ca: Option<std::path::PathBuf>,
    /// Client certificate and key presented to a mutual-TLS registry.
    identity: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// The bearer token obtained from the last challenge, sent with later requests.
    token: Mutex<Option<String>>,
}

impl Clone for Client {
    fn clone(&self) -> Client {
        Client {
            base: self.base.clone(),
            auth: self.auth.clone(),
            agent: self.agent.clone(),
            ca: self.ca.clone(),
            identity: self.identity.clone(),
            token: Mutex::new(self.token.lock().unwrap().clone()),
        }
    }
}

/// A response, fully read.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Client {
    /// `host` is `HOST:PORT` (plain http) or a full `http(s)://HOST:PORT`.
    pub fn new(host: &str) -> Client {
        let base = if host.contains("://") {
            host.trim_end_matches('/').to_string()
        } else {
            format!("http://{host}")
        };
        Client {
            base,
            auth: Auth::None,
            agent: agent_for(None, 0),
            ca: None,
            identity: None,
            token: Mutex::new(None),
        }
    }

    pub fn with_auth(mut self, auth: Auth) -> Client {
        self.auth = auth;
        *self.token.lock().unwrap() = None;
        self
    }

    /// Trusts `ca_pem` and switches to https.
    pub fn with_ca(mut self, ca_pem: &Path) -> Client {
        self.ca = Some(ca_pem.to_path_buf());
        self.rebuild_agent();
        if let Some(rest) = self.base.strip_prefix("http://") {
            self.base = format!("https://{rest}");
        }
        self
    }

    /// Presents this client certificate (PEM) and key to a registry that demands mutual TLS.
    pub fn with_identity(mut self, cert: &Path, key: &Path) -> Client {
        self.identity = Some((cert.to_path_buf(), key.to_path_buf()));
        self.rebuild_agent();
        self
    }

    fn rebuild_agent(&mut self) {
        let identity = self
            .identity
            .as_ref()
            .map(|(c, k)| (c.as_path(), k.as_path()));
        self.agent = agent_with_identity(self.ca.as_ref(), identity, 0);
    }

    /// Sends a request (no redirects followed), answering a 401 challenge once: Basic
    /// credentials are sent as they are, a Bearer challenge is answered by fetching a token
    /// from the realm with the challenge's service and scope (and our Basic credentials, or
    /// anonymously). With `Auth::Bearer`, a 401 is returned as it is.
    pub fn request(&self, method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let url = if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_string()
        };
        let reply = self.send(method, &url, headers, body);
        // A fixed bearer token is used as it is: no new token behind the test's back.
        if reply.status != 401 || matches!(self.auth, Auth::Bearer(_)) {
            return reply;
        }
        let Some(challenge) = reply.header("www-authenticate").map(str::to_string) else {
            return reply;
        };
        if !challenge.to_ascii_lowercase().starts_with("bearer ") {
            return reply;
        }
        let params = parse_challenge(&challenge[7..]);
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let Some(realm) = get("realm") else {
            return reply;
        };
        let mut token_url = format!("{realm}?service={}", encode(get("service").unwrap_or("")));
        if let Some(scope) = get("scope") {
            for s in scope.split(' ') {
                token_url.push_str(&format!("&scope={}", encode(s)));
            }
        }
        let mut req = self.agent.get(&token_url);
        if let Auth::Basic(u, p) = &self.auth {
            req = req.header("Authorization", basic_header(u, p));
        }
        let mut resp = req.call().expect("token request");
        if resp.status() != 200 {
            return reply;
        }
        let answer: serde_json::Value =
            serde_json::from_str(&resp.body_mut().read_to_string().expect("token body"))
                .expect("token JSON");
        let token = answer["token"]
            .as_str()
            .or(answer["access_token"].as_str())
            .expect("token in answer")
            .to_string();
        *self.token.lock().unwrap() = Some(token);
        self.send(method, &url, headers, body)
    }

    /// Sends one request as it is (our credentials, no challenge handling, no redirects).
    pub fn send(&self, method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut b = ureq::http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let has_auth = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
        if !has_auth {
            let token = self.token.lock().unwrap().clone();
            match (&self.auth, token) {
                (_, Some(t)) => b = b.header("Authorization", format!("Bearer {t}")),
                (Auth::Bearer(t), None) => b = b.header("Authorization", format!("Bearer {t}")),
                (Auth::Basic(u, p), None) => b = b.header("Authorization", basic_header(u, p)),
                (Auth::None, None) => {}
            }
        }
        let result = if body.is_empty() && matches!(method, "GET" | "HEAD" | "DELETE") {
            self.agent.run(b.body(()).expect("request"))
        } else {
            self.agent.run(b.body(body.to_vec()).expect("request"))
        };
        let mut resp = result.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body = resp
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .unwrap_or_default();
        Reply {
            status: resp.status().as_u16(),
            headers,
            body,
        }
    }
}

pub fn basic_header(user: &str, pass: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{pass}")))
}
/// Percent-encodes everything but unreserved characters.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `realm="x",service="y",scope="a b"` → [(realm, x), (service, y), (scope, a b)].
pub fn parse_challenge(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some((name, after)) = rest.split_once('=') else {
            break;
        };
        let name = name
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let (value, after) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (q[..end].to_string(), &q[(end + 1).min(q.len())..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        out.push((name, value));
        rest = after.trim_start_matches([',', ' ']);
    }
    out
}

/// A ureq agent that trusts `ca_pem` (if any), reports HTTP errors as responses and follows
/// at most `max_redirects` redirects.
pub fn agent_for(ca_pem: Option<&std::path::PathBuf>, max_redirects: u32) -> ureq::Agent {
    agent_with_identity(ca_pem, None, max_redirects)
}

/// [`agent_for`], presenting `identity` (client certificate PEM, PKCS#8 key PEM) to registries
/// that demand mutual TLS.
pub fn agent_with_identity(
    ca_pem: Option<&std::path::PathBuf>,
    identity: Option<(&Path, &Path)>,
    max_redirects: u32,
) -> ureq::Agent {
    use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};
    let mut b = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(max_redirects)
        .max_redirects_will_error(false)
        .timeout_global(Some(Duration::from_secs(60)));
    if let Some(ca) = ca_pem {
        let pem = std::fs::read(ca).unwrap();
        let cert = Certificate::from_pem(&pem).expect("CA PEM").to_owned();
        let mut tls = TlsConfig::builder().root_certs(RootCerts::new_with_certs(&[cert]));
        if let Some((cert, key)) = identity {
            let cert = Certificate::from_pem(&std::fs::read(cert).unwrap())
                .expect("client certificate PEM")
                .to_owned();
            let key = PrivateKey::from_pem(&std::fs::read(key).unwrap())
                .expect("client key PEM")
                .to_owned();
            tls = tls.client_cert(Some(ClientCert::new_with_certs(&[cert], key)));
        }
        b = b.tls_config(tls.build());
    }
    b.build().new_agent()
}
