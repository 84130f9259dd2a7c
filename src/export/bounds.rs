//! Sizes from the registry checked against what a bundle can hold, at plan time (DESIGN §3.3,
//! §12): before a part file exists, a byte of data is allocated or a blob is fetched. A bundle
//! is at most 2^63 - 1 bytes (the largest file) and at most [`MAX_PARTS`] parts; a member may
//! span parts, so a blob bigger than `--split-size` is fine as long as the part count is.

use std::collections::BTreeMap;

use super::plan::BlobSource;
use super::{BlobProblem, ExportError};
use crate::digest::Digest;
use crate::layout::tar::{TarPlan, TarPlanError};
use crate::layout::LayoutError;
use crate::sizes::{part_count, size_arg, smallest_split, MAX_PARTS};

/// A split bundle that would need more than [`MAX_PARTS`] parts, with its largest blob.
#[derive(Debug, thiserror::Error)]
#[error("{image}: blob {digest} from {registry} is {size} bytes, and the bundle would be {total} bytes: {parts} parts of --split-size {split}, over the limit of {limit} parts; use --split-size {} or more, or export fewer images per bundle", size_arg(.min))]
pub struct TooManyParts {
    pub image: String,
    pub digest: Digest,
    pub registry: String,
    pub size: u64,
    pub total: u64,
    pub split: u64,
    pub parts: u64,
    pub limit: u64,
    /// Smallest `--split-size` that would do.
    pub min: u64,
}

/// Lays the tar out; a size that takes it past the largest file is refused naming the image
/// and blob (`blob_at(i)`: the registry blob behind entry `i`, if it is one).
pub(super) fn lay_out<'a>(
    entries: &[(String, u64)],
    blob_at: impl Fn(usize) -> Option<&'a BlobSource>,
) -> Result<TarPlan, ExportError> {
    TarPlan::new(entries).map_err(|e| match e {
        TarPlanError::TooLarge {
            index, size, limit, ..
        } => match blob_at(index) {
            Some(src) => ExportError::Blob {
                image: src.image.clone(),
                digest: src.digest.clone(),
                registry: src.from.registry.clone(),
                problem: BlobProblem::PastLargestFile { size, limit }.into(),
            },
            None => ExportError::Layout(LayoutError::Member {
                name: entries
                    .get(index)
                    .map(|(n, _)| n.clone())
                    .unwrap_or_default(),
                source: e,
            }),
        },
        TarPlanError::Header { ref name, .. } => ExportError::Layout(LayoutError::Member {
            name: name.clone(),
            source: e,
        }),
    })
}

/// Refuses a split bundle of `total` bytes that needs more than [`MAX_PARTS`] parts, naming
/// its largest blob. (Without a registry blob to name, the writer refuses it itself.)
pub(super) fn check_parts(
    total: u64,
    split: Option<u64>,
    blobs: &BTreeMap<Digest, BlobSource>,
) -> Result<(), ExportError> {
    let Some(split) = split.filter(|s| *s > 0) else {
        return Ok(());
    };
    let parts = part_count(total, split);
    if parts <= MAX_PARTS {
        return Ok(());
    }
    let Some(largest) = blobs.values().max_by_key(|b| b.size) else {
        return Ok(());
    };
    Err(ExportError::TooManyParts(Box::new(TooManyParts {
        image: largest.image.clone(),
        digest: largest.digest.clone(),
        registry: largest.from.registry.clone(),
        size: largest.size,
        total,
        split,
        parts,
        limit: MAX_PARTS,
        min: smallest_split(total),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::plan::Role;
    use crate::reference::Reference;

    fn blob(seed: &[u8], size: u64) -> BlobSource {
        let r = Reference::parse("reg.example/app:v1").unwrap();
        BlobSource {
            digest: Digest::sha256_of(seed),
            size,
            role: Role::Layer,
            image: r.to_string(),
            from: r,
            urls: Vec::new(),
            repositories: Vec::new(),
        }
    }

    #[test]
    fn sizes_past_the_largest_file_name_image_and_blob() {
        let srcs = [blob(b"a", 6 << 60), blob(b"b", 6 << 60)];
        let entries: Vec<(String, u64)> = srcs
            .iter()
            .map(|b| (b.digest.layout_path(), b.size))
            .collect();
        let e = crate::error::chain(&lay_out(&entries, |i| srcs.get(i)).unwrap_err());
        assert!(e.starts_with("reg.example/app:v1: blob "), "{e}");
        assert!(e.contains(&srcs[1].digest.to_string()), "{e}");
        assert!(
            e.contains("reg.example") && e.contains("largest file"),
            "{e}"
        );
        assert!(lay_out(&entries[..1], |i| srcs.get(i)).is_ok());
    }

    #[test]
    fn too_many_parts_names_the_largest_blob_and_a_split_that_works() {
        let mut blobs = BTreeMap::new();
        for b in [blob(b"small", 10), blob(b"huge", 1 << 40)] {
            blobs.insert(b.digest.clone(), b);
        }
        let total = (1 << 40) + 4096;
        let e = check_parts(total, Some(64 << 20), &blobs)
            .unwrap_err()
            .to_string();
        assert!(e.contains(&Digest::sha256_of(b"huge").to_string()), "{e}");
        assert!(
            e.contains("16385 parts") && e.contains("10000 parts"),
            "{e}"
        );
        assert!(e.contains("--split-size 105M or more"), "{e}");
        assert!(check_parts(total, Some(1 << 30), &blobs).is_ok());
        assert!(check_parts(total, None, &blobs).is_ok());
        assert!(check_parts(total, Some(1024), &BTreeMap::new()).is_ok());
    }
}
