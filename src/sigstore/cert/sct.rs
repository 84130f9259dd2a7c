//! Embedded signed certificate timestamps (RFC 6962 §3.2): the CT log's promise that it logged
//! the precertificate. The signature is over the `digitally-signed` struct of a precert entry,
//! whose TBSCertificate is the leaf's with the SCT list extension taken out.

use const_oid::AssociatedOid;
use der::Encode;
use x509_cert::ext::pkix::sct::{
    HashAlgorithm, SignatureAlgorithm, SignedCertificateTimestamp, SignedCertificateTimestampList,
    Version,
};

use super::path::{verify_with, Cert, Hash};
use crate::sigstore::hex;
use crate::sigstore::key::key_id;
use crate::sigstore::time::{format_rfc3339, Time};
use crate::sigstore::trust_root::TrustedRoot;

/// Verifies that at least one embedded SCT of `leaf`, issued by `issuer`, is signed by a CT
/// log of `root` valid at the SCT's time.
pub(crate) fn verify_embedded(
    leaf: &Cert,
    issuer: &Cert,
    root: &TrustedRoot,
) -> Result<(), String> {
    let oid = SignedCertificateTimestampList::OID;
    // A trust root without CT logs (a private Fulcio that logs to no CT log) asks for no SCT:
    // there is nothing to verify one against. Sigstore's roots all list CT logs.
    if root.ctlogs.is_empty() {
        return Ok(());
    }
    let raw = leaf
        .extension(&oid)
        .ok_or("the certificate has no embedded SCT")?;
    let list: SignedCertificateTimestampList = der::Decode::from_der(raw)
        .map_err(|e| format!("the SCT list extension is malformed ({e})"))?;
    let scts = list
        .parse_timestamps()
        .map_err(|e| format!("the SCT list is malformed ({e:?})"))?;
    let issuer_key_hash = key_id(&issuer.spki_der()?);
    let mut tbs = leaf.cert.tbs_certificate.clone();
    if let Some(exts) = tbs.extensions.as_mut() {
        exts.retain(|e| e.extn_id != oid);
    }
    let tbs = tbs
        .to_der()
        .map_err(|e| format!("cannot encode the precertificate ({e})"))?;
    let mut reasons = Vec::new();
    for s in &scts {
        let sct = match s.parse_timestamp() {
            Ok(t) => t,
            Err(e) => {
                reasons.push(format!("an SCT is malformed ({e:?})"));
                continue;
            }
        };
        match verify_one(&sct, &issuer_key_hash, &tbs, root) {
            Ok(()) => return Ok(()),
            Err(e) => reasons.push(e),
        }
    }
    if reasons.is_empty() {
        return Err("the certificate's SCT list is empty".into());
    }
    Err(format!("no embedded SCT verifies: {}", reasons.join("; ")))
}

fn verify_one(
    sct: &SignedCertificateTimestamp,
    issuer_key_hash: &[u8; 32],
    tbs: &[u8],
    root: &TrustedRoot,
) -> Result<(), String> {
    let id = &sct.log_id.key_id;
    let log = root.ctlog(id).ok_or_else(|| {
        format!(
            "the SCT's log {} is not a CT log of the trust root",
            hex(id)
        )
    })?;
    let at = (sct.timestamp / 1000) as Time;
    if !log.valid_for.contains(at) {
        return Err(format!(
            "CT log {} is not valid at the SCT's time {}",
            hex(id),
            format_rfc3339(at)
        ));
    }
    if sct.version != Version::V1 {
        return Err("an SCT is not version 1".into());
    }
    let hash = match sct.signature.algorithm.hash {
        HashAlgorithm::Sha256 => Hash::Sha256,
        HashAlgorithm::Sha384 => Hash::Sha384,
        HashAlgorithm::Sha512 => Hash::Sha512,
        ref h => return Err(format!("unsupported SCT hash {h:?}")),
    };
    let hash = match sct.signature.algorithm.signature {
        SignatureAlgorithm::Ecdsa | SignatureAlgorithm::Rsa => Some(hash),
        SignatureAlgorithm::Ed25519 => None,
        ref a => return Err(format!("unsupported SCT signature algorithm {a:?}")),
    };
    let tbs_len = u32::try_from(tbs.len())
        .ok()
        .filter(|n| *n < 1 << 24)
        .ok_or("the precertificate is too long")?;
    let ext = sct.extensions.as_slice();
    let ext_len = u16::try_from(ext.len()).map_err(|_| "SCT extensions too long")?;
    let mut msg = Vec::with_capacity(tbs.len() + ext.len() + 50);
    msg.push(0); // sct_version v1
    msg.push(0); // signature_type certificate_timestamp
    msg.extend_from_slice(&sct.timestamp.to_be_bytes());
    msg.extend_from_slice(&1u16.to_be_bytes()); // entry_type precert_entry
    msg.extend_from_slice(issuer_key_hash);
    msg.extend_from_slice(&tbs_len.to_be_bytes()[1..]);
    msg.extend_from_slice(tbs);
    msg.extend_from_slice(&ext_len.to_be_bytes());
    msg.extend_from_slice(ext);
    if verify_with(&log.key, hash, &msg, sct.signature.signature.as_slice()) {
        Ok(())
    } else {
        Err(format!(
            "the SCT signature does not verify with CT log {}'s key",
            hex(id)
        ))
    }
}
