//! Walking an index in the registry with the one graph walk (`crate::walk`), keeping the
//! platforms asked for (DESIGN §3.2): platform manifests by `--platform`, buildkit attestations
//! exactly when what they attest is kept, nested indexes when anything under them is kept.
//! The index bytes themselves are never changed: a subset is recorded as `io.ferry.platforms`.

use std::collections::BTreeSet;

use super::plan::{Planner, PlatformAcc, Role};
use super::{AbsentChild, ExportError};
use crate::layout::MAX_DEPTH;
use crate::manifest::{Checked, Parsed, RawManifest};
use crate::reference::Reference;
use crate::registry::{RegistryError, Repository};
use crate::walk::{Failure, Node, Visit};

/// Walks the index `root` of `image`, adding what is kept to the plan.
pub(super) fn walk(
    planner: &mut Planner,
    r: &Reference,
    image: &str,
    root: &RawManifest,
    acc: &mut PlatformAcc,
) -> Result<(), ExportError> {
    let client = planner.client;
    let source = Repository {
        client,
        reference: r,
    };
    let mut v = Selection {
        planner,
        r,
        image,
        acc,
        kept_under: Vec::new(),
    };
    crate::walk::walk(&source, &Checked::of(root), root.clone(), &mut v)
}

struct Selection<'p, 'a> {
    planner: &'p mut Planner<'a>,
    r: &'p Reference,
    image: &'p str,
    acc: &'p mut PlatformAcc,
    /// Per open index, innermost last: whether anything under it was kept.
    kept_under: Vec<bool>,
}

impl Selection<'_, '_> {
    fn mark_kept(&mut self) {
        if let Some(k) = self.kept_under.last_mut() {
            *k = true;
        }
    }
}

impl Visit<Repository<'_>> for Selection<'_, '_> {
    type Error = ExportError;

    fn select(&mut self, _index: &Node, children: &[Checked]) -> Result<Vec<bool>, ExportError> {
        let wanted = self.planner.wanted;
        let mut selected = vec![false; children.len()];
        let mut kept = BTreeSet::new();
        for (i, c) in children.iter().enumerate() {
            if c.attests().is_some() {
                continue;
            }
            if c.is_index() {
                selected[i] = true; // kept when anything under it is (see `leave`)
                continue;
            }
            let platform = c.platform();
            if let Some(p) = &platform {
                self.acc.available.push(p.clone());
            }
            let keep = wanted.is_empty()
                || platform.as_ref().is_some_and(|p| {
                    let hits = self.planner.wanted_hits(p);
                    self.acc.matched.extend(hits.iter().copied());
                    !hits.is_empty()
                });
            if !keep {
                self.acc.dropped_any = true;
                continue;
            }
            if let Some(p) = platform {
                self.acc.kept.push(p);
            }
            self.acc.manifests.push(c.digest.clone());
            kept.insert(c.digest.to_string());
            // Planned already (another image shares it): kept, not fetched again.
            selected[i] = !self.planner.plan.inline.contains_key(&c.digest);
            if !selected[i] {
                self.mark_kept();
            }
        }
        for (i, c) in children.iter().enumerate() {
            let Some(subject) = c.attests() else { continue };
            if wanted.is_empty() || kept.contains(subject) {
                selected[i] = !self.planner.plan.inline.contains_key(&c.digest);
            } else {
                self.acc.dropped_any = true;
            }
        }
        Ok(selected)
    }

    fn enter(&mut self, node: &Node, parsed: &Parsed) -> Result<(), ExportError> {
        let (c, m) = (node.descriptor, node.manifest);
        if node.depth > 0 && m.bytes.len() as u64 != c.size {
            return Err(ExportError::SizeMismatch {
                image: self.image.into(),
                digest: c.digest.clone(),
                expected: c.size,
                actual: m.bytes.len() as u64,
            });
        }
        match parsed {
            Parsed::Index { .. } => self.kept_under.push(false),
            Parsed::Manifest { .. } if node.depth > 0 && c.is_index() => {
                return Err(ExportError::NotAnIndex {
                    image: self.image.into(),
                    digest: c.digest.clone(),
                })
            }
            Parsed::Manifest { config, layers } => {
                let (r, image) = (self.r, self.image);
                self.planner
                    .add_manifest_blobs(r, image, config.clone(), layers.clone());
                self.planner
                    .plan
                    .inline
                    .insert(m.digest.clone(), (Role::Manifest, m.bytes.clone()));
                self.mark_kept();
            }
        }
        Ok(())
    }

    fn leave(&mut self, node: &Node) -> Result<(), ExportError> {
        if !node.is_index {
            return Ok(());
        }
        let kept = self.kept_under.pop().unwrap_or(false);
        if node.depth == 0 {
            return Ok(()); // the root is the entry itself
        }
        if kept {
            let m = node.manifest;
            self.planner
                .plan
                .inline
                .insert(m.digest.clone(), (Role::Manifest, m.bytes.clone()));
            self.mark_kept();
        } else {
            self.acc.dropped_any = true;
        }
        Ok(())
    }

    fn absent(&mut self, index: &Node, c: &Checked, _: &[Checked]) -> Result<(), ExportError> {
        Err(ExportError::AbsentChild(Box::new(AbsentChild {
            image: self.image.into(),
            what: c.what(),
            digest: c.digest.clone(),
            index: index.manifest.digest.clone(),
            repository: self.r.name(),
        })))
    }

    fn failed(
        &mut self,
        _parent: Option<&Node>,
        c: &Checked,
        why: Failure<RegistryError>,
    ) -> Result<(), ExportError> {
        Err(match why {
            Failure::Source(e) => ExportError::registry(self.image, e),
            Failure::Parse(e) => ExportError::Manifest {
                image: self.image.into(),
                cause: e,
            },
            Failure::TooDeep => ExportError::TooDeep {
                image: self.image.into(),
                digest: c.digest.clone(),
                limit: MAX_DEPTH,
            },
        })
    }
}
