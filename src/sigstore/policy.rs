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

impl Policy {
    /// Checks a verified leaf's SAN and OIDC issuer against a keyless policy; a key policy
    /// never accepts a certificate, since the key, not a CA, is what the user trusts.
    pub fn check_identity(
        &self,
        identity: Option<&str>,
        issuer: Option<&str>,
    ) -> Result<(), SigstoreError> {
        let Policy::Identity {
            identity: want_id,
            issuer: want_iss,
        } = self
        else {
            return Err(SigstoreError::Identity(
                "the bundle is signed keyless (a certificate), but a key was given to verify with"
                    .into(),
            ));
        };
        let Some(id) = identity else {
            return Err(SigstoreError::Identity(
                "the certificate has no subject alternative name".into(),
            ));
        };
        if !want_id.matches(id) {
            return Err(SigstoreError::Identity(format!(
                "the certificate's identity {id:?} does not match {want_id}"
            )));
        }
        let Some(iss) = issuer else {
            return Err(SigstoreError::Identity(
                "the certificate has no OIDC issuer extension".into(),
            ));
        };
        if !want_iss.matches(iss) {
            return Err(SigstoreError::Identity(format!(
                "the certificate's OIDC issuer {iss:?} does not match {want_iss}"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(id: Pattern, iss: Pattern) -> Policy {
        Policy::Identity {
            identity: id,
            issuer: iss,
        }
    }

    #[test]
    fn identity_and_issuer_must_both_match() {
        let p = policy(
            Pattern::Exact("a@example.com".into()),
            Pattern::regex("^https://issuer\\.example$").unwrap(),
        );
        p.check_identity(Some("a@example.com"), Some("https://issuer.example"))
            .unwrap();
        let wrong_id = p.check_identity(Some("b@example.com"), Some("https://issuer.example"));
        assert!(matches!(wrong_id, Err(SigstoreError::Identity(m)) if m.contains("b@example.com")));
        let wrong_iss = p.check_identity(Some("a@example.com"), Some("https://evil.example"));
        assert!(matches!(wrong_iss, Err(SigstoreError::Identity(m)) if m.contains("OIDC issuer")));
        assert!(matches!(
            p.check_identity(None, Some("https://issuer.example")),
            Err(SigstoreError::Identity(_))
        ));
    }

    #[test]
    fn a_regex_matches_anywhere_unless_anchored() {
        let r = Pattern::regex("example").unwrap();
        assert!(r.matches("https://github.com/example/repo"));
        assert!(!Pattern::Exact("example".into()).matches("https://example"));
        assert!(Pattern::regex("(").is_err());
    }
}
