//! cosign 2's `dev.sigstore.cosign/bundle` layer annotation: the Rekor v1 entry of a `.sig` or
//! `.att` layer and its signed entry timestamp, the offline proof of when it was signed.

use super::super::time::Time;
use super::super::tlog::{self, Entry, Expected};
use super::super::trust_root::TrustedRoot;
use super::super::{b64, SigstoreError};

/// cosign's `dev.sigstore.cosign/bundle` annotation: a Rekor v1 entry and its SET.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RekorBundle {
    signed_entry_timestamp: String,
    payload: RekorPayload,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RekorPayload {
    body: String,
    integrated_time: i64,
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

impl RekorBundle {
    pub(super) fn parse(json: &str) -> Result<RekorBundle, SigstoreError> {
        serde_json::from_str(json)
            .map_err(|e| SigstoreError::malformed("cosign Rekor bundle annotation", e))
    }

    /// Verifies the SET; the integrated time is then a verified signing time.
    pub(super) fn verify_set(&self, root: &TrustedRoot) -> Result<Time, SigstoreError> {
        let set = b64("signed entry timestamp", &self.signed_entry_timestamp)?;
        let p = &self.payload;
        tlog::verify_set(
            &p.body,
            p.integrated_time,
            p.log_index,
            &p.log_id,
            &set,
            root,
        )?;
        Ok(p.integrated_time)
    }

    /// The SET, then the body recording `expected`.
    pub(super) fn verify(
        &self,
        root: &TrustedRoot,
        expected: &Expected<'_>,
    ) -> Result<Time, SigstoreError> {
        let t = self.verify_set(root)?;
        tlog::check_body(&self.entry(), expected)?;
        Ok(t)
    }

    /// The entry as a bundle would carry it, for [`tlog::check_body`].
    pub(super) fn entry(&self) -> Entry {
        let body: serde_json::Value = b64("Rekor body", &self.payload.body)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let field = |k: &str| {
            body.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        Entry {
            log_index: Some(self.payload.log_index.to_string()),
            log_id: tlog::LogId {
                key_id: String::new(),
            },
            kind_version: tlog::KindVersion {
                kind: field("kind"),
                version: field("apiVersion"),
            },
            integrated_time: Some(self.payload.integrated_time.to_string()),
            inclusion_promise: None,
            inclusion_proof: None,
            canonicalized_body: self.payload.body.clone(),
        }
    }
}
