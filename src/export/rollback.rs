//! Settling a plan: taking a failed image back out (`--keep-going`), and one member per blob.

use std::collections::{BTreeMap, BTreeSet};

use super::plan::Plan;
use crate::digest::Digest;

/// Where a plan stood before an image was added, to take a failed image back out.
pub struct Mark {
    entries: usize,
    images: usize,
    attached: usize,
    inline: BTreeSet<Digest>,
    /// Each blob with how many repositories it had.
    blobs: BTreeMap<Digest, usize>,
}

impl Plan {
    /// Remembers the current content.
    pub fn mark(&self) -> Mark {
        Mark {
            entries: self.entries.len(),
            images: self.images.len(),
            attached: self.attached.len(),
            inline: self.inline.keys().cloned().collect(),
            blobs: self
                .blobs
                .iter()
                .map(|(d, b)| (d.clone(), b.repositories.len()))
                .collect(),
        }
    }

    /// Makes every blob one member: content read whole while planning (a config checked for
    /// `--platform`) is written from memory, so it leaves the fetch list whichever image
    /// needed it first.
    pub fn settle(&mut self) {
        let inline = &self.inline;
        self.blobs.retain(|d, _| !inline.contains_key(d));
    }

    /// Removes what was added since `m`.
    pub fn rollback(&mut self, m: Mark) {
        self.entries.truncate(m.entries);
        self.names = self
            .entries
            .iter()
            .filter_map(|e| e.annotations.get(crate::layout::ANNOT_REF_NAME).cloned())
            .collect();
        self.images.truncate(m.images);
        self.attached.truncate(m.attached);
        self.inline.retain(|d, _| m.inline.contains(d));
        self.blobs.retain(|d, b| match m.blobs.get(d) {
            Some(n) => {
                b.repositories.truncate(*n);
                true
            }
            None => false,
        });
    }
}
