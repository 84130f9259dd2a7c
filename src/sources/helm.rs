//! Images in a Helm chart (directory or `.tgz`). Stub on this branch: the reader is written on
//! src-helm; `is_chart` is what the dispatcher needs.

use std::path::Path;

use super::{Found, SourceError};

/// The images of the chart at `path`.
pub fn find(path: &Path) -> Result<Vec<Found>, SourceError> {
    let _ = path;
    Ok(Vec::new())
}

/// Entries looked at in a `.tgz` before deciding it is not a chart (`helm package` puts
/// `NAME/Chart.yaml` first).
const MAX_ENTRIES: usize = 10_000;

/// True for a directory holding `Chart.yaml`, or a `.tgz`/`.tar.gz` holding `NAME/Chart.yaml`.
pub fn is_chart(path: &Path) -> bool {
    if path.is_dir() {
        return path.join("Chart.yaml").is_file();
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if !(name.ends_with(".tgz") || name.ends_with(".tar.gz")) {
        return false;
    }
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let Ok(entries) = archive.entries() else {
        return false;
    };
    for entry in entries.take(MAX_ENTRIES) {
        let Ok(entry) = entry else { return false };
        let Ok(p) = entry.path() else { continue };
        let parts: Vec<_> = p.components().map(|c| c.as_os_str().to_owned()).collect();
        if parts.len() == 2 && parts.get(1).is_some_and(|c| c == "Chart.yaml") {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_dirs_and_archives() {
        let d = tempfile::tempdir().unwrap();
        assert!(!is_chart(d.path()));
        std::fs::write(d.path().join("Chart.yaml"), "name: x\n").unwrap();
        assert!(is_chart(d.path()));
        let tgz = d.path().join("x-1.0.0.tgz");
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&tgz).unwrap(),
            flate2::Compression::fast(),
        );
        let mut b = tar::Builder::new(gz);
        let mut h = tar::Header::new_gnu();
        h.set_size(8);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "x/Chart.yaml", &b"name: x\n"[..])
            .unwrap();
        b.into_inner().unwrap().finish().unwrap();
        assert!(is_chart(&tgz));
        let other = d.path().join("other.tgz");
        std::fs::write(&other, b"not gzip").unwrap();
        assert!(!is_chart(&other));
        assert!(!is_chart(&d.path().join("Chart.yaml")));
    }
}
