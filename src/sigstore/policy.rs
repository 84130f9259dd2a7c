//! Who must have signed: a key, or a keyless identity (the certificate's SAN) and OIDC issuer,
//! each exact or a regular expression, as cosign's `--certificate-identity[-regexp]` and
//! `--certificate-oidc-issuer[-regexp]` name them. Regular expressions match anywhere unless
//! anchored, as in cosign (Go's `regexp.MatchString`).

use super::key::PublicKey;
use super::SigstoreError;

/// An exact string or a regular expression.
#[derive(Clone, Debug)]
pub enum Pattern {
    Exact(String),
    Regex(regex::Regex),
}

impl Pattern {
    /// Compiles a `…-regexp` value.
    pub fn regex(re: &str) -> Result<Pattern, SigstoreError> {
        regex::Regex::new(re)
            .map(Pattern::Regex)
            .map_err(|e| SigstoreError::malformed("regular expression", e))
    }

    pub fn matches(&self, s: &str) -> bool {
        match self {
            Pattern::Exact(e) => e == s,
            Pattern::Regex(r) => r.is_match(s),
        }
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pattern::Exact(e) => write!(f, "{e:?}"),
            Pattern::Regex(r) => write!(f, "/{}/", r.as_str()),
        }
    }
}

/// What a signature must verify against.
#[derive(Clone, Debug)]
pub enum Policy {
    /// A key (`--key`): the bundle's or annotation's public key must be this one, or the
    /// signature must verify with it.
    Key(PublicKey),
    /// Keyless: a Fulcio certificate whose SAN and OIDC-issuer extension match.
    Identity { identity: Pattern, issuer: Pattern },
}
