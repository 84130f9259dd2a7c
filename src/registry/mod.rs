//! The registry client: one blocking HTTP/1.1 client shared by worker threads. It owns the
//! transport rules, authentication (bearer/basic, token cache, one retry on 401) and bounded
//! retries; `ops` builds the registry API on top of `send`.
//! It must not import `layout`, `export`, `import` or `verify`: the client knows nothing of
//! bundles.

pub mod auth;
pub mod credentials;
mod error;
pub mod location;
mod ops;
pub mod push;
mod redirect;
pub mod referrers;
pub mod retry;
pub mod stall;
pub mod tags;
mod tls;
mod token;
pub mod transport;

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

use ureq::http::{Request, Response};
use ureq::{Body, SendBody};

pub use credentials::{CliCredential, Credential};
pub use error::{describe_body, Answer, AuthFailure, CredentialError, OciError, RegistryError};
pub use error::{Broken, Item, Overflow, TrustProblem};
pub use ops::{as_child, BlobStream, Repository};
pub use stall::StallTimeout;
pub use transport::TransportOptions;

use auth::{parse_challenge, TokenCache};
use transport::{is_loopback, Agents};

use crate::error::Boxed;

/// Settings of a client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub transport: TransportOptions,
    /// `--username`/`--password-stdin`, bound to one registry.
    pub credential: Option<CliCredential>,
    /// Attempts after the first for transient failures.
    pub retries: u32,
    /// Ceiling of the first (jittered) backoff delay; doubles per attempt.
    pub backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            transport: TransportOptions::default(),
            credential: None,
            retries: 4,
            backoff: Duration::from_millis(250),
        }
    }
}

/// Which repository a request is about, for credentials and token scopes.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Registry name as users write it (`docker.io`), used for credentials.
    pub registry: &'a str,
    /// Host serving the API (`registry-1.docker.io`).
    pub host: &'a str,
    pub repository: &'a str,
    pub push: bool,
}

/// A request body.
pub enum Payload<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// Streamed, sent with this Content-Length; cannot be replayed, so never retried here.
    Stream(&'a mut dyn Read, u64),
}

/// A blocking registry client, safe to share between threads.
pub struct Client {
    opts: ClientOptions,
    agents: Agents,
    schemes: Mutex<HashMap<String, &'static str>>,
    tokens: Mutex<TokenCache>,
    creds: Mutex<HashMap<(String, String), Option<Credential>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn header(resp: &Response<Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

impl Client {
    pub fn new(opts: ClientOptions) -> Result<Client, RegistryError> {
        let agents = Agents::new(&opts.transport)?;
        Ok(Client {
            opts,
            agents,
            schemes: Mutex::new(HashMap::new()),
            tokens: Mutex::new(TokenCache::default()),
            creds: Mutex::new(HashMap::new()),
        })
    }

    fn credential(&self, t: &Target) -> Result<Option<Credential>, RegistryError> {
        let key = (t.registry.to_string(), t.repository.to_string());
        if let Some(c) = lock(&self.creds).get(&key) {
            return Ok(c.clone());
        }
        let c = credentials::lookup(self.opts.credential.as_ref(), t.registry, t.repository)?;
        lock(&self.creds).insert(key, c.clone());
        Ok(c)
    }

    /// One HTTP exchange against an absolute URL, no auth, no retries.
    pub(crate) fn raw(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: &mut Payload,
    ) -> Result<Response<Body>, ureq::Error> {
        let host = transport::url_host(url).to_string();
        let mut b = Request::builder().method(method).uri(url);
        for (k, v) in headers {
            b = b.header(*k, v.as_str());
        }
        // A certs.d problem of the registry surfaces in `send_to_host` first; another host's
        // (a token realm, a redirect) travels in ureq's `Other` and `net_error` returns it.
        let agent = self
            .agents
            .for_host(&host)
            .map_err(|e| ureq::Error::Other(Box::new(e)))?;
        let sent = match body {
            // An empty POST/PUT/PATCH says `Content-Length: 0`: ureq would send an empty
            // chunked body, which some registries and proxies refuse or misread.
            Payload::Empty if matches!(method, "POST" | "PUT" | "PATCH") => {
                let b = b.header("Content-Length", "0");
                agent.run(b.body(&[][..]).map_err(ureq::Error::from)?)
            }
            Payload::Empty => agent.run(b.body(SendBody::none()).map_err(ureq::Error::from)?),
            Payload::Bytes(bytes) => {
                let b = b.header("Content-Length", bytes.len().to_string());
                agent.run(b.body(*bytes).map_err(ureq::Error::from)?)
            }
            Payload::Stream(r, len) => {
                let b = b.header("Content-Length", len.to_string());
                agent.run(
                    b.body(SendBody::from_reader(*r))
                        .map_err(ureq::Error::from)?,
                )
            }
        };
        // Every body, whoever reads it, is watched for a stall.
        let timeout = self.opts.transport.timeout;
        sent.map(|resp| resp.map(|body| stall::guard(body, timeout)))
    }

    /// A failed exchange as a registry error: a stall names the window, a trust setting that
    /// stopped the request is itself, anything else is a host that cannot be reached.
    pub(crate) fn net_error(
        &self,
        host: &str,
        method: &str,
        url: &str,
        e: ureq::Error,
    ) -> RegistryError {
        match stall::of_request(&e) {
            Some(stall) => RegistryError::TimedOut {
                host: host.to_string(),
                what: Item::of_request(method, url),
                stall,
                timeout: self.opts.transport.timeout,
                attempts: 1,
            },
            None => match e {
                ureq::Error::Other(inner) => match inner.downcast::<RegistryError>() {
                    Ok(own) => *own,
                    Err(other) => unreachable(host, url, ureq::Error::Other(other)),
                },
                e => unreachable(host, url, e),
            },
        }
    }

    /// Sends to `https://host` or falls back to `http://` as DESIGN §1 allows, caching the
    /// answer per host.
    fn send_to_host(
        &self,
        method: &str,
        host: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &mut Payload,
    ) -> Result<Response<Body>, RegistryError> {
        let forced_http = self.opts.transport.plain_http.iter().any(|h| h == host);
        let known = lock(&self.schemes).get(host).copied();
        let scheme = known.unwrap_or(if forced_http { "http" } else { "https" });
        let url = format!("{scheme}://{host}{path}");
        self.agents.for_host(host)?;
        let e = match self.raw(method, &url, headers, body) {
            Ok(r) => {
                lock(&self.schemes).insert(host.to_string(), scheme);
                return Ok(r);
            }
            Err(e) => e,
        };
        if scheme == "https" {
            if let Some(tls) = self.agents.tls_error(host, &e) {
                return Err(tls);
            }
        }
        // A server that does not answer a TLS hello would not answer http either: only an
        // answer that is not TLS is a reason to fall back.
        if scheme == "https"
            && known.is_none()
            && is_loopback(host)
            && stall::of_request(&e).is_none()
            && !matches!(body, Payload::Stream(..))
        {
            let url = format!("http://{host}{path}");
            let r = self
                .raw(method, &url, headers, body)
                .map_err(|e2| self.net_error(host, method, &url, e2))?;
            lock(&self.schemes).insert(host.to_string(), "http");
            return Ok(r);
        }
        Err(self.net_error(host, method, &url, e))
    }

    /// The scheme in use for a host (after the first request), for building absolute URLs.
    pub(crate) fn scheme(&self, host: &str) -> &'static str {
        lock(&self.schemes).get(host).copied().unwrap_or("https")
    }

    /// A request with authentication: the cached header first, then on 401 the challenge's
    /// token (or Basic) and exactly one retry.
    pub fn send(
        &self,
        t: &Target,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &mut Payload,
    ) -> Result<Response<Body>, RegistryError> {
        let hint = lock(&self.tokens).hint(t.host, t.repository, t.push);
        let mut hdrs: Vec<(&str, String)> = headers.to_vec();
        if let Some(h) = &hint {
            hdrs.push(("Authorization", h.clone()));
        }
        let resp = self.send_to_host(method, t.host, path, &hdrs, body)?;
        if resp.status().as_u16() != 401 {
            return Ok(resp);
        }
        let challenge = header(&resp, "www-authenticate").and_then(|h| parse_challenge(&h));
        let auth = self.authorize(t, challenge, hint.as_deref())?;
        lock(&self.tokens).set_hint(t.host, t.repository, t.push, auth.clone());
        if matches!(body, Payload::Stream(..)) {
            // The stream is spent: the caller restarts the upload with the new header in place.
            return Err(RegistryError::TokenExpired {
                host: t.registry.into(),
            });
        }
        let mut hdrs: Vec<(&str, String)> = headers.to_vec();
        hdrs.push(("Authorization", auth));
        let resp = self.send_to_host(method, t.host, path, &hdrs, body)?;
        if resp.status().as_u16() == 401 {
            lock(&self.tokens).forget_hint(t.host, t.repository, t.push);
            let who = self.credential(t)?.map(|c| c.source);
            return Err(RegistryError::Auth {
                registry: t.registry.into(),
                repository: Some(t.repository.into()),
                why: Box::new(match who {
                    Some(from) => AuthFailure::Rejected { from },
                    None => AuthFailure::NoCredentials,
                }),
            });
        }
        Ok(resp)
    }

    /// `send` with bounded retries and jittered backoff for transient failures and the
    /// statuses of `retry::is_retryable_status`.
    pub fn send_retrying(
        &self,
        t: &Target,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<Response<Body>, RegistryError> {
        let mut attempt = 0;
        loop {
            let mut payload = if body.is_empty() {
                Payload::Empty
            } else {
                Payload::Bytes(body)
            };
            let result = self.send(t, method, path, headers, &mut payload);
            let wait = match &result {
                Ok(r) if r.status().as_u16() == 429 => {
                    let after = header(r, "retry-after").and_then(|v| v.trim().parse::<u64>().ok());
                    match after {
                        Some(s) if s <= 60 => Some(Duration::from_secs(s)),
                        Some(s) => {
                            return Err(RegistryError::RateLimited {
                                host: t.registry.into(),
                                retry_after: Some(s),
                            })
                        }
                        None => Some(self.backoff(attempt)),
                    }
                }
                Ok(r) if retry::is_retryable_status(r.status().as_u16()) => {
                    Some(self.backoff(attempt))
                }
                Ok(_) => return result,
                Err(e) if e.is_transient() => Some(self.backoff(attempt)),
                Err(_) => return result,
            };
            if attempt >= self.opts.retries {
                let result = result.map_err(|e| e.after_attempts(attempt + 1));
                if let Ok(r) = &result {
                    if r.status().as_u16() == 429 {
                        return Err(RegistryError::RateLimited {
                            host: t.registry.into(),
                            retry_after: None,
                        });
                    }
                }
                return result;
            }
            attempt += 1;
            if let Some(w) = wait {
                std::thread::sleep(w);
            }
        }
    }

    /// Delay before retry number `attempt` (0-based): jittered, doubling up to 8 s.
    pub fn backoff(&self, attempt: u32) -> Duration {
        retry::backoff(self.opts.backoff, attempt)
    }

    pub fn retries(&self) -> u32 {
        self.opts.retries
    }
}

fn unreachable(host: &str, url: &str, e: ureq::Error) -> RegistryError {
    RegistryError::Unreachable {
        host: host.to_string(),
        url: url.split('?').next().unwrap_or(url).to_string(),
        source: Boxed::new(e),
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
