//! Why authentication failed, and why credentials could not be found: the reasons of
//! [`RegistryError::Auth`](super::RegistryError::Auth) and
//! [`RegistryError::Credentials`](super::RegistryError::Credentials). A credential is named by
//! where it came from (`from`), never by its secret; a token service's answer is kept only as
//! described and scrubbed of the secret that was sent to it.

use std::path::PathBuf;

/// Why a registry or its token service did not let ferry in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// A challenge, and no credentials for it.
    NoCredentials,
    /// A 401 whose `WWW-Authenticate` ferry cannot answer.
    NoChallenge,
    /// Basic asked for, and the credentials `from` are an identity token.
    BasicWithIdentityToken { from: String },
    /// The registry refused the credentials `from`.
    Rejected { from: String },
    /// The token service at `realm` refused with `status` (401/403).
    TokenRefused {
        realm: String,
        status: u16,
        /// Where the credentials sent came from, and whether they are an identity token.
        from: Option<(String, bool)>,
    },
    /// The token service answered another error status; `answer` is described and scrubbed.
    TokenStatus {
        realm: String,
        status: u16,
        answer: String,
    },
    /// The token service refused an identity token in the OAuth2 refresh-token grant.
    RefreshRefused {
        realm: String,
        from: String,
        status: u16,
        answer: String,
    },
    /// The token service answered the refresh-token grant with another error status.
    RefreshStatus {
        realm: String,
        status: u16,
        answer: String,
    },
    /// A 200 whose body is not a token answer.
    NotAToken { realm: String },
    /// A token answer without a token.
    NoToken { realm: String },
}

impl std::fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthFailure::NoCredentials => f.write_str("the registry requires credentials and none were found; log in (docker login, or --username with --password-stdin) or set REGISTRY_AUTH_FILE"),
            AuthFailure::NoChallenge => f.write_str("401 without a usable WWW-Authenticate challenge"),
            AuthFailure::BasicWithIdentityToken { from } => write!(f, "the registry asks for a username and password (Basic), and {from} holds an identity token, which only a token service takes; log in with a username and password"),
            AuthFailure::Rejected { from } => write!(f, "the registry rejected the credentials from {from}; check the username and password"),
            AuthFailure::TokenRefused { realm, status, from: Some((from, true)) } => write!(f, "the token service {realm} refused the identity token from {from} (HTTP {status}); log in again (docker login)"),
            AuthFailure::TokenRefused { realm, status, from: Some((from, false)) } => write!(f, "the token service {realm} refused the credentials from {from} (HTTP {status}); check the username and password"),
            AuthFailure::TokenRefused { realm, status, from: None } => write!(f, "the token service {realm} requires credentials (HTTP {status}); log in (docker login, or --username with --password-stdin)"),
            AuthFailure::TokenStatus { realm, status, answer } => write!(f, "token service {realm} answered HTTP {status}: {answer}"),
            AuthFailure::RefreshRefused { realm, from, status, answer } => write!(f, "the token service {realm} refused the identity token from {from} (HTTP {status}: {answer}); log in again (docker login)"),
            AuthFailure::RefreshStatus { realm, status, answer } => write!(f, "token service {realm} answered HTTP {status} to the refresh-token grant: {answer}"),
            AuthFailure::NotAToken { realm } => write!(f, "token service {realm} answered something that is not a token"),
            AuthFailure::NoToken { realm } => write!(f, "token service {realm} answered without a token"),
        }
    }
}

/// Why the credentials for a registry could not be found.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not valid JSON", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// `from` names the file (and key) holding the entry.
    #[error("the \"auth\" entry in {from} is not base64 of user:password")]
    AuthEntry { from: String },
    #[error("cannot run credential helper {program}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("credential helper {program}")]
    Wait {
        program: String,
        source: std::io::Error,
    },
    #[error("credential helper {program} failed for {server} ({status})")]
    HelperFailed {
        program: String,
        server: String,
        status: std::process::ExitStatus,
    },
    #[error("credential helper {program} answered something that is not its JSON format")]
    HelperAnswer { program: String },
}
