//! What can go wrong talking to a registry, with what a user needs to act on it.

mod body;

pub use body::{describe_body, error_codes};

/// Errors from the registry client. Messages never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot reach registry {host} ({url}): {detail}")]
    Unreachable {
        host: String,
        url: String,
        detail: String,
    },
    #[error("{what} from {host}: {} in {} (--timeout {timeout}), {attempts} attempt{}", .stall, .timeout.seconds(), if *.attempts == 1 { "" } else { "s" })]
    TimedOut {
        host: String,
        what: String,
        stall: super::stall::Stall,
        timeout: super::StallTimeout,
        attempts: u32,
    },
    #[error("TLS certificate of {host} is not trusted: {detail}. If this registry uses a private CA, put it in /etc/containers/certs.d/{host}/ca.crt or pass --ca-file CA.pem or --cert-dir DIR (or, at your own risk, --insecure-skip-tls-verify)")]
    Certificate { host: String, detail: String },
    #[error("{host} requires a client certificate (mutual TLS): put client.cert and client.key in /etc/docker/certs.d/{host}/ or --cert-dir DIR")]
    ClientCertRequired { host: String },
    #[error("{host} rejected the client certificate {} (TLS alert {alert}): it accepts only certificates from its own client CAs", cert.display())]
    ClientCertRejected {
        host: String,
        cert: std::path::PathBuf,
        alert: String,
    },
    /// A trust setting (CA file, certs.d directory, client certificate) that cannot be used.
    #[error("{what} {}: {problem}", path.display())]
    Trust {
        what: &'static str,
        path: std::path::PathBuf,
        problem: String,
    },
    /// `err` is in the message and deliberately no `source`, so it is printed once.
    #[error("cannot read {what} {}: {err}", path.display())]
    TrustRead {
        what: &'static str,
        path: std::path::PathBuf,
        err: std::io::Error,
    },
    #[error("authentication to {host} failed{repo}: {detail}")]
    Auth {
        host: String,
        repo: String,
        detail: String,
    },
    /// DESIGN §1: credentials travel only over TLS, or plain http to a host that is itself
    /// plain http; `hint` says how to allow it where the rules would.
    #[error("refusing to send credentials for {registry} over plain http to {realm}; the token service must use https{hint}")]
    PlainHttpCredentials {
        registry: String,
        realm: String,
        hint: String,
    },
    #[error("{what} not found on {host}: {detail}")]
    NotFound {
        host: String,
        what: String,
        detail: String,
    },
    #[error("registry {host} answered HTTP {status} to {method} {url}{detail}")]
    Status {
        host: String,
        method: String,
        url: String,
        status: u16,
        detail: String,
    },
    #[error("{what} on {host}: {why} (Location {to}, in answer to {from})")]
    Location {
        host: String,
        what: String,
        from: String,
        to: String,
        why: String,
    },
    #[error("registry {host} is rate limiting requests (429 TOOMANYREQUESTS){detail}; wait and retry, or log in (docker login / --username) to get a higher limit")]
    RateLimited { host: String, detail: String },
    #[error("{what} from {host} failed verification: {detail}")]
    Integrity {
        host: String,
        what: String,
        detail: String,
    },
    #[error("{what} from {host} is more than {limit} bytes, ferry's limit for it")]
    TooLarge {
        host: String,
        what: String,
        limit: u64,
    },
    #[error("registry {host} lists more than {limit} referrers of {subject} in repository {repository} ({detail}); ferry carries at most {limit} per subject: choose artifact types with --referrers TYPE, or leave referrers out with --referrers none")]
    TooManyReferrers {
        host: String,
        repository: String,
        subject: String,
        detail: String,
        limit: usize,
    },
    #[error("registry {host} refused manifest {} (HTTP {status}): {detail}", at(.repository, .reference))]
    ManifestRejected {
        host: String,
        repository: String,
        reference: String,
        status: u16,
        /// The answer, described: codes, messages and the blobs they name (`detail`).
        detail: String,
        /// The OCI error codes of the answer (`MANIFEST_BLOB_UNKNOWN`, `DENIED`, …).
        codes: Vec<String>,
    },
    /// An error answer to a push request (blob HEAD, POST, PUT, PATCH), with its codes so the
    /// importer can tell "this repository does not exist" from other refusals. (`url` names
    /// the repository; one more field would make every `Result` of this error larger.)
    #[error("registry {host} answered HTTP {status} to {method} {url}{detail}")]
    PushRefused {
        host: String,
        method: String,
        url: String,
        status: u16,
        codes: Vec<String>,
        detail: String,
    },
    /// An answer that breaks the distribution protocol, such as a `201 Created` to a POST
    /// that asked no mount: taking it at its word would report a blob that was never sent.
    #[error("registry {host} broke the distribution protocol for {what} in repository {repository}: {detail}")]
    Protocol {
        host: String,
        repository: String,
        what: String,
        detail: String,
    },
    /// An answer from a server other than the registry (an upload `Location` elsewhere); its
    /// body is not quoted, since it may be anything, a token service's tokens included.
    #[error("registry {host} sent ferry to another server for {method} {url}: {other} answered HTTP {status} (its answer is not shown, since it did not come from the registry)")]
    Elsewhere {
        host: String,
        other: String,
        method: String,
        url: String,
        status: u16,
    },
    #[error("the token for {host} expired during a streamed upload")]
    TokenExpired { host: String },
    #[error("credentials: {0}")]
    Credentials(String),
    #[error("invalid client setting: {0}")]
    Config(String),
    #[error("reading {what} from {host}: {source}")]
    Io {
        host: String,
        what: String,
        source: std::io::Error,
    },
}

impl RegistryError {
    /// Worth another attempt: the network or the server may recover.
    pub fn is_transient(&self) -> bool {
        match self {
            RegistryError::Unreachable { .. }
            | RegistryError::TimedOut { .. }
            | RegistryError::Io { .. }
            | RegistryError::TokenExpired { .. } => true,
            RegistryError::Status { status, .. }
            | RegistryError::PushRefused { status, .. }
            | RegistryError::Elsewhere { status, .. } => super::retry::is_retryable_status(*status),
            _ => false,
        }
    }

    /// The same error, saying how many attempts it took (a timeout's message counts them).
    pub fn after_attempts(mut self, n: u32) -> Self {
        if let RegistryError::TimedOut { attempts, .. } = &mut self {
            *attempts = n;
        }
        self
    }
}

/// What a request was about, for messages: `manifest v1 of team/app`, `blob sha256:… of x`.
pub(crate) fn what_of(method: &str, url: &str) -> String {
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => url,
    };
    let path = path.split(['?', '#']).next().unwrap_or(path);
    if let Some(rest) = path.strip_prefix("/v2/") {
        for (kind, what) in [
            ("/manifests/", "manifest"),
            ("/blobs/uploads/", "blob upload to"),
            ("/blobs/", "blob"),
            ("/referrers/", "referrers of"),
        ] {
            if let Some((repo, r)) = rest.rsplit_once(kind) {
                return match what {
                    "blob upload to" => format!("{what} {repo}"),
                    _ => format!("{what} {r} of {repo}"),
                };
            }
        }
    }
    format!("{method} {path}")
}

/// `repo@sha256:…` for a digest, `repo:tag` for a tag.
fn at(repository: &str, reference: &str) -> String {
    if reference.contains(':') {
        format!("{repository}@{reference}")
    } else {
        format!("{repository}:{reference}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_a_request_was_about() {
        assert_eq!(
            what_of("GET", "/v2/team/app/manifests/v1"),
            "manifest v1 of team/app"
        );
        assert_eq!(
            what_of("GET", "https://r:5000/v2/a/blobs/sha256:ab?x=1"),
            "blob sha256:ab of a"
        );
        assert_eq!(
            what_of("PUT", "/v2/a/b/blobs/uploads/u1?digest=sha256:ab"),
            "blob upload to a/b"
        );
        assert_eq!(what_of("GET", "https://auth.io/token?s=1"), "GET /token");
    }
}
