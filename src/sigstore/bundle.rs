//! One sigstore bundle (`application/vnd.dev.sigstore.bundle[.v0.3]+json`, versions 0.1–0.3),
//! verified as the sigstore client specification says: parse, establish a verified signing
//! time ([`tlog`](super::tlog), [`tsa`](super::tsa)), chain the certificate at that time
//! ([`cert`](super::cert)) or take the key, check the signature over the artifact or the DSSE
//! envelope, check the log entry records this signature, and match the policy.
//!
//! The order is the cheap, local checks first (shape, policy kind, the bundle's own digest
//! against the artifact, the signature), then the trust decisions (times, chain, identity, log
//! entry); every one must pass, so the order only decides which failure a user is told about.

mod content;
mod model;
#[cfg(test)]
mod tests;

pub use model::{bytes_field, Bundle, Content, Material, Version};

use super::policy::Policy;
use super::time::{format_rfc3339, Time};
use super::trust_root::TrustedRoot;
use super::{cert, tlog, tsa, SigstoreError};

/// What was signed: the bytes, or only their SHA-256 (`sha256:<hex>` on the command line).
#[derive(Clone, Copy, Debug)]
pub enum Artifact<'a> {
    Bytes(&'a [u8]),
    Sha256(&'a [u8; 32]),
}

/// What a verified bundle says.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The certificate's SAN (keyless) or `None` (key).
    pub identity: Option<String>,
    /// The certificate's OIDC issuer (keyless).
    pub issuer: Option<String>,
    /// The earliest verified signing time.
    pub signing_time: Time,
    /// For a DSSE bundle: the payload type and the payload (an in-toto statement for attestations).
    pub dsse: Option<(String, Vec<u8>)>,
}

/// Verifies a bundle's JSON over `artifact` against `policy` and `root`.
pub fn verify_bundle(
    json: &[u8],
    artifact: Artifact<'_>,
    policy: &Policy,
    root: &TrustedRoot,
) -> Result<Verified, SigstoreError> {
    let bundle = Bundle::parse(json)?;
    let digest = content::sha256(artifact);

    // The bundle's own claims about the artifact (checked again once signed, below).
    match &bundle.content {
        Content::Message { digest: stated, .. } => {
            content::check_stated_digest(stated.as_deref(), &digest)?
        }
        Content::Dsse { envelope, .. } => {
            content::check_subject(&envelope.payload_type, &envelope.payload_bytes()?, &digest)?
        }
    }

    // Who signed: the policy decides which kind of material is acceptable.
    let (key, leaf) = match (&bundle.material, policy) {
        (Material::Key { .. }, Policy::Key(k)) => (k.clone(), None),
        (Material::Key { hint }, Policy::Identity { .. }) => {
            return Err(SigstoreError::Identity(format!(
                "the bundle is signed with a managed key{}, but no key was given to verify \
                 it with (--key)",
                hint.as_deref()
                    .map(|h| format!(" (hint {h:?})"))
                    .unwrap_or_default()
            )))
        }
        (Material::Certificate { .. }, Policy::Key(_)) => {
            return Err(SigstoreError::Identity(
                "the bundle is signed keyless (a certificate), but a key was given to verify \
                 with"
                    .into(),
            ))
        }
        (Material::Certificate { leaf, .. }, Policy::Identity { .. }) => {
            (cert::parse_leaf(leaf)?.public_key, Some(leaf.as_slice()))
        }
    };

    // The signature over the artifact or the envelope.
    let dsse = match &bundle.content {
        Content::Message { signature, .. } => {
            content::check_message_signature(&key, artifact, signature)?;
            None
        }
        Content::Dsse { envelope, .. } => {
            let payload = content::check_dsse(&key, envelope, &digest)?;
            Some((envelope.payload_type.clone(), payload))
        }
    };

    // Verified times: the timestamp authorities' over the signature, then the logs'.
    let times = verified_times(&bundle, root, now())?;

    // Keyless: the certificate chains to a Fulcio CA at every verified time.
    let mut identity = (None, None);
    if let (Some(leaf), Material::Certificate { intermediates, .. }) = (leaf, &bundle.material) {
        for &(t, _) in &times {
            let verified = cert::verify_chain(leaf, intermediates, root, t)?;
            identity = (verified.identity, verified.issuer);
        }
        policy.check_identity(identity.0.as_deref(), identity.1.as_deref())?;
    }

    // Every log entry records this signature, by this signer, over this artifact.
    let key_der = match leaf {
        Some(_) => Vec::new(),
        None => key.spki_der()?,
    };
    let signer = match leaf {
        Some(l) => tlog::Signer::Certificate(l),
        None => tlog::Signer::Key(&key_der),
    };
    let expected = match &bundle.content {
        Content::Message { signature, .. } => tlog::Expected::Message {
            digest: &digest,
            signature,
            verifier: signer,
        },
        Content::Dsse { envelope, .. } => tlog::Expected::Dsse {
            envelope,
            verifier: signer,
        },
    };
    for entry in &bundle.tlog_entries {
        tlog::check_body(entry, &expected)?;
    }

    Ok(Verified {
        identity: identity.0,
        issuer: identity.1,
        signing_time: times.iter().map(|&(t, _)| t).min().unwrap_or_default(),
        dsse,
    })
}

/// Where a verified time came from, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSource {
    Timestamp,
    Tlog,
}

/// Every RFC 3161 timestamp must verify over the signature and every log entry must verify
/// (its SET or inclusion proof); their times are the verified times.
pub fn verified_times(
    bundle: &Bundle,
    root: &TrustedRoot,
    now: Time,
) -> Result<Vec<(Time, TimeSource)>, SigstoreError> {
    collect_times(
        bundle,
        now,
        |token, signature| tsa::verify_timestamp(token, signature, root),
        |entry| {
            let requires = match bundle.version {
                Version::V01 => tlog::Requires::Promise,
                _ => tlog::Requires::Proof,
            };
            Ok(tlog::verify_entry_for(entry, root, requires)?.integrated_time)
        },
    )
}

/// The rules over the verified times, whoever verifies them: at least one (a Rekor v2 entry
/// gives none, so such a bundle needs a timestamp), none after `now` (nothing is signed in the
/// future).
fn collect_times(
    bundle: &Bundle,
    now: Time,
    stamp: impl Fn(&[u8], &[u8]) -> Result<Time, SigstoreError>,
    entry_time: impl Fn(&tlog::Entry) -> Result<Option<Time>, SigstoreError>,
) -> Result<Vec<(Time, TimeSource)>, SigstoreError> {
    let signature = match &bundle.content {
        Content::Message { signature, .. } | Content::Dsse { signature, .. } => signature,
    };
    let mut times = Vec::new();
    for token in &bundle.timestamps {
        let t = stamp(token, signature)?;
        if t > now {
            return Err(SigstoreError::Timestamp(format!(
                "the timestamp's time {} is in the future",
                format_rfc3339(t)
            )));
        }
        times.push((t, TimeSource::Timestamp));
    }
    for entry in &bundle.tlog_entries {
        if let Some(t) = entry_time(entry)? {
            if t > now {
                return Err(SigstoreError::Tlog(format!(
                    "the entry's integrated time {} is in the future",
                    format_rfc3339(t)
                )));
            }
            times.push((t, TimeSource::Tlog));
        }
    }
    if times.is_empty() {
        return Err(SigstoreError::Timestamp(
            "no verified signing time: the bundle has no RFC 3161 timestamp and its log \
             entries carry no verified integrated time (Rekor v2 entries need a timestamp \
             authority)"
                .into(),
        ));
    }
    Ok(times)
}

/// The clock, for the "not in the future" rule.
fn now() -> Time {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as Time)
        .unwrap_or(Time::MAX)
}
