//! The bundle's JSON (protobuf-specs' JSON mapping: camelCase names, int64 as strings, bytes as
//! base64) and the shape rules the client specification puts on it before any cryptography: a
//! known media type, one kind of verification material, one kind of content, and the log
//! evidence the bundle's version requires.

use serde::Deserialize;

use super::super::dsse::Envelope;
use super::super::tlog::Entry;
use super::super::{b64, SigstoreError};

/// The bundle formats ferry reads. They differ in what a log entry must carry and in how the
/// signing certificate is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    V01,
    V02,
    V03,
}

impl Version {
    /// The version a media type names; any other media type is refused, not guessed at.
    pub fn of(media_type: &str) -> Result<Version, SigstoreError> {
        match media_type {
            "application/vnd.dev.sigstore.bundle+json;version=0.1" => Ok(Version::V01),
            "application/vnd.dev.sigstore.bundle+json;version=0.2" => Ok(Version::V02),
            "application/vnd.dev.sigstore.bundle+json;version=0.3"
            | "application/vnd.dev.sigstore.bundle.v0.3+json" => Ok(Version::V03),
            other => Err(SigstoreError::Unsupported {
                what: "sigstore bundle",
                detail: format!(
                    "media type {other:?} (ferry reads bundle versions 0.1, 0.2 and 0.3)"
                ),
            }),
        }
    }
}

/// A `Bundle` message.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawBundle {
    #[serde(default)]
    pub media_type: String,
    pub verification_material: RawMaterial,
    #[serde(default)]
    pub message_signature: Option<RawMessageSignature>,
    #[serde(default)]
    pub dsse_envelope: Option<Envelope>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawMaterial {
    #[serde(default)]
    pub certificate: Option<RawCert>,
    #[serde(default)]
    pub x509_certificate_chain: Option<RawChain>,
    #[serde(default)]
    pub public_key: Option<RawKeyHint>,
    #[serde(default)]
    pub tlog_entries: Vec<Entry>,
    #[serde(default)]
    pub timestamp_verification_data: Option<RawTimestamps>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawCert {
    pub raw_bytes: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RawChain {
    #[serde(default)]
    pub certificates: Vec<RawCert>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RawKeyHint {
    #[serde(default)]
    pub hint: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawTimestamps {
    #[serde(default)]
    pub rfc3161_timestamps: Vec<RawTimestamp>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawTimestamp {
    pub signed_timestamp: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawMessageSignature {
    #[serde(default)]
    pub message_digest: Option<RawDigest>,
    pub signature: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RawDigest {
    pub algorithm: String,
    pub digest: String,
}

/// Who signed, as the bundle says.
#[derive(Clone, Debug)]
pub enum Material {
    /// Keyless: the leaf certificate (DER) and any further certificates a v0.1/v0.2 chain lists.
    Certificate {
        leaf: Vec<u8>,
        intermediates: Vec<Vec<u8>>,
    },
    /// A managed key, named only by an optional hint: the verifier supplies the key.
    Key { hint: Option<String> },
}

/// What was signed, as the bundle carries it.
#[derive(Clone, Debug)]
pub enum Content {
    /// A signature over the artifact, with the digest the signer stated (an unauthenticated hint).
    Message {
        digest: Option<Vec<u8>>,
        signature: Vec<u8>,
    },
    /// A DSSE envelope (attestations) and its one signature, decoded.
    Dsse {
        envelope: Envelope,
        signature: Vec<u8>,
    },
}

/// A bundle whose shape passed the specification's rules.
#[derive(Clone, Debug)]
pub struct Bundle {
    pub version: Version,
    pub material: Material,
    pub content: Content,
    pub tlog_entries: Vec<Entry>,
    /// DER RFC 3161 timestamps over the signature.
    pub timestamps: Vec<Vec<u8>>,
}

/// At most this many RFC 3161 timestamps, as sigstore-python bounds them: each costs a CMS check.
const MAX_TIMESTAMPS: usize = 32;

impl Bundle {
    /// Parses a bundle's JSON and checks its shape.
    pub fn parse(json: &[u8]) -> Result<Bundle, SigstoreError> {
        let raw: RawBundle = serde_json::from_slice(json)
            .map_err(|e| SigstoreError::malformed("sigstore bundle", e))?;
        let version = Version::of(&raw.media_type)?;
        let m = raw.verification_material;
        let material = material(
            version,
            m.certificate,
            m.x509_certificate_chain,
            m.public_key,
        )?;
        let content = content(raw.message_signature, raw.dsse_envelope)?;
        for entry in &m.tlog_entries {
            check_entry(entry)?;
        }
        if m.tlog_entries.is_empty() {
            return Err(SigstoreError::Tlog(
                "the bundle has no transparency-log entry (ferry verifies offline, so the \
                 entry must be in the bundle)"
                    .into(),
            ));
        }
        let stamps = m
            .timestamp_verification_data
            .map(|t| t.rfc3161_timestamps)
            .unwrap_or_default();
        if stamps.len() > MAX_TIMESTAMPS {
            return Err(SigstoreError::Timestamp(format!(
                "{} RFC 3161 timestamps, at most {MAX_TIMESTAMPS} are checked",
                stamps.len()
            )));
        }
        let timestamps = stamps
            .iter()
            .map(|t| bytes_field("RFC 3161 timestamp", &t.signed_timestamp))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, t) in timestamps.iter().enumerate() {
            if timestamps.iter().take(i).any(|u| u == t) {
                return Err(SigstoreError::Timestamp(
                    "the same RFC 3161 timestamp is listed twice".into(),
                ));
            }
        }
        Ok(Bundle {
            version,
            material,
            content,
            tlog_entries: m.tlog_entries,
            timestamps,
        })
    }
}

fn material(
    version: Version,
    certificate: Option<RawCert>,
    chain: Option<RawChain>,
    key: Option<RawKeyHint>,
) -> Result<Material, SigstoreError> {
    let bad = |d: &str| SigstoreError::malformed("bundle verification material", d);
    match (certificate, chain, key) {
        (Some(c), None, None) => Ok(Material::Certificate {
            leaf: bytes_field("bundle certificate", &c.raw_bytes)?,
            intermediates: Vec::new(),
        }),
        (None, Some(_), None) if version >= Version::V03 => Err(bad(
            "a v0.3 bundle carries one `certificate`, not an `x509CertificateChain`",
        )),
        (None, Some(chain), None) => {
            let mut certs = chain
                .certificates
                .iter()
                .map(|c| bytes_field("bundle certificate", &c.raw_bytes))
                .collect::<Result<Vec<_>, _>>()?;
            if certs.is_empty() {
                return Err(bad("the x509CertificateChain is empty"));
            }
            let leaf = certs.remove(0);
            for c in &certs {
                if is_self_issued(c)? {
                    return Err(SigstoreError::Certificate(
                        "the bundle's chain includes a root certificate; trust comes only from \
                         the trusted root"
                            .into(),
                    ));
                }
            }
            Ok(Material::Certificate {
                leaf,
                intermediates: certs,
            })
        }
        (None, None, Some(k)) => Ok(Material::Key { hint: k.hint }),
        (None, None, None) => Err(bad(
            "none of certificate, x509CertificateChain or publicKey",
        )),
        _ => Err(bad(
            "more than one of certificate, x509CertificateChain and publicKey",
        )),
    }
}

/// Whether a certificate names itself as its issuer (a root, for the client spec's "the chain
/// must not include a root" rule).
fn is_self_issued(der: &[u8]) -> Result<bool, SigstoreError> {
    use der::Decode;
    let c = x509_cert::Certificate::from_der(der)
        .map_err(|e| SigstoreError::malformed("bundle certificate", e))?;
    Ok(c.tbs_certificate.subject == c.tbs_certificate.issuer)
}

fn content(
    message: Option<RawMessageSignature>,
    dsse: Option<Envelope>,
) -> Result<Content, SigstoreError> {
    match (message, dsse) {
        (Some(m), None) => Ok(Content::Message {
            digest: match m.message_digest {
                None => None,
                Some(d) if d.algorithm == "SHA2_256" => {
                    Some(bytes_field("bundle message digest", &d.digest)?)
                }
                Some(d) => {
                    return Err(SigstoreError::Unsupported {
                        what: "bundle message digest",
                        detail: format!("algorithm {:?} (ferry checks SHA2_256)", d.algorithm),
                    })
                }
            },
            signature: bytes_field("bundle message signature", &m.signature)?,
        }),
        (None, Some(envelope)) => {
            let signature = match envelope.signatures.as_slice() {
                [one] => bytes_field("DSSE signature", &one.sig)?,
                sigs => {
                    return Err(SigstoreError::malformed(
                        "DSSE envelope",
                        format!("{} signatures, expected exactly one", sigs.len()),
                    ))
                }
            };
            Ok(Content::Dsse {
                envelope,
                signature,
            })
        }
        (None, None) => Err(SigstoreError::malformed(
            "sigstore bundle",
            "neither messageSignature nor dsseEnvelope",
        )),
        (Some(_), Some(_)) => Err(SigstoreError::malformed(
            "sigstore bundle",
            "both messageSignature and dsseEnvelope",
        )),
    }
}

/// Indexes and times are non-negative integers (the per-version evidence rules, a SET for
/// v0.1 and an inclusion proof from v0.2 on, are `tlog::Requires`).
fn check_entry(e: &Entry) -> Result<(), SigstoreError> {
    let non_negative = |what: &str, v: &str| -> Result<(), SigstoreError> {
        match v.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(()),
            _ => Err(SigstoreError::Tlog(format!(
                "the entry's {what} {v:?} is not a non-negative integer"
            ))),
        }
    };
    if let Some(i) = &e.log_index {
        non_negative("logIndex", i)?;
    }
    if let Some(t) = &e.integrated_time {
        non_negative("integratedTime", t)?;
    }
    if let Some(p) = &e.inclusion_proof {
        non_negative("inclusion proof's logIndex", &p.log_index)?;
        non_negative("inclusion proof's treeSize", &p.tree_size)?;
    }
    Ok(())
}

/// A `bytes` field as protobuf's JSON mapping accepts it: standard or URL-safe base64, with or
/// without padding, and (as Go's and Python's decoders do) line breaks inside, which
/// `base64`-wrapped values carry. DSSE envelopes in a bundle are such fields too.
pub fn bytes_field(what: &'static str, s: &str) -> Result<Vec<u8>, SigstoreError> {
    let mut t: String = s
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while t.len() % 4 != 0 {
        t.push('=');
    }
    b64(what, &t)
}
