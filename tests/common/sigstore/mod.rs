//! A test Sigstore, offline and deterministic: a Fulcio (P-384 root and intermediate CA issuing
//! short-lived P-256 code-signing leaves with an identity and an OIDC issuer), a Rekor v1 log
//! (P-256 key; signed entry timestamps, one-leaf inclusion proofs, signed checkpoints), its
//! `trusted_root.json`, and the artifacts cosign 2 and 3 write with them: keyless `.sig`
//! signatures, keyless `.att` attestations (DSSE in-toto) and sigstore bundles v0.3 pushed as
//! OCI 1.1 referrers. [`Signing`] holds the knobs negative tests turn ([`Tamper`]).
//!
//! Formats follow the real ones byte for byte where a verifier looks: the hashedrekord 0.0.1 and
//! intoto 0.0.2 bodies are RFC 8785 JSON as Rekor canonicalizes them (intoto: payload and
//! signature base64 twice, the envelope hash over the canonical envelope with the PEM key), the
//! SET is the log key's signature over `{body, integratedTime, logID, logIndex}` canonical JSON,
//! the checkpoint is a signed note whose key hint is the first 4 bytes of the log id.

use super::cosign::{payload, EMPTY_JSON, SIG_ANNOTATION, SIMPLESIGNING};
use super::fixtures::*;
use super::upload::Client;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use der::asn1::{BitString, Ia5String, OctetString, UtcTime, Utf8StringRef};
use der::{Decode, Encode};
use p256::ecdsa::signature::Signer;
use p256::pkcs8::EncodePublicKey;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

pub const CERT_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";
pub const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";
pub const SIGSTORE_BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const TRUSTED_ROOT: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
pub const IN_TOTO_STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

/// The identity (certificate SAN, a URI) the tests sign with by default.
pub const IDENTITY: &str =
    "https://github.com/ferry-test/app/.github/workflows/release.yml@refs/heads/main";
/// The OIDC issuer (extensions 1.3.6.1.4.1.57264.1.8 and .1.1) the tests sign with by default.
pub const OIDC_ISSUER: &str = "https://token.actions.ferry.test";
/// Another identity and issuer, for signatures that must not match the policy.
pub const OTHER_IDENTITY: &str =
    "https://github.com/mallory/app/.github/workflows/release.yml@refs/heads/main";
pub const OTHER_ISSUER: &str = "https://accounts.other.test";

/// When the CAs, the log key and the trust root become valid: 2026-01-01T00:00:00Z.
pub const CA_NOT_BEFORE: u64 = 1_767_225_600;
/// When the CAs expire: 2036-01-01T00:00:00Z (UTCTime still).
pub const CA_NOT_AFTER: u64 = 2_082_758_400;
/// When a leaf becomes valid by default: 2026-06-01T12:00:00Z.
pub const LEAF_NOT_BEFORE: u64 = 1_780_315_200;
/// A leaf lives 10 minutes (`notAfter` = `notBefore` + 600 s, inclusive).
pub const LEAF_LIFETIME: u64 = 600;
/// The default signing time (`integratedTime`): one minute into the leaf's life.
pub const SIGNED_AT: u64 = LEAF_NOT_BEFORE + 60;
/// The default log index of an entry (the SET covers it); the inclusion proof is of a one-leaf
/// tree, index 0, as a fresh Rekor shard would give.
pub const LOG_INDEX: u64 = 25;
/// The log's base URL and its checkpoint origin (`<host> - <tree id>`, as Rekor v1 writes it).
pub const REKOR_URL: &str = "https://rekor.ferry.test";
pub const REKOR_HOST: &str = "rekor.ferry.test";
pub const REKOR_TREE_ID: u64 = 1_193_050_959_916_656_506;
pub const FULCIO_URL: &str = "https://fulcio.ferry.test";

const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const OID_AUTHORITY_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const OID_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const OID_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// Fulcio's OIDC issuer extension (legacy: the raw issuer bytes as the extension value).
pub const OID_ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio's OIDC issuer extension (a DER UTF8String).
pub const OID_ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");

/// What to sign with and how to spoil it.
#[derive(Clone, Debug)]
pub struct Signing {
    /// The leaf's SAN: a URI when it contains `://`, else an email address.
    pub identity: String,
    /// The OIDC issuer the leaf records.
    pub issuer: String,
    /// The leaf's `notBefore` (Unix seconds); `notAfter` is [`LEAF_LIFETIME`] later.
    pub leaf_not_before: u64,
    /// The log entry's `integratedTime`, the verified signing time (Unix seconds).
    pub integrated_time: u64,
    pub log_index: u64,
    /// Seed of the leaf's P-256 key (see `cosign::key`).
    pub key_seed: u8,
    pub tamper: Tamper,
}

/// One way to make a keyless signature fail; each leaves everything else valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tamper {
    None,
    /// The log entry's body is re-serialized (same content, other bytes) after the log signed
    /// its SET and checkpoint: the SET and the inclusion proof no longer verify.
    LogBody,
    /// One byte of the SET's `s` is flipped (still DER, no longer the log's signature).
    SetByte,
    /// The signature is over other bytes than the payload that travels; the log entry records
    /// that signature over the travelling payload's hash (so only the signature check fails).
    BadSignature,
    /// Everything is signed and logged correctly, but the payload or statement names this
    /// other manifest digest instead of the one it is attached to.
    OtherSubject(String),
}

impl Default for Signing {
    fn default() -> Signing {
        Signing {
            identity: IDENTITY.into(),
            issuer: OIDC_ISSUER.into(),
            leaf_not_before: LEAF_NOT_BEFORE,
            integrated_time: SIGNED_AT,
            log_index: LOG_INDEX,
            key_seed: 40,
            tamper: Tamper::None,
        }
    }
}

impl Signing {
    /// The default: [`IDENTITY`], [`OIDC_ISSUER`], signed at [`SIGNED_AT`], nothing spoiled.
    pub fn valid() -> Signing {
        Signing::default()
    }

    pub fn identity(mut self, identity: &str) -> Signing {
        self.identity = identity.into();
        self
    }

    pub fn issuer(mut self, issuer: &str) -> Signing {
        self.issuer = issuer.into();
        self
    }

    /// The log's `integratedTime` (the SET still signs it).
    pub fn signed_at(mut self, unix: u64) -> Signing {
        self.integrated_time = unix;
        self
    }

    /// Logged an hour after the leaf expired (the SET valid, the certificate not at that time).
    pub fn after_expiry(self) -> Signing {
        let t = self.leaf_not_before + LEAF_LIFETIME + 3600;
        self.signed_at(t)
    }

    pub fn tamper(mut self, t: Tamper) -> Signing {
        self.tamper = t;
        self
    }

    pub fn leaf_not_after(&self) -> u64 {
        self.leaf_not_before + LEAF_LIFETIME
    }
}

/// A leaf certificate and its key.
#[derive(Clone, Debug)]
pub struct Leaf {
    pub key: p256::ecdsa::SigningKey,
    pub der: Vec<u8>,
    pub pem: String,
    pub not_before: u64,
    pub not_after: u64,
}

/// The test instance: Fulcio CAs and a Rekor key, all from one seed.
pub struct TestSigstore {
    pub root_key: p384::ecdsa::SigningKey,
    pub root_der: Vec<u8>,
    pub intermediate_key: p384::ecdsa::SigningKey,
    pub intermediate_der: Vec<u8>,
    pub rekor_key: p256::ecdsa::SigningKey,
    root_name: Name,
    intermediate_name: Name,
}

impl TestSigstore {
    /// The instance every test trusts.
    pub fn new() -> TestSigstore {
        TestSigstore::with_seed(1)
    }

    /// Another, untrusted instance (different CA and log keys, same names).
    pub fn other() -> TestSigstore {
        TestSigstore::with_seed(2)
    }

    pub fn with_seed(seed: u8) -> TestSigstore {
        let root_key = p384_key(seed, 0xa0);
        let intermediate_key = p384_key(seed, 0xb0);
        let rekor_key = super::cosign::key(0xc0 ^ seed);
        let root_name = Name::from_str("CN=ferry-test-fulcio-root,O=ferry.test").unwrap();
        let intermediate_name =
            Name::from_str("CN=ferry-test-fulcio-intermediate,O=ferry.test").unwrap();
        let root_spki = spki_of_p384(&root_key);
        let root_der = sign_cert(
            &root_name,
            &root_key,
            &root_spki,
            root_name.clone(),
            root_spki.clone(),
            &[0x01, seed],
            CA_NOT_BEFORE,
            CA_NOT_AFTER,
            vec![
                ext(
                    OID_BASIC_CONSTRAINTS,
                    true,
                    &BasicConstraints {
                        ca: true,
                        path_len_constraint: Some(1),
                    },
                ),
                ext(
                    OID_KEY_USAGE,
                    true,
                    &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
                ),
                ext(
                    OID_SUBJECT_KEY_ID,
                    false,
                    &SubjectKeyIdentifier(key_id(&root_spki)),
                ),
            ],
        );
        let inter_spki = spki_of_p384(&intermediate_key);
        let intermediate_der = sign_cert(
            &root_name,
            &root_key,
            &root_spki,
            intermediate_name.clone(),
            inter_spki.clone(),
            &[0x02, seed],
            CA_NOT_BEFORE,
            CA_NOT_AFTER,
            vec![
                ext(
                    OID_BASIC_CONSTRAINTS,
                    true,
                    &BasicConstraints {
                        ca: true,
                        path_len_constraint: Some(0),
                    },
                ),
                ext(
                    OID_KEY_USAGE,
                    true,
                    &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
                ),
                ext(
                    OID_EXT_KEY_USAGE,
                    false,
                    &ExtendedKeyUsage(vec![OID_CODE_SIGNING]),
                ),
                ext(
                    OID_SUBJECT_KEY_ID,
                    false,
                    &SubjectKeyIdentifier(key_id(&inter_spki)),
                ),
            ],
        );
        TestSigstore {
            root_key,
            root_der,
            intermediate_key,
            intermediate_der,
            rekor_key,
            root_name,
            intermediate_name,
        }
    }

    /// DER SubjectPublicKeyInfo of the Rekor key.
    pub fn rekor_spki_der(&self) -> Vec<u8> {
        self.rekor_key
            .verifying_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes()
            .to_vec()
    }

    /// The log id: SHA-256 of the Rekor key's DER SPKI.
    pub fn log_id(&self) -> [u8; 32] {
        Sha256::digest(self.rekor_spki_der()).into()
    }

    /// `dev.sigstore.cosign/chain`: the intermediate, then the root, PEM.
    pub fn chain_pem(&self) -> String {
        pem("CERTIFICATE", &self.intermediate_der) + &pem("CERTIFICATE", &self.root_der)
    }

    /// The `trusted_root.json` of this instance (no CT logs, no timestamp authorities).
    pub fn trusted_root_json(&self) -> String {
        let start = rfc3339(CA_NOT_BEFORE);
        serde_json::to_string_pretty(&json!({
            "mediaType": TRUSTED_ROOT,
            "tlogs": [{
                "baseUrl": REKOR_URL,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": STANDARD.encode(self.rekor_spki_der()),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": start},
                },
                "logId": {"keyId": STANDARD.encode(self.log_id())},
            }],
            "certificateAuthorities": [{
                "subject": {"organization": "ferry.test", "commonName": "ferry-test-fulcio-root"},
                "uri": FULCIO_URL,
                "certChain": {"certificates": [
                    {"rawBytes": STANDARD.encode(&self.intermediate_der)},
                    {"rawBytes": STANDARD.encode(&self.root_der)},
                ]},
                "validFor": {"start": start},
            }],
            "ctlogs": [],
            "timestampAuthorities": [],
        }))
        .unwrap()
            + "\n"
    }

    /// Writes `<dir>/trusted_root.json`.
    pub fn write_trusted_root(&self, dir: &Path) -> PathBuf {
        let p = dir.join("trusted_root.json");
        std::fs::write(&p, self.trusted_root_json()).unwrap();
        p
    }

    /// A Fulcio leaf for `s`: P-256, empty subject, critical SAN, EKU codeSigning, keyUsage
    /// digitalSignature, the OIDC issuer in 57264.1.1 (raw) and 57264.1.8 (UTF8String). No SCT.
    pub fn leaf(&self, s: &Signing) -> Leaf {
        let key = super::cosign::key(s.key_seed);
        let spki = SubjectPublicKeyInfoOwned::from_der(
            key.verifying_key().to_public_key_der().unwrap().as_bytes(),
        )
        .unwrap();
        let san = if s.identity.contains("://") {
            GeneralName::UniformResourceIdentifier(Ia5String::new(&s.identity).unwrap())
        } else {
            GeneralName::Rfc822Name(Ia5String::new(&s.identity).unwrap())
        };
        let inter_spki = spki_of_p384(&self.intermediate_key);
        let mut serial = Sha256::new();
        serial.update(s.identity.as_bytes());
        serial.update(s.issuer.as_bytes());
        serial.update(s.leaf_not_before.to_be_bytes());
        serial.update([s.key_seed]);
        let mut serial = serial.finalize()[..16].to_vec();
        serial[0] &= 0x7f;
        serial[0] |= 0x10;
        let der = sign_cert(
            &self.intermediate_name,
            &self.intermediate_key,
            &inter_spki,
            Name::default(),
            spki.clone(),
            &serial,
            s.leaf_not_before,
            s.leaf_not_after(),
            vec![
                ext(
                    OID_KEY_USAGE,
                    true,
                    &KeyUsage(KeyUsages::DigitalSignature.into()),
                ),
                ext(
                    OID_EXT_KEY_USAGE,
                    false,
                    &ExtendedKeyUsage(vec![OID_CODE_SIGNING]),
                ),
                ext(
                    OID_SUBJECT_KEY_ID,
                    false,
                    &SubjectKeyIdentifier(key_id(&spki)),
                ),
                ext(
                    OID_AUTHORITY_KEY_ID,
                    false,
                    &AuthorityKeyIdentifier {
                        key_identifier: Some(key_id(&inter_spki)),
                        authority_cert_issuer: None,
                        authority_cert_serial_number: None,
                    },
                ),
                ext(OID_SUBJECT_ALT_NAME, true, &SubjectAltName(vec![san])),
                raw_ext(OID_ISSUER_V1, false, s.issuer.as_bytes().to_vec()),
                ext(
                    OID_ISSUER_V2,
                    false,
                    &Utf8StringRef::new(&s.issuer).unwrap(),
                ),
            ],
        );
        Leaf {
            pem: pem("CERTIFICATE", &der),
            key,
            der,
            not_before: s.leaf_not_before,
            not_after: s.leaf_not_after(),
        }
    }
}

impl Default for TestSigstore {
    fn default() -> TestSigstore {
        TestSigstore::new()
    }
}

mod artifacts;
mod rekor;
mod x509;
#[allow(unused_imports)]
pub use artifacts::*;
#[allow(unused_imports)]
pub use rekor::*;
#[allow(unused_imports)]
pub use x509::*;
