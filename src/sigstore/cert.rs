//! Fulcio certificates: parse a leaf, chain it to a CA of the trust root valid at the signing
//! time, check its embedded SCTs against the root's CT logs, and read its identity (SAN) and
//! OIDC issuer (extension 1.3.6.1.4.1.57264.1.8, or the legacy 1.3.6.1.4.1.57264.1.1).

pub(crate) mod path;
mod sct;

use const_oid::ObjectIdentifier;
use der::Decode;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;

use self::path::{verify_path, Cert, EKU_CODE_SIGNING};
use super::key::PublicKey;
use super::time::Time;
use super::trust_root::TrustedRoot;
use super::SigstoreError;

/// Fulcio's OIDC issuer extension (a DER UTF8String).
const OIDC_ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
/// The legacy issuer extension (the raw string bytes, not DER).
const OIDC_ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");

/// What a verified leaf certificate says.
#[derive(Clone, Debug)]
pub struct Leaf {
    /// DER of the leaf.
    pub der: Vec<u8>,
    pub public_key: PublicKey,
    /// The subject alternative name: a URI, an email or another name, as a string.
    pub identity: Option<String>,
    /// The OIDC issuer extension's value.
    pub issuer: Option<String>,
    pub not_before: Time,
    pub not_after: Time,
}

fn bad(e: impl std::fmt::Display) -> SigstoreError {
    SigstoreError::malformed("certificate", e)
}

/// Reads a leaf certificate (no trust decision).
pub fn parse_leaf(der: &[u8]) -> Result<Leaf, SigstoreError> {
    let cert = Cert::parse(der).map_err(bad)?;
    leaf_of(&cert)
}

fn leaf_of(cert: &Cert) -> Result<Leaf, SigstoreError> {
    let spki = cert.spki_der().map_err(bad)?;
    let (not_before, not_after) = cert.validity();
    Ok(Leaf {
        der: cert.der.clone(),
        public_key: PublicKey::from_spki_der(&spki)?,
        identity: identity(cert)?,
        issuer: oidc_issuer(cert)?,
        not_before,
        not_after,
    })
}

/// The first SAN that is a URI, an email or an otherName (Fulcio's username SAN).
fn identity(cert: &Cert) -> Result<Option<String>, SigstoreError> {
    let Some(raw) = cert.extension(&<SubjectAltName as const_oid::AssociatedOid>::OID) else {
        return Ok(None);
    };
    let san = SubjectAltName::from_der(raw).map_err(|e| bad(format!("SAN ({e})")))?;
    Ok(san.0.iter().find_map(|n| match n {
        GeneralName::UniformResourceIdentifier(s) | GeneralName::Rfc822Name(s) => {
            Some(s.to_string())
        }
        GeneralName::OtherName(o) => Some(
            o.value
                .decode_as::<der::asn1::Utf8StringRef<'_>>()
                .map(|s| s.to_string())
                .unwrap_or_else(|_| String::from_utf8_lossy(o.value.value()).into_owned()),
        ),
        _ => None,
    }))
}

fn oidc_issuer(cert: &Cert) -> Result<Option<String>, SigstoreError> {
    if let Some(raw) = cert.extension(&OIDC_ISSUER_V2) {
        let s = der::asn1::Utf8StringRef::from_der(raw)
            .map_err(|e| bad(format!("OIDC issuer extension is not a UTF8String ({e})")))?;
        return Ok(Some(s.to_string()));
    }
    Ok(cert
        .extension(&OIDC_ISSUER_V1)
        .map(|raw| String::from_utf8_lossy(raw).into_owned()))
}

/// Verifies `leaf_der` chains to a certificate authority of `root` whose validity contains
/// `at`; that every certificate of the chain is valid at `at`; that the leaf is a code-signing
/// certificate; and that one of its embedded SCTs verifies against `root`'s CT logs.
///
/// Trust anchors and CA certificates come only from `root` (as sigstore-go does):
/// `intermediates` (the rest of a v0.1/v0.2 bundle's chain) are not used to build the path, and
/// a self-signed root among them is refused, as the bundle specification forbids it
/// (conformance case `bundle-with-root-cert_fail`).
pub fn verify_chain(
    leaf_der: &[u8],
    intermediates: &[Vec<u8>],
    root: &TrustedRoot,
    at: Time,
) -> Result<Leaf, SigstoreError> {
    let fail = SigstoreError::Certificate;
    let leaf = Cert::parse(leaf_der).map_err(bad)?;
    for der in intermediates {
        let c = Cert::parse(der).map_err(bad)?;
        if c.is_self_issued() {
            return Err(fail(format!(
                "the bundle's chain contains the root certificate {:?}; roots come only from the trust root",
                c.subject()
            )));
        }
    }
    let path = verify_path(
        &leaf,
        &root.certificate_authorities,
        at,
        EKU_CODE_SIGNING,
        "certificate authority",
    )
    .map_err(fail)?;
    let issuer = path
        .issuer
        .ok_or_else(|| fail("the leaf is itself a certificate of the trust root".into()))?;
    sct::verify_embedded(&leaf, &issuer, root).map_err(fail)?;
    leaf_of(&leaf)
}

#[cfg(test)]
mod tests;
