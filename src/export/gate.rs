//! `export --require-signed`: the bundle about to be written, checked before any file exists.
//! The plan already holds every manifest in memory; the signature layers (simple-signing
//! payloads, DSSE envelopes, sigstore bundles: small JSON) are fetched now, digest-checked,
//! and the same [`crate::signed::gate`] that `import --require-signed` runs decides.

use std::collections::BTreeMap;
use std::io::Read;

use super::plan::Plan;
use super::ExportError;
use crate::digest::{Digest, VerifyingReader};
use crate::layout::graph::{read_entries, walk};
use crate::layout::reader::Bundle;
use crate::layout::{index_json, INDEX_FILE, OCI_LAYOUT_CONTENT, OCI_LAYOUT_FILE};
use crate::manifest::{Checked, MAX_MANIFEST_SIZE};
use crate::registry::Client;
use crate::sigstore::image::Checker;

/// Refuses the export when an image is not signed as `checker` asks.
pub fn check(client: &Client, plan: &Plan, checker: &Checker) -> Result<(), ExportError> {
    let mut members: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    members.insert(OCI_LAYOUT_FILE.to_string(), OCI_LAYOUT_CONTENT.to_vec());
    members.insert(
        INDEX_FILE.to_string(),
        index_json(&plan.entries, &BTreeMap::new()),
    );
    for (d, (_, bytes)) in &plan.inline {
        members.insert(d.layout_path(), bytes.clone());
    }
    let bundle = Bundle::from_memory("the planned bundle", members)?;
    let entries = read_entries(&bundle).map_err(ExportError::Planned)?;
    let graphs: Vec<_> = entries.entries.iter().map(|e| walk(&bundle, e)).collect();
    let read = |l: &Checked| -> Result<Vec<u8>, String> {
        if let Some((_, bytes)) = plan.inline.get(&l.digest) {
            return Ok(bytes.clone());
        }
        fetch(client, plan, &l.digest, l.size)
    };
    let refused = crate::signed::gate(&entries, &graphs, checker, &read);
    if refused.is_empty() {
        Ok(())
    } else {
        Err(ExportError::Unsigned(refused))
    }
}

/// A signature layer from the registry the plan fetches it from, whole (it is small) and
/// checked against its digest.
fn fetch(client: &Client, plan: &Plan, digest: &Digest, size: u64) -> Result<Vec<u8>, String> {
    if size > MAX_MANIFEST_SIZE {
        return Err(format!(
            "layer {digest} is {size} bytes, more than a signature layer may be"
        ));
    }
    let src = plan
        .blobs
        .get(digest)
        .ok_or_else(|| format!("layer {digest} is not in the export plan"))?;
    let stream = client
        .open_blob(&src.from, digest, &src.urls, 0)
        .map_err(|e| format!("layer {digest}: {}", crate::error::chain(&e)))?;
    // The verifying reader every blob goes through: the size and the digest the plan holds.
    let mut v = VerifyingReader::new(stream.reader, digest.clone(), size);
    let mut bytes = Vec::new();
    v.read_to_end(&mut bytes)
        .map_err(|e| format!("layer {digest}: {e}"))?;
    v.finish().map_err(|e| format!("layer {digest}: {e}"))?;
    Ok(bytes)
}
