//! Encoding helpers of the test Sigstore: PEM, hex, RFC 3339, and building and signing the
//! X.509 certificates of its Fulcio.

use super::*;

/// PEM of `der` with 64-character lines.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).unwrap());
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix seconds (civil-from-days, proleptic Gregorian).
pub fn rfc3339(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

pub(super) fn p384_key(seed: u8, salt: u8) -> p384::ecdsa::SigningKey {
    let mut bytes = [seed ^ salt; 48];
    bytes[0] = 1;
    p384::ecdsa::SigningKey::from_slice(&bytes).unwrap()
}

pub(super) fn spki_of_p384(k: &p384::ecdsa::SigningKey) -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned::from_der(k.verifying_key().to_public_key_der().unwrap().as_bytes())
        .unwrap()
}

/// A key identifier: the first 20 bytes of the SHA-256 of the public key bits.
pub(super) fn key_id(spki: &SubjectPublicKeyInfoOwned) -> OctetString {
    let d = Sha256::digest(spki.subject_public_key.raw_bytes());
    OctetString::new(&d[..20]).unwrap()
}

pub(super) fn ext(oid: ObjectIdentifier, critical: bool, value: &impl Encode) -> Extension {
    raw_ext(oid, critical, value.to_der().unwrap())
}

pub(super) fn raw_ext(oid: ObjectIdentifier, critical: bool, value: Vec<u8>) -> Extension {
    Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).unwrap(),
    }
}

pub(super) fn utc(unix: u64) -> Time {
    Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(unix)).unwrap())
}

/// A certificate for `subject`/`spki` signed by `issuer_key` (P-384, ecdsa-with-SHA384), with
/// the issuer's authority key identifier added when `extensions` lack one.
#[allow(clippy::too_many_arguments)]
pub(super) fn sign_cert(
    issuer: &Name,
    issuer_key: &p384::ecdsa::SigningKey,
    issuer_spki: &SubjectPublicKeyInfoOwned,
    subject: Name,
    spki: SubjectPublicKeyInfoOwned,
    serial: &[u8],
    not_before: u64,
    not_after: u64,
    mut extensions: Vec<Extension>,
) -> Vec<u8> {
    if !extensions.iter().any(|e| e.extn_id == OID_AUTHORITY_KEY_ID) {
        extensions.push(ext(
            OID_AUTHORITY_KEY_ID,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(key_id(issuer_spki)),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        ));
    }
    let alg = AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA384,
        parameters: None,
    };
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(serial).unwrap(),
        signature: alg.clone(),
        issuer: issuer.clone(),
        validity: Validity {
            not_before: utc(not_before),
            not_after: utc(not_after),
        },
        subject,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let sig: p384::ecdsa::Signature = issuer_key.sign(&tbs.to_der().unwrap());
    Certificate {
        tbs_certificate: tbs,
        signature_algorithm: alg,
        signature: BitString::from_bytes(sig.to_der().as_bytes()).unwrap(),
    }
    .to_der()
    .unwrap()
}
