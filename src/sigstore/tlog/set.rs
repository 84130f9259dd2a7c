//! Rekor v1 signed entry timestamps (the inclusion promise): the log's signature over the
//! canonical JSON of the entry's body, integrated time, log id and index. Standalone, because
//! cosign's `dev.sigstore.cosign/bundle` annotation carries the same promise outside a bundle.

use super::super::trust_root::{Log, TrustedRoot};
use super::super::{b64, unhex, SigstoreError};
use super::{body_b64 as canonical_b64, hex, tlog_err};

/// Verifies a Rekor v1 signed entry timestamp: the log's signature over the canonical JSON of
/// `{body, integratedTime, logID, logIndex}` (cosign's `dev.sigstore.cosign/bundle` too).
/// `body_b64` is the base64 canonicalized body, `log_id_hex` the hex log id. The log must be
/// one of `root`'s and valid at `integrated_time`.
pub fn verify_set(
    body_b64: &str,
    integrated_time: i64,
    log_index: i64,
    log_id_hex: &str,
    set: &[u8],
    root: &TrustedRoot,
) -> Result<(), SigstoreError> {
    let log_id = unhex(log_id_hex.trim())
        .ok_or_else(|| SigstoreError::malformed("log id", format!("{log_id_hex:?} is not hex")))?;
    let log = root.tlog(&log_id).ok_or_else(|| {
        tlog_err(format!(
            "the entry is from log {}, which the trusted root does not name",
            hex(&log_id)
        ))
    })?;
    let body = b64("log entry body", body_b64)?;
    verify_with(
        &canonical_b64(&body),
        integrated_time,
        log_index,
        &log_id,
        set,
        log,
    )
}

/// The SET payload, canonical JSON (RFC 8785: keys sorted, no white space) as Rekor signs it.
fn set_payload(body_b64: &str, integrated_time: i64, log_index: i64, log_id: &[u8]) -> String {
    // A base64 string and a hex string need no JSON escaping; serde_json quotes them anyway.
    let q = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    format!(
        "{{\"body\":{},\"integratedTime\":{integrated_time},\"logID\":{},\"logIndex\":{log_index}}}",
        q(body_b64),
        q(&hex(log_id))
    )
}

pub(crate) fn verify_with(
    body_b64: &str,
    integrated_time: i64,
    log_index: i64,
    log_id: &[u8],
    set: &[u8],
    log: &Log,
) -> Result<(), SigstoreError> {
    if !log.valid_for.contains(integrated_time) {
        return Err(tlog_err(format!(
            "the log {} was not valid at the integrated time {} (valid {}..{})",
            log.base_url,
            super::super::time::format_rfc3339(integrated_time),
            super::super::time::format_rfc3339(log.valid_for.start),
            log.valid_for
                .end
                .map_or_else(String::new, super::super::time::format_rfc3339)
        )));
    }
    let payload = set_payload(body_b64, integrated_time, log_index, log_id);
    log.key
        .verify(payload.as_bytes(), set, "signed entry timestamp")
        .map_err(|_| {
            tlog_err(format!(
                "the signed entry timestamp does not verify with the key of log {}",
                log.base_url
            ))
        })
}
