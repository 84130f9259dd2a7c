//! RFC 3161 timestamps: a timestamp authority's signed statement that a signature existed at a
//! time. Verified against the trust root's timestamp authorities; the message imprint must be
//! the hash of the signature it stamps.
//!
//! The checks follow sigstore-go (`pkg/verify/tsa.go`, timestamp-authority's verifier): the
//! CMS signer's signature over its signed attributes, whose `messageDigest` is the hash of the
//! TSTInfo; the signing certificate (embedded in the token, or else the trust root's TSA
//! certificate the signer identifier names) chains to a timestamp authority of the trust root
//! valid at `genTime`, every certificate valid at `genTime`, the leaf with EKU timeStamping.

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Any, Decode, Encode, Tag, Tagged};
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::cert::path::{signature_hash, verify_path, verify_with, Cert, Hash, EKU_TIME_STAMPING};
use super::time::{from_civil, Time};
use super::trust_root::TrustedRoot;
use super::SigstoreError;

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ATTR_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ATTR_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");

fn fail(m: impl Into<String>) -> SigstoreError {
    SigstoreError::Timestamp(m.into())
}

fn malformed(m: impl std::fmt::Display) -> SigstoreError {
    SigstoreError::malformed("RFC 3161 timestamp", m)
}

/// Verifies a DER `TimeStampResp`/`TimeStampToken` over `signature` and returns its `genTime`.
/// A bundle's `signedTimestamp` is a whole `TimeStampResp` (status, then token); a bare token
/// is accepted too.
pub fn verify_timestamp(
    token_der: &[u8],
    signature: &[u8],
    root: &TrustedRoot,
) -> Result<Time, SigstoreError> {
    let token = token_of(token_der)?;
    if token.content_type != ID_SIGNED_DATA {
        return Err(malformed(format!(
            "content type {}, not signedData",
            token.content_type
        )));
    }
    let sd: SignedData = token
        .content
        .decode_as()
        .map_err(|e| malformed(format!("signedData ({e})")))?;
    if sd.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(malformed(format!(
            "encapsulated content type {}, not TSTInfo",
            sd.encap_content_info.econtent_type
        )));
    }
    let econtent: OctetString = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| malformed("no TSTInfo"))?
        .decode_as()
        .map_err(|e| malformed(format!("eContent ({e})")))?;
    let tst = TstInfo::parse(econtent.as_bytes())?;

    // The stamped data is the signature.
    let hash = Hash::from_oid(&tst.imprint_alg.oid).ok_or_else(|| SigstoreError::Unsupported {
        what: "timestamp message imprint",
        detail: format!("hash {}", tst.imprint_alg.oid),
    })?;
    if hash.digest(signature) != tst.imprint {
        return Err(fail(
            "the message imprint is not the hash of the bundle's signature (a timestamp of something else)",
        ));
    }

    let signers = sd.signer_infos.0.as_slice();
    let [signer] = signers else {
        return Err(malformed(format!(
            "{} signer infos, RFC 3161 wants exactly one",
            signers.len()
        )));
    };
    let signed = signed_bytes(signer, econtent.as_bytes())?;
    let sig_hash = signature_hash(
        &signer.signature_algorithm.oid,
        Some(&signer.digest_alg.oid),
    )
    .map_err(fail)?;

    // Candidates for the signing certificate: embedded ones, then the trust root's.
    let mut candidates = Vec::new();
    for c in sd.certificates.iter().flat_map(|s| s.0.iter()) {
        if let cms::cert::CertificateChoices::Certificate(c) = c {
            let der = c.to_der().map_err(malformed)?;
            candidates.push(Cert::parse(&der).map_err(malformed)?);
        }
    }
    let embedded = candidates.len();
    for tsa in &root.timestamp_authorities {
        for der in &tsa.chain {
            if candidates.iter().any(|c| c.der == *der) {
                continue;
            }
            if let Ok(c) = Cert::parse(der) {
                candidates.push(c);
            }
        }
    }
    let mut reasons = Vec::new();
    for (i, cert) in candidates.iter().enumerate() {
        if !names(cert, &signer.sid) {
            continue;
        }
        let key = match cert.public_key() {
            Ok(k) => k,
            Err(e) => {
                reasons.push(format!("{:?}: {e}", cert.subject()));
                continue;
            }
        };
        if !verify_with(&key, sig_hash, &signed, signer.signature.as_bytes()) {
            reasons.push(format!(
                "the signature does not verify with {:?}",
                cert.subject()
            ));
            continue;
        }
        match verify_path(
            cert,
            &root.timestamp_authorities,
            tst.gen_time,
            EKU_TIME_STAMPING,
            "timestamp authority",
        ) {
            Ok(_) => return Ok(tst.gen_time),
            Err(e) => reasons.push(format!(
                "{} signing certificate: {}",
                if i < embedded {
                    "embedded"
                } else {
                    "trust root's"
                },
                e
            )),
        }
    }
    if reasons.is_empty() {
        return Err(fail(format!(
            "no certificate for the signer (embedded: {embedded}), neither in the token nor in the trust root's timestamp authorities"
        )));
    }
    Err(fail(reasons.join("; ")))
}

/// The token inside a `TimeStampResp` (status granted), or the bytes as a token.
fn token_of(der: &[u8]) -> Result<ContentInfo, SigstoreError> {
    let parts: Vec<Any> =
        Vec::from_der(der).map_err(|e| malformed(format!("not a DER sequence ({e})")))?;
    match parts.first().map(|a| a.tag()) {
        Some(Tag::ObjectIdentifier) => {
            ContentInfo::from_der(der).map_err(|e| malformed(format!("token ({e})")))
        }
        Some(Tag::Sequence) => {
            let status: Vec<Any> = parts
                .first()
                .ok_or_else(|| malformed("no status"))?
                .decode_as()
                .map_err(|e| malformed(format!("status ({e})")))?;
            let code: u8 = status
                .first()
                .ok_or_else(|| malformed("empty status"))?
                .decode_as()
                .map_err(|e| malformed(format!("status ({e})")))?;
            if code > 1 {
                return Err(fail(format!(
                    "the response's status is {code}, not granted"
                )));
            }
            parts
                .get(1)
                .ok_or_else(|| malformed("a response without a token"))?
                .decode_as()
                .map_err(|e| malformed(format!("token ({e})")))
        }
        _ => Err(malformed("neither a TimeStampResp nor a TimeStampToken")),
    }
}

/// What the signer signed: the DER of its signed attributes (as a SET), after checking their
/// content type and message digest; or, without attributes, the TSTInfo itself.
fn signed_bytes(signer: &SignerInfo, econtent: &[u8]) -> Result<Vec<u8>, SigstoreError> {
    let Some(attrs) = &signer.signed_attrs else {
        return Ok(econtent.to_vec());
    };
    let value = |oid: ObjectIdentifier| {
        attrs
            .iter()
            .find(|a| a.oid == oid)
            .and_then(|a| a.values.iter().next())
    };
    let ct: ObjectIdentifier = value(ATTR_CONTENT_TYPE)
        .ok_or_else(|| malformed("no content-type attribute"))?
        .decode_as()
        .map_err(malformed)?;
    if ct != ID_CT_TST_INFO {
        return Err(fail(format!(
            "the signed content type is {ct}, not TSTInfo"
        )));
    }
    let md: OctetString = value(ATTR_MESSAGE_DIGEST)
        .ok_or_else(|| malformed("no message-digest attribute"))?
        .decode_as()
        .map_err(malformed)?;
    let hash =
        Hash::from_oid(&signer.digest_alg.oid).ok_or_else(|| SigstoreError::Unsupported {
            what: "timestamp digest algorithm",
            detail: signer.digest_alg.oid.to_string(),
        })?;
    if hash.digest(econtent) != md.as_bytes() {
        return Err(fail(
            "the signed message digest is not the hash of the TSTInfo",
        ));
    }
    attrs.to_der().map_err(malformed)
}

/// Whether `cert` is the one the signer identifier names.
fn names(cert: &Cert, sid: &SignerIdentifier) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            cert.cert.tbs_certificate.issuer == isn.issuer
                && cert.cert.tbs_certificate.serial_number == isn.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => cert
            .extension(&<SubjectKeyIdentifier as const_oid::AssociatedOid>::OID)
            .and_then(|v| SubjectKeyIdentifier::from_der(v).ok())
            .is_some_and(|k| k == *ski),
    }
}

/// The parts of a TSTInfo ferry checks.
struct TstInfo {
    imprint_alg: AlgorithmIdentifierOwned,
    imprint: Vec<u8>,
    gen_time: Time,
}

impl TstInfo {
    fn parse(der: &[u8]) -> Result<TstInfo, SigstoreError> {
        let bad = |what: &str, e: der::Error| malformed(format!("TSTInfo {what} ({e})"));
        let f: Vec<Any> = Vec::from_der(der).map_err(|e| bad("", e))?;
        let [version, _policy, imprint, _serial, gen_time, ..] = f.as_slice() else {
            return Err(malformed("TSTInfo has too few fields"));
        };
        let version: u8 = version.decode_as().map_err(|e| bad("version", e))?;
        if version != 1 {
            return Err(malformed(format!("TSTInfo version {version}")));
        }
        let imprint: Vec<Any> = imprint.decode_as().map_err(|e| bad("messageImprint", e))?;
        let [alg, hashed] = imprint.as_slice() else {
            return Err(malformed("TSTInfo messageImprint is not (algorithm, hash)"));
        };
        let hashed: OctetString = hashed.decode_as().map_err(|e| bad("hashedMessage", e))?;
        if gen_time.tag() != Tag::GeneralizedTime {
            return Err(malformed("TSTInfo genTime is not a GeneralizedTime"));
        }
        Ok(TstInfo {
            imprint_alg: alg.decode_as().map_err(|e| bad("hashAlgorithm", e))?,
            imprint: hashed.as_bytes().to_vec(),
            gen_time: generalized_time(gen_time.value())
                .ok_or_else(|| malformed("TSTInfo genTime is not YYYYMMDDHHMMSS[.f]Z"))?,
        })
    }
}

/// `YYYYMMDDHHMMSS[.fff]Z` (RFC 3161 allows fractions; they are dropped).
fn generalized_time(v: &[u8]) -> Option<Time> {
    let s = std::str::from_utf8(v).ok()?.strip_suffix('Z')?;
    let (whole, frac) = s.split_once('.').unwrap_or((s, "0"));
    if whole.len() != 14
        || !whole.bytes().all(|c| c.is_ascii_digit())
        || frac.is_empty()
        || !frac.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| whole.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, sec) = (
        n(0..4)?,
        n(4..6)?,
        n(6..8)?,
        n(8..10)?,
        n(10..12)?,
        n(12..14)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    Some(from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec)
}

#[cfg(test)]
mod tests;
