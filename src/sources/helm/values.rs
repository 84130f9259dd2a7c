//! Images a chart names in its values, without rendering it: what `helm template` would see
//! for the common conventions, so a chart can be read where `helm` is not installed.
//!
//! Values are coalesced as Helm does: a subchart's `values.yaml` overlaid by its parent's
//! `<subchart>:` section (the parent wins, `null` deletes), `global` shared downwards (the
//! parent's wins). Then, anywhere in the values, a key named `image` or ending in `Image`
//! holds an image as
//! * a string: `image: "repo:tag"`;
//! * a map with `repository` (which may hold the registry) and any of `registry`, `tag`,
//!   `digest`: `registry/repository:tag`, or `registry/repository@digest` when a digest pins
//!   it (the bitnami helper's rule), `tag` defaulting to the chart's `appVersion`;
//!   `global.imageRegistry` replaces (or adds) the registry of the map form.
//!
//! Every subchart is read, enabled or not: carrying an image too many is cheap, missing one is not.

use std::rc::Rc;

use super::chart::Files;
use crate::sources::yaml::{self, Node, Scalar};
use crate::sources::{normalise, Found, How, SourceError};

/// Deepest subchart nesting read.
pub const MAX_SUBCHART_DEPTH: usize = 16;

/// A values tree whose scalars remember which file they come from.
#[derive(Debug, Clone)]
enum Val {
    Leaf(Rc<str>, Scalar),
    Map(Vec<(String, Val)>),
    Seq(Vec<Val>),
}

impl Val {
    fn from_node(n: &Node, file: &Rc<str>) -> Val {
        match n {
            Node::Scalar(s) => Val::Leaf(file.clone(), s.clone()),
            Node::Seq(items) => Val::Seq(items.iter().map(|i| Val::from_node(i, file)).collect()),
            Node::Map(entries) => Val::Map(
                entries
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_string(), Val::from_node(v, file))))
                    .collect(),
            ),
        }
    }

    fn get(&self, key: &str) -> Option<&Val> {
        match self {
            Val::Map(e) => e.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A scalar that is set: not null, not empty.
    fn text(&self) -> Option<(&Rc<str>, &Scalar)> {
        match self {
            Val::Leaf(f, s) if !is_null(s) && !s.value.trim().is_empty() => Some((f, s)),
            _ => None,
        }
    }
}

fn is_null(s: &Scalar) -> bool {
    s.style == yaml::Style::Plain && matches!(s.value.as_str(), "~" | "null" | "Null" | "NULL" | "")
}

/// A plain scalar YAML reads as a boolean or a number, never an image.
fn is_not_a_string(s: &Scalar) -> bool {
    s.style == yaml::Style::Plain
        && (matches!(
            s.value.as_str(),
            "true" | "false" | "True" | "False" | "TRUE" | "FALSE"
        ) || s.value.parse::<f64>().is_ok())
}

/// `over` coalesced onto `base`: maps merged key by key, `null` deleting, anything else replaced.
fn merge(base: Val, over: Val) -> Val {
    match (base, over) {
        (Val::Map(mut b), Val::Map(o)) => {
            for (k, v) in o {
                let at = b.iter().position(|(bk, _)| *bk == k);
                match (&v, at) {
                    (Val::Leaf(_, s), Some(i)) if is_null(s) => {
                        b.remove(i);
                    }
                    (_, Some(i)) => {
                        if let Some((_, slot)) = b.get_mut(i) {
                            let old = std::mem::replace(slot, Val::Seq(Vec::new()));
                            *slot = merge(old, v);
                        }
                    }
                    (_, None) => b.push((k, v)),
                }
            }
            Val::Map(b)
        }
        (_, over) => over,
    }
}

struct Meta {
    name: String,
    app_version: Option<String>,
    /// `(name, alias)` of each dependency in `Chart.yaml`.
    dependencies: Vec<(String, Option<String>)>,
}

fn parse(files: &Files, rel: &str) -> Result<Option<Node>, SourceError> {
    let Some(text) = files.read(rel)? else {
        return Ok(None);
    };
    let docs = yaml::parse(&text).map_err(|source| SourceError::Yaml {
        file: files.shown(rel),
        source,
    })?;
    Ok(docs.into_iter().next())
}

fn meta(files: &Files) -> Result<Meta, SourceError> {
    let chart = parse(files, "Chart.yaml")?.ok_or_else(|| SourceError::Format {
        file: files.shown("Chart.yaml"),
        detail: "not there: not a Helm chart".into(),
    })?;
    let text = |n: &Node, k: &str| {
        n.get(k)
            .and_then(Node::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Ok(Meta {
        name: text(&chart, "name").unwrap_or_default(),
        app_version: text(&chart, "appVersion"),
        dependencies: chart
            .get("dependencies")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter_map(|d| Some((text(d, "name")?, text(d, "alias"))))
            .collect(),
    })
}

/// The images the values of the chart in `files` and of all its subcharts name.
pub fn find(files: &Files) -> Result<Vec<Found>, SourceError> {
    let mut out = Vec::new();
    chart(files, None, None, "", 0, &mut out)?;
    Ok(out)
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn chart(
    files: &Files,
    overlay: Option<Val>,
    parent_global: Option<Val>,
    prefix: &str,
    depth: usize,
    out: &mut Vec<Found>,
) -> Result<(), SourceError> {
    if depth > MAX_SUBCHART_DEPTH {
        return Err(SourceError::Format {
            file: files.shown("Chart.yaml"),
            detail: format!("subcharts nested more than {MAX_SUBCHART_DEPTH} deep"),
        });
    }
    let meta = meta(files)?;
    let file: Rc<str> = files.shown("values.yaml").into();
    let own = parse(files, "values.yaml")?
        .map(|n| Val::from_node(&n, &file))
        .unwrap_or(Val::Map(Vec::new()));
    let values = match overlay {
        Some(o) => merge(own, o),
        None => own,
    };
    let mut global = values
        .get("global")
        .cloned()
        .unwrap_or(Val::Map(Vec::new()));
    if let Some(p) = parent_global {
        global = merge(global, p);
    }
    let subs = files.subcharts()?;
    let mut keyed = Vec::new();
    for sub in subs {
        let name = meta_name(&sub)?;
        let aliases: Vec<String> = meta
            .dependencies
            .iter()
            .filter(|(n, _)| *n == name)
            .filter_map(|(_, a)| a.clone())
            .collect();
        let keys = if aliases.is_empty() {
            vec![name]
        } else {
            aliases
        };
        for k in keys {
            keyed.push((k, sub.clone()));
        }
    }
    let scan = Scan {
        registry: global
            .get("imageRegistry")
            .and_then(Val::text)
            .map(|(_, s)| s.value.trim().to_string()),
        app_version: meta.app_version.as_deref(),
    };
    if let Val::Map(entries) = &values {
        for (k, v) in entries {
            if k != "global" && !keyed.iter().any(|(key, _)| key == k) {
                scan.entry(k, v, prefix, out)?;
            }
        }
    }
    for (key, sub) in keyed {
        let overlay = values.get(&key).cloned();
        chart(
            &sub,
            overlay,
            Some(global.clone()),
            &join(prefix, &key),
            depth + 1,
            out,
        )?;
    }
    Ok(())
}

fn meta_name(files: &Files) -> Result<String, SourceError> {
    meta(files).map(|m| m.name)
}

struct Scan<'a> {
    registry: Option<String>,
    app_version: Option<&'a str>,
}

fn is_image_key(k: &str) -> bool {
    k == "image" || k.ends_with("Image")
}

impl Scan<'_> {
    fn entry(
        &self,
        k: &str,
        v: &Val,
        prefix: &str,
        out: &mut Vec<Found>,
    ) -> Result<(), SourceError> {
        let at = join(prefix, k);
        if is_image_key(k) {
            match v {
                Val::Leaf(file, s)
                    if !is_null(s) && !is_not_a_string(s) && !s.value.trim().is_empty() =>
                {
                    return self.push(file, s, s.value.trim(), &at, out);
                }
                Val::Map(_) => {
                    if let Some((file, repo)) = v.get("repository").and_then(Val::text) {
                        let composed = self.compose(v, repo.value.trim());
                        return self.push(file, repo, &composed, &join(&at, "repository"), out);
                    }
                }
                _ => {}
            }
        }
        self.walk(v, &at, out)
    }

    fn walk(&self, v: &Val, at: &str, out: &mut Vec<Found>) -> Result<(), SourceError> {
        match v {
            Val::Map(entries) => {
                for (k, v) in entries {
                    self.entry(k, v, at, out)?;
                }
            }
            Val::Seq(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.walk(v, &format!("{at}[{i}]"), out)?;
                }
            }
            Val::Leaf(..) => {}
        }
        Ok(())
    }

    /// `registry/repository:tag` or `registry/repository@digest`.
    fn compose(&self, map: &Val, repository: &str) -> String {
        let field = |k: &str| {
            map.get(k)
                .and_then(Val::text)
                .map(|(_, s)| s.value.trim().to_string())
        };
        let registry = self.registry.clone().or_else(|| field("registry"));
        let name = match registry {
            Some(r) => format!("{}/{repository}", r.trim_end_matches('/')),
            None => repository.to_string(),
        };
        let last = name.rsplit('/').next().unwrap_or(&name);
        if let Some(d) = field("digest") {
            format!("{name}@{d}")
        } else if let Some(t) = field("tag") {
            format!("{name}:{t}")
        } else if let (Some(t), false) = (self.app_version, last.contains(':')) {
            format!("{name}:{t}")
        } else {
            name
        }
    }

    fn push(
        &self,
        file: &str,
        at: &Scalar,
        written: &str,
        field: &str,
        out: &mut Vec<Found>,
    ) -> Result<(), SourceError> {
        let reference = normalise(written, file, Some(at.line), field)?;
        out.push(Found {
            reference,
            written: written.to_string(),
            file: file.to_string(),
            document: None,
            resource: None,
            field: field.to_string(),
            line: Some(at.line),
            column: Some(at.column),
            how: How::HelmValues,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, files: &[(&str, &str)]) {
        for (name, text) in files {
            let p = dir.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
    }

    #[test]
    fn coalesces_parent_overrides_aliases_and_globals() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            &[
                (
                    "Chart.yaml",
                    "name: app\nappVersion: \"2.0\"\ndependencies:\n  - {name: db, alias: primary}\n  - {name: db, alias: replica}\n",
                ),
                (
                    "values.yaml",
                    "global: {imageRegistry: mirror.local}\nimage: {repository: team/app}\nprimary:\n  image: {tag: \"16\"}\nreplica:\n  image: null\nenabled: true\npullImage: false\n",
                ),
                ("charts/db/Chart.yaml", "name: db\nappVersion: \"15\"\n"),
                ("charts/db/values.yaml", "image: {registry: docker.io, repository: library/postgres}\n"),
            ],
        );
        let found = find(&Files::Dir(d.path().to_path_buf())).unwrap();
        let got: Vec<_> = found
            .iter()
            .map(|f| (f.reference.as_str(), f.field.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("mirror.local/team/app:2.0", "image.repository"),
                (
                    "mirror.local/library/postgres:16",
                    "primary.image.repository"
                ),
            ]
        );
        // The repository scalar is the subchart's own, where it is written.
        assert!(
            found[1].file.ends_with("charts/db/values.yaml"),
            "{}",
            found[1].file
        );
        assert_eq!((found[1].line, found[1].column), (Some(1), Some(42)));
    }

    #[test]
    fn an_unparseable_composed_reference_names_file_and_field() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            &[
                ("Chart.yaml", "name: app\n"),
                (
                    "values.yaml",
                    "a:\n  b:\n    initImage:\n      repository: Team/App\n",
                ),
            ],
        );
        let e = find(&Files::Dir(d.path().to_path_buf()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("values.yaml:4") && e.contains("a.b.initImage.repository"),
            "{e}"
        );
    }
}
