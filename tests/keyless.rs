//! Keyless signatures (Fulcio certificates, Rekor entries) verified offline with a
//! `trusted_root.json`: cosign 2 `.sig` and `.att` tags and cosign 3 sigstore-bundle referrers,
//! made by the test Sigstore of `common/sigstore.rs`, exported from a real registry and checked
//! by `ferry verify`, `export --require-signed` and `import --require-signed` (DESIGN §6).
//!
//! The first tests check the fixtures themselves (certificates with openssl, SETs, checkpoints
//! and signatures with p256, the log bodies against real Rekor entries), so a failure further
//! down is ferry's, not the fixture's.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::cosign::set_fallback;
use common::pki::pem_to_der;
use common::sigstore::*;
use common::snapshot::assert_snapshot;
use common::*;
use der::{Decode, Encode};
use p256::ecdsa::signature::Verifier;
use p256::pkcs8::DecodePublicKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const P3: [&str; 3] = ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"];
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

/// `--trusted-root F --certificate-identity I --certificate-oidc-issuer O` for the defaults.
fn keyless(root: &Path) -> Vec<String> {
    [
        "--trusted-root",
        root.to_str().unwrap(),
        "--certificate-identity",
        IDENTITY,
        "--certificate-oidc-issuer",
        OIDC_ISSUER,
    ]
    .map(String::from)
    .to_vec()
}

fn ferry_with(args: &[&str], extra: &[String]) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(extra.iter().map(String::as_str));
    ferry(&all)
}

fn stdout_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// A signed world: an OCI index `kl/app:v1` over three platforms whose index carries a keyless
/// `.sig`, a keyless `.att` and a sigstore-bundle referrer, and whose linux/amd64 manifest
/// carries a keyless `.sig`; the trust root of the test Sigstore in `dir`.
struct World {
    reg: Registry,
    dir: tempfile::TempDir,
    root: PathBuf,
    idx: ImageIndex,
    image: String,
    sig_index: Blob,
    sig_amd64: Blob,
    att_index: Blob,
    bundle_ref: Blob,
}

fn world() -> World {
    let reg = Registry::start();
    let ts = TestSigstore::new();
    let dir = tempfile::tempdir().unwrap();
    let root = ts.write_trusted_root(dir.path());
    let c = reg.client();
    let idx = push_oci_index(&reg, "kl/app", "v1", &P3, true, false);
    let name = format!("{}/kl/app", reg.host);
    let s = Signing::valid();
    let sig_index = ts.push_keyless_signature(&c, "kl/app", &name, idx.digest(), &s);
    let amd64 = idx.image("linux/amd64").digest().to_string();
    let sig_amd64 = ts.push_keyless_signature(&c, "kl/app", &name, &amd64, &s);
    let att_index = ts.push_keyless_attestation(&c, "kl/app", &name, idx.digest(), &s);
    let subject = json!({"mediaType": OCI_INDEX, "digest": idx.digest(), "size": idx.index.size()});
    let (bundle_ref, _) = ts.push_bundle_referrer(&c, "kl/app", &name, &subject, &s);
    set_fallback(
        &c,
        "kl/app",
        idx.digest(),
        &[(&bundle_ref, SIGSTORE_BUNDLE_V03)],
    );
    World {
        image: format!("{name}:v1"),
        reg,
        dir,
        root,
        idx,
        sig_index,
        sig_amd64,
        att_index,
        bundle_ref,
    }
}

fn export(image: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["export", image, "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    ferry(&args)
}

fn verify_json(bundle: &Path, root: &Path) -> Value {
    let o = ferry_with(
        &["verify", bundle.to_str().unwrap(), "--json"],
        &keyless(root),
    );
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("verify --json: {e}\n{}\n{}", stdout_of(&o), stderr(&o)))
}

/// The `signatures[]` entry of `digest` in the image whose reference is `image`.
fn signature_entry<'a>(v: &'a Value, image: &str, digest: &str) -> &'a Value {
    let img = v["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference"] == image)
        .unwrap_or_else(|| panic!("no image {image} in {v:#}"));
    img["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["digest"] == digest)
        .unwrap_or_else(|| panic!("no signature entry for {digest} in {img:#}"))
}

/// The `found[]` kinds of a signature entry, sorted.
fn kinds(entry: &Value) -> Vec<String> {
    let mut k: Vec<String> = entry["found"]
        .as_array()
        .unwrap_or_else(|| panic!("no found[] in {entry:#}"))
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect();
    k.sort();
    k
}

/// Every `found[]` of `entry` verified, by the default identity and issuer, at [`SIGNED_AT`].
fn assert_all_verified(entry: &Value) {
    assert_eq!(entry["signature"]["status"], "valid", "{entry:#}");
    for f in entry["found"].as_array().unwrap() {
        assert_eq!(f["verified"], true, "{f:#}");
        assert_eq!(f["identity"], IDENTITY, "{f:#}");
        assert_eq!(f["issuer"], OIDC_ISSUER, "{f:#}");
        assert_eq!(f["signing_time"], rfc3339(SIGNED_AT), "{f:#}");
        if f["kind"] != "cosign-signature" {
            assert_eq!(f["predicate_type"], SLSA_PROVENANCE_V1, "{f:#}");
        }
    }
}

/// The keyless verdicts of a bundle holding `w`'s image: text and JSON.
fn assert_world_verifies(w: &World, bundle: &Path) {
    let o = ferry_with(&["verify", bundle.to_str().unwrap()], &keyless(&w.root));
    assert_success(&o);
    let text = stdout_of(&o);
    let amd64 = w.idx.image("linux/amd64").digest();
    for line in [
        format!("  index {}: signed, valid", w.idx.digest()),
        format!("  linux/amd64 {amd64}: signed, valid"),
    ] {
        assert!(text.contains(&line), "no {line:?} in\n{text}");
    }
    assert_eq!(text.matches(": signed, valid").count(), 2, "{text}");
    assert!(!text.contains("INVALID"), "{text}");

    let v = verify_json(bundle, &w.root);
    let idx = signature_entry(&v, &w.image, w.idx.digest());
    assert_eq!(
        kinds(idx),
        ["cosign-attestation", "cosign-signature", "sigstore-bundle"]
    );
    assert_all_verified(idx);
    let plat = signature_entry(&v, &w.image, amd64);
    assert_eq!(kinds(plat), ["cosign-signature"]);
    assert_all_verified(plat);
}

#[test]
fn keyless_signatures_attestations_and_bundles_verify_offline() {
    let w = world();
    let full = w.dir.path().join("full.tar");
    assert_success(&export(&w.image, &full, &[]));
    assert_world_verifies(&w, &full);

    // A platform subset keeps the index bytes, so every signature over it still verifies.
    let sub = w.dir.path().join("amd64.tar");
    assert_success(&export(&w.image, &sub, &["--platform", "linux/amd64"]));
    assert_world_verifies(&w, &sub);

    // Regular expressions for the identity and the issuer, as cosign takes them.
    let o = ferry(&[
        "verify",
        sub.to_str().unwrap(),
        "--trusted-root",
        w.root.to_str().unwrap(),
        "--certificate-identity-regexp",
        "^https://github\\.com/ferry-test/",
        "--certificate-oidc-issuer-regexp",
        "ferry\\.test$",
    ]);
    assert_success(&o);
    assert_eq!(stdout_of(&o).matches(": signed, valid").count(), 2);

    // The same bundle under another instance's trust root: nothing verifies.
    let other = w.dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let other_root = TestSigstore::other().write_trusted_root(&other);
    let o = ferry_with(&["verify", sub.to_str().unwrap()], &keyless(&other_root));
    assert_failure(&o, &[&w.image]);
    assert!(
        !stdout_of(&o).contains("signed, valid"),
        "{}",
        stdout_of(&o)
    );
    // What was verified is what the registry held: the fixture's artifacts, byte for byte.
    let listed = entry_digests(&sub);
    for d in [&w.sig_index, &w.sig_amd64, &w.att_index, &w.bundle_ref] {
        assert!(listed.contains(&d.digest), "{} not in the bundle", d.digest);
    }
}

/// The digests the bundle's `index.json` lists.
fn entry_digests(bundle: &Path) -> Vec<String> {
    let mut ar = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == "index.json" {
            let v: Value = serde_json::from_reader(&mut e).unwrap();
            return v["manifests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["digest"].as_str().unwrap().to_string())
                .collect();
        }
    }
    panic!("no index.json in {}", bundle.display());
}

/// One broken case: an image `kl/<name>:v1` signed in all three ways with `s`; what the
/// reason must say (any of).
struct Broken {
    name: &'static str,
    s: Signing,
    reason: &'static [&'static str],
}

fn broken_cases(other_digest: &str) -> Vec<Broken> {
    let v = Signing::valid;
    vec![
        Broken {
            name: "wrong-identity",
            s: v().identity(OTHER_IDENTITY),
            reason: &["identity"],
        },
        Broken {
            name: "wrong-issuer",
            s: v().issuer(OTHER_ISSUER),
            reason: &["issuer"],
        },
        Broken {
            name: "expired",
            s: v().after_expiry(),
            reason: &["certificate"],
        },
        Broken {
            name: "log-body",
            s: v().tamper(Tamper::LogBody),
            reason: &["transparency log"],
        },
        Broken {
            name: "set-byte",
            s: v().tamper(Tamper::SetByte),
            reason: &["transparency log"],
        },
        Broken {
            name: "bad-signature",
            s: v().tamper(Tamper::BadSignature),
            reason: &["signature", "artifact"],
        },
        Broken {
            name: "other-subject",
            s: v().tamper(Tamper::OtherSubject(other_digest.to_string())),
            // `verify --key` says "the payload signs <other>, not this manifest <digest>".
            reason: &["signature", "artifact", "the payload signs"],
        },
    ]
}

/// Pushes a single-manifest image `kl/<name>:v1` with a `.sig`, a `.att` and a bundle referrer,
/// all made with `s`; returns (image reference, manifest digest).
fn push_signed(
    reg: &Registry,
    ts: &TestSigstore,
    name: &str,
    s: &Signing,
    seed: u64,
) -> (String, String) {
    let c = reg.client();
    let repo = format!("kl/{name}");
    let img = push_oci_manifest(reg, &repo, "v1", seed);
    let full = format!("{}/{repo}", reg.host);
    ts.push_keyless_signature(&c, &repo, &full, img.digest(), s);
    ts.push_keyless_attestation(&c, &repo, &full, img.digest(), s);
    let subject = img.manifest.descriptor();
    let (r, _) = ts.push_bundle_referrer(&c, &repo, &full, &subject, s);
    set_fallback(&c, &repo, img.digest(), &[(&r, SIGSTORE_BUNDLE_V03)]);
    (format!("{full}:v1"), img.digest().to_string())
}

fn mentions_any(text: &str, words: &[&str]) -> bool {
    let t = text.to_lowercase();
    words.iter().any(|w| t.contains(w))
}

#[test]
fn each_broken_keyless_signature_fails_naming_the_image_and_why() {
    let reg = Registry::start();
    let ts = TestSigstore::new();
    let dir = tempfile::tempdir().unwrap();
    let root = ts.write_trusted_root(dir.path());
    let other = push_oci_manifest(&reg, "kl/elsewhere", "v1", 90)
        .digest()
        .to_string();
    for (i, case) in broken_cases(&other).into_iter().enumerate() {
        let (image, digest) = push_signed(&reg, &ts, case.name, &case.s, 100 + i as u64);
        let bundle = dir.path().join(format!("{}.tar", case.name));
        assert_success(&export(&image, &bundle, &[]));
        let o = ferry_with(&["verify", bundle.to_str().unwrap()], &keyless(&root));
        assert_failure(&o, &[&image]);
        let (out, err) = (stdout_of(&o), stderr(&o));
        assert!(
            mentions_any(&err, case.reason),
            "{}: stderr names none of {:?}:\n{err}",
            case.name,
            case.reason
        );
        let line = out
            .lines()
            .find(|l| l.contains(&digest) && l.contains("signed"))
            .unwrap_or_else(|| panic!("{}: no line for {digest}:\n{out}", case.name));
        assert!(line.contains("signed, INVALID ("), "{}: {line}", case.name);
        assert!(mentions_any(line, case.reason), "{}: {line}", case.name);

        let v = verify_json(&bundle, &root);
        assert_eq!(v["ok"], false, "{}", case.name);
        let e = signature_entry(&v, &image, &digest);
        assert_eq!(e["signature"]["status"], "invalid", "{}: {e:#}", case.name);
        assert!(
            mentions_any(e["signature"]["reason"].as_str().unwrap(), case.reason),
            "{}: {e:#}",
            case.name
        );
        assert_eq!(
            kinds(e),
            ["cosign-attestation", "cosign-signature", "sigstore-bundle"],
            "{}",
            case.name
        );
        for f in e["found"].as_array().unwrap() {
            assert_eq!(f["verified"], false, "{}: {f:#}", case.name);
            let reason = f["reason"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: no reason: {f:#}", case.name));
            assert!(
                mentions_any(reason, case.reason),
                "{}: {} says {reason:?}, not any of {:?}",
                case.name,
                f["kind"],
                case.reason
            );
        }
    }
}

/// GET /v2/_catalog of `reg`.
fn catalog(reg: &Registry) -> Vec<String> {
    let r = reg.client().request("GET", "/v2/_catalog", &[], b"");
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    v["repositories"]
        .as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn require_signed_refuses_unsigned_and_wrongly_signed_images_before_writing_or_pushing() {
    let reg = Registry::start();
    let ts = TestSigstore::new();
    let dir = tempfile::tempdir().unwrap();
    let root = ts.write_trusted_root(dir.path());
    let flags = keyless(&root);
    let (good, _) = push_signed(&reg, &ts, "good", &Signing::valid(), 1);
    let (wrong, _) = push_signed(
        &reg,
        &ts,
        "wrong",
        &Signing::valid().identity(OTHER_IDENTITY),
        2,
    );
    push_oci_manifest(&reg, "kl/unsigned", "v1", 3);
    let unsigned = format!("{}/kl/unsigned:v1", reg.host);

    // Export: the signed image passes; an unsigned or wrongly signed one is refused, alone or
    // among others, and no output file appears.
    let ok = dir.path().join("good.tar");
    assert_success(&ferry_with(
        &[
            "export",
            &good,
            "-o",
            ok.to_str().unwrap(),
            "--require-signed",
        ],
        &flags,
    ));
    assert!(ok.exists());
    for (name, images, needles) in [
        ("unsigned", vec![unsigned.as_str()], vec![unsigned.as_str()]),
        (
            "wrong",
            vec![wrong.as_str()],
            vec![wrong.as_str(), "identity"],
        ),
        (
            "mixed",
            vec![good.as_str(), unsigned.as_str(), wrong.as_str()],
            vec![unsigned.as_str(), wrong.as_str()],
        ),
    ] {
        let out = dir.path().join(format!("{name}.tar"));
        let mut args = vec!["export"];
        args.extend(images.iter().copied());
        args.extend(["-o", out.to_str().unwrap(), "--require-signed"]);
        let o = ferry_with(&args, &flags);
        assert_failure(&o, &needles);
        assert!(!out.exists(), "{name}: {} was written", out.display());
    }

    // Import: a bundle with a wrongly signed image (exported without the check) is refused
    // before anything is pushed; the signed bundle imports.
    let mixed = dir.path().join("unchecked.tar");
    let o = ferry(&["export", &good, &wrong, "-o", mixed.to_str().unwrap()]);
    assert_success(&o);
    let dst = Registry::start();
    let prefix = format!("{}/team", dst.host);
    let o = ferry_with(
        &[
            "import",
            mixed.to_str().unwrap(),
            "--to",
            &prefix,
            "--require-signed",
        ],
        &flags,
    );
    assert_failure(&o, &[&wrong, "identity"]);
    assert_eq!(
        catalog(&dst),
        Vec::<String>::new(),
        "import pushed before refusing"
    );
    let unsigned_bundle = dir.path().join("unsigned-unchecked.tar");
    assert_success(&ferry(&[
        "export",
        &unsigned,
        "-o",
        unsigned_bundle.to_str().unwrap(),
    ]));
    let o = ferry_with(
        &[
            "import",
            unsigned_bundle.to_str().unwrap(),
            "--to",
            &prefix,
            "--require-signed",
        ],
        &flags,
    );
    assert_failure(&o, &[&unsigned]);
    assert_eq!(
        catalog(&dst),
        Vec::<String>::new(),
        "import pushed before refusing"
    );
    let m = dir.path().join("m.json");
    assert_success(&ferry_with(
        &[
            "import",
            ok.to_str().unwrap(),
            "--to",
            &prefix,
            "--require-signed",
            "--mapping-out",
            m.to_str().unwrap(),
        ],
        &flags,
    ));
    assert_eq!(catalog(&dst).len(), 1);
}

/// `text` with what changes from run to run replaced: the registry's address, the temporary
/// directory, and every digest (numbered by first appearance; the fixture's signatures name the
/// registry, so their digests change with its port).
fn normalised(text: &str, host: &str, dir: &Path) -> String {
    let mut s = text
        .replace(dir.to_str().unwrap(), "TMP")
        .replace(host, "REGISTRY");
    let re = regex::Regex::new("sha256:[0-9a-f]{64}").unwrap();
    let mut seen: Vec<String> = Vec::new();
    s = re
        .replace_all(&s, |c: &regex::Captures| {
            let d = c[0].to_string();
            let n = match seen.iter().position(|x| *x == d) {
                Some(n) => n,
                None => {
                    seen.push(d);
                    seen.len() - 1
                }
            };
            format!("sha256:<digest-{}>", n + 1)
        })
        .into_owned();
    s
}

#[test]
fn verify_json_of_a_keyless_bundle() {
    let w = world();
    let bundle = w.dir.path().join("b.tar");
    assert_success(&export(&w.image, &bundle, &[]));
    let o = ferry_with(
        &["verify", bundle.to_str().unwrap(), "--json"],
        &keyless(&w.root),
    );
    assert_success(&o);
    let text = stdout_of(&o);
    let v: Value = serde_json::from_str(&text).unwrap();
    // Independently of the snapshot: the verdict, and who signed, when, what.
    assert_eq!(v["ok"], true);
    let idx = signature_entry(&v, &w.image, w.idx.digest());
    assert_eq!(idx["what"], "index");
    assert_eq!(idx["signature"]["status"], "valid");
    assert_all_verified(idx);
    let found = idx["found"].as_array().unwrap();
    let bundle_found = found
        .iter()
        .find(|f| f["kind"] == "sigstore-bundle")
        .unwrap();
    assert_eq!(bundle_found["identity"], IDENTITY);
    assert_eq!(bundle_found["issuer"], OIDC_ISSUER);
    assert_eq!(bundle_found["signing_time"], "2026-06-01T12:01:00Z");
    let amd64 = signature_entry(&v, &w.image, w.idx.image("linux/amd64").digest());
    assert_eq!(amd64["what"], "linux/amd64");
    assert_all_verified(amd64);
    // The other platforms have no signature: unsigned where they are listed at all.
    let img = v["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference"] == w.image.as_str())
        .unwrap();
    for e in img["signatures"].as_array().unwrap() {
        if e["digest"] != w.idx.digest() && e["digest"] != amd64["digest"] {
            assert_eq!(e["signature"]["status"], "unsigned", "{e:#}");
        }
    }
    // What varies from run to run: the hashing speed, the machine's thread count, and the
    // bytes (the registry port, in the signed payloads, has four or five digits).
    let mut stable = v.clone();
    for k in ["bytes", "seconds", "mib_per_s", "threads"] {
        stable["hashing"][k] = Value::from(0);
    }
    let stable = serde_json::to_string_pretty(&stable).unwrap();
    assert_snapshot(
        "verify-keyless.json",
        &normalised(&stable, &w.reg.host, w.dir.path()),
    );
}

#[test]
fn keyless_without_both_identity_and_issuer_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = TestSigstore::new().write_trusted_root(dir.path());
    let root = root.to_str().unwrap();
    let layout = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/single");
    let layout = layout.to_str().unwrap();
    let out = dir.path().join("b.tar");
    let out = out.to_str().unwrap();
    for args in [
        vec![
            "verify",
            layout,
            "--trusted-root",
            root,
            "--certificate-identity",
            IDENTITY,
        ],
        vec![
            "verify",
            layout,
            "--trusted-root",
            root,
            "--certificate-oidc-issuer",
            OIDC_ISSUER,
        ],
        vec!["verify", layout, "--certificate-identity-regexp", ".*"],
        vec![
            "export",
            "127.0.0.1:9/kl/app:v1",
            "-o",
            out,
            "--require-signed",
            "--certificate-identity",
            IDENTITY,
        ],
        vec![
            "import",
            layout,
            "--to",
            "127.0.0.1:9/team",
            "--require-signed",
            "--certificate-oidc-issuer",
            OIDC_ISSUER,
        ],
    ] {
        let o = ferry(&args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}\n{}",
            o.status,
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
    assert!(!Path::new(out).exists());
    // With both, the same verify is no usage error (the layout has no keyless signature).
    let o = ferry(&[
        "verify",
        layout,
        "--trusted-root",
        root,
        "--certificate-identity",
        IDENTITY,
        "--certificate-oidc-issuer",
        OIDC_ISSUER,
    ]);
    assert_ne!(o.status.code(), Some(2), "{}", stderr(&o));
}
