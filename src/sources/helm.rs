//! Images of a Helm chart (a directory or a `.tgz`, subcharts included). With `helm` on
//! `PATH` the chart is rendered (`helm template`, local files only, hooks and test pods
//! included since `helm test` runs them on the far side too) and its manifests read like any
//! others; without it, the `values.yaml` conventions are read (see `values`). Rendering is the
//! truth when it is possible: it finds images templates hard-code and ignores values no
//! template uses.

mod chart;
mod values;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use chart::{MAX_MEMBER, MAX_STREAM};
pub use values::MAX_SUBCHART_DEPTH;

use super::{kube, Found, How, SourceError};

/// The release name given to `helm template` (some charts put it in resource names).
pub const RELEASE: &str = "ferry";

/// True for a directory holding `Chart.yaml`, or a `.tgz`/`.tar.gz` holding `<name>/Chart.yaml`.
pub fn is_chart(path: &Path) -> bool {
    if path.is_dir() {
        return path.join("Chart.yaml").is_file();
    }
    let name = path.file_name().and_then(OsStr::to_str).unwrap_or("");
    path.is_file() && chart::is_archive_name(name) && chart::archive_has_chart(path)
}

/// The images of a chart: rendered by the `helm` on `PATH` when there is one, else its values.
pub fn find(path: &Path) -> Result<Vec<Found>, SourceError> {
    let helm = std::env::var_os("PATH").and_then(|p| helm_in(&p));
    find_with(path, helm.as_deref())
}

/// [`find`] with the `helm` to run given (`None`: read the values).
pub fn find_with(path: &Path, helm: Option<&Path>) -> Result<Vec<Found>, SourceError> {
    match helm {
        Some(helm) => template(helm, path),
        None => find_values(path),
    }
}

/// The executable `helm` in a `PATH`-style list of directories.
pub fn helm_in(path_var: &OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path_var)
        .map(|d| d.join("helm"))
        .find(|p| {
            std::fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// The images of a chart by its values conventions, for the chart and every subchart.
pub fn find_values(path: &Path) -> Result<Vec<Found>, SourceError> {
    let files = if path.is_dir() {
        chart::Files::Dir(path.to_path_buf())
    } else {
        let f = std::fs::File::open(path).map_err(|source| SourceError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        chart::open_archive(&path.display().to_string(), f)?
    };
    values::find(&files)
}

/// Renders the chart with `helm template ferry CHART` and reads the manifests it prints.
pub fn template(helm: &Path, chart: &Path) -> Result<Vec<Found>, SourceError> {
    let shown = chart.display().to_string();
    let out = Command::new(helm)
        .arg("template")
        .arg(RELEASE)
        .arg(chart)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| SourceError::Read {
            path: helm.to_path_buf(),
            source,
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let said: String = stderr.trim().chars().take(2000).collect();
        return Err(SourceError::Format {
            file: shown,
            detail: format!(
                "{} template failed ({}): {said}",
                helm.display(),
                out.status
            ),
        });
    }
    let text = String::from_utf8(out.stdout).map_err(|_| SourceError::Format {
        file: shown.clone(),
        detail: "helm template printed something that is not UTF-8".into(),
    })?;
    rendered(&text, &shown)
}

/// The images of `helm template` output: each document is named by its `# Source:` template
/// (`app/templates/deployment.yaml`; `fallback` without one) and numbered within it. Lines
/// are left out: they would count in the rendered text, not in the template.
pub fn rendered(text: &str, fallback: &str) -> Result<Vec<Found>, SourceError> {
    let mut docs = vec![String::new()];
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare == "---" || bare.starts_with("--- ") {
            docs.push(String::new());
        } else if let Some(d) = docs.last_mut() {
            d.push_str(line);
        }
    }
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for doc in docs {
        let source = doc
            .lines()
            .find_map(|l| l.strip_prefix("# Source:"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| fallback.to_string());
        let index = seen.iter().filter(|s| **s == source).count();
        seen.push(source.clone());
        for mut f in kube::find(&doc, &source, false)? {
            f.how = How::HelmTemplate;
            f.document = Some(index);
            f.line = None;
            f.column = None;
            out.push(f);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_documents_are_named_by_their_template() {
        let text = "---\n# Source: app/templates/a.yaml\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: c, image: nginx:1.25}]\n---\n# Source: app/templates/a.yaml\nkind: Pod\nmetadata: {name: b}\nspec:\n  containers: [{name: c, image: 'busybox'}]\n---\n# Source: app/charts/db/templates/s.yaml\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n";
        let found = rendered(text, "chart").unwrap();
        let got: Vec<_> = found
            .iter()
            .map(|f| {
                (
                    f.reference.as_str(),
                    f.file.as_str(),
                    f.document,
                    f.resource.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "docker.io/library/nginx:1.25",
                    "app/templates/a.yaml",
                    Some(0),
                    Some("Pod/a")
                ),
                (
                    "docker.io/library/busybox:latest",
                    "app/templates/a.yaml",
                    Some(1),
                    Some("Pod/b")
                ),
            ]
        );
        assert!(found
            .iter()
            .all(|f| f.how == How::HelmTemplate && f.line.is_none()));
    }

    #[test]
    fn helm_is_found_only_where_it_is_executable() {
        let d = tempfile::tempdir().unwrap();
        let empty = tempfile::tempdir().unwrap();
        let h = d.path().join("helm");
        std::fs::write(&h, "#!/bin/sh\n").unwrap();
        let path = std::env::join_paths([empty.path(), d.path()]).unwrap();
        assert_eq!(helm_in(&path), None, "not executable yet");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&h, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(helm_in(&path), Some(h));
        assert_eq!(helm_in(empty.path().as_os_str()), None);
    }
}
