//! The test Sigstore of `common/sigstore.rs` checked on its own, so a failure in
//! `tests/keyless.rs` is ferry's, not the fixture's: certificates with openssl, SETs,
//! checkpoints and signatures with p256, the log bodies against real Rekor entries.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::pki::pem_to_der;
use common::sigstore::*;
use common::*;
use der::{Decode, Encode};
use p256::ecdsa::signature::Verifier;
use p256::pkcs8::DecodePublicKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const VECTORS: &str = "../shared/vectors";

// ---------------------------------------------------------------------------------------------
// The fixtures, checked independently of ferry.

fn vector(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(VECTORS)
        .join(rel)
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn b64d(s: &str) -> Vec<u8> {
    STANDARD.decode(s).unwrap()
}

fn p256_key_of_spki(der: &[u8]) -> p256::ecdsa::VerifyingKey {
    p256::ecdsa::VerifyingKey::from_public_key_der(der).unwrap()
}

fn p256_key_of_cert(der: &[u8]) -> p256::ecdsa::VerifyingKey {
    let c = x509_cert::Certificate::from_der(der).unwrap();
    p256_key_of_spki(&c.tbs_certificate.subject_public_key_info.to_der().unwrap())
}

fn verifies(k: &p256::ecdsa::VerifyingKey, msg: &[u8], der_sig: &[u8]) -> bool {
    p256::ecdsa::Signature::from_der(der_sig).is_ok_and(|s| k.verify(msg, &s).is_ok())
}

/// Whether a checkpoint note's first signature is `k`'s over the note body, hinted with `hint`.
fn checkpoint_verifies(note: &str, k: &p256::ecdsa::VerifyingKey, hint: &[u8]) -> bool {
    let (body, sigs) = note.split_once("\n\n").unwrap();
    let line = sigs.lines().next().unwrap();
    let raw = b64d(line.rsplit_once(' ').unwrap().1);
    raw[..4] == hint[..4] && verifies(k, format!("{body}\n").as_bytes(), &raw[4..])
}

fn openssl_verify(dir: &Path, at: u64) -> Output {
    Command::new("openssl")
        .current_dir(dir)
        .args(["verify", "-attime", &at.to_string(), "-CAfile", "root.pem"])
        .args(["-untrusted", "intermediate.pem", "leaf.pem"])
        .output()
        .expect("openssl (scripts/setup.sh installs it)")
}

#[test]
fn fixture_certificates_are_fulcio_shaped_and_chain_with_openssl() {
    let ts = TestSigstore::new();
    let s = Signing::valid();
    let leaf = ts.leaf(&s);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("root.pem"),
        pem("CERTIFICATE", &ts.root_der),
    )
    .unwrap();
    let inter = pem("CERTIFICATE", &ts.intermediate_der);
    std::fs::write(dir.path().join("intermediate.pem"), &inter).unwrap();
    std::fs::write(dir.path().join("leaf.pem"), &leaf.pem).unwrap();
    let o = openssl_verify(dir.path(), s.integrated_time);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for late in [
        s.leaf_not_after() + 1,
        s.clone().after_expiry().integrated_time,
    ] {
        let o = openssl_verify(dir.path(), late);
        assert!(!o.status.success(), "valid at {late}");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(said.contains("certificate has expired"), "{said}");
    }
    assert!(!openssl_verify(dir.path(), s.leaf_not_before - 1)
        .status
        .success());
    // Not trusted by another instance's root.
    std::fs::write(
        dir.path().join("root.pem"),
        pem("CERTIFICATE", &TestSigstore::other().root_der),
    )
    .unwrap();
    assert!(!openssl_verify(dir.path(), s.integrated_time)
        .status
        .success());

    let text = run(Command::new("openssl")
        .current_dir(dir.path())
        .args(["x509", "-noout", "-text", "-in", "leaf.pem"]))
    .stdout;
    let text = String::from_utf8_lossy(&text);
    for want in [
        "Subject: \n",
        "Public-Key: (256 bit)",
        "Signature Algorithm: ecdsa-with-SHA384",
        "X509v3 Key Usage: critical\n                Digital Signature\n",
        "X509v3 Extended Key Usage: \n                Code Signing\n",
        &format!("X509v3 Subject Alternative Name: critical\n                URI:{IDENTITY}\n"),
        "1.3.6.1.4.1.57264.1.1: \n",
        "1.3.6.1.4.1.57264.1.8: \n",
    ] {
        assert!(text.contains(want), "no {want:?} in\n{text}");
    }
    assert!(!text.contains("CT Precertificate SCTs"), "{text}");
    // The two issuer extensions, byte for byte.
    let cert = x509_cert::Certificate::from_der(&leaf.der).unwrap();
    let exts = cert.tbs_certificate.extensions.unwrap();
    let value = |oid: &str| {
        exts.iter()
            .find(|e| e.extn_id.to_string() == oid)
            .map(|e| e.extn_value.as_bytes().to_vec())
            .unwrap()
    };
    assert_eq!(value("1.3.6.1.4.1.57264.1.1"), OIDC_ISSUER.as_bytes());
    let v2 = value("1.3.6.1.4.1.57264.1.8");
    assert_eq!((v2[0], v2[1] as usize), (0x0c, OIDC_ISSUER.len()));
    assert_eq!(&v2[2..], OIDC_ISSUER.as_bytes());
    let inter_text = run(Command::new("openssl").current_dir(dir.path()).args([
        "x509",
        "-noout",
        "-text",
        "-in",
        "intermediate.pem",
    ]))
    .stdout;
    let inter_text = String::from_utf8_lossy(&inter_text);
    assert!(inter_text.contains("CA:TRUE, pathlen:0"), "{inter_text}");
    assert!(
        inter_text.contains("Certificate Sign, CRL Sign"),
        "{inter_text}"
    );
    assert!(inter_text.contains("Public-Key: (384 bit)"), "{inter_text}");
}

#[test]
fn fixture_trusted_root_has_the_production_shape() {
    let ts = TestSigstore::new();
    let ours: Value = serde_json::from_str(&ts.trusted_root_json()).unwrap();
    let prod = read_json(&vector(
        "sigstore-trusted-roots/production-trusted_root.json",
    ));
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(ours["mediaType"], prod["mediaType"]);
    assert_eq!(keys(&ours["tlogs"][0]), keys(&prod["tlogs"][0]));
    assert_eq!(
        keys(&ours["tlogs"][0]["publicKey"]),
        keys(&prod["tlogs"][0]["publicKey"])
    );
    assert_eq!(
        keys(&ours["certificateAuthorities"][0]),
        keys(&prod["certificateAuthorities"][0])
    );
    assert_eq!(ours["ctlogs"], json!([]));
    assert_eq!(ours["timestampAuthorities"], json!([]));
    let spki = b64d(ours["tlogs"][0]["publicKey"]["rawBytes"].as_str().unwrap());
    assert_eq!(
        b64d(ours["tlogs"][0]["logId"]["keyId"].as_str().unwrap()),
        Sha256::digest(&spki).to_vec()
    );
    let chain = &ours["certificateAuthorities"][0]["certChain"]["certificates"];
    assert_eq!(
        b64d(chain[0]["rawBytes"].as_str().unwrap()),
        ts.intermediate_der
    );
    assert_eq!(b64d(chain[1]["rawBytes"].as_str().unwrap()), ts.root_der);
}

/// The SET payload, checkpoint and log bodies the fixture builds are those of real Rekor
/// entries: rebuilt from the conformance vectors' parts, they verify / are the same bytes.
#[test]
fn fixture_log_formats_match_real_rekor_entries() {
    let prod = read_json(&vector(
        "sigstore-trusted-roots/production-trusted_root.json",
    ));
    let b = read_json(&vector(
        "sigstore-conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json",
    ));
    let e = &b["verificationMaterial"]["tlogEntries"][0];
    let log_id = b64d(e["logId"]["keyId"].as_str().unwrap());
    let tlog = prod["tlogs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["logId"] == e["logId"])
        .unwrap();
    let k = p256_key_of_spki(&b64d(tlog["publicKey"]["rawBytes"].as_str().unwrap()));
    let msg = set_payload(
        e["canonicalizedBody"].as_str().unwrap(),
        e["integratedTime"].as_str().unwrap().parse().unwrap(),
        &hex(&log_id),
        e["logIndex"].as_str().unwrap().parse().unwrap(),
    );
    let set = b64d(
        e["inclusionPromise"]["signedEntryTimestamp"]
            .as_str()
            .unwrap(),
    );
    assert!(verifies(&k, &msg, &set));
    let note = e["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .unwrap();
    assert!(checkpoint_verifies(note, &k, &log_id));
    // hashedrekord 0.0.1, rebuilt from the bundle's digest, signature and certificate.
    let body = b64d(e["canonicalizedBody"].as_str().unwrap());
    let ms = &b["messageSignature"];
    let digest: [u8; 32] = b64d(ms["messageDigest"]["digest"].as_str().unwrap())
        .try_into()
        .unwrap();
    let cert_pem = pem(
        "CERTIFICATE",
        &b64d(
            b["verificationMaterial"]["certificate"]["rawBytes"]
                .as_str()
                .unwrap(),
        ),
    );
    assert_eq!(
        String::from_utf8(hashedrekord_body(
            &digest,
            ms["signature"].as_str().unwrap(),
            &cert_pem
        ))
        .unwrap(),
        String::from_utf8(body).unwrap()
    );
    // intoto 0.0.2, rebuilt from the envelope and the certificate (as the PEM the entry holds:
    // this vector's PEM is not wrapped at 64 columns, cosign's and the fixture's are).
    let b = read_json(&vector(
        "sigstore-conformance/bundle-verify/intoto-with-custom-trust-root/bundle.sigstore.json",
    ));
    let e = &b["verificationMaterial"]["tlogEntries"][0];
    let body = b64d(e["canonicalizedBody"].as_str().unwrap());
    let logged: Value = serde_json::from_slice(&body).unwrap();
    let logged_pem = String::from_utf8(b64d(
        logged["spec"]["content"]["envelope"]["signatures"][0]["publicKey"]
            .as_str()
            .unwrap(),
    ))
    .unwrap();
    let cert = &b["verificationMaterial"]["x509CertificateChain"]["certificates"][0]["rawBytes"];
    assert_eq!(pem_to_der(&logged_pem), b64d(cert.as_str().unwrap()));
    let env = &b["dsseEnvelope"];
    let rebuilt = intoto_body(
        &b64d(env["payload"].as_str().unwrap()),
        &b64d(env["signatures"][0]["sig"].as_str().unwrap()),
        &logged_pem,
    );
    assert_eq!(
        String::from_utf8(rebuilt).unwrap(),
        String::from_utf8(body).unwrap()
    );
}

/// A `.sig`'s parts: (payload, signature, leaf DER, cosign bundle annotation).
fn sig_parts(blobs: &[Blob; 3]) -> (Vec<u8>, Vec<u8>, Vec<u8>, Value) {
    let m: Value = serde_json::from_slice(&blobs[0].bytes).unwrap();
    let a = &m["layers"][0]["annotations"];
    (
        blobs[2].bytes.clone(),
        b64d(a["dev.cosignproject.cosign/signature"].as_str().unwrap()),
        pem_to_der(a[CERT_ANNOTATION].as_str().unwrap()),
        serde_json::from_str(a[BUNDLE_ANNOTATION].as_str().unwrap()).unwrap(),
    )
}

fn cosign_set_verifies(ts: &TestSigstore, bundle: &Value) -> bool {
    let p = &bundle["Payload"];
    let msg = set_payload(
        p["body"].as_str().unwrap(),
        p["integratedTime"].as_u64().unwrap(),
        p["logID"].as_str().unwrap(),
        p["logIndex"].as_u64().unwrap(),
    );
    let set = b64d(bundle["SignedEntryTimestamp"].as_str().unwrap());
    verifies(&p256_key_of_spki(&ts.rekor_spki_der()), &msg, &set)
}

#[test]
fn fixture_signatures_entries_and_knobs_do_what_they_say() {
    let ts = TestSigstore::new();
    let digest = common::digest(b"a manifest");
    let other = common::digest(b"another manifest");
    let reference = "registry.test/kl/app";
    let inter_key = {
        let c = x509_cert::Certificate::from_der(&ts.intermediate_der).unwrap();
        p384::ecdsa::VerifyingKey::from_public_key_der(
            &c.tbs_certificate.subject_public_key_info.to_der().unwrap(),
        )
        .unwrap()
    };

    // A valid `.sig`: signature by the leaf over the payload, the leaf by the intermediate,
    // the SET by the log, the body over this payload, signature and certificate.
    let (payload, sig, leaf, bundle) =
        sig_parts(&ts.keyless_signature(reference, &digest, &Signing::valid()));
    let p: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        p["critical"]["image"]["docker-manifest-digest"],
        digest.as_str()
    );
    assert!(verifies(&p256_key_of_cert(&leaf), &payload, &sig));
    let c = x509_cert::Certificate::from_der(&leaf).unwrap();
    let tbs = c.tbs_certificate.to_der().unwrap();
    let csig = p384::ecdsa::Signature::from_der(c.signature.raw_bytes()).unwrap();
    assert!(p384::ecdsa::signature::Verifier::verify(&inter_key, &tbs, &csig).is_ok());
    assert!(cosign_set_verifies(&ts, &bundle));
    assert!(!cosign_set_verifies(&TestSigstore::other(), &bundle));
    assert_eq!(bundle["Payload"]["integratedTime"], SIGNED_AT);
    assert_eq!(bundle["Payload"]["logID"], hex(&ts.log_id()));
    let body: Value =
        serde_json::from_slice(&b64d(bundle["Payload"]["body"].as_str().unwrap())).unwrap();
    assert_eq!(body["spec"]["data"]["hash"]["value"], sha256_hex(&payload));
    assert_eq!(body["spec"]["signature"]["content"], STANDARD.encode(&sig));
    assert_eq!(
        pem_to_der(
            &String::from_utf8(b64d(
                body["spec"]["signature"]["publicKey"]["content"]
                    .as_str()
                    .unwrap()
            ))
            .unwrap()
        ),
        leaf
    );

    // The knobs.
    let spoiled = |t: Tamper| {
        sig_parts(&ts.keyless_signature(reference, &digest, &Signing::valid().tamper(t)))
    };
    let (_, _, _, b) = spoiled(Tamper::SetByte);
    assert!(!cosign_set_verifies(&ts, &b));
    let (_, _, _, b) = spoiled(Tamper::LogBody);
    assert!(!cosign_set_verifies(&ts, &b));
    let tampered: Value =
        serde_json::from_slice(&b64d(b["Payload"]["body"].as_str().unwrap())).unwrap();
    assert_eq!(tampered, body, "same content, other bytes");
    let (payload, sig, leaf, b) = spoiled(Tamper::BadSignature);
    assert!(cosign_set_verifies(&ts, &b));
    assert!(!verifies(&p256_key_of_cert(&leaf), &payload, &sig));
    let (payload, sig, leaf, b) = spoiled(Tamper::OtherSubject(other.clone()));
    assert!(cosign_set_verifies(&ts, &b) && verifies(&p256_key_of_cert(&leaf), &payload, &sig));
    let p: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        p["critical"]["image"]["docker-manifest-digest"],
        other.as_str()
    );
    let late = Signing::valid().after_expiry();
    let (_, _, _, b) = sig_parts(&ts.keyless_signature(reference, &digest, &late));
    assert!(cosign_set_verifies(&ts, &b));
    assert!(late.integrated_time > late.leaf_not_after());

    // A `.att`: the DSSE signature over the PAE, the intoto body over this statement.
    let att = ts.keyless_attestation(reference, &digest, &Signing::valid());
    let m: Value = serde_json::from_slice(&att[0].bytes).unwrap();
    let a = &m["layers"][0]["annotations"];
    assert_eq!(m["layers"][0]["mediaType"], DSSE_ENVELOPE);
    assert_eq!(a[PREDICATE_TYPE_ANNOTATION], SLSA_PROVENANCE_V1);
    let env: Value = serde_json::from_slice(&att[2].bytes).unwrap();
    let statement = b64d(env["payload"].as_str().unwrap());
    let st: Value = serde_json::from_slice(&statement).unwrap();
    assert_eq!(
        st["subject"][0]["digest"]["sha256"],
        digest.trim_start_matches("sha256:")
    );
    let leaf = pem_to_der(a[CERT_ANNOTATION].as_str().unwrap());
    let sig = b64d(env["signatures"][0]["sig"].as_str().unwrap());
    assert!(verifies(
        &p256_key_of_cert(&leaf),
        &pae(IN_TOTO, &statement),
        &sig
    ));
    let cb: Value = serde_json::from_str(a[BUNDLE_ANNOTATION].as_str().unwrap()).unwrap();
    assert!(cosign_set_verifies(&ts, &cb));
    let body: Value =
        serde_json::from_slice(&b64d(cb["Payload"]["body"].as_str().unwrap())).unwrap();
    assert_eq!(body["kind"], "intoto");
    assert_eq!(
        body["spec"]["content"]["payloadHash"]["value"],
        sha256_hex(&statement)
    );

    // A bundle: the same, plus the promise, the proof and its checkpoint.
    let check_bundle = |s: &Signing| -> (bool, bool, bool, bool, Value) {
        let b: Value = serde_json::from_slice(&ts.bundle(reference, &digest, s)).unwrap();
        let e = &b["verificationMaterial"]["tlogEntries"][0];
        let body = e["canonicalizedBody"].as_str().unwrap();
        let set_ok = verifies(
            &p256_key_of_spki(&ts.rekor_spki_der()),
            &set_payload(
                body,
                e["integratedTime"].as_str().unwrap().parse().unwrap(),
                &hex(&b64d(e["logId"]["keyId"].as_str().unwrap())),
                e["logIndex"].as_str().unwrap().parse().unwrap(),
            ),
            &b64d(
                e["inclusionPromise"]["signedEntryTimestamp"]
                    .as_str()
                    .unwrap(),
            ),
        );
        let proof = &e["inclusionProof"];
        let mut leaf_in = vec![0u8];
        leaf_in.extend(b64d(body));
        let root = b64d(proof["rootHash"].as_str().unwrap());
        let proof_ok = Sha256::digest(&leaf_in).to_vec() == root
            && proof["checkpoint"]["envelope"]
                .as_str()
                .unwrap()
                .contains(&format!("\n1\n{}\n\n", STANDARD.encode(&root)));
        let note_ok = checkpoint_verifies(
            proof["checkpoint"]["envelope"].as_str().unwrap(),
            &p256_key_of_spki(&ts.rekor_spki_der()),
            &ts.log_id(),
        );
        let env = &b["dsseEnvelope"];
        let statement = b64d(env["payload"].as_str().unwrap());
        let leaf = b64d(
            b["verificationMaterial"]["certificate"]["rawBytes"]
                .as_str()
                .unwrap(),
        );
        let sig_ok = verifies(
            &p256_key_of_cert(&leaf),
            &pae(IN_TOTO, &statement),
            &b64d(env["signatures"][0]["sig"].as_str().unwrap()),
        );
        (
            set_ok,
            proof_ok,
            note_ok,
            sig_ok,
            serde_json::from_slice(&statement).unwrap(),
        )
    };
    let (set, proof, note, sig, st) = check_bundle(&Signing::valid());
    assert!(set && proof && note && sig);
    assert_eq!(
        st["subject"][0]["digest"]["sha256"],
        digest.trim_start_matches("sha256:")
    );
    let (set, proof, note, sig, _) = check_bundle(&Signing::valid().tamper(Tamper::LogBody));
    assert!(!set && !proof && note && sig);
    let (set, proof, _, sig, _) = check_bundle(&Signing::valid().tamper(Tamper::SetByte));
    assert!(!set && proof && sig);
    let (set, proof, _, sig, _) = check_bundle(&Signing::valid().tamper(Tamper::BadSignature));
    assert!(set && proof && !sig);
    let (set, _, _, sig, st) =
        check_bundle(&Signing::valid().tamper(Tamper::OtherSubject(other.clone())));
    assert!(set && sig);
    assert_eq!(
        st["subject"][0]["digest"]["sha256"],
        other.trim_start_matches("sha256:")
    );
    assert_eq!(rfc3339(SIGNED_AT), "2026-06-01T12:01:00Z");
    assert_eq!(rfc3339(CA_NOT_BEFORE), "2026-01-01T00:00:00Z");
}

// ---------------------------------------------------------------------------------------------
// Through the binary, against a real registry.
