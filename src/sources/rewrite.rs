//! `map --rewrite`: relocated names put back into the text of Kubernetes manifests and CNAB
//! `bundle.json` files. Each image scalar is replaced where it is written (its byte span) in
//! the quoting style it was written in, so comments, order and formatting stay; nothing is
//! re-serialised. An anchor used twice is one span, rewritten once. A CNAB bundle's relocated
//! images also get `originalImage` (the reference as written), placed right after `image` as
//! duffle relocate (cnab-go's `BaseImage`) writes it.
//!
//! Which name each image gets (pinned by digest where the mapping knows it) is decided in
//! `rewrite/relocations.rs`.

use std::ops::Range;

use super::yaml::{self, Node, Scalar, Style};
use super::{cnab, kube, normalise, SourceError};
use crate::reference::Reference;

mod relocations;
pub use relocations::Relocations;

/// One image replaced in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    pub line: usize,
    /// As written (without quotes).
    pub original: String,
    pub relocated: String,
}

/// An image found in a file but not in the mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    pub file: String,
    pub line: usize,
    pub field: String,
    /// Normalised.
    pub reference: String,
}

impl std::fmt::Display for Unmapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {} ({})",
            self.file, self.line, self.reference, self.field
        )
    }
}

/// A file's new text and what changed in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    pub text: String,
    pub replaced: Vec<Replaced>,
    /// Left as written: not in the mapping.
    pub unmapped: Vec<Unmapped>,
    /// Left as written for another reason (a CNAB image that is neither oci nor docker).
    pub warnings: Vec<String>,
    /// Read as a CNAB bundle.json.
    pub cnab: bool,
}

/// Rewrites the image references of `text` (the file named `file`): a CNAB bundle's images,
/// else a manifest's image fields (`any_image_field` as for `ferry images`).
pub fn rewrite(
    text: &str,
    file: &str,
    relocations: &Relocations,
    any_image_field: bool,
) -> Result<Rewritten, SourceError> {
    let yaml_err = |source| SourceError::Yaml {
        file: file.to_string(),
        source,
    };
    let docs = yaml::parse(text).map_err(yaml_err)?;
    let mut out = Edits::new(text, file, relocations);
    match docs.as_slice() {
        [doc] if cnab::is_bundle(doc) => {
            out.cnab = true;
            relocate_bundle(doc, &mut out)?;
        }
        _ => {
            for f in kube::image_fields(text, any_image_field).map_err(yaml_err)? {
                out.image(&f.scalar, &f.field)?;
            }
        }
    }
    out.finish()
}

/// The edits of one file, collected before any is applied.
struct Edits<'a> {
    text: &'a str,
    file: &'a str,
    relocations: &'a Relocations,
    /// (span replaced, new text); an insertion is an empty span.
    edits: Vec<(Range<usize>, String)>,
    /// Image spans looked at (an alias is its anchor's span).
    seen: Vec<Range<usize>>,
    replaced: Vec<Replaced>,
    unmapped: Vec<Unmapped>,
    warnings: Vec<String>,
    cnab: bool,
}

impl<'a> Edits<'a> {
    fn new(text: &'a str, file: &'a str, relocations: &'a Relocations) -> Self {
        Edits {
            text,
            file,
            relocations,
            edits: Vec::new(),
            seen: Vec::new(),
            replaced: Vec::new(),
            unmapped: Vec::new(),
            warnings: Vec::new(),
            cnab: false,
        }
    }

    fn format(&self, line: usize, detail: String) -> SourceError {
        SourceError::Format {
            file: format!("{}:{line}", self.file),
            detail,
        }
    }

    /// Replaces one image scalar (once per span: aliases share their anchor's); the relocated
    /// reference, or None when the mapping does not have it or the span was done already.
    fn image(&mut self, s: &Scalar, field: &str) -> Result<Option<Reference>, SourceError> {
        if self.seen.contains(&s.span) {
            return Ok(None);
        }
        self.seen.push(s.span.clone());
        let found = normalise(&s.value, self.file, Some(s.line), field)?;
        let relocated = Reference::parse(&found)
            .ok()
            .and_then(|r| self.relocations.relocate(&r));
        let Some(relocated) = relocated else {
            self.unmapped.push(Unmapped {
                file: self.file.to_string(),
                line: s.line,
                field: field.to_string(),
                reference: found,
            });
            return Ok(None);
        };
        let new = relocated.to_string();
        let quoted = quote(&new, s.style).ok_or_else(|| {
            self.format(
                s.line,
                format!("{field}: a block scalar image cannot be rewritten in place"),
            )
        })?;
        let written = self.text.get(s.span.clone()).unwrap_or("");
        if s.style == Style::Plain && written != s.value {
            return Err(self.format(
                s.line,
                format!(
                    "{field}: a plain image scalar over several lines cannot be rewritten in place"
                ),
            ));
        }
        self.edits.push((s.span.clone(), quoted));
        self.replaced.push(Replaced {
            line: s.line,
            original: s.value.clone(),
            relocated: new,
        });
        Ok(Some(relocated))
    }

    /// Applies the edits in text order; overlapping ones are a format error, never a panic.
    fn finish(mut self) -> Result<Rewritten, SourceError> {
        self.edits.sort_by_key(|(r, _)| (r.start, r.end));
        let mut text = String::with_capacity(self.text.len() + 64 * self.edits.len());
        let mut at = 0;
        for (r, new) in &self.edits {
            let before = self
                .text
                .get(at..r.start)
                .ok_or_else(|| SourceError::Format {
                    file: self.file.to_string(),
                    detail: format!("overlapping image spans at byte {}", r.start),
                })?;
            text.push_str(before);
            text.push_str(new);
            at = r.end;
        }
        text.push_str(self.text.get(at..).unwrap_or(""));
        self.replaced.sort_by_key(|r| r.line);
        Ok(Rewritten {
            text,
            replaced: self.replaced,
            unmapped: self.unmapped,
            warnings: self.warnings,
            cnab: self.cnab,
        })
    }
}

/// `value` written in `style`; None for block scalars.
fn quote(value: &str, style: Style) -> Option<String> {
    match style {
        Style::Plain => Some(value.to_string()),
        Style::SingleQuoted => Some(format!("'{}'", value.replace('\'', "''"))),
        Style::DoubleQuoted => Some(format!(
            "\"{}\"",
            value.replace('\\', "\\\\").replace('"', "\\\"")
        )),
        Style::Block => None,
    }
}

/// A CNAB bundle's images: each `image` replaced and `originalImage` set to it as written.
fn relocate_bundle(doc: &Node, out: &mut Edits<'_>) -> Result<(), SourceError> {
    for img in cnab::images_of(doc) {
        if !img.is_container() {
            // duffle relocates oci and docker images only.
            out.warnings.push(format!(
                "{}:{}: {}: imageType {:?} is neither oci nor docker; left as is",
                out.file,
                img.image.line,
                img.field,
                img.image_type.as_deref().unwrap_or("")
            ));
            continue;
        }
        if out.image(&img.image, &img.field)?.is_none() {
            continue;
        }
        let original = out
            .text
            .get(img.image.span.clone())
            .unwrap_or("")
            .to_string();
        match &img.original_image {
            Some(old) => out.edits.push((old.span.clone(), original)),
            None => {
                let insert = original_image_entry(out.text, &img.key, &img.image, &original);
                out.edits
                    .push((img.image.span.end..img.image.span.end, insert));
            }
        }
    }
    Ok(())
}

/// `, "originalImage": <original>` laid out like the `image` entry it follows: on its own line
/// with the same indentation when `image` has its own line, with the same `:` spacing.
fn original_image_entry(text: &str, key: &Scalar, value: &Scalar, original: &str) -> String {
    let colon = text
        .get(key.span.end..value.span.start)
        .filter(|c| c.trim() == ":" && !c.contains('\n'))
        .unwrap_or(": ");
    let line_start = text
        .get(..key.span.start)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let indent = text.get(line_start..key.span.start).unwrap_or("");
    let sep = if line_start > 0 && indent.trim().is_empty() {
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        format!("{newline}{indent}")
    } else if colon.ends_with(' ') {
        " ".to_string()
    } else {
        String::new()
    };
    format!(",{sep}\"originalImage\"{colon}{original}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relocations(pairs: &[(&str, &str)]) -> Relocations {
        Relocations::new(
            pairs
                .iter()
                .map(|(k, v)| (Reference::parse(k).unwrap(), Reference::parse(v).unwrap()))
                .collect(),
        )
    }

    const D: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    #[test]
    fn styles_comments_and_anchors_kept() {
        let text = "\
# top
kind: Pod
metadata: {name: p}
spec:
  initContainers:
    - {name: i, image: 'busybox:1'}
  containers:
    - name: a
      image: &app nginx # the app
    - name: b
      image: *app
    - name: c
      image: \"quay.io/x/y:2\"
";
        let m = relocations(&[
            ("docker.io/library/busybox:1", "r.local/t/busybox:1"),
            ("nginx", "r.local/t/nginx:latest"),
            (&format!("quay.io/x/y:2@{D}"), &format!("r.local/t/y:2@{D}")),
        ]);
        let out = rewrite(text, "p.yaml", &m, false).unwrap();
        let want = text
            .replace("'busybox:1'", "'r.local/t/busybox:1'")
            .replace("&app nginx #", "&app r.local/t/nginx:latest #")
            .replace("\"quay.io/x/y:2\"", &format!("\"r.local/t/y:2@{D}\""));
        assert_eq!(out.text, want);
        assert_eq!(out.replaced.len(), 3, "the anchor once");
        assert!(out.unmapped.is_empty());
        let lines: Vec<_> = out.replaced.iter().map(|r| r.line).collect();
        assert_eq!(lines, [6, 9, 13]);
    }

    #[test]
    fn unmapped_images_are_listed_and_left_alone() {
        let text = "kind: Pod\nspec:\n  containers:\n  - image: a:1\n  - image: b:1\n";
        let m = relocations(&[("a:1", "r.local/a:1")]);
        let out = rewrite(text, "p.yaml", &m, false).unwrap();
        assert_eq!(out.text, text.replace("a:1", "r.local/a:1"));
        assert_eq!(
            out.unmapped
                .iter()
                .map(|u| u.to_string())
                .collect::<Vec<_>>(),
            ["p.yaml:5: docker.io/library/b:1 (spec.containers[1].image)"]
        );
    }

    #[test]
    fn digests_found_by_name_and_digest() {
        let m = relocations(&[
            (&format!("q.io/a@{D}"), &format!("r.local/a@{D}")),
            ("q.io/b:1", "r.local/b:1"),
        ]);
        let r = |s: &str| m.relocate(&Reference::parse(s).unwrap().with_default_tag());
        assert_eq!(
            r(&format!("q.io/a:v@{D}")).unwrap().to_string(),
            format!("r.local/a:v@{D}")
        );
        assert_eq!(r("q.io/b:1").unwrap().to_string(), "r.local/b:1");
        assert!(r("q.io/a:v").is_none(), "no digest known for the tag");
        assert!(r(&format!("q.io/b:1@{D}")).is_none(), "an unknown digest");
    }

    #[test]
    fn cnab_bundle_gets_original_image_after_image() {
        let text = "{\n  \"schemaVersion\": \"v1.0.0\",\n  \"invocationImages\": [\n    {\n      \"imageType\": \"docker\",\n      \"image\": \"q.io/inv:1\"\n    }\n  ],\n  \"images\": {\n    \"web\": {\"image\":\"q.io/web:2\",\"contentDigest\":\"x\"},\n    \"odd\": {\"imageType\": \"vm\", \"image\": \"q.io/vm:1\"}\n  }\n}\n";
        let m = relocations(&[
            ("q.io/inv:1", "r.local/inv:1"),
            ("q.io/web:2", "r.local/web:2"),
        ]);
        let out = rewrite(text, "bundle.json", &m, false).unwrap();
        assert!(out.cnab);
        let want = text
            .replace(
                "\"image\": \"q.io/inv:1\"",
                "\"image\": \"r.local/inv:1\",\n      \"originalImage\": \"q.io/inv:1\"",
            )
            .replace(
                "\"image\":\"q.io/web:2\"",
                "\"image\":\"r.local/web:2\",\"originalImage\":\"q.io/web:2\"",
            );
        assert_eq!(out.text, want);
        let v: serde_json::Value = serde_json::from_str(&out.text).unwrap();
        assert_eq!(v["images"]["web"]["originalImage"], "q.io/web:2");
        assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
        assert!(out.unmapped.is_empty());
    }

    #[test]
    fn custom_resources_with_any_image_field_and_what_cannot_be_spliced() {
        let m = relocations(&[("q.io/x:1", "r.local/x:1")]);
        let cr = "kind: Foo\nspec:\n  image: q.io/x:1\n";
        assert_eq!(rewrite(cr, "f.yaml", &m, false).unwrap().text, cr);
        let any = rewrite(cr, "f.yaml", &m, true).unwrap();
        assert_eq!(any.text, cr.replace("q.io/x:1", "r.local/x:1"));
        let block = "kind: Pod\nspec:\n  containers:\n  - image: |\n      q.io/x:1\n";
        let e = rewrite(block, "b.yaml", &m, false).unwrap_err().to_string();
        assert!(e.contains("b.yaml:5") && e.contains("block scalar"), "{e}");
    }
}
