//! How `inspect` shows a differential bundle: the layers it left out are named as omitted
//! (the target already has them), not as missing.

use std::fmt::Write;

use serde::Serialize;

use super::text::size_text;
use crate::digest::Digest;
use crate::layout::graph::Graph;
use crate::layout::omitted::Summary;

/// A layer left out of a differential bundle.
#[derive(Debug, Clone, Serialize)]
pub struct OmittedLayer {
    pub digest: Digest,
    pub size: u64,
}

/// The layers an image uses that the bundle left out on purpose.
pub(super) fn layers(g: &Graph) -> Vec<OmittedLayer> {
    let omitted = g.omitted.iter();
    omitted
        .map(|(d, &size)| OmittedLayer {
            digest: d.clone(),
            size,
        })
        .collect()
}

/// The bundle-wide line, when the bundle is differential.
pub(super) fn write_summary(s: &mut String, summary: Option<&Summary>) {
    if let Some(o) = summary {
        let _ = writeln!(s, "{}", o.line());
    }
}

/// The image's omitted layers, as a branch of its tree.
pub(super) fn write_layers(s: &mut String, layers: &[OmittedLayer]) {
    if layers.is_empty() {
        return;
    }
    let bytes = crate::sizes::saturating_total(layers.iter().map(|o| o.size));
    let _ = writeln!(
        s,
        "├─ omitted     {} layer(s), {}: not in this bundle, the target already has them",
        layers.len(),
        size_text(bytes, None)
    );
    for (n, o) in layers.iter().enumerate() {
        let branch = if n + 1 == layers.len() {
            "└─"
        } else {
            "├─"
        };
        let _ = writeln!(s, "│  {branch} {}  {}", o.digest, size_text(o.size, None));
    }
}
