//! The test Rekor: v1 entries, their signed entry timestamps, one-leaf inclusion proofs,
//! signed checkpoints, and the bodies Rekor canonicalizes.

use super::*;

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

impl TestSigstore {
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
