//! The signatures an image carries, checked offline: cosign 2 `.sig` (simple signing, key or
//! keyless with the certificate, chain and Rekor bundle annotations), cosign 2 `.att` (DSSE
//! envelopes of in-toto statements) and sigstore bundles stored as OCI 1.1 referrers. The
//! caller hands in a signature manifest's layers and a way to read their bytes, so a bundle on
//! disk and a registry are checked by the same code. Formats ferry cannot check (notation) are
//! found, never reported valid.

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::bundle::{verify_bundle, Artifact};
use super::cert;
use super::dsse::{Envelope, Statement};
use super::key::PublicKey;
use super::policy::Policy;
use super::time::{format_rfc3339, Time};
use super::tlog::{self, Expected, Signer};
use super::trust_root::TrustedRoot;
use super::{b64, unhex, SigstoreError};
use crate::digest::Digest;
use crate::manifest::Checked;
use rekor::RekorBundle;

mod rekor;

/// Media type of a cosign simple-signing payload layer.
pub const SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Media type of a cosign attestation layer (a DSSE envelope).
pub const DSSE_LAYER: &str = "application/vnd.dsse.envelope.v1+json";
/// Layer annotation holding the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// Layer annotation holding the PEM Fulcio certificate of a keyless signature.
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// Layer annotation holding the Rekor entry and its signed entry timestamp.
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
/// Layer annotation of an attestation's predicate type.
pub const PREDICATE_ANNOTATION: &str = "predicateType";
/// Artifact type prefix of sigstore bundles stored as referrers (cosign 3, OCI 1.1).
pub const SIGSTORE_BUNDLE: &str = "application/vnd.dev.sigstore.bundle";
/// Artifact type of Notary Project signatures: carried, not checked.
pub const NOTATION: &str = "application/vnd.cncf.notary.signature";

/// What kind of signature artifact an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    CosignSignature,
    CosignAttestation,
    SigstoreBundle,
    /// A signature format ferry carries but does not check.
    Notation,
}

impl Kind {
    /// The kind of an attached entry, from its tag (`sha256-<hex>.sig|.att`) or artifact type;
    /// None for what is no signature (an SBOM, a plain referrer).
    pub fn of(tag: Option<&str>, artifact_type: Option<&str>) -> Option<Kind> {
        match (tag, artifact_type) {
            (_, Some(t)) if t.starts_with(SIGSTORE_BUNDLE) => Some(Kind::SigstoreBundle),
            (_, Some(t)) if t.starts_with(NOTATION) => Some(Kind::Notation),
            (Some(t), _) if t.ends_with(".sig") => Some(Kind::CosignSignature),
            (Some(t), _) if t.ends_with(".att") => Some(Kind::CosignAttestation),
            _ => None,
        }
    }

    /// Whether ferry checks this kind.
    pub fn checkable(self) -> bool {
        self != Kind::Notation
    }
}

/// One signature or attestation found on a manifest, and what checking it showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: Kind,
    /// The bundle entry (or registry tag/digest) it came from.
    pub entry: String,
    pub verified: bool,
    /// Why it does not verify (or why it was not checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// RFC 3339, from a verified source (a Rekor entry or a trusted timestamp).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
}

/// What a verified signature says.
#[derive(Debug, Clone, Default)]
struct Details {
    identity: Option<String>,
    issuer: Option<String>,
    signing_time: Option<Time>,
    predicate_type: Option<String>,
}

/// Who must have signed, and the trust material to check it with.
#[derive(Debug, Clone)]
pub struct Checker {
    pub policy: Policy,
    pub root: TrustedRoot,
}

/// Reads a layer's bytes (verified against its digest by the caller's store).
pub type Fetch<'a> = dyn FnMut(&Checked) -> Result<Vec<u8>, String> + 'a;

impl Checker {
    /// Checks every signature layer of one signature artifact of `kind` over `subject`.
    pub fn check(
        &self,
        kind: Kind,
        entry: &str,
        layers: &[Checked],
        subject: &Digest,
        fetch: &mut Fetch<'_>,
    ) -> Vec<Finding> {
        let wanted: &dyn Fn(&str) -> bool = match kind {
            Kind::CosignSignature => &|m| m == SIMPLESIGNING,
            Kind::CosignAttestation => &|m| m == DSSE_LAYER,
            Kind::SigstoreBundle => &|m| m.starts_with(SIGSTORE_BUNDLE) || m == "application/json",
            Kind::Notation => {
                return vec![not_checked(
                    kind,
                    entry,
                    "a notation signature: format not checked",
                )];
            }
        };
        let found: Vec<&Checked> = layers
            .iter()
            .filter(|l| wanted(&l.descriptor.media_type))
            .collect();
        if found.is_empty() {
            let why = match kind {
                Kind::CosignSignature => "the signature manifest has no simple-signing layer",
                Kind::CosignAttestation => "the attestation manifest has no DSSE envelope layer",
                _ => "the referrer has no sigstore bundle layer",
            };
            return vec![failed(kind, entry, why.to_string())];
        }
        found
            .into_iter()
            .map(|layer| {
                let result = fetch(layer).and_then(|bytes| {
                    self.check_layer(kind, layer, &bytes, subject)
                        .map_err(|e| e.to_string())
                });
                match result {
                    Ok(d) => Finding {
                        kind,
                        entry: entry.to_string(),
                        verified: true,
                        reason: None,
                        identity: d.identity,
                        issuer: d.issuer,
                        signing_time: d.signing_time.map(format_rfc3339),
                        predicate_type: d.predicate_type,
                    },
                    Err(reason) => failed(kind, entry, reason),
                }
            })
            .collect()
    }

    fn check_layer(
        &self,
        kind: Kind,
        layer: &Checked,
        bytes: &[u8],
        subject: &Digest,
    ) -> Result<Details, SigstoreError> {
        let annotations = &layer.descriptor.annotations;
        match kind {
            Kind::SigstoreBundle => {
                let hex: [u8; 32] = hex32(subject.hex())?;
                let v = verify_bundle(bytes, Artifact::Sha256(&hex), &self.policy, &self.root)?;
                let predicate_type = match &v.dsse {
                    Some((_, payload)) => Some(Statement::parse(payload)?.predicate_type),
                    None => None,
                };
                Ok(Details {
                    identity: v.identity,
                    issuer: v.issuer,
                    signing_time: Some(v.signing_time),
                    predicate_type,
                })
            }
            Kind::CosignSignature => {
                let sig_b64 = annotations.get(SIGNATURE_ANNOTATION).ok_or_else(|| {
                    SigstoreError::malformed(
                        "signature layer",
                        format!("no {SIGNATURE_ANNOTATION} annotation"),
                    )
                })?;
                let sig = b64("signature", sig_b64)?;
                let digest = Sha256::digest(bytes);
                let signed = Signed::Message {
                    digest: &digest,
                    signature: &sig,
                };
                let details = self.signer(
                    annotations,
                    &|key| key.verify(bytes, &sig, "cosign"),
                    signed,
                )?;
                signs(bytes, subject)?;
                Ok(details)
            }
            Kind::CosignAttestation => {
                let envelope: Envelope = serde_json::from_slice(bytes)
                    .map_err(|e| SigstoreError::malformed("DSSE envelope", e))?;
                let details = self.signer(
                    annotations,
                    &|key| envelope.verify(key).map(drop),
                    Signed::Dsse(&envelope),
                )?;
                let statement = Statement::parse(&envelope.payload_bytes()?)?;
                if !statement.names_sha256(subject.hex()) {
                    return Err(SigstoreError::Artifact(format!(
                        "the attestation's subjects do not name this manifest {subject}"
                    )));
                }
                Ok(Details {
                    predicate_type: Some(statement.predicate_type),
                    ..details
                })
            }
            Kind::Notation => Err(SigstoreError::Unsupported {
                what: "notation signature",
                detail: "format not checked".into(),
            }),
        }
    }

    /// Who signed a cosign 2 layer: with a key, the key verifies it (and a Rekor bundle, when
    /// present, must record it); keyless, the certificate chains to Fulcio at the Rekor time,
    /// matches the identity, verifies it, and the Rekor entry records it.
    fn signer(
        &self,
        annotations: &std::collections::BTreeMap<String, String>,
        verify: &dyn Fn(&PublicKey) -> Result<(), SigstoreError>,
        signed: Signed<'_>,
    ) -> Result<Details, SigstoreError> {
        let rekor = annotations
            .get(BUNDLE_ANNOTATION)
            .map(|b| RekorBundle::parse(b))
            .transpose()?;
        match &self.policy {
            Policy::Key(key) => {
                verify(key)?;
                let mut signing_time = None;
                if let Some(r) = &rekor {
                    let der = key.spki_der()?;
                    signing_time = Some(r.verify(&self.root, &signed.by(Signer::Key(&der)))?);
                }
                Ok(Details {
                    signing_time,
                    ..Details::default()
                })
            }
            Policy::Identity { .. } => {
                let pem = annotations.get(CERTIFICATE_ANNOTATION).ok_or_else(|| {
                    SigstoreError::Certificate(format!(
                        "no {CERTIFICATE_ANNOTATION} annotation: not a keyless signature"
                    ))
                })?;
                let leaf_der = pem_leaf(pem)?;
                let rekor = rekor.ok_or_else(|| {
                    SigstoreError::Tlog(format!("no {BUNDLE_ANNOTATION} annotation: the signing time cannot be verified offline"))
                })?;
                // The SET first: it is what makes the integrated time a verified signing time.
                let time = rekor.verify_set(&self.root)?;
                // cosign's chain annotation repeats the CA chain up to the root: the path is built from
                // the trust root alone, so it is not read.
                let leaf = cert::verify_chain(&leaf_der, &[], &self.root, time)?;
                self.policy
                    .check_identity(leaf.identity.as_deref(), leaf.issuer.as_deref())?;
                verify(&leaf.public_key)?;
                tlog::check_body(&rekor.entry(), &signed.by(Signer::Certificate(&leaf_der)))?;
                Ok(Details {
                    identity: leaf.identity,
                    issuer: leaf.issuer,
                    signing_time: Some(time),
                    predicate_type: annotations.get(PREDICATE_ANNOTATION).cloned(),
                })
            }
        }
    }
}

/// What a cosign 2 layer signs, for matching its Rekor entry.
#[derive(Clone, Copy)]
enum Signed<'a> {
    Message {
        digest: &'a [u8],
        signature: &'a [u8],
    },
    Dsse(&'a Envelope),
}

impl<'a> Signed<'a> {
    fn by<'b>(self, verifier: Signer<'b>) -> Expected<'b>
    where
        'a: 'b,
    {
        match self {
            Signed::Message { digest, signature } => Expected::Message {
                digest,
                signature,
                verifier,
            },
            Signed::Dsse(envelope) => Expected::Dsse { envelope, verifier },
        }
    }
}

/// The simple-signing payload must name `subject` as the signed manifest.
fn signs(payload: &[u8], subject: &Digest) -> Result<(), SigstoreError> {
    let v: serde_json::Value = serde_json::from_slice(payload)
        .map_err(|e| SigstoreError::Artifact(format!("the signed payload is not JSON: {e}")))?;
    let signed = v
        .pointer("/critical/image/docker-manifest-digest")
        .and_then(|x| x.as_str())
        .ok_or_else(|| {
            SigstoreError::Artifact(
                "the signed payload has no critical.image.docker-manifest-digest".into(),
            )
        })?;
    if signed != subject.to_string() {
        return Err(SigstoreError::Artifact(format!(
            "the payload signs {signed}, not this manifest {subject}"
        )));
    }
    Ok(())
}

/// A sha256 digest's 32 bytes from its hex.
fn hex32(hex: &str) -> Result<[u8; 32], SigstoreError> {
    unhex(hex)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| SigstoreError::malformed("digest", "not a sha256 digest"))
}

/// The DER of the first `CERTIFICATE` block of a PEM text (the certificate annotation), read
/// with the PEM parser the TLS settings use.
fn pem_leaf(pem: &str) -> Result<Vec<u8>, SigstoreError> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .map(|c| c.to_vec())
        .map_err(|e| {
            SigstoreError::Certificate(format!(
                "the certificate annotation holds no PEM certificate ({e})"
            ))
        })
}

/// A finding that did not verify, and why.
pub fn failed(kind: Kind, entry: &str, reason: String) -> Finding {
    Finding {
        kind,
        entry: entry.to_string(),
        verified: false,
        reason: Some(reason),
        identity: None,
        issuer: None,
        signing_time: None,
        predicate_type: None,
    }
}

fn not_checked(kind: Kind, entry: &str, why: &str) -> Finding {
    failed(kind, entry, why.to_string())
}
