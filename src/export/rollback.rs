//! Taking a failed image back out of a plan (`--keep-going`): what was added since a mark.

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
