//! HTTP agents and the transport rules of DESIGN §1: https first with certificate checks, plain
//! http only for loopback hosts that do not speak TLS (or hosts named by `--plain-http`), and
//! proxies from the environment except for loopback.

use std::path::PathBuf;
use std::sync::Arc;

use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::{Agent, Proxy};

use super::RegistryError;

/// Transport settings from the command line.
#[derive(Debug, Clone, Default)]
pub struct TransportOptions {
    /// Hosts (`host:port`) always spoken to over plain http.
    pub plain_http: Vec<String>,
    /// Extra CA certificates (PEM) to trust.
    pub ca_files: Vec<PathBuf>,
    /// Skip certificate verification entirely (warned about on stderr by the caller).
    pub insecure_skip_tls_verify: bool,
    /// `--timeout`: the stall window of every attempt.
    pub timeout: super::StallTimeout,
}

/// The two agents: one that may use a proxy, one that never does (loopback).
pub struct Agents {
    pub direct: Agent,
    pub proxied: Agent,
}

fn load_ca_files(files: &[PathBuf]) -> Result<Vec<Certificate<'static>>, RegistryError> {
    let mut out = Vec::new();
    for f in files {
        let pem = std::fs::read(f).map_err(|e| {
            RegistryError::Config(format!("cannot read --ca-file {}: {e}", f.display()))
        })?;
        let before = out.len();
        for c in ureq::tls::parse_pem(&pem) {
            if let Ok(ureq::tls::PemItem::Certificate(c)) = c {
                out.push(c);
            }
        }
        if out.len() == before {
            return Err(RegistryError::Config(format!(
                "--ca-file {} holds no PEM certificate",
                f.display()
            )));
        }
    }
    Ok(out)
}

impl Agents {
    pub fn new(opts: &TransportOptions) -> Result<Agents, RegistryError> {
        let mut tls = TlsConfig::builder();
        if opts.insecure_skip_tls_verify {
            tls = tls.disable_verification(true);
        } else if !opts.ca_files.is_empty() {
            // Extra CAs are added to the system's roots, not instead of them.
            let mut certs = load_ca_files(&opts.ca_files)?;
            let native = rustls_native_certs::load_native_certs();
            for c in native.certs {
                certs.push(Certificate::from_der(c.as_ref()).to_owned());
            }
            tls = tls.root_certs(RootCerts::Specific(Arc::new(certs)));
        }
        let tls = tls.build();
        let build = |proxy: Option<Proxy>| {
            let b = Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .tls_config(tls.clone())
                .proxy(proxy)
                .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
                .max_idle_connections_per_host(16);
            super::stall::apply(b, opts.timeout).build().new_agent()
        };
        Ok(Agents {
            direct: build(None),
            proxied: build(Proxy::try_from_env()),
        })
    }

    /// The agent to use for `host`: loopback never goes through a proxy.
    pub fn for_host(&self, host: &str) -> &Agent {
        if is_loopback(host) {
            &self.direct
        } else {
            &self.proxied
        }
    }
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

/// Is this ureq error about an untrusted or invalid certificate (never a reason to fall back)?
pub fn is_certificate_error(e: &ureq::Error) -> bool {
    let s = e.to_string().to_ascii_lowercase();
    s.contains("certificate") || s.contains("unknownissuer") || s.contains("badsignature")
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
