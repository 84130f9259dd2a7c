//! Images in Kubernetes manifests: every workload kind's pod template (`containers`,
//! `initContainers`, `ephemeralContainers`), `List` items, and, with `any_image_field`, any
//! `image:` string of other kinds (custom resources). YAML or JSON, multi-document.

use super::yaml::{self, Node, Scalar};
use super::{normalise, Found, How, SourceError};

/// Where each workload kind keeps its pod spec.
const POD_SPEC: &[(&str, &[&str])] = &[
    ("Pod", &["spec"]),
    ("PodTemplate", &["template", "spec"]),
    ("Deployment", &["spec", "template", "spec"]),
    ("StatefulSet", &["spec", "template", "spec"]),
    ("DaemonSet", &["spec", "template", "spec"]),
    ("ReplicaSet", &["spec", "template", "spec"]),
    ("ReplicationController", &["spec", "template", "spec"]),
    ("Job", &["spec", "template", "spec"]),
    (
        "CronJob",
        &["spec", "jobTemplate", "spec", "template", "spec"],
    ),
];

const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// An image field of a manifest, with the scalar that holds it (for `map --rewrite`).
#[derive(Debug, Clone)]
pub struct ImageField {
    pub document: usize,
    pub resource: Option<String>,
    pub field: String,
    pub scalar: Scalar,
}

/// The image fields of a YAML/JSON text, in document order.
pub fn image_fields(text: &str, any_image_field: bool) -> Result<Vec<ImageField>, yaml::YamlError> {
    let docs = yaml::parse(text)?;
    let mut out = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        object(doc, i, String::new(), any_image_field, &mut out);
    }
    Ok(out)
}

/// The images of a manifest text named `file`.
pub fn find(text: &str, file: &str, any_image_field: bool) -> Result<Vec<Found>, SourceError> {
    let fields = image_fields(text, any_image_field).map_err(|source| SourceError::Yaml {
        file: file.to_string(),
        source,
    })?;
    fields
        .into_iter()
        .map(|f| {
            let reference = normalise(&f.scalar.value, file, Some(f.scalar.line), &f.field)?;
            Ok(Found {
                reference,
                written: f.scalar.value.clone(),
                file: file.to_string(),
                document: Some(f.document),
                resource: f.resource,
                field: f.field,
                line: Some(f.scalar.line),
                column: Some(f.scalar.column),
                how: How::Manifest,
            })
        })
        .collect()
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// One Kubernetes object at `path` (empty for a document, `items[3]` inside a `List`).
fn object(node: &Node, document: usize, path: String, any: bool, out: &mut Vec<ImageField>) {
    let kind = node.get("kind").and_then(Node::as_str).unwrap_or("");
    if kind == "List" || kind.ends_with("List") && node.get("items").is_some() {
        for (i, item) in node
            .get("items")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            object(
                item,
                document,
                join(&path, &format!("items[{i}]")),
                any,
                out,
            );
        }
        return;
    }
    let name = node
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Node::as_str);
    let resource = (!kind.is_empty()).then(|| format!("{kind}/{}", name.unwrap_or("")));
    if let Some((_, spec_path)) = POD_SPEC.iter().find(|(k, _)| *k == kind) {
        let mut spec = Some(node);
        let mut at = path.clone();
        for key in *spec_path {
            spec = spec.and_then(|n| n.get(key));
            at = join(&at, key);
        }
        let Some(spec) = spec else { return };
        for list in CONTAINER_LISTS {
            for (i, c) in spec
                .get(list)
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                if let Some(s) = c.get("image").and_then(Node::as_scalar) {
                    out.push(ImageField {
                        document,
                        resource: resource.clone(),
                        field: join(&at, &format!("{list}[{i}].image")),
                        scalar: s.clone(),
                    });
                }
            }
        }
    } else if any {
        any_image(node, document, &resource, path, out);
    }
}

/// Every `image: <string>` under `node` (custom resources).
fn any_image(
    node: &Node,
    document: usize,
    resource: &Option<String>,
    path: String,
    out: &mut Vec<ImageField>,
) {
    match node {
        Node::Map(entries) => {
            for (k, v) in entries {
                let Some(key) = k.as_str() else { continue };
                let at = join(&path, key);
                match v {
                    Node::Scalar(s) if key == "image" && !s.value.is_empty() => {
                        out.push(ImageField {
                            document,
                            resource: resource.clone(),
                            field: at,
                            scalar: s.clone(),
                        })
                    }
                    _ => any_image(v, document, resource, at, out),
                }
            }
        }
        Node::Seq(items) => {
            for (i, v) in items.iter().enumerate() {
                any_image(v, document, resource, format!("{path}[{i}]"), out);
            }
        }
        Node::Scalar(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_lists_and_custom_resources() {
        let text = r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          initContainers: [{name: i, image: "busybox:1.36"}]
          containers:
            - name: c
              image: registry.k8s.io/kube-state-metrics:v2.10.0 # pinned
---
{"kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "p"},
  "spec": {"ephemeralContainers": [{"name": "d", "image": "alpine"}]}}]}
---
kind: Foo
spec: {template: {image: quay.io/x/y:1}}
"#;
        let plain: Vec<_> = find(text, "k.yaml", false).unwrap();
        let refs: Vec<_> = plain
            .iter()
            .map(|f| {
                (
                    f.reference.as_str(),
                    f.field.as_str(),
                    f.resource.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            refs,
            [
                (
                    "docker.io/library/busybox:1.36",
                    "spec.jobTemplate.spec.template.spec.initContainers[0].image",
                    Some("CronJob/nightly")
                ),
                (
                    "registry.k8s.io/kube-state-metrics:v2.10.0",
                    "spec.jobTemplate.spec.template.spec.containers[0].image",
                    Some("CronJob/nightly")
                ),
                (
                    "docker.io/library/alpine:latest",
                    "items[0].spec.ephemeralContainers[0].image",
                    Some("Pod/p")
                ),
            ]
        );
        assert_eq!(plain[1].line, Some(13));
        let any = find(text, "k.yaml", true).unwrap();
        assert_eq!(any.len(), 4);
        assert_eq!(any[3].field, "spec.template.image");
        let bad = find(
            "kind: Pod\nspec:\n  containers: [{image: 'UPPER/Case:x'}]\n",
            "b.yaml",
            false,
        )
        .unwrap_err();
        assert!(bad.to_string().contains("b.yaml:3"), "{bad}");
    }
}
