//! One walk over an image's graph (index → indexes → manifests) for every reader: export and
//! inventory over a registry, import, verify and inspect over a bundle (DESIGN §2–§4). The
//! walk is iterative, visits each manifest once, and stops at one depth limit
//! ([`MAX_DEPTH`]), so no input can exhaust the stack and whatever export writes the other
//! readers accept. What a reader does at each node is its [`Visit`]; where the manifests come
//! from is a [`Source`]. It imports only `digest` and `manifest`: nothing about registries,
//! bundles or what a command does.

use std::collections::BTreeSet;

use crate::digest::Digest;
use crate::manifest::{Checked, ManifestError, Parsed, RawManifest};

/// Deepest nesting of indexes inside an image, counted from its root (depth 0). One limit for
/// everything: what export writes, verify, inspect, inventory and import accept, so a bundle
/// ferry made is always one ferry takes, and no input can exhaust the stack.
pub const MAX_DEPTH: usize = 16;

/// A place manifests come from: a repository of a registry, or a bundle.
pub trait Source {
    type Error;
    /// The manifest `c` names, digest-checked; None when this place does not have it.
    fn manifest(&self, c: &Checked) -> Result<Option<RawManifest>, Self::Error>;
}

/// A manifest or index reached by the walk.
pub struct Node<'a> {
    pub manifest: &'a RawManifest,
    /// The descriptor it was reached by (its parent's entry, or the root's).
    pub descriptor: &'a Checked,
    pub parent: Option<&'a Digest>,
    /// 0 for the root.
    pub depth: usize,
    /// Its bytes parsed as an index (whatever its media type says).
    pub is_index: bool,
}

/// Why a child was not walked.
pub enum Failure<E> {
    /// The source could not give it.
    Source(E),
    /// Its bytes are not a manifest or index.
    Parse(ManifestError),
    /// It sits deeper than [`MAX_DEPTH`]; it was not fetched.
    TooDeep,
}

/// What a reader does along the walk. Every method may stop the walk with an error.
pub trait Visit<S: Source> {
    type Error;

    /// Which children of `index` to follow, by position (default: all).
    fn select(&mut self, _index: &Node, children: &[Checked]) -> Result<Vec<bool>, Self::Error> {
        Ok(vec![true; children.len()])
    }

    /// A manifest or index reached, before its children.
    fn enter(&mut self, node: &Node, parsed: &Parsed) -> Result<(), Self::Error>;

    /// After an index's children (right after `enter` for a manifest): children-first order.
    fn leave(&mut self, _node: &Node) -> Result<(), Self::Error> {
        Ok(())
    }

    /// A selected child the source does not have.
    fn absent(
        &mut self,
        index: &Node,
        child: &Checked,
        siblings: &[Checked],
    ) -> Result<(), Self::Error>;

    /// A child (or, with no `parent`, the root) that could not be walked.
    fn failed(
        &mut self,
        parent: Option<&Node>,
        child: &Checked,
        why: Failure<S::Error>,
    ) -> Result<(), Self::Error>;
}

/// An index being walked: its children and the next one to look at.
struct Frame {
    manifest: RawManifest,
    descriptor: Checked,
    parent: Option<Digest>,
    depth: usize,
    children: Vec<Checked>,
    selected: Vec<bool>,
    next: usize,
}

impl Frame {
    fn node(&self) -> Node<'_> {
        Node {
            manifest: &self.manifest,
            descriptor: &self.descriptor,
            parent: self.parent.as_ref(),
            depth: self.depth,
            is_index: true,
        }
    }
}

/// Walks the graph under `root` (reached by `descriptor`), depth first, each manifest once.
pub fn walk<S: Source, V: Visit<S>>(
    source: &S,
    descriptor: &Checked,
    root: RawManifest,
    v: &mut V,
) -> Result<(), V::Error> {
    let mut seen = BTreeSet::from([root.digest.clone()]);
    let mut stack: Vec<Frame> = Vec::new();
    if let Some(f) = reach(v, None, descriptor.clone(), root, 0)? {
        stack.push(f);
    }
    while let Some(top) = stack.last_mut() {
        let Some(i) = (top.next..top.children.len()).find(|&i| top.selected.get(i) == Some(&true))
        else {
            if let Some(done) = stack.pop() {
                v.leave(&done.node())?;
            }
            continue;
        };
        top.next = i + 1;
        let top = &*top;
        let child = &top.children[i];
        if !seen.insert(child.digest.clone()) {
            continue;
        }
        let depth = top.depth + 1;
        if depth > MAX_DEPTH {
            v.failed(Some(&top.node()), child, Failure::TooDeep)?;
            continue;
        }
        let next = match source.manifest(child) {
            Ok(Some(m)) => {
                let (c, parent) = (child.clone(), top.manifest.digest.clone());
                reach(v, Some((top, parent)), c, m, depth)?
            }
            Ok(None) => {
                v.absent(&top.node(), child, &top.children)?;
                None
            }
            Err(e) => {
                v.failed(Some(&top.node()), child, Failure::Source(e))?;
                None
            }
        };
        if let Some(f) = next {
            stack.push(f);
        }
    }
    Ok(())
}

/// Enters a manifest that was read: a frame for an index, done at once for a manifest.
fn reach<S: Source, V: Visit<S>>(
    v: &mut V,
    parent: Option<(&Frame, Digest)>,
    descriptor: Checked,
    manifest: RawManifest,
    depth: usize,
) -> Result<Option<Frame>, V::Error> {
    let parsed = match manifest.parse() {
        Ok(p) => p,
        Err(e) => {
            let p = parent.as_ref().map(|(f, _)| f.node());
            v.failed(p.as_ref(), &descriptor, Failure::Parse(e))?;
            return Ok(None);
        }
    };
    let parent = parent.map(|(_, d)| d);
    let node = Node {
        manifest: &manifest,
        descriptor: &descriptor,
        parent: parent.as_ref(),
        depth,
        is_index: matches!(parsed, Parsed::Index { .. }),
    };
    v.enter(&node, &parsed)?;
    match parsed {
        Parsed::Index { manifests } => {
            let selected = v.select(&node, &manifests)?;
            Ok(Some(Frame {
                manifest,
                descriptor,
                parent,
                depth,
                children: manifests,
                selected,
                next: 0,
            }))
        }
        Parsed::Manifest { .. } => {
            v.leave(&node)?;
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Manifests by digest, in memory.
    struct Memory(BTreeMap<Digest, RawManifest>);

    impl Source for Memory {
        type Error = String;
        fn manifest(&self, c: &Checked) -> Result<Option<RawManifest>, String> {
            Ok(self.0.get(&c.digest).cloned())
        }
    }

    fn manifest(n: u8) -> RawManifest {
        let bytes = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"x","digest":"sha256:{}","size":{n}}},"layers":[]}}"#,
            "a".repeat(64)
        )
        .into_bytes();
        RawManifest::new(bytes.clone(), Digest::sha256_of(&bytes), "")
    }

    fn index(children: &[&RawManifest]) -> RawManifest {
        let list: Vec<String> = children
            .iter()
            .map(|c| {
                format!(
                    r#"{{"mediaType":"{}","digest":"{}","size":{}}}"#,
                    c.media_type,
                    c.digest,
                    c.bytes.len()
                )
            })
            .collect();
        let bytes = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
            list.join(",")
        )
        .into_bytes();
        RawManifest::new(bytes.clone(), Digest::sha256_of(&bytes), "")
    }

    /// Records the order of `leave` and every failure.
    #[derive(Default)]
    struct Trace {
        left: Vec<Digest>,
        absent: Vec<Digest>,
        too_deep: Vec<(usize, Digest)>,
    }

    impl Visit<Memory> for Trace {
        type Error = String;
        fn enter(&mut self, _: &Node, _: &Parsed) -> Result<(), String> {
            Ok(())
        }
        fn leave(&mut self, node: &Node) -> Result<(), String> {
            self.left.push(node.manifest.digest.clone());
            Ok(())
        }
        fn absent(&mut self, _: &Node, c: &Checked, _: &[Checked]) -> Result<(), String> {
            self.absent.push(c.digest.clone());
            Ok(())
        }
        fn failed(
            &mut self,
            p: Option<&Node>,
            c: &Checked,
            why: Failure<String>,
        ) -> Result<(), String> {
            match why {
                Failure::TooDeep => self
                    .too_deep
                    .push((p.map_or(0, |p| p.depth), c.digest.clone())),
                _ => return Err(format!("unexpected failure at {}", c.digest)),
            }
            Ok(())
        }
    }

    fn run(all: &[&RawManifest], root: &RawManifest) -> Trace {
        let source = Memory(
            all.iter()
                .map(|m| (m.digest.clone(), (*m).clone()))
                .collect(),
        );
        let mut t = Trace::default();
        walk(&source, &Checked::of(root), root.clone(), &mut t).unwrap();
        t
    }

    #[test]
    fn children_leave_before_parents_and_shared_ones_once() {
        let (a, b) = (manifest(1), manifest(2));
        let left = index(&[&a, &b]);
        let right = index(&[&b]);
        let root = index(&[&left, &right]);
        let t = run(&[&a, &b, &left, &right, &root], &root);
        assert_eq!(
            t.left,
            vec![a.digest, b.digest, left.digest, right.digest, root.digest]
        );
        assert!(t.absent.is_empty());
    }

    #[test]
    fn absent_children_are_reported_and_depth_is_bounded_without_recursion() {
        let (a, gone) = (manifest(1), manifest(2));
        let root = index(&[&a, &gone]);
        let t = run(&[&a, &root], &root);
        assert_eq!(t.absent, vec![gone.digest]);

        // A chain far deeper than the limit: refused at the first child past it.
        let mut chain = vec![manifest(3)];
        for _ in 0..10_000 {
            let next = index(&[chain.last().unwrap()]);
            chain.push(next);
        }
        let top = chain.last().unwrap().clone();
        let refs: Vec<&RawManifest> = chain.iter().collect();
        let t = run(&refs, &top);
        assert_eq!(t.too_deep.len(), 1);
        assert_eq!(t.too_deep[0].0, MAX_DEPTH);
        assert_eq!(t.left.len(), MAX_DEPTH + 1);
    }
}
