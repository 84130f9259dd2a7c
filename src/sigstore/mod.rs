//! Sigstore verification, offline (issue 17, DESIGN §6): the trust material is a
//! `trusted_root.json` (built in, or `--trusted-root`), never a network call.
//!
//! It owns the sigstore client specification's checks: a bundle's certificate chains to a
//! Fulcio CA valid at the signing time ([`cert`]), the signing time comes from a verified source
//! (a transparency-log entry's promise or proof, [`tlog`], or an RFC 3161 timestamp, [`tsa`]),
//! the log entry matches the signature, key and artifact, and the certificate's identity matches
//! the [`Policy`]. [`bundle`] puts them together for one sigstore bundle; [`dsse`] is the
//! envelope format attestations use. It must not import the registry, the layout or the CLI:
//! callers hand it bytes.

pub mod bundle;
pub mod cert;
pub mod dsse;
pub mod image;
pub mod key;
pub mod policy;
pub mod time;
pub mod tlog;
pub mod trust;
pub mod trust_root;
pub mod tsa;

pub use bundle::{verify_bundle, Artifact, Verified};
pub use key::PublicKey;
pub use policy::{Pattern, Policy};
pub use time::Time;
pub use trust_root::TrustedRoot;

/// Why a signature, bundle or trust root was refused. Each variant says which check failed so a
/// user can tell a wrong identity from a tampered log entry.
#[derive(Debug, thiserror::Error)]
pub enum SigstoreError {
    /// A structure (bundle, trust root, envelope, certificate, log entry) could not be read.
    #[error("{what} is malformed: {detail}")]
    Malformed { what: &'static str, detail: String },
    /// A feature of the input ferry does not verify (an unknown bundle version, key type…).
    #[error("{what} is not supported: {detail}")]
    Unsupported { what: &'static str, detail: String },
    /// A cryptographic signature did not verify.
    #[error("the {what} signature does not verify")]
    BadSignature { what: &'static str },
    /// The certificate does not chain to a trusted CA valid at the signing time.
    #[error("certificate: {0}")]
    Certificate(String),
    /// The certificate's identity or issuer is not the one the policy asks for.
    #[error("identity: {0}")]
    Identity(String),
    /// The transparency-log entry is missing, unproven or does not match.
    #[error("transparency log: {0}")]
    Tlog(String),
    /// An RFC 3161 timestamp is missing, untrusted or does not match.
    #[error("timestamp: {0}")]
    Timestamp(String),
    /// The artifact, payload or subject digest does not match what was signed.
    #[error("artifact: {0}")]
    Artifact(String),
}

impl SigstoreError {
    pub(crate) fn malformed(what: &'static str, detail: impl std::fmt::Display) -> SigstoreError {
        SigstoreError::Malformed {
            what,
            detail: detail.to_string(),
        }
    }
}

/// Standard base64, the encoding of every byte field in sigstore's JSON.
pub(crate) fn b64(what: &'static str, s: &str) -> Result<Vec<u8>, SigstoreError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| SigstoreError::malformed(what, format!("not base64 ({e})")))
}

/// Lower-case hex, as log ids, digests, key hints and in-toto subjects are written.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a hex string; None unless it is an even number of hex digits.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.is_ascii() {
        return None;
    }
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}
