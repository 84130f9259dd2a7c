//! What can go wrong talking to a registry, with what a user needs to act on it: each variant
//! carries data (registry, repository, digest, HTTP status, the OCI errors of the answer) and
//! the error it wraps as its `source`; the messages are rendered here, from those fields, and
//! a cause is never repeated in its wrapper's message (the chain shows it once).

mod auth;
mod body;
mod what;

use std::path::PathBuf;

pub use auth::{AuthFailure, CredentialError};
pub use body::{describe_body, Answer, OciError};
pub use what::{Broken, Item, Overflow, TrustProblem};

use super::location::Refusal;
use super::stall::{Stall, StallTimeout};
use crate::digest::{ContentError, Digest, DigestError};
use crate::error::Boxed;

/// Errors from the registry client. Messages never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot reach registry {host} ({url})")]
    Unreachable {
        host: String,
        url: String,
        source: Boxed<ureq::Error>,
    },
    #[error("{what} from {host}: {stall} in {} (--timeout {timeout}), {attempts} attempt{}", .timeout.seconds(), if *.attempts == 1 { "" } else { "s" })]
    TimedOut {
        host: String,
        what: Item,
        stall: Stall,
        timeout: StallTimeout,
        attempts: u32,
    },
    /// `verdict` is the TLS library's reason (`invalid peer certificate: UnknownIssuer`),
    /// shown in the message before the advice; it is the whole of what ureq's error says.
    #[error("TLS certificate of {host} is not trusted: {verdict}. If this registry uses a private CA, put it in /etc/containers/certs.d/{host}/ca.crt or pass --ca-file CA.pem or --cert-dir DIR (or, at your own risk, --insecure-skip-tls-verify)")]
    Certificate {
        host: String,
        verdict: Box<rustls::Error>,
    },
    #[error("{host} requires a client certificate (mutual TLS): put client.cert and client.key in /etc/docker/certs.d/{host}/ or --cert-dir DIR")]
    ClientCertRequired { host: String },
    #[error("{host} rejected the client certificate {} (TLS alert {alert:?}): it accepts only certificates from its own client CAs", cert.display())]
    ClientCertRejected {
        host: String,
        cert: PathBuf,
        alert: rustls::AlertDescription,
    },
    /// A trust setting (CA file, certs.d directory, client certificate) that cannot be used.
    #[error("{what} {}: {problem}", path.display())]
    Trust {
        what: &'static str,
        path: PathBuf,
        problem: TrustProblem,
    },
    #[error("cannot read {what} {}", path.display())]
    TrustRead {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// `SSL_CERT_FILE` or `SSL_CERT_DIR` names a store that yields no certificate.
    #[error("{var} {}: no CA certificate could be read", path.display())]
    SystemStore {
        var: &'static str,
        path: PathBuf,
        source: Boxed<rustls_native_certs::Error>,
    },
    #[error("client key {}: cannot be used", path.display())]
    ClientKey {
        path: PathBuf,
        source: Boxed<rustls::Error>,
    },
    #[error("authentication to {registry} failed{}: {why}", for_repository(.repository))]
    Auth {
        registry: String,
        /// The repository the request was for, when the failure concerns it.
        repository: Option<String>,
        why: Box<AuthFailure>,
    },
    /// DESIGN §1: credentials travel only over TLS, or plain http to a host that is itself
    /// plain http; `plain_host` is the realm's host when `--plain-http` would allow it.
    #[error("refusing to send credentials for {registry} over plain http to {realm}; the token service must use https{}", plain_http_hint(.plain_host))]
    PlainHttpCredentials {
        registry: String,
        realm: String,
        plain_host: Option<String>,
    },
    #[error("{} {reference} in repository {repository} not found on {registry}: {}check the repository name and tag", if reference.contains(':') { "manifest" } else { "tag" }, answer_then(.answer))]
    ManifestNotFound {
        registry: String,
        repository: String,
        /// The tag or digest asked for.
        reference: String,
        answer: Answer,
    },
    #[error("blob {digest} of {name} not found on {registry}: {answer}")]
    BlobNotFound {
        registry: String,
        /// The repository's full name (`registry/repository`).
        name: String,
        digest: Digest,
        answer: Answer,
    },
    /// Neither the registry nor a descriptor's `urls` serve a non-distributable blob; the
    /// failure of the last URL tried is the source, when it was an error (not a status).
    #[error("non-distributable blob {digest} not found on {}: neither the registry nor its urls serve it ({})", .urls.join(", "), foreign_try(.tried, .status))]
    ForeignNotFound {
        urls: Vec<String>,
        digest: Digest,
        /// The last URL tried (without its query), if one was http(s).
        tried: Option<String>,
        status: Option<u16>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error("registry {host} answered HTTP {status} to {method} {url}{}", .answer.tail())]
    Status {
        host: String,
        method: String,
        url: String,
        status: u16,
        answer: Answer,
    },
    #[error("{what} on {host}: {why} (Location {to}, in answer to {from})")]
    Location {
        host: String,
        what: Box<Item>,
        from: String,
        to: String,
        why: Refusal,
    },
    #[error("registry {host} is rate limiting requests (429 TOOMANYREQUESTS){}; wait and retry, or log in (docker login / --username) to get a higher limit", waited_note(.retry_after))]
    RateLimited {
        host: String,
        /// The `Retry-After` seconds, when they were more than ferry waits.
        retry_after: Option<u64>,
    },
    #[error("{what} from {host} failed verification: expected digest {expected}, the bytes served hash to {actual}")]
    DigestMismatch {
        host: String,
        what: Box<Item>,
        expected: Digest,
        actual: Digest,
    },
    #[error("{what} from {host} failed verification: Docker-Content-Digest header")]
    DigestHeader {
        host: String,
        what: Item,
        source: DigestError,
    },
    #[error("{what} from {host} failed verification: more than {limit} Link pages")]
    TooManyPages {
        host: String,
        what: Item,
        limit: usize,
    },
    #[error("{what} from {host}: the next page is on another origin ({url}); ferry does not send this registry's credentials there: ask the registry's operator")]
    PageElsewhere {
        host: String,
        what: Item,
        url: String,
    },
    #[error("{what} from {host} failed verification: its pages hold more than {limit} bytes of descriptors")]
    TooManyReferrerBytes {
        host: String,
        what: Item,
        limit: u64,
    },
    #[error("{what} from {host} failed verification: not an OCI index")]
    NotAnIndex {
        host: String,
        what: Item,
        source: serde_json::Error,
    },
    /// The bundle's bytes for a blob were wrong: the upload was stopped on purpose.
    #[error("blob {digest} for {repository} from {host} failed verification; the upload was aborted before its last bytes, so the registry did not store it")]
    UploadAborted {
        host: String,
        repository: String,
        digest: Digest,
        source: Boxed<ContentError>,
    },
    #[error("{what} from {host} is more than {limit} bytes, ferry's limit for it")]
    TooLarge {
        host: String,
        what: Item,
        limit: u64,
    },
    #[error("registry {host} lists more than {limit} referrers of {subject} in repository {repository} ({why}); ferry carries at most {limit} per subject: choose artifact types with --referrers TYPE, or leave referrers out with --referrers none")]
    TooManyReferrers {
        host: String,
        repository: String,
        subject: Digest,
        why: Overflow,
        limit: usize,
    },
    #[error("registry {registry} refused manifest {} (HTTP {status}): {answer}", at(.repository, .reference))]
    ManifestRejected {
        registry: String,
        repository: String,
        reference: String,
        status: u16,
        /// The answer: its OCI errors (`MANIFEST_BLOB_UNKNOWN`, `DENIED`, …) as data.
        answer: Answer,
    },
    /// An error answer to a push request (blob HEAD, POST, PUT, PATCH), with its OCI errors
    /// so the importer can tell "this repository does not exist" from other refusals. (`url`
    /// names the repository; one more field would make every `Result` of this error larger.)
    #[error("registry {registry} answered HTTP {status} to {method} {url}{}", .answer.tail())]
    PushRefused {
        registry: String,
        method: String,
        url: String,
        status: u16,
        answer: Answer,
    },
    /// An answer that breaks the distribution protocol, such as a `201 Created` to a POST
    /// that asked no mount: taking it at its word would report a blob that was never sent.
    #[error("registry {registry} broke the distribution protocol for blob {digest} in repository {repository}: {broken}")]
    Protocol {
        registry: String,
        repository: String,
        digest: Digest,
        broken: Broken,
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
    #[error("credentials")]
    Credentials(#[source] Boxed<CredentialError>),
    #[error("reading {what} from {host}")]
    Io {
        host: String,
        what: Item,
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

impl From<CredentialError> for RegistryError {
    fn from(e: CredentialError) -> Self {
        RegistryError::Credentials(Boxed::new(e))
    }
}

/// `repo@sha256:…` for a digest, `repo:tag` for a tag.
fn at(repository: &str, reference: &str) -> String {
    if reference.contains(':') {
        format!("{repository}@{reference}")
    } else {
        format!("{repository}:{reference}")
    }
}

fn for_repository(repository: &Option<String>) -> String {
    match repository {
        Some(r) => format!(" for repository {r}"),
        None => String::new(),
    }
}

fn plain_http_hint(plain_host: &Option<String>) -> String {
    match plain_host {
        Some(h) => format!(" (or, on a network you trust, name {h} with --plain-http)"),
        None => String::new(),
    }
}

/// `ANSWER; ` before the advice, or nothing for an empty answer.
fn answer_then(answer: &Answer) -> String {
    if answer.is_empty() {
        String::new()
    } else {
        format!("{answer}; ")
    }
}

fn foreign_try(tried: &Option<String>, status: &Option<u16>) -> String {
    match (tried, status) {
        (Some(url), Some(s)) => format!("{url}: HTTP {s}"),
        (Some(url), None) => url.clone(),
        (None, _) => "none of them is an http or https URL".into(),
    }
}

fn waited_note(seconds: &Option<u64>) -> String {
    match seconds {
        Some(s) => format!(" (Retry-After: {s} s)"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_a_request_was_about() {
        let of = |m, u| Item::of_request(m, u).to_string();
        assert_eq!(
            of("GET", "/v2/team/app/manifests/v1"),
            "manifest v1 of team/app"
        );
        assert_eq!(
            of("GET", "https://r:5000/v2/a/blobs/sha256:ab?x=1"),
            "blob sha256:ab of a"
        );
        assert_eq!(
            of("PUT", "/v2/a/b/blobs/uploads/u1?digest=sha256:ab"),
            "blob upload to a/b"
        );
        assert_eq!(
            of("GET", "/v2/a/referrers/sha256:ab?artifactType=x"),
            "referrers of sha256:ab in a"
        );
        assert_eq!(of("GET", "https://auth.io/token?s=1"), "GET /token");
    }

    #[test]
    fn stays_small() {
        // clippy's result_large_err: big fields are boxed rather than dropped.
        assert!(std::mem::size_of::<RegistryError>() <= 128);
    }
}
