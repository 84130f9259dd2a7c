//! What can go wrong talking to a registry, with what a user needs to act on it.

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
    #[error("TLS certificate of {host} is not trusted: {detail}. If this registry uses a private CA, pass --ca-file CA.pem (or, at your own risk, --insecure-skip-tls-verify)")]
    Certificate { host: String, detail: String },
    #[error("authentication to {host} failed{repo}: {detail}")]
    Auth {
        host: String,
        repo: String,
        detail: String,
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
    #[error("registry {host} refused manifest {repository}:{reference} (HTTP {status}): {detail}")]
    ManifestRejected {
        host: String,
        repository: String,
        reference: String,
        status: u16,
        detail: String,
        /// Digests named by MANIFEST_BLOB_UNKNOWN errors.
        missing: Vec<String>,
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
            RegistryError::Status { status, .. } => super::retry::is_retryable_status(*status),
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

/// Summarises an OCI error body (`{"errors":[{"code","message"}]}`) for a message.
pub fn describe_body(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Body {
        errors: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    if let Ok(b) = serde_json::from_slice::<Body>(body) {
        let parts: Vec<String> = b
            .errors
            .iter()
            .map(|e| format!("{} {}", e.code, e.message).trim().to_string())
            .collect();
        if !parts.is_empty() {
            return parts.join("; ");
        }
    }
    let text: String = String::from_utf8_lossy(body)
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_oci_error_bodies() {
        let b =
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#;
        assert_eq!(describe_body(b), "MANIFEST_UNKNOWN manifest unknown");
        assert_eq!(describe_body(b"404 page not found\n"), "404 page not found");
    }

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
