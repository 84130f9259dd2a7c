//! Public keys as sigstore uses them: a DER SubjectPublicKeyInfo (in a certificate, a trust
//! root's `publicKey.rawBytes`, a `--key` PEM file), verifying DER ECDSA, Ed25519 or RSA
//! PKCS#1 v1.5 signatures. The hash is the one the key type implies (P-256 → SHA-256,
//! P-384 → SHA-384, RSA → SHA-256), as sigstore's `PKIX_*` key details name them.

use sha2::{Digest as _, Sha256};
use spki::DecodePublicKey;

use super::SigstoreError;

/// A verifying key of one of the algorithms sigstore signs with.
#[derive(Clone, Debug)]
pub enum PublicKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
    Rsa(rsa::RsaPublicKey),
}

impl PublicKey {
    /// Reads a DER SubjectPublicKeyInfo; the algorithm comes from its OID (and curve).
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, SigstoreError> {
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::P256(k));
        }
        if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::P384(k));
        }
        if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::Ed25519(k));
        }
        if let Ok(k) = rsa::RsaPublicKey::from_public_key_der(der) {
            return Ok(PublicKey::Rsa(k));
        }
        // `PKCS1_RSA_PKCS1V5` keys (older CT logs) are a bare PKCS#1 RSAPublicKey.
        if let Ok(k) = <rsa::RsaPublicKey as rsa::pkcs1::DecodeRsaPublicKey>::from_pkcs1_der(der) {
            return Ok(PublicKey::Rsa(k));
        }
        Err(SigstoreError::Unsupported {
            what: "public key",
            detail: "not an ECDSA P-256/P-384, Ed25519 or RSA SubjectPublicKeyInfo".into(),
        })
    }

    /// Reads a PEM `-----BEGIN PUBLIC KEY-----` (cosign's `--key` files).
    pub fn from_pem(pem: &str) -> Result<PublicKey, SigstoreError> {
        let (label, der) = spki::Document::from_pem(pem.trim()).map_err(|e| {
            SigstoreError::malformed("public key", format!("not a PEM public key ({e})"))
        })?;
        if label != "PUBLIC KEY" {
            return Err(SigstoreError::malformed(
                "public key",
                format!("PEM label {label:?}, expected \"PUBLIC KEY\""),
            ));
        }
        PublicKey::from_spki_der(der.as_bytes())
    }

    /// Verifies `sig` over `msg`, hashing `msg` with the key type's hash.
    pub fn verify(&self, msg: &[u8], sig: &[u8], what: &'static str) -> Result<(), SigstoreError> {
        use signature::Verifier;
        let bad = || SigstoreError::BadSignature { what };
        match self {
            PublicKey::P256(k) => {
                let s = p256::ecdsa::Signature::from_der(sig).map_err(|_| bad())?;
                k.verify(msg, &s).map_err(|_| bad())
            }
            PublicKey::P384(k) => {
                let s = p384::ecdsa::Signature::from_der(sig).map_err(|_| bad())?;
                k.verify(msg, &s).map_err(|_| bad())
            }
            PublicKey::Ed25519(k) => {
                let s = ed25519_dalek::Signature::from_slice(sig).map_err(|_| bad())?;
                k.verify_strict(msg, &s).map_err(|_| bad())
            }
            PublicKey::Rsa(k) => {
                let vk = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(k.clone());
                let s = rsa::pkcs1v15::Signature::try_from(sig).map_err(|_| bad())?;
                vk.verify(msg, &s).map_err(|_| bad())
            }
        }
    }

    /// Verifies `sig` over an already computed `digest` of the message (hashedrekord's
    /// `messageDigest`, where the artifact itself may be absent). Ed25519 cannot sign a digest.
    pub fn verify_prehashed(
        &self,
        digest: &[u8],
        sig: &[u8],
        what: &'static str,
    ) -> Result<(), SigstoreError> {
        use signature::hazmat::PrehashVerifier;
        let bad = || SigstoreError::BadSignature { what };
        match self {
            PublicKey::P256(k) => {
                let s = p256::ecdsa::Signature::from_der(sig).map_err(|_| bad())?;
                k.verify_prehash(digest, &s).map_err(|_| bad())
            }
            PublicKey::P384(k) => {
                let s = p384::ecdsa::Signature::from_der(sig).map_err(|_| bad())?;
                k.verify_prehash(digest, &s).map_err(|_| bad())
            }
            PublicKey::Ed25519(_) => Err(SigstoreError::Unsupported {
                what: "Ed25519 signature",
                detail: "over a digest without the artifact".into(),
            }),
            PublicKey::Rsa(k) => {
                let vk = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(k.clone());
                let s = rsa::pkcs1v15::Signature::try_from(sig).map_err(|_| bad())?;
                vk.verify_prehash(digest, &s).map_err(|_| bad())
            }
        }
    }

    /// The DER SubjectPublicKeyInfo of the key, as a log entry records the signer's key.
    pub fn spki_der(&self) -> Result<Vec<u8>, SigstoreError> {
        use spki::EncodePublicKey;
        let doc = match self {
            PublicKey::P256(k) => k.to_public_key_der(),
            PublicKey::P384(k) => k.to_public_key_der(),
            PublicKey::Ed25519(k) => k.to_public_key_der(),
            PublicKey::Rsa(k) => k.to_public_key_der(),
        };
        doc.map(|d| d.as_bytes().to_vec())
            .map_err(|e| SigstoreError::malformed("public key", e))
    }

    /// The hash of this key type, applied to `msg` (what [`verify_prehashed`](Self::verify_prehashed) expects).
    pub fn hash(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            PublicKey::P384(_) => sha2::Sha384::digest(msg).to_vec(),
            _ => Sha256::digest(msg).to_vec(),
        }
    }
}

/// A log's or key's id: SHA-256 of its DER SubjectPublicKeyInfo (Rekor `logID`, CT `LogID`).
pub fn key_id(spki_der: &[u8]) -> [u8; 32] {
    Sha256::digest(spki_der).into()
}
