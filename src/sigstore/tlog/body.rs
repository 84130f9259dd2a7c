//! Whether a log entry's body records this signature, signer and artifact. Rekor v1 bodies
//! (hashedrekord 0.0.1, intoto 0.0.2, dsse 0.0.1) carry keys and certificates as base64 PEM;
//! Rekor v2 bodies (hashedrekord 0.0.2, dsse 0.0.2) carry DER. Rekor v2 logs a DSSE envelope as
//! a hashedrekord over the digest of its pre-authentication encoding.

use sha2::{Digest as _, Sha256, Sha384, Sha512};

use super::super::dsse::{pae, Envelope};
use super::super::{b64, SigstoreError};
use super::{hex, Entry, Expected, Signer};

fn mismatch(detail: impl std::fmt::Display) -> SigstoreError {
    SigstoreError::Tlog(format!("entry body: {detail}"))
}

fn malformed(detail: impl std::fmt::Display) -> SigstoreError {
    SigstoreError::malformed("transparency log entry body", detail)
}

use super::schema::{Body, DsseV1, HashedRekordV1, HexHash, IntotoV2, SpecV2, VerifierV2};

fn spec<T: serde::de::DeserializeOwned>(
    v: serde_json::Value,
    kind: &str,
) -> Result<T, SigstoreError> {
    serde_json::from_value(v).map_err(|e| malformed(format!("{kind} spec: {e}")))
}

/// The DER a Rekor v1 body's base64 PEM (certificate or public key) holds. Lenient about line
/// length, as Go's `pem.Decode` (which Rekor uses) is: some logs hold one-line PEM.
fn pem_der(what: &'static str, b64_pem: &str) -> Result<Vec<u8>, SigstoreError> {
    let pem = b64(what, b64_pem)?;
    let pem =
        std::str::from_utf8(&pem).map_err(|_| malformed(format!("{what} is not PEM text")))?;
    let not_pem = || malformed(format!("{what} is not PEM"));
    let (_, rest) = pem.split_once("-----BEGIN ").ok_or_else(not_pem)?;
    let (label, rest) = rest.split_once("-----").ok_or_else(not_pem)?;
    let (inner, _) = rest
        .split_once(&format!("-----END {label}-----"))
        .ok_or_else(not_pem)?;
    let text: String = inner.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    b64(what, &text)
}

fn signer_der<'a>(s: &Signer<'a>) -> (&'static str, &'a [u8]) {
    match s {
        Signer::Certificate(d) => ("certificate", d),
        Signer::Key(d) => ("public key", d),
    }
}

/// The signer a Rekor v1 body records (base64 PEM) must be `want`'s DER.
fn check_pem_signer(b64_pem: &str, want: &Signer<'_>) -> Result<(), SigstoreError> {
    let (what, der) = signer_der(want);
    if pem_der("logged signer", b64_pem)? != der {
        return Err(mismatch(format!(
            "the logged signer is not the bundle's {what}"
        )));
    }
    Ok(())
}

/// The signer a Rekor v2 body records (DER, typed) must be `want`.
fn check_v2_signer(v: &VerifierV2, want: &Signer<'_>) -> Result<(), SigstoreError> {
    let (logged, what) = match (want, &v.x509_certificate, &v.public_key) {
        (Signer::Certificate(_), Some(c), _) => (c, "certificate"),
        (Signer::Key(_), _, Some(k)) => (k, "public key"),
        (Signer::Certificate(_), None, _) => {
            return Err(mismatch(
                "the log records a public key, the bundle a certificate",
            ))
        }
        (Signer::Key(_), _, None) => {
            return Err(mismatch(
                "the log records a certificate, the bundle a public key",
            ))
        }
    };
    if b64("logged signer", &logged.raw_bytes)? != signer_der(want).1 {
        return Err(mismatch(format!("the logged {what} is not the bundle's")));
    }
    Ok(())
}

fn check_signature(logged: &[u8], want: &[u8]) -> Result<(), SigstoreError> {
    if logged != want {
        return Err(mismatch("the logged signature is not the bundle's"));
    }
    Ok(())
}

/// A Rekor v1 `{algorithm: sha256, value: <hex>}` must be `want`.
fn check_hex_sha256(h: &HexHash, want: &[u8], what: &str) -> Result<(), SigstoreError> {
    if !h.algorithm.eq_ignore_ascii_case("sha256") {
        return Err(mismatch(format!(
            "the logged {what} is {}, not sha256",
            h.algorithm
        )));
    }
    if !h.value.eq_ignore_ascii_case(&hex(want)) {
        return Err(mismatch(format!(
            "the logged {what} is sha256:{}, the bundle's is sha256:{}",
            h.value,
            hex(want)
        )));
    }
    Ok(())
}

/// The digest of `data` with a Rekor v2 `HashAlgorithm`.
fn digest_with(algorithm: &str, data: &[u8]) -> Result<Vec<u8>, SigstoreError> {
    Ok(match algorithm {
        "SHA2_256" => Sha256::digest(data).to_vec(),
        "SHA2_384" => Sha384::digest(data).to_vec(),
        "SHA2_512" => Sha512::digest(data).to_vec(),
        a => {
            return Err(SigstoreError::Unsupported {
                what: "log entry digest algorithm",
                detail: a.to_string(),
            })
        }
    })
}

/// The one signature of an envelope (a sigstore bundle's envelope has exactly one).
fn envelope_signature(env: &Envelope) -> Result<Vec<u8>, SigstoreError> {
    let [s] = env.signatures.as_slice() else {
        return Err(SigstoreError::malformed(
            "DSSE envelope",
            format!("{} signatures, expected exactly one", env.signatures.len()),
        ));
    };
    b64("DSSE signature", &s.sig)
}

/// A list of logged signatures must be exactly the envelope's one, by `signer`.
fn check_one<T>(
    logged: &[T],
    env: &Envelope,
    check: impl Fn(&T, &[u8]) -> Result<(), SigstoreError>,
) -> Result<(), SigstoreError> {
    let want = envelope_signature(env)?;
    let [one] = logged else {
        return Err(mismatch(format!(
            "the log records {} signatures, the envelope has one",
            logged.len()
        )));
    };
    check(one, &want)
}

/// Checks the entry's body records exactly `expected` (see [`super::check_body`]).
pub(crate) fn check(entry: &Entry, expected: &Expected<'_>) -> Result<(), SigstoreError> {
    let raw = b64("canonicalizedBody", &entry.canonicalized_body)?;
    let body: Body = serde_json::from_slice(&raw).map_err(malformed)?;
    let kv = &entry.kind_version;
    if body.kind != kv.kind || body.api_version != kv.version {
        return Err(mismatch(format!(
            "the body is {} {}, the entry says {} {}",
            body.kind, body.api_version, kv.kind, kv.version
        )));
    }
    match (body.kind.as_str(), body.api_version.as_str(), expected) {
        (
            "hashedrekord",
            "0.0.1",
            Expected::Message {
                digest,
                signature,
                verifier,
            },
        ) => {
            let s: HashedRekordV1 = spec(body.spec, "hashedrekord")?;
            check_hex_sha256(&s.data.hash, digest, "artifact digest")?;
            check_signature(&b64("logged signature", &s.signature.content)?, signature)?;
            check_pem_signer(&s.signature.public_key.content, verifier)
        }
        ("hashedrekord", "0.0.2", _) => {
            let s: SpecV2 = spec(body.spec, "hashedrekord")?;
            let s = s
                .hashed_rekord_v002
                .ok_or_else(|| malformed("hashedrekord 0.0.2 without hashedRekordV002"))?;
            let logged = b64("logged digest", &s.data.digest)?;
            let (want, sig, verifier) = match expected {
                Expected::Message {
                    digest,
                    signature,
                    verifier,
                } => {
                    if s.data.algorithm != "SHA2_256" {
                        return Err(mismatch(format!(
                            "the logged artifact digest is {}, not SHA2_256",
                            s.data.algorithm
                        )));
                    }
                    (digest.to_vec(), signature.to_vec(), verifier)
                }
                Expected::Dsse { envelope, verifier } => {
                    let payload = envelope.payload_bytes()?;
                    let pae = pae(&envelope.payload_type, &payload);
                    (
                        digest_with(&s.data.algorithm, &pae)?,
                        envelope_signature(envelope)?,
                        verifier,
                    )
                }
            };
            if logged != want {
                return Err(mismatch(format!(
                    "the logged digest is {} {}, the bundle's is {}",
                    s.data.algorithm,
                    hex(&logged),
                    hex(&want)
                )));
            }
            check_signature(&b64("logged signature", &s.signature.content)?, &sig)?;
            check_v2_signer(&s.signature.verifier, verifier)
        }
        ("intoto", "0.0.2", Expected::Dsse { envelope, verifier }) => {
            let s: IntotoV2 = spec(body.spec, "intoto")?;
            let env = &s.content.envelope;
            let payload = envelope.payload_bytes()?;
            if env.payload_type != envelope.payload_type {
                return Err(mismatch(format!(
                    "the logged payload type is {:?}, the envelope's {:?}",
                    env.payload_type, envelope.payload_type
                )));
            }
            check_hex_sha256(
                &s.content.payload_hash,
                &Sha256::digest(&payload),
                "payload digest",
            )?;
            // intoto 0.0.2 stores the envelope's base64 fields base64-encoded once more.
            if let Some(p) = &env.payload {
                let inner = b64("logged payload", p)?;
                let logged = b64("logged payload", &String::from_utf8_lossy(&inner))?;
                if logged != payload {
                    return Err(mismatch("the logged payload is not the envelope's"));
                }
            }
            check_one(&env.signatures, envelope, |one, want| {
                let inner = b64("logged signature", &one.sig)?;
                let sig = b64("logged signature", &String::from_utf8_lossy(&inner))
                    .map_err(|_| mismatch("the logged signature is not the envelope's"))?;
                check_signature(&sig, want)?;
                check_pem_signer(&one.public_key, verifier)
            })
        }
        ("dsse", "0.0.1", Expected::Dsse { envelope, verifier }) => {
            let s: DsseV1 = spec(body.spec, "dsse")?;
            let payload = envelope.payload_bytes()?;
            check_hex_sha256(&s.payload_hash, &Sha256::digest(&payload), "payload digest")?;
            check_one(&s.signatures, envelope, |one, want| {
                check_signature(&b64("logged signature", &one.signature)?, want)?;
                check_pem_signer(&one.verifier, verifier)
            })
        }
        ("dsse", "0.0.2", Expected::Dsse { envelope, verifier }) => {
            let s: SpecV2 = spec(body.spec, "dsse")?;
            let s = s
                .dsse_v002
                .ok_or_else(|| malformed("dsse 0.0.2 without dsseV002"))?;
            let payload = envelope.payload_bytes()?;
            let want = digest_with(&s.payload_hash.algorithm, &payload)?;
            let logged = b64("logged payload digest", &s.payload_hash.digest)?;
            if logged != want {
                return Err(mismatch(format!(
                    "the logged payload digest is {} {}, the envelope's is {}",
                    s.payload_hash.algorithm,
                    hex(&logged),
                    hex(&want)
                )));
            }
            check_one(&s.signatures, envelope, |one, want| {
                check_signature(&b64("logged signature", &one.content)?, want)?;
                check_v2_signer(&one.verifier, verifier)
            })
        }
        ("hashedrekord" | "intoto" | "dsse", "0.0.1" | "0.0.2", e) => {
            let what = match e {
                Expected::Message { .. } => "a message signature",
                Expected::Dsse { .. } => "a DSSE envelope",
            };
            Err(mismatch(format!(
                "a {} {} entry cannot record {what}",
                body.kind, body.api_version
            )))
        }
        (k, v, _) => Err(SigstoreError::Unsupported {
            what: "transparency log entry kind",
            detail: format!("{k} {v}"),
        }),
    }
}
