//! HTTP agents and the transport rules of DESIGN §1: https first with certificate checks, plain
//! http only for loopback hosts that do not speak TLS (or hosts named by `--plain-http`), and
//! proxies from the environment except for loopback.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use ureq::tls::TlsConfig;
use ureq::{Agent, Proxy};

use super::tls::{tls_error, HostTls, Trust};
use super::RegistryError;

/// Transport settings from the command line.
#[derive(Debug, Clone, Default)]
pub struct TransportOptions {
    /// Hosts (`host:port`) always spoken to over plain http.
    pub plain_http: Vec<String>,
    /// Extra CA certificates (PEM) to trust.
    pub ca_files: Vec<PathBuf>,
    /// `--cert-dir`: CAs (`*.crt`) and a client certificate (`*.cert` + `*.key`) for every
    /// registry, instead of the certs.d directories.
    pub cert_dir: Option<PathBuf>,
    /// Skip certificate verification entirely (warned about on stderr by the caller).
    pub insecure_skip_tls_verify: bool,
    /// `--timeout`: the stall window of every attempt.
    pub timeout: super::StallTimeout,
}

/// The shared agents (one that may use a proxy, one that never does: loopback), and one agent
/// per host whose certs.d directory holds CAs or a client certificate.
pub struct Agents {
    pub direct: Agent,
    pub proxied: Agent,
    /// The client certificate the shared agents present (`--cert-dir`), for messages.
    shared_cert: Option<PathBuf>,
    trust: Trust,
    opts: TransportOptions,
    /// `None`: the host has no certs.d content and uses the shared agents.
    hosts: Mutex<HashMap<String, Option<HostAgent>>>,
}

/// An agent and the client certificate it presents (for messages).
#[derive(Clone)]
struct HostAgent {
    agent: Agent,
    client_cert: Option<PathBuf>,
}

/// One agent with ferry's settings and this TLS configuration; the shared agents and the
/// per-host ones are all made here (`opts` is for command-line settings such as timeouts).
fn build_agent(opts: &TransportOptions, tls: &TlsConfig, proxy: Option<Proxy>) -> Agent {
    let b = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .tls_config(tls.clone())
        .proxy(proxy)
        .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
        .max_idle_connections_per_host(16);
    super::stall::apply(b, opts.timeout).build().new_agent()
}

impl Agents {
    pub fn new(opts: &TransportOptions) -> Result<Agents, RegistryError> {
        let trust = Trust::new(opts)?;
        let HostTls {
            config,
            client_cert,
        } = trust.shared();
        Ok(Agents {
            direct: build_agent(opts, &config, None),
            proxied: build_agent(opts, &config, Proxy::try_from_env()),
            shared_cert: client_cert,
            trust,
            hosts: Mutex::new(HashMap::new()),
            opts: opts.clone(),
        })
    }

    /// The agent to use for `host`: its own when its certs.d directory says so, and loopback
    /// never goes through a proxy. Errors name a certs.d file that cannot be used.
    pub fn for_host(&self, host: &str) -> Result<Agent, RegistryError> {
        Ok(self.host_agent(host)?.agent)
    }

    fn host_agent(&self, host: &str) -> Result<HostAgent, RegistryError> {
        let cached = lock(&self.hosts).get(host).cloned();
        let own = match cached {
            Some(own) => own,
            None => {
                let own = self.trust.for_host(host)?.map(|t| {
                    let proxy = if is_loopback(host) {
                        None
                    } else {
                        Proxy::try_from_env()
                    };
                    HostAgent {
                        agent: build_agent(&self.opts, &t.config, proxy),
                        client_cert: t.client_cert,
                    }
                });
                lock(&self.hosts).insert(host.to_string(), own.clone());
                own
            }
        };
        Ok(own.unwrap_or_else(|| {
            let shared = if is_loopback(host) {
                &self.direct
            } else {
                &self.proxied
            };
            HostAgent {
                agent: shared.clone(),
                client_cert: self.shared_cert.clone(),
            }
        }))
    }

    /// The error for a certificate failure talking to `host`: an untrusted server, or a
    /// client certificate the server demanded or refused; `None` when `e` is not one.
    pub fn tls_error(&self, host: &str, e: &ureq::Error) -> Option<RegistryError> {
        let cert = self.host_agent(host).ok().and_then(|a| a.client_cert);
        tls_error(host, e, cert.as_deref())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Strips the port (and IPv6 brackets) from `host[:port]`.
pub fn hostname(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// 127.0.0.0/8, `localhost` and `::1`: hosts that may fall back to plain http.
pub fn is_loopback(host: &str) -> bool {
    let h = hostname(host);
    if h.eq_ignore_ascii_case("localhost") || h == "::1" {
        return true;
    }
    match h.parse::<std::net::Ipv4Addr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => false,
    }
}

/// The host (with port) of an absolute URL.
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection() {
        for h in [
            "127.0.0.1:5000",
            "localhost",
            "LOCALHOST:1",
            "[::1]:5000",
            "127.1.2.3",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "10.0.0.1:5000",
            "example.com",
            "[2001:db8::1]:443",
            "127.0.0.1.nip.io",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("http://other:9/x?y"), "other:9");
        assert_eq!(url_host("https://[::1]:5000"), "[::1]:5000");
    }
}
