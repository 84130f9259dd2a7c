//! Walking an index in the registry with the one graph walk (`crate::walk`), keeping the
//! platforms asked for (DESIGN §3.2): platform manifests by `--platform`, buildkit attestations
//! exactly when what they attest is kept, nested indexes when anything under them is kept.
//! The index bytes themselves are never changed: a subset is recorded as `io.ferry.platforms`.
//! Children the registry lacks are gathered over the whole walk and reported together, with
//! the platforms it does hold (a registry that mirrored one platform of an index).

use std::collections::BTreeSet;

use super::memo::Remembered;
use super::plan::{Planner, PlatformAcc, Role};
use super::ExportError;
use crate::digest::Digest;
use crate::layout::MAX_DEPTH;
use crate::manifest::{Checked, Parsed, RawManifest};
use crate::platform::Platform;
use crate::reference::Reference;
use crate::registry::RegistryError;
use crate::walk::{Failure, Node, Visit};

/// Walks the index `root` of `image`, adding what is kept to the plan.
pub(super) fn walk(
    planner: &mut Planner,
    r: &Reference,
    image: &str,
    root: &RawManifest,
    acc: &mut PlatformAcc,
) -> Result<(), ExportError> {
    let source = Remembered {
        client: planner.client,
        memo: planner.memo.clone(),
        reference: r,
    };
    let mut v = Selection {
        planner,
        r,
        image,
        acc,
        kept_under: Vec::new(),
        held: Vec::new(),
        absent: Vec::new(),
    };
    crate::walk::walk(&source, &Checked::of(root), root.clone(), &mut v)?;
    if v.absent.is_empty() {
        return Ok(());
    }
    let mut held: Vec<String> = Vec::new();
    for p in v.held.iter().map(Platform::to_string) {
        if !held.contains(&p) {
            held.push(p);
        }
    }
    Err(ExportError::SparseSource(Box::new(SparseSource {
        image: image.to_string(),
        repository: r.name(),
        subset: !v.planner.wanted.is_empty(),
        held,
        absent: v.absent,
    })))
}

/// An index child the registry does not have.
#[derive(Debug)]
pub struct Absent {
    /// Its platform (`linux/arm64/v8`), else what it is (`attestation manifest`).
    pub what: String,
    pub digest: Digest,
    /// A buildkit attestation: no `--platform` leaves it out while its platform is kept.
    pub attestation: bool,
}

/// A registry that lacks children of an index it serves, so the image cannot be exported
/// whole; the message names every absent child and the platforms to export instead.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.message())]
pub struct SparseSource {
    pub image: String,
    pub repository: String,
    /// `--platform` was given: `held` are the asked-for platforms it has, not all of them.
    pub subset: bool,
    /// Platforms whose manifests the registry has, in the order walked.
    pub held: Vec<String>,
    pub absent: Vec<Absent>,
}

impl SparseSource {
    fn message(&self) -> String {
        let absent: Vec<String> = self
            .absent
            .iter()
            .map(|a| format!("{} {}", a.what, a.digest))
            .collect();
        let holds = match (self.held.is_empty(), self.subset) {
            (false, false) => format!("the registry holds only {}", self.held.join(", ")),
            (false, true) => format!(
                "of the platforms asked for, the registry holds only {}",
                self.held.join(", ")
            ),
            (true, false) => format!(
                "the registry ({}) holds none of the platforms",
                self.repository
            ),
            (true, true) => format!(
                "the registry ({}) holds none of the requested platforms",
                self.repository
            ),
        };
        let mut out = format!(
            "{}: {holds} of this index (absent: {})",
            self.image,
            absent.join(", ")
        );
        if self.absent.iter().all(|a| a.attestation) {
            out.push_str("; the absent attestation manifests are of platforms the registry has, and --platform keeps an attestation with its platform");
        } else if !self.held.is_empty() {
            let flags: Vec<String> = self
                .held
                .iter()
                .map(|p| format!("--platform {p}"))
                .collect();
            out.push_str(&format!(
                "; export the platforms it has with {}",
                flags.join(" ")
            ));
        }
        out
    }
}

struct Selection<'p, 'a> {
    planner: &'p mut Planner<'a>,
    r: &'p Reference,
    image: &'p str,
    acc: &'p mut PlatformAcc,
    /// Per open index, innermost last: whether anything under it was kept.
    kept_under: Vec<bool>,
    /// Platforms of the kept manifests the registry has (or that were planned already).
    held: Vec<Platform>,
    /// Selected children the registry lacks, reported together after the walk.
    absent: Vec<Absent>,
}

impl Selection<'_, '_> {
    fn mark_kept(&mut self) {
        if let Some(k) = self.kept_under.last_mut() {
            *k = true;
        }
    }
}

impl Visit<Remembered<'_>> for Selection<'_, '_> {
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
                self.held.extend(c.platform());
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
                if node.depth > 0 && c.attests().is_none() {
                    self.held.extend(c.platform());
                }
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

    fn absent(&mut self, _index: &Node, c: &Checked, _: &[Checked]) -> Result<(), ExportError> {
        let attestation = c.attests().is_some();
        self.absent.push(Absent {
            what: match c.platform() {
                Some(p) if !attestation => p.to_string(),
                _ => c.what(),
            },
            digest: c.digest.clone(),
            attestation,
        });
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn absent(what: &str, n: u8, attestation: bool) -> Absent {
        Absent {
            what: what.into(),
            digest: Digest::sha256_of(&[n]),
            attestation,
        }
    }

    fn sparse(held: &[&str], subset: bool, absent: Vec<Absent>) -> String {
        SparseSource {
            image: "r/a:v1".into(),
            repository: "r/a".into(),
            subset,
            held: held.iter().map(|p| p.to_string()).collect(),
            absent,
        }
        .to_string()
    }

    #[test]
    fn the_message_names_what_is_absent_and_what_to_ask_for() {
        let d = |n: u8| Digest::sha256_of(&[n]).to_string();
        let m = sparse(
            &["linux/amd64", "linux/s390x"],
            false,
            vec![absent("linux/arm64/v8", 1, false)],
        );
        assert_eq!(m, format!("r/a:v1: the registry holds only linux/amd64, linux/s390x of this index (absent: linux/arm64/v8 {}); export the platforms it has with --platform linux/amd64 --platform linux/s390x", d(1)));
        let m = sparse(&[], true, vec![absent("linux/arm64/v8", 1, false)]);
        assert_eq!(m, format!("r/a:v1: the registry (r/a) holds none of the requested platforms of this index (absent: linux/arm64/v8 {})", d(1)));
        let m = sparse(
            &["linux/amd64"],
            false,
            vec![absent("attestation manifest", 2, true)],
        );
        assert!(m.contains("(absent: attestation manifest sha256:"), "{m}");
        assert!(!m.contains("--platform linux"), "{m}");
    }
}
