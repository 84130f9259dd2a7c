//! DSSE envelopes (attestations): a payload and its type, signed over the pre-authentication
//! encoding `DSSEv1 <len> <type> <len> <payload>`; the payload of an attestation is an in-toto
//! statement naming its subjects by digest and its predicate type.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::bundle::bytes_field;
use super::key::PublicKey;
use super::SigstoreError;

/// A DSSE envelope as JSON carries it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub payload: String,
    pub payload_type: String,
    #[serde(default)]
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct EnvelopeSignature {
    pub sig: String,
    #[serde(default)]
    pub keyid: Option<String>,
}

/// The pre-authentication encoding a DSSE signature is over.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

impl Envelope {
    /// The decoded payload.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, SigstoreError> {
        bytes_field("DSSE payload", &self.payload)
    }

    /// Verifies the envelope's one signature with `key`; returns the payload.
    pub fn verify(&self, key: &PublicKey) -> Result<Vec<u8>, SigstoreError> {
        let [sig] = self.signatures.as_slice() else {
            return Err(SigstoreError::malformed(
                "DSSE envelope",
                format!("{} signatures, expected exactly one", self.signatures.len()),
            ));
        };
        let payload = self.payload_bytes()?;
        key.verify(
            &pae(&self.payload_type, &payload),
            &bytes_field("DSSE signature", &sig.sig)?,
            "DSSE envelope",
        )?;
        Ok(payload)
    }
}

/// An in-toto statement (v0.1 or v1), the part ferry checks.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    #[serde(rename = "_type")]
    pub type_: String,
    #[serde(default)]
    pub subject: Vec<Subject>,
    #[serde(default)]
    pub predicate_type: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Subject {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub digest: BTreeMap<String, String>,
}

/// The in-toto payload type.
pub const IN_TOTO: &str = "application/vnd.in-toto+json";

impl Statement {
    /// Reads a statement from a DSSE payload.
    pub fn parse(payload: &[u8]) -> Result<Statement, SigstoreError> {
        serde_json::from_slice(payload)
            .map_err(|e| SigstoreError::malformed("in-toto statement", e))
    }

    /// Whether `_type` is an in-toto statement (v0.1 or v1), not some other JSON.
    pub fn is_statement(&self) -> bool {
        matches!(
            self.type_.as_str(),
            "https://in-toto.io/Statement/v0.1" | "https://in-toto.io/Statement/v1"
        )
    }

    /// Whether a subject has this `sha256` hex digest.
    pub fn names_sha256(&self, hex: &str) -> bool {
        self.subject.iter().any(|s| {
            s.digest
                .get("sha256")
                .is_some_and(|d| d.eq_ignore_ascii_case(hex))
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pae_is_the_dsse_v1_encoding() {
        assert_eq!(
            super::pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn payloads_decode_as_protobuf_json_bytes() {
        let env = |payload: &str| super::Envelope {
            payload: payload.into(),
            payload_type: super::IN_TOTO.into(),
            signatures: Vec::new(),
        };
        // Standard, wrapped, unpadded and URL-safe base64 are all one value.
        for p in ["aGk/Pz8=", "aGk/\nPz8=", "aGk/Pz8", "aGk_Pz8"] {
            assert_eq!(env(p).payload_bytes().unwrap(), b"hi???", "{p}");
        }
        assert!(env("a!b").payload_bytes().is_err());
        // Verification needs exactly one signature.
        let key = crate::sigstore::PublicKey::P256(
            *p256::ecdsa::SigningKey::from_slice(&[7u8; 32])
                .unwrap()
                .verifying_key(),
        );
        assert!(matches!(
            env("aGk=").verify(&key),
            Err(crate::sigstore::SigstoreError::Malformed { .. })
        ));
    }
}
