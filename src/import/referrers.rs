//! Keeping the referrers fallback tag (DESIGN §6): when a registry does not index `subject`
//! itself (no `OCI-Subject` answer), the tag `sha256-<hex>` holds an index of the subject's
//! referrers. Per repository and subject: read what is there, merge by digest, PUT once.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::push::target;
use super::ImportError;
use crate::digest::Digest;
use crate::manifest::{RawManifest, OCI_INDEX};
use crate::reference::Reference;
use crate::registry::{Client, RegistryError};

/// Referrers pushed to registries that did not index them, by (target repository, subject).
pub type Pending = BTreeMap<(Reference, Digest), Vec<RawManifest>>;

/// The fallback-index descriptor of a referrer: media type, digest, size, artifactType and the
/// manifest's annotations.
fn descriptor(m: &RawManifest) -> Value {
    let v: Value = serde_json::from_slice(&m.bytes).unwrap_or_default();
    let mut d =
        json!({"mediaType": m.media_type, "digest": m.digest.to_string(), "size": m.bytes.len()});
    if let Some(t) = m.artifact_type() {
        d["artifactType"] = Value::String(t);
    }
    if let Some(a) = v.get("annotations").filter(|a| a.is_object()) {
        d["annotations"] = a.clone();
    }
    d
}

/// Merges `new` into the fallback index bytes `existing` (None: no tag yet); None when nothing
/// is new.
pub fn merge(existing: Option<&[u8]>, new: &[RawManifest]) -> Option<Vec<u8>> {
    let mut index: Value = existing
        .and_then(|b| serde_json::from_slice(b).ok())
        .filter(|v: &Value| v.get("manifests").is_some_and(Value::is_array))
        .unwrap_or_else(|| json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}));
    let list = index.get_mut("manifests")?.as_array_mut()?;
    let mut there: std::collections::HashSet<String> = list
        .iter()
        .filter_map(|e| e.get("digest").and_then(Value::as_str).map(str::to_string))
        .collect();
    let mut changed = false;
    for m in new {
        if there.insert(m.digest.to_string()) {
            list.push(descriptor(m));
            changed = true;
        }
    }
    changed.then(|| serde_json::to_vec(&index).unwrap_or_default())
}

/// Writes the fallback tags for every pending (repository, subject); what was written
/// (repository, tag, digest of the new index), to be read back.
pub fn update_fallback_tags(
    client: &Client,
    pending: &Pending,
) -> Result<Vec<(Reference, String, Digest)>, ImportError> {
    let mut written = Vec::new();
    for ((repo, subject), referrers) in pending {
        let tag = repo.with_tag(&subject.as_tag());
        let err = |e: RegistryError| ImportError::Registry {
            image: format!("referrers fallback tag {tag}"),
            cause: e.into(),
        };
        let existing = match client.head_manifest(&tag).map_err(err)? {
            Some(_) => Some(client.get_manifest(&tag).map_err(err)?.bytes),
            None => None,
        };
        if let Some(bytes) = merge(existing.as_deref(), referrers) {
            client
                .put_manifest(&target(repo), &subject.as_tag(), OCI_INDEX, &bytes)
                .map_err(err)?;
            written.push((repo.clone(), subject.as_tag(), Digest::sha256_of(&bytes)));
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn referrer(n: u8) -> RawManifest {
        let b = format!(r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/x-{n}","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}},"layers":[],"annotations":{{"k":"{n}"}}}}"#).into_bytes();
        let d = Digest::sha256_of(&b);
        RawManifest::new(b, d, "")
    }

    #[test]
    fn merge_keeps_what_is_there_and_adds_by_digest() {
        let a = referrer(1);
        let first = merge(None, std::slice::from_ref(&a)).unwrap();
        let v: Value = serde_json::from_slice(&first).unwrap();
        assert_eq!(v["manifests"][0]["artifactType"], "application/x-1");
        assert_eq!(v["manifests"][0]["annotations"]["k"], "1");
        assert!(
            merge(Some(&first), std::slice::from_ref(&a)).is_none(),
            "nothing new, no PUT"
        );
        let b = referrer(2);
        let second: Value =
            serde_json::from_slice(&merge(Some(&first), std::slice::from_ref(&b)).unwrap())
                .unwrap();
        let digests: Vec<&str> = second["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["digest"].as_str().unwrap())
            .collect();
        assert_eq!(digests, vec![a.digest.to_string(), b.digest.to_string()]);
    }
}
