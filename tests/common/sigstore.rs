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

/// A Rekor v1 entry as the log returned it (possibly spoiled, see [`Tamper`]).
#[derive(Clone, Debug)]
pub struct LogEntry {
    /// The canonicalized body bytes as they travel.
    pub body: Vec<u8>,
    pub integrated_time: u64,
    pub log_index: u64,
    pub log_id: [u8; 32],
    /// DER ECDSA signature of the log key over the SET payload.
    pub set: Vec<u8>,
    /// The one-leaf tree's root hash = SHA-256(0x00 || original body).
    pub root_hash: [u8; 32],
    /// The signed checkpoint note.
    pub checkpoint: String,
}

impl LogEntry {
    pub fn body_b64(&self) -> String {
        STANDARD.encode(&self.body)
    }

    pub fn log_id_hex(&self) -> String {
        hex(&self.log_id)
    }

    /// cosign's `dev.sigstore.cosign/bundle` annotation (field order as cosign writes it).
    pub fn cosign_bundle(&self) -> String {
        serde_json::to_string(&json!({
            "SignedEntryTimestamp": STANDARD.encode(&self.set),
            "Payload": {
                "body": self.body_b64(),
                "integratedTime": self.integrated_time,
                "logIndex": self.log_index,
                "logID": self.log_id_hex(),
            }
        }))
        .unwrap()
    }

    /// A sigstore bundle's `TransparencyLogEntry` (protobuf JSON: int64 as strings).
    pub fn bundle_entry(&self, kind: &str, version: &str) -> Value {
        json!({
            "logIndex": self.log_index.to_string(),
            "logId": {"keyId": STANDARD.encode(self.log_id)},
            "kindVersion": {"kind": kind, "version": version},
            "integratedTime": self.integrated_time.to_string(),
            "inclusionPromise": {"signedEntryTimestamp": STANDARD.encode(&self.set)},
            "inclusionProof": {
                "logIndex": "0",
                "rootHash": STANDARD.encode(self.root_hash),
                "treeSize": "1",
                "hashes": [],
                "checkpoint": {"envelope": self.checkpoint},
            },
            "canonicalizedBody": self.body_b64(),
        })
    }
}

/// The canonical JSON a Rekor v1 SET signs.
pub fn set_payload(
    body_b64: &str,
    integrated_time: u64,
    log_id_hex: &str,
    log_index: u64,
) -> Vec<u8> {
    canonical_json(&json!({
        "body": body_b64,
        "integratedTime": integrated_time,
        "logID": log_id_hex,
        "logIndex": log_index,
    }))
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

    /// Logs `body` (canonical JSON) at `s`'s time and index, then spoils it as `s.tamper` says.
    pub fn log(&self, body: Vec<u8>, s: &Signing) -> LogEntry {
        let log_id = self.log_id();
        let set_msg = set_payload(
            &STANDARD.encode(&body),
            s.integrated_time,
            &hex(&log_id),
            s.log_index,
        );
        let set: p256::ecdsa::Signature = self.rekor_key.sign(&set_msg);
        let mut leaf = vec![0u8];
        leaf.extend_from_slice(&body);
        let root_hash: [u8; 32] = Sha256::digest(&leaf).into();
        let checkpoint = self.checkpoint(1, &root_hash);
        let mut e = LogEntry {
            body,
            integrated_time: s.integrated_time,
            log_index: s.log_index,
            log_id,
            set: set.to_der().as_bytes().to_vec(),
            root_hash,
            checkpoint,
        };
        match s.tamper {
            Tamper::LogBody => {
                let v: Value = serde_json::from_slice(&e.body).unwrap();
                e.body = serde_json::to_vec_pretty(&sorted(&v)).unwrap();
            }
            Tamper::SetByte => {
                let n = e.set.len();
                e.set[n - 1] ^= 0x01;
            }
            _ => {}
        }
        e
    }

    /// A Rekor v1 checkpoint (signed note) for a tree of `size` with `root`.
    pub fn checkpoint(&self, size: u64, root: &[u8; 32]) -> String {
        let body = format!(
            "{REKOR_HOST} - {REKOR_TREE_ID}\n{size}\n{}\n",
            STANDARD.encode(root)
        );
        let sig: p256::ecdsa::Signature = self.rekor_key.sign(body.as_bytes());
        let mut hinted = self.log_id()[..4].to_vec();
        hinted.extend_from_slice(sig.to_der().as_bytes());
        format!(
            "{body}\n\u{2014} {REKOR_HOST} {}\n",
            STANDARD.encode(hinted)
        )
    }

    /// A cosign 2 keyless `.sig` manifest over `digest` (manifest, config, payload layer).
    pub fn keyless_signature(
        &self,
        docker_reference: &str,
        digest: &str,
        s: &Signing,
    ) -> [Blob; 3] {
        let signed_digest = match &s.tamper {
            Tamper::OtherSubject(d) => d.as_str(),
            _ => digest,
        };
        let p = payload(docker_reference, signed_digest);
        let leaf = self.leaf(s);
        let sig: p256::ecdsa::Signature = if s.tamper == Tamper::BadSignature {
            leaf.key.sign(&payload(
                docker_reference,
                &super::digest(b"another payload"),
            ))
        } else {
            leaf.key.sign(&p)
        };
        let sig_b64 = STANDARD.encode(sig.to_der().as_bytes());
        let body = hashedrekord_body(&Sha256::digest(&p).into(), &sig_b64, &leaf.pem);
        let entry = self.log(body, s);
        let annotations = json!({
            SIG_ANNOTATION: sig_b64,
            CERT_ANNOTATION: leaf.pem,
            CHAIN_ANNOTATION: self.chain_pem(),
            BUNDLE_ANNOTATION: entry.cosign_bundle(),
        });
        cosign_manifest(Blob::new(SIMPLESIGNING, p), annotations)
    }

    /// Pushes [`keyless_signature`](Self::keyless_signature) as `repo:sha256-<hex>.sig`.
    pub fn push_keyless_signature(
        &self,
        c: &Client,
        repo: &str,
        docker_reference: &str,
        digest: &str,
        s: &Signing,
    ) -> Blob {
        push_tagged(
            c,
            repo,
            digest,
            "sig",
            self.keyless_signature(docker_reference, digest, s),
        )
    }

    /// A DSSE envelope over an in-toto statement for `digest` signed by `s`'s leaf, and that
    /// leaf: (envelope JSON bytes, payload, signature, leaf).
    fn dsse(
        &self,
        subject_name: &str,
        digest: &str,
        s: &Signing,
    ) -> (Vec<u8>, Vec<u8>, Vec<u8>, Leaf) {
        let subject = match &s.tamper {
            Tamper::OtherSubject(d) => d.as_str(),
            _ => digest,
        };
        let statement = in_toto_statement(subject_name, subject);
        let leaf = self.leaf(s);
        let signed = if s.tamper == Tamper::BadSignature {
            pae(
                IN_TOTO,
                &in_toto_statement(subject_name, &super::digest(b"another")),
            )
        } else {
            pae(IN_TOTO, &statement)
        };
        let sig: p256::ecdsa::Signature = leaf.key.sign(&signed);
        let sig = sig.to_der().as_bytes().to_vec();
        let envelope = serde_json::to_vec(&json!({
            "payloadType": IN_TOTO,
            "payload": STANDARD.encode(&statement),
            "signatures": [{"keyid": "", "sig": STANDARD.encode(&sig)}],
        }))
        .unwrap();
        (envelope, statement, sig, leaf)
    }

    /// A cosign 2 keyless `.att` manifest: one DSSE layer with an in-toto SLSA provenance
    /// statement about `digest` (manifest, config, envelope layer).
    pub fn keyless_attestation(&self, subject_name: &str, digest: &str, s: &Signing) -> [Blob; 3] {
        let (envelope, statement, sig, leaf) = self.dsse(subject_name, digest, s);
        let entry = self.log(intoto_body(&statement, &sig, &leaf.pem), s);
        let annotations = json!({
            SIG_ANNOTATION: "",
            BUNDLE_ANNOTATION: entry.cosign_bundle(),
            CERT_ANNOTATION: leaf.pem,
            CHAIN_ANNOTATION: self.chain_pem(),
            PREDICATE_TYPE_ANNOTATION: SLSA_PROVENANCE_V1,
        });
        cosign_manifest(Blob::new(DSSE_ENVELOPE, envelope), annotations)
    }

    /// Pushes [`keyless_attestation`](Self::keyless_attestation) as `repo:sha256-<hex>.att`.
    pub fn push_keyless_attestation(
        &self,
        c: &Client,
        repo: &str,
        subject_name: &str,
        digest: &str,
        s: &Signing,
    ) -> Blob {
        push_tagged(
            c,
            repo,
            digest,
            "att",
            self.keyless_attestation(subject_name, digest, s),
        )
    }

    /// A sigstore bundle v0.3 (JSON bytes) holding a DSSE in-toto statement about `digest`, the
    /// leaf certificate and one intoto 0.0.2 log entry with its promise and proof.
    pub fn bundle(&self, subject_name: &str, digest: &str, s: &Signing) -> Vec<u8> {
        let (_, statement, sig, leaf) = self.dsse(subject_name, digest, s);
        let entry = self.log(intoto_body(&statement, &sig, &leaf.pem), s);
        serde_json::to_vec(&json!({
            "mediaType": SIGSTORE_BUNDLE_V03,
            "verificationMaterial": {
                "certificate": {"rawBytes": STANDARD.encode(&leaf.der)},
                "tlogEntries": [entry.bundle_entry("intoto", "0.0.2")],
            },
            "dsseEnvelope": {
                "payload": STANDARD.encode(&statement),
                "payloadType": IN_TOTO,
                "signatures": [{"sig": STANDARD.encode(&sig)}],
            },
        }))
        .unwrap()
    }

    /// Pushes [`bundle`](Self::bundle) as an OCI 1.1 referrer of `subject` (a descriptor of the
    /// signed manifest) the way cosign 3 does, by digest. The caller writes the fallback tag
    /// (`cosign::set_fallback` with [`SIGSTORE_BUNDLE_V03`]) once all referrers are pushed.
    /// Returns (the referrer manifest, the bundle blob).
    pub fn push_bundle_referrer(
        &self,
        c: &Client,
        repo: &str,
        subject_name: &str,
        subject: &Value,
        s: &Signing,
    ) -> (Blob, Blob) {
        let digest = subject["digest"].as_str().unwrap();
        let layer = Blob::new(SIGSTORE_BUNDLE_V03, self.bundle(subject_name, digest, s));
        let empty = Blob::new(EMPTY_JSON, b"{}".to_vec());
        let manifest = Blob::json(
            OCI_MANIFEST,
            &json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "artifactType": SIGSTORE_BUNDLE_V03,
            "config": empty.descriptor(), "layers": [layer.descriptor()],
            "subject": subject,
            "annotations": {
                "dev.sigstore.bundle.content": "dsse-envelope",
                "dev.sigstore.bundle.predicateType": SLSA_PROVENANCE_V1,
                "org.opencontainers.image.created": rfc3339(s.integrated_time),
            }}),
        );
        c.push_blob(repo, &empty.bytes);
        c.push_blob(repo, &layer.bytes);
        c.push_manifest(repo, &manifest.digest, OCI_MANIFEST, &manifest.bytes);
        (manifest, layer)
    }
}

impl Default for TestSigstore {
    fn default() -> TestSigstore {
        TestSigstore::new()
    }
}

pub use super::cosign::cosign_manifest;

/// A simple-signing signature manifest whose layer carries arbitrary `annotations`.
pub fn signature_with_annotations(payload: Vec<u8>, annotations: Value) -> [Blob; 3] {
    cosign_manifest(Blob::new(SIMPLESIGNING, payload), annotations)
}

/// Pushes a cosign manifest as `repo:sha256-<hex of digest>.<suffix>`; returns the manifest.
pub fn push_tagged(c: &Client, repo: &str, digest: &str, suffix: &str, blobs: [Blob; 3]) -> Blob {
    let [manifest, config, layer] = blobs;
    c.push_blob(repo, &config.bytes);
    c.push_blob(repo, &layer.bytes);
    let tag = format!("sha256-{}.{suffix}", digest.trim_start_matches("sha256:"));
    c.push_manifest(repo, &tag, OCI_MANIFEST, &manifest.bytes);
    manifest
}

/// An in-toto v1 statement (SLSA provenance v1) about `digest`, named `name`, compact JSON.
pub fn in_toto_statement(name: &str, digest: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "_type": IN_TOTO_STATEMENT_V1,
        "subject": [{"name": name, "digest": {"sha256": digest.trim_start_matches("sha256:")}}],
        "predicateType": SLSA_PROVENANCE_V1,
        "predicate": {
            "buildDefinition": {
                "buildType": "https://ferry.test/buildtypes/release/v1",
                "externalParameters": {"repository": "https://github.com/ferry-test/app", "ref": "refs/heads/main"},
            },
            "runDetails": {"builder": {"id": "https://github.com/ferry-test/app/.github/workflows/release.yml@refs/heads/main"}},
        },
    }))
    .unwrap()
}

/// DSSE's pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    v.extend_from_slice(payload);
    v
}

/// A hashedrekord 0.0.1 body as Rekor canonicalizes it.
pub fn hashedrekord_body(artifact_sha256: &[u8; 32], sig_b64: &str, leaf_pem: &str) -> Vec<u8> {
    canonical_json(&json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex(artifact_sha256)}},
            "signature": {"content": sig_b64, "publicKey": {"content": STANDARD.encode(leaf_pem)}},
        },
    }))
}

/// An intoto 0.0.2 body as Rekor canonicalizes it: the envelope's payload and signature
/// base64-encoded twice, the verifier as base64 PEM, `hash` over the canonical envelope (payload
/// and signature base64 once, the PEM as is, no empty keyid), `payloadHash` over the statement.
pub fn intoto_body(statement: &[u8], sig: &[u8], leaf_pem: &str) -> Vec<u8> {
    let payload_b64 = STANDARD.encode(statement);
    let sig_b64 = STANDARD.encode(sig);
    let envelope_hash = Sha256::digest(canonical_json(&json!({
        "payloadType": IN_TOTO,
        "payload": payload_b64,
        "signatures": [{"sig": sig_b64, "publicKey": leaf_pem}],
    })));
    canonical_json(&json!({
        "apiVersion": "0.0.2",
        "kind": "intoto",
        "spec": {"content": {
            "envelope": {
                "payload": STANDARD.encode(&payload_b64),
                "payloadType": IN_TOTO,
                "signatures": [{"publicKey": STANDARD.encode(leaf_pem), "sig": STANDARD.encode(&sig_b64)}],
            },
            "hash": {"algorithm": "sha256", "value": hex(&envelope_hash)},
            "payloadHash": {"algorithm": "sha256", "value": hex(&Sha256::digest(statement))},
        }},
    }))
}

/// RFC 8785 JSON of `v` for ASCII keys: compact, object keys sorted.
pub fn canonical_json(v: &Value) -> Vec<u8> {
    serde_json::to_vec(&sorted(v)).unwrap()
}

/// `v` with every object's keys in sorted order (serde_json keeps insertion order here).
pub fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), sorted(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

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

fn p384_key(seed: u8, salt: u8) -> p384::ecdsa::SigningKey {
    let mut bytes = [seed ^ salt; 48];
    bytes[0] = 1;
    p384::ecdsa::SigningKey::from_slice(&bytes).unwrap()
}

fn spki_of_p384(k: &p384::ecdsa::SigningKey) -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned::from_der(k.verifying_key().to_public_key_der().unwrap().as_bytes())
        .unwrap()
}

/// A key identifier: the first 20 bytes of the SHA-256 of the public key bits.
fn key_id(spki: &SubjectPublicKeyInfoOwned) -> OctetString {
    let d = Sha256::digest(spki.subject_public_key.raw_bytes());
    OctetString::new(&d[..20]).unwrap()
}

fn ext(oid: ObjectIdentifier, critical: bool, value: &impl Encode) -> Extension {
    raw_ext(oid, critical, value.to_der().unwrap())
}

fn raw_ext(oid: ObjectIdentifier, critical: bool, value: Vec<u8>) -> Extension {
    Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).unwrap(),
    }
}

fn utc(unix: u64) -> Time {
    Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(unix)).unwrap())
}

/// A certificate for `subject`/`spki` signed by `issuer_key` (P-384, ecdsa-with-SHA384), with
/// the issuer's authority key identifier added when `extensions` lack one.
#[allow(clippy::too_many_arguments)]
fn sign_cert(
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
