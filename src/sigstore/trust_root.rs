//! The trust material, read from a sigstore `trusted_root.json`
//! (`application/vnd.dev.sigstore.trustedroot+json;version=0.1`): Fulcio CA chains, Rekor log
//! keys, CT log keys and timestamp authorities, each valid for a period. ferry carries a copy of
//! Sigstore's public-good production and staging roots (`assets/sigstore/`), so verifying needs
//! no network; `--trusted-root FILE` replaces them.

use serde::Deserialize;

use super::key::PublicKey;
use super::time::{parse_rfc3339, Time};
use super::{b64, SigstoreError};

/// Sigstore's public-good production root, as shipped in the `sigstore` 4.5.1 Python package.
pub const PRODUCTION: &str = include_str!("../../assets/sigstore/production-trusted_root.json");
/// Sigstore's staging root, the same snapshot.
pub const STAGING: &str = include_str!("../../assets/sigstore/staging-trusted_root.json");
/// `--trusted-root`'s help: where the root comes from when the flag is absent.
pub const TRUSTED_ROOT_HELP: &str = "The sigstore trusted_root.json to verify against (Fulcio CAs, Rekor and CT log keys, timestamp authorities) [default: the Sigstore public-good production root built into ferry: the roots as shipped in the sigstore 4.5.1 Python package; --staging: the staging root of the same snapshot]";
/// Which snapshot the built-in roots are, for `--help`.
pub const SNAPSHOT: &str =
    "Sigstore public-good roots as shipped in the sigstore 4.5.1 Python package";

/// A validity period; `end` is inclusive and absent while the key or CA is current.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    pub start: Time,
    pub end: Option<Time>,
}

impl Validity {
    /// Whether `t` lies in the period (both ends inclusive).
    pub fn contains(&self, t: Time) -> bool {
        t >= self.start && self.end.is_none_or(|e| t <= e)
    }
}

/// A certificate authority (Fulcio) or timestamp authority: a chain, leaf-most first, the
/// last certificate being the root.
#[derive(Clone, Debug)]
pub struct Authority {
    pub uri: String,
    /// DER certificates, as listed (issuing CA first, root last).
    pub chain: Vec<Vec<u8>>,
    pub valid_for: Validity,
}

/// A transparency log (Rekor) or certificate-transparency log.
#[derive(Clone, Debug)]
pub struct Log {
    pub base_url: String,
    /// DER SubjectPublicKeyInfo.
    pub key_der: Vec<u8>,
    pub key: PublicKey,
    /// `logId.keyId`: the id entries and SCTs name this log by.
    pub log_id: Vec<u8>,
    pub valid_for: Validity,
}

/// The parsed trust root.
#[derive(Clone, Debug)]
pub struct TrustedRoot {
    pub certificate_authorities: Vec<Authority>,
    pub tlogs: Vec<Log>,
    pub ctlogs: Vec<Log>,
    pub timestamp_authorities: Vec<Authority>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoot {
    media_type: Option<String>,
    #[serde(default)]
    tlogs: Vec<RawLog>,
    #[serde(default)]
    certificate_authorities: Vec<RawAuthority>,
    #[serde(default)]
    ctlogs: Vec<RawLog>,
    #[serde(default)]
    timestamp_authorities: Vec<RawAuthority>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    #[serde(default)]
    base_url: String,
    public_key: RawKey,
    log_id: RawLogId,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawKey {
    raw_bytes: String,
    valid_for: Option<RawValidity>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAuthority {
    #[serde(default)]
    uri: String,
    cert_chain: RawChain,
    valid_for: Option<RawValidity>,
}

#[derive(Deserialize)]
struct RawChain {
    certificates: Vec<RawCert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCert {
    raw_bytes: String,
}

#[derive(Deserialize)]
struct RawValidity {
    start: Option<String>,
    end: Option<String>,
}

fn validity(v: Option<RawValidity>, what: &'static str) -> Result<Validity, SigstoreError> {
    // A period without a start is refused: the client spec treats it as invalid trust material.
    let v = v.ok_or_else(|| SigstoreError::malformed(what, "no validFor period"))?;
    let start = v
        .start
        .ok_or_else(|| SigstoreError::malformed(what, "validFor has no start"))?;
    Ok(Validity {
        start: parse_rfc3339(&start)?,
        end: v.end.as_deref().map(parse_rfc3339).transpose()?,
    })
}

fn log(raw: RawLog, what: &'static str) -> Result<Log, SigstoreError> {
    let key_der = b64(what, &raw.public_key.raw_bytes)?;
    Ok(Log {
        base_url: raw.base_url,
        key: PublicKey::from_spki_der(&key_der)?,
        key_der,
        log_id: b64(what, &raw.log_id.key_id)?,
        valid_for: validity(raw.public_key.valid_for, what)?,
    })
}

fn authority(raw: RawAuthority, what: &'static str) -> Result<Authority, SigstoreError> {
    let chain = raw
        .cert_chain
        .certificates
        .iter()
        .map(|c| b64(what, &c.raw_bytes))
        .collect::<Result<Vec<_>, _>>()?;
    if chain.is_empty() {
        return Err(SigstoreError::malformed(what, "an empty certificate chain"));
    }
    Ok(Authority {
        uri: raw.uri,
        chain,
        valid_for: validity(raw.valid_for, what)?,
    })
}

impl TrustedRoot {
    /// Parses a `trusted_root.json`.
    pub fn from_json(text: &str) -> Result<TrustedRoot, SigstoreError> {
        let raw: RawRoot =
            serde_json::from_str(text).map_err(|e| SigstoreError::malformed("trusted root", e))?;
        if let Some(mt) = &raw.media_type {
            if !mt.starts_with("application/vnd.dev.sigstore.trustedroot") {
                return Err(SigstoreError::Unsupported {
                    what: "trusted root",
                    detail: format!("media type {mt:?}"),
                });
            }
        }
        Ok(TrustedRoot {
            tlogs: raw
                .tlogs
                .into_iter()
                .map(|l| log(l, "trusted root tlog"))
                .collect::<Result<_, _>>()?,
            ctlogs: raw
                .ctlogs
                .into_iter()
                .map(|l| log(l, "trusted root ctlog"))
                .collect::<Result<_, _>>()?,
            certificate_authorities: raw
                .certificate_authorities
                .into_iter()
                .map(|a| authority(a, "trusted root certificate authority"))
                .collect::<Result<_, _>>()?,
            timestamp_authorities: raw
                .timestamp_authorities
                .into_iter()
                .map(|a| authority(a, "trusted root timestamp authority"))
                .collect::<Result<_, _>>()?,
        })
    }

    /// The built-in production (`false`) or staging (`true`) root.
    pub fn builtin(staging: bool) -> TrustedRoot {
        TrustedRoot::from_json(if staging { STAGING } else { PRODUCTION })
            .expect("the built-in trusted roots parse (a unit test checks)")
    }

    /// The transparency log an entry names by `logId.keyId`.
    pub fn tlog(&self, log_id: &[u8]) -> Option<&Log> {
        self.tlogs.iter().find(|l| l.log_id == log_id)
    }

    /// The CT log an SCT names by its `LogID`.
    pub fn ctlog(&self, log_id: &[u8]) -> Option<&Log> {
        self.ctlogs.iter().find(|l| l.log_id == log_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_roots_parse() {
        for staging in [false, true] {
            let r = TrustedRoot::builtin(staging);
            assert!(
                !r.tlogs.is_empty()
                    && !r.ctlogs.is_empty()
                    && !r.certificate_authorities.is_empty()
            );
        }
        let p = TrustedRoot::builtin(false);
        assert_eq!(
            p.tlogs[0].log_id,
            super::super::key::key_id(&p.tlogs[0].key_der)
        );
    }
}
