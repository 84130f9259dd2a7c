//! X.509 path building, shared by Fulcio leaves ([`super::verify_chain`]) and timestamp
//! authority signing certificates ([`crate::sigstore::tsa`]): the leaf must chain, link by link,
//! through one `Authority` chain of the trust root (whose `valid_for` contains the time) to its
//! last certificate. Trust anchors come only from the trust root, never from the input.

use const_oid::ObjectIdentifier;
use der::{Decode, Encode, Reader, SliceReader};
use sha2::Digest as _;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
use x509_cert::Certificate;

use crate::sigstore::key::PublicKey;
use crate::sigstore::time::{format_rfc3339, from_der, Time};
use crate::sigstore::trust_root::Authority;

/// Extended key usage: code signing (Fulcio leaves).
pub(crate) const EKU_CODE_SIGNING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// Extended key usage: time stamping (RFC 3161 signing certificates).
pub(crate) const EKU_TIME_STAMPING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// CMS signers may name only the key type and leave the hash to `digestAlgorithm`.
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// A hash a signature or message imprint names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// The hash a digest algorithm OID names (`None`: one ferry does not accept).
    pub(crate) fn from_oid(oid: &ObjectIdentifier) -> Option<Hash> {
        match *oid {
            SHA256 => Some(Hash::Sha256),
            SHA384 => Some(Hash::Sha384),
            SHA512 => Some(Hash::Sha512),
            _ => None,
        }
    }

    pub(crate) fn digest(self, msg: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => sha2::Sha256::digest(msg).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(msg).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(msg).to_vec(),
        }
    }
}

/// How a signature algorithm OID says to verify: with a hash, or Ed25519 over the message.
/// `digest_alg` is the CMS `digestAlgorithm`, used when the OID names only the key type.
pub(crate) fn signature_hash(
    alg: &ObjectIdentifier,
    digest_alg: Option<&ObjectIdentifier>,
) -> Result<Option<Hash>, String> {
    Ok(Some(match *alg {
        ECDSA_SHA256 | RSA_SHA256 => Hash::Sha256,
        ECDSA_SHA384 | RSA_SHA384 => Hash::Sha384,
        ECDSA_SHA512 | RSA_SHA512 => Hash::Sha512,
        ED25519 => return Ok(None),
        RSA_ENCRYPTION | EC_PUBLIC_KEY => digest_alg
            .and_then(Hash::from_oid)
            .ok_or_else(|| format!("signature algorithm {alg} without a supported digest"))?,
        _ => return Err(format!("unsupported signature algorithm {alg}")),
    }))
}

/// Verifies `sig` over `msg` with `key`, hashing with `hash` (`None`: Ed25519, no prehash).
/// Unlike [`PublicKey::verify`], the hash is the one the signature names, not the key's.
pub(crate) fn verify_with(key: &PublicKey, hash: Option<Hash>, msg: &[u8], sig: &[u8]) -> bool {
    use signature::hazmat::PrehashVerifier;
    let digest = match (key, hash) {
        (PublicKey::Ed25519(k), None) => {
            return ed25519_dalek::Signature::from_slice(sig)
                .is_ok_and(|s| k.verify_strict(msg, &s).is_ok())
        }
        (_, Some(h)) => h.digest(msg),
        _ => return false,
    };
    match key {
        PublicKey::P256(k) => p256::ecdsa::Signature::from_der(sig)
            .is_ok_and(|s| k.verify_prehash(&digest, &s).is_ok()),
        PublicKey::P384(k) => p384::ecdsa::Signature::from_der(sig)
            .is_ok_and(|s| k.verify_prehash(&digest, &s).is_ok()),
        PublicKey::Rsa(k) => {
            let scheme = match hash {
                Some(Hash::Sha256) => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                Some(Hash::Sha384) => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                Some(Hash::Sha512) => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                None => return false,
            };
            k.verify(scheme, &digest, sig).is_ok()
        }
        PublicKey::Ed25519(_) => false,
    }
}

/// A parsed certificate with the exact bytes it was read from (signatures are over those).
#[derive(Clone, Debug)]
pub(crate) struct Cert {
    pub der: Vec<u8>,
    pub cert: Certificate,
}

impl Cert {
    pub(crate) fn parse(der: &[u8]) -> Result<Cert, String> {
        Ok(Cert {
            der: der.to_vec(),
            cert: Certificate::from_der(der).map_err(|e| format!("not a DER certificate ({e})"))?,
        })
    }

    /// The raw TBSCertificate bytes, as signed (not a re-encoding).
    fn tbs_bytes(&self) -> Result<&[u8], der::Error> {
        let mut r = SliceReader::new(&self.der)?;
        let _outer = der::Header::decode(&mut r)?;
        r.tlv_bytes()
    }

    pub(crate) fn spki_der(&self) -> Result<Vec<u8>, String> {
        self.cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| format!("cannot encode the public key ({e})"))
    }

    pub(crate) fn public_key(&self) -> Result<PublicKey, String> {
        PublicKey::from_spki_der(&self.spki_der()?).map_err(|e| e.to_string())
    }

    pub(crate) fn subject(&self) -> String {
        self.cert.tbs_certificate.subject.to_string()
    }

    /// `what "subject"`, or just `what` for a leaf without a subject (Fulcio's).
    fn named(&self, what: &str) -> String {
        match self.subject() {
            s if s.is_empty() => what.to_string(),
            s => format!("{what} {s:?}"),
        }
    }

    pub(crate) fn validity(&self) -> (Time, Time) {
        let v = &self.cert.tbs_certificate.validity;
        (
            from_der(v.not_before.to_date_time()),
            from_der(v.not_after.to_date_time()),
        )
    }

    /// notBefore <= at <= notAfter.
    pub(crate) fn check_valid_at(&self, at: Time, what: &str) -> Result<(), String> {
        let (nb, na) = self.validity();
        if at < nb || at > na {
            return Err(format!(
                "{} is not valid at {} (valid {}..{})",
                self.named(what),
                format_rfc3339(at),
                format_rfc3339(nb),
                format_rfc3339(na)
            ));
        }
        Ok(())
    }

    /// The DER value of extension `oid`, if present.
    pub(crate) fn extension(&self, oid: &ObjectIdentifier) -> Option<&[u8]> {
        self.cert
            .tbs_certificate
            .extensions
            .as_ref()?
            .iter()
            .find(|e| e.extn_id == *oid)
            .map(|e| e.extn_value.as_bytes())
    }

    fn ext<T: for<'a> Decode<'a> + const_oid::AssociatedOid>(&self) -> Result<Option<T>, String> {
        self.extension(&T::OID)
            .map(|v| T::from_der(v).map_err(|e| format!("extension {} is malformed ({e})", T::OID)))
            .transpose()
    }

    /// Whether the certificate names itself as its issuer (a root).
    pub(crate) fn is_self_issued(&self) -> bool {
        self.cert.tbs_certificate.issuer == self.cert.tbs_certificate.subject
    }

    /// Whether `issuer` issued this certificate: names match and its key verifies the signature
    /// with the algorithm the certificate names.
    pub(crate) fn issued_by(&self, issuer: &Cert) -> Result<(), String> {
        if self.cert.tbs_certificate.issuer != issuer.cert.tbs_certificate.subject {
            return Err(format!(
                "{} is issued by {:?}, not by {:?}",
                self.named("the certificate"),
                self.cert.tbs_certificate.issuer.to_string(),
                issuer.subject()
            ));
        }
        if self.cert.tbs_certificate.signature != self.cert.signature_algorithm {
            return Err(format!(
                "{} names two different signature algorithms",
                self.named("the certificate")
            ));
        }
        let hash = signature_hash(&self.cert.signature_algorithm.oid, None)?;
        let key = issuer.public_key()?;
        let tbs = self
            .tbs_bytes()
            .map_err(|e| format!("cannot read the signed part ({e})"))?;
        let sig = self.cert.signature.as_bytes().unwrap_or_default();
        if verify_with(&key, hash, tbs, sig) {
            Ok(())
        } else {
            Err(format!(
                "the signature of {} does not verify with the key of {:?}",
                self.named("the certificate"),
                issuer.subject()
            ))
        }
    }

    /// A CA that may sign certificates: basicConstraints CA=true and, when keyUsage is
    /// present (RFC 5280 requires it; a missing one is accepted as Go's x509 does), keyCertSign.
    fn check_ca(&self) -> Result<(), String> {
        let bc: Option<BasicConstraints> = self.ext()?;
        if !bc.is_some_and(|b| b.ca) {
            return Err(format!(
                "{:?} is not a CA (basicConstraints)",
                self.subject()
            ));
        }
        let ku: Option<KeyUsage> = self.ext()?;
        if ku.is_some_and(|k| !k.key_cert_sign()) {
            return Err(format!(
                "{:?} may not sign certificates (keyUsage)",
                self.subject()
            ));
        }
        Ok(())
    }

    /// The leaf's extended key usage includes `eku`.
    pub(crate) fn check_eku(&self, eku: ObjectIdentifier) -> Result<(), String> {
        let e: Option<ExtendedKeyUsage> = self.ext()?;
        if e.is_some_and(|e| e.0.contains(&eku)) {
            Ok(())
        } else {
            Err(format!(
                "{} lacks the extended key usage {eku}",
                self.named("the certificate")
            ))
        }
    }
}

/// A verified path: the certificate that issued the leaf (`None` when the leaf is itself the
/// last certificate of the authority's chain).
pub(crate) struct Path {
    pub issuer: Option<Cert>,
}

/// Builds and checks the path from `leaf` to one of `authorities`: the authority's `valid_for`
/// contains `at`; the leaf is valid at `at` and has `eku`; each link's signature verifies; each
/// certificate above the leaf is a CA valid at `at`. The leaf may also be a member of the
/// chain itself (a trust root's TSA chain lists its signing certificate first).
pub(crate) fn verify_path(
    leaf: &Cert,
    authorities: &[Authority],
    at: Time,
    eku: ObjectIdentifier,
    kind: &str,
) -> Result<Path, String> {
    leaf.check_valid_at(at, "the certificate")?;
    leaf.check_eku(eku)?;
    let mut reasons = Vec::new();
    for auth in authorities {
        if !auth.valid_for.contains(at) {
            let end = auth.valid_for.end.map(format_rfc3339).unwrap_or_default();
            reasons.push(format!(
                "{kind} {:?} is not valid at {} (valid {}..{end})",
                auth.uri,
                format_rfc3339(at),
                format_rfc3339(auth.valid_for.start),
            ));
            continue;
        }
        match chain_through(leaf, auth, at) {
            Ok(issuer) => return Ok(Path { issuer }),
            Err(e) => reasons.push(e),
        }
    }
    if reasons.is_empty() {
        return Err(format!("the trust root has no {kind}"));
    }
    Err(format!(
        "does not chain to a {kind} of the trust root: {}",
        reasons.join("; ")
    ))
}

fn chain_through(leaf: &Cert, auth: &Authority, at: Time) -> Result<Option<Cert>, String> {
    let chain = auth
        .chain
        .iter()
        .map(|d| Cert::parse(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{:?}: {e}", auth.uri))?;
    // Where the path enters the chain, and the certificate that issued the leaf.
    let (start, issuer) = if let Some(k) = chain.iter().position(|c| c.der == leaf.der) {
        let parent = chain.get(k + 1).cloned();
        if let Some(p) = &parent {
            leaf.issued_by(p)?;
        }
        (k + 1, parent)
    } else {
        let mut first_err = None;
        let found = chain.iter().position(|c| match leaf.issued_by(c) {
            Ok(()) => true,
            Err(e) => {
                first_err.get_or_insert(e);
                false
            }
        });
        match found {
            Some(j) => (j, chain.get(j).cloned()),
            None => return Err(first_err.unwrap_or_else(|| format!("{:?} is empty", auth.uri))),
        }
    };
    for (i, ca) in chain.iter().enumerate().skip(start) {
        ca.check_ca()?;
        ca.check_valid_at(at, "the CA certificate")?;
        if let Some(parent) = chain.get(i + 1) {
            ca.issued_by(parent)?;
        }
    }
    Ok(issuer)
}
