//! Images in a CNAB `bundle.json` (CNAB core 1.0, 101-bundle-json): every
//! `invocationImages[i].image` and every `images.<component>.image`. A `contentDigest` pins the
//! image: a reference without a digest of its own is carried as `repo:tag@contentDigest` (the
//! tag kept for the reader, the digest deciding what is pulled), so what travels is what the
//! bundle vouches for. An image whose own digest differs from its `contentDigest` is an error,
//! and so is a `contentDigest` that is not a digest. Images of an `imageType` other than `oci`
//! or `docker` (VM images and the like) are not container images and are left out.

use super::yaml::{self, Node, Scalar};
use super::{normalise, Found, How, SourceError};

/// True for a JSON object with `schemaVersion` and `invocationImages` (what every bundle has).
pub fn is_cnab(text: &str) -> bool {
    matches!(
        serde_json::from_str::<serde_json::Value>(text),
        Ok(serde_json::Value::Object(o))
            if o.contains_key("schemaVersion") && o.contains_key("invocationImages")
    )
}

/// True for a parsed document with `schemaVersion` and `invocationImages` (what every bundle
/// has): the same rule as [`is_cnab`], on a document already read.
pub fn is_bundle(root: &Node) -> bool {
    root.get("schemaVersion").is_some() && root.get("invocationImages").is_some()
}

/// One image of a bundle, with the scalars that hold it (for `map --rewrite`).
#[derive(Debug, Clone)]
pub struct CnabImage {
    /// `invocationImages[0].image`, `images.frontend.image`.
    pub field: String,
    /// The `image` key (where `originalImage` is laid out after it).
    pub key: Scalar,
    pub image: Scalar,
    pub content_digest: Option<Scalar>,
    pub original_image: Option<Scalar>,
    /// The `imageType`, when written.
    pub image_type: Option<String>,
}

impl CnabImage {
    /// An `oci` or `docker` image (or one without `imageType`): what ferry carries and duffle
    /// relocates; VM images and the like are not.
    pub fn is_container(&self) -> bool {
        self.image_type
            .as_deref()
            .is_none_or(|t| matches!(t, "oci" | "docker"))
    }
}

/// Every image of a bundle document, invocation images first, in document order, container
/// images or not.
pub fn images_of(root: &Node) -> Vec<CnabImage> {
    let mut out = Vec::new();
    let invocation = root.get("invocationImages").map(Node::items).unwrap_or(&[]);
    for (i, entry) in invocation.iter().enumerate() {
        push(entry, format!("invocationImages[{i}]"), &mut out);
    }
    if let Some(Node::Map(images)) = root.get("images") {
        for (name, entry) in images {
            let Some(name) = name.as_str() else { continue };
            push(entry, format!("images.{name}"), &mut out);
        }
    }
    out
}

/// The container images of a bundle text, invocation images first, in document order.
pub fn image_fields(text: &str) -> Result<Vec<CnabImage>, yaml::YamlError> {
    let docs = yaml::parse(text)?;
    Ok(docs
        .first()
        .map(images_of)
        .unwrap_or_default()
        .into_iter()
        .filter(CnabImage::is_container)
        .collect())
}

fn push(entry: &Node, at: String, out: &mut Vec<CnabImage>) {
    let Node::Map(entries) = entry else { return };
    let Some((key, Node::Scalar(image))) =
        entries.iter().find(|(k, _)| k.as_str() == Some("image"))
    else {
        return;
    };
    let Some(key) = key.as_scalar() else { return };
    out.push(CnabImage {
        field: format!("{at}.image"),
        key: key.clone(),
        image: image.clone(),
        content_digest: entry
            .get("contentDigest")
            .and_then(Node::as_scalar)
            .filter(|s| !s.value.trim().is_empty())
            .cloned(),
        original_image: entry
            .get("originalImage")
            .and_then(Node::as_scalar)
            .cloned(),
        image_type: entry
            .get("imageType")
            .and_then(Node::as_str)
            .map(str::to_string),
    });
}

/// The images of a bundle text named `file`, each pinned by its `contentDigest` when it has one.
pub fn find(text: &str, file: &str) -> Result<Vec<Found>, SourceError> {
    let fields = image_fields(text).map_err(|source| SourceError::Yaml {
        file: file.to_string(),
        source,
    })?;
    fields
        .into_iter()
        .map(|f| {
            let line = Some(f.image.line);
            let mut reference = normalise(&f.image.value, file, line, &f.field)?;
            if let Some(d) = &f.content_digest {
                let digest_field = format!(
                    "{}contentDigest",
                    f.field.strip_suffix("image").unwrap_or(&f.field)
                );
                let (name, own) = match reference.split_once('@') {
                    Some((n, own)) => (n.to_string(), Some(own.to_string())),
                    None => (reference.clone(), None),
                };
                let pinned = normalise(
                    &format!("{name}@{}", d.value.trim()),
                    file,
                    Some(d.line),
                    &digest_field,
                )?;
                match own {
                    Some(own) if !pinned.ends_with(&format!("@{own}")) => {
                        return Err(SourceError::Format {
                            file: file.to_string(),
                            detail: format!(
                                "line {}: {}: the image's digest {own} is not its contentDigest {}",
                                f.image.line,
                                f.field,
                                d.value.trim()
                            ),
                        })
                    }
                    _ => reference = pinned,
                }
            }
            Ok(Found {
                reference,
                written: f.image.value.clone(),
                file: file.to_string(),
                document: None,
                resource: None,
                field: f.field,
                line,
                column: Some(f.image.column),
                how: How::Cnab,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:aca460afa270d4c527981ef9ca4989346c56cf9b20217dcea37df1ece8120685";
    const D2: &str = "sha256:bca460afa270d4c527981ef9ca4989346c56cf9b20217dcea37df1ece8120686";

    #[test]
    fn detects_bundles_and_only_bundles() {
        assert!(is_cnab(
            r#"{"schemaVersion":"v1.0.0","invocationImages":[]}"#
        ));
        assert!(!is_cnab(r#"{"schemaVersion":"v1.0.0"}"#));
        assert!(!is_cnab("schemaVersion: v1\ninvocationImages: []\n"));
        assert!(!is_cnab(r#"[{"schemaVersion":1,"invocationImages":[]}]"#));
    }

    #[test]
    fn invocation_and_component_images_pinned_by_content_digest() {
        let text = format!(
            r#"{{"schemaVersion": "v1.0.0",
 "invocationImages": [{{"image": "technosophos/helloworld:0.1.0", "contentDigest": "{D1}"}},
                      {{"image": "disk.vhd", "imageType": "vhd"}}],
 "images": {{"backend": {{"image": "example.com/gabrtv/vote-backend@{D2}", "contentDigest": "{D2}"}},
            "plain": {{"image": "alpine"}}}}}}"#
        );
        let found = find(&text, "bundle.json").unwrap();
        let got: Vec<_> = found
            .iter()
            .map(|f| (f.reference.as_str(), f.field.as_str(), f.line))
            .collect();
        let want = [
            (
                format!("docker.io/technosophos/helloworld:0.1.0@{D1}"),
                "invocationImages[0].image",
                Some(2),
            ),
            (
                format!("example.com/gabrtv/vote-backend@{D2}"),
                "images.backend.image",
                Some(4),
            ),
            (
                "docker.io/library/alpine:latest".to_string(),
                "images.plain.image",
                Some(5),
            ),
        ];
        let want: Vec<_> = want.iter().map(|(r, f, l)| (r.as_str(), *f, *l)).collect();
        assert_eq!(got, want);
        assert!(found.iter().all(|f| f.how == How::Cnab));
        assert_eq!(found[0].written, "technosophos/helloworld:0.1.0");
    }

    #[test]
    fn bad_digests_and_conflicts_are_errors_naming_the_field() {
        let bad = r#"{"schemaVersion": "v1", "invocationImages": [
  {"image": "a:1", "contentDigest": "sha256:aaaaaaa..."}]}"#;
        let e = find(bad, "b.json").unwrap_err().to_string();
        assert!(
            e.contains("b.json:2") && e.contains("invocationImages[0].contentDigest"),
            "{e}"
        );
        let conflict = format!(
            r#"{{"schemaVersion": "v1", "invocationImages": [], "images": {{"x": {{"image": "a@{D1}", "contentDigest": "{D2}"}}}}}}"#
        );
        let e = find(&conflict, "c.json").unwrap_err().to_string();
        assert!(
            e.contains("images.x.image") && e.contains("contentDigest"),
            "{e}"
        );
        let e = find(r#"{"invocationImages": [{"image": "Bad Name"}]}"#, "d.json").unwrap_err();
        assert!(e.to_string().contains("d.json:1"), "{e}");
    }
}
