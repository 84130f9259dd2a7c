//! What a bundle that is not an OCI image layout 1.x is, so the error can say so (DESIGN §2):
//! a legacy `docker save` archive (`manifest.json` + `<id>/layer.tar`, no `index.json`), or a
//! layout of a version ferry does not know.

use std::io::Read;
use std::path::Path;

use super::{Damage, LayoutError};

/// The error text for a legacy `docker save` archive: what it is and the way out.
pub const LEGACY_DOCKER: &str = "this is a legacy `docker save` archive (manifest.json and <id>/layer.tar, no index.json), not an OCI image layout; docker 25 and later write a layout, or convert it: skopeo copy docker-archive:FILE oci-archive:bundle.tar:NAME (or podman load + podman save --format oci-archive), then ferry import bundle.tar";

/// Whether `path` (a tar, a .tar.gz or a directory) has a top-level `manifest.json`: read only
/// when `index.json` is missing, to name the format in the error.
pub fn is_docker_archive(path: &Path) -> bool {
    if path.is_dir() {
        return path.join("manifest.json").is_file();
    }
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut magic = [0u8; 2];
    let gz = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let reader: Box<dyn Read> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut ar = tar::Archive::new(reader);
    let Ok(entries) = ar.entries() else {
        return false;
    };
    entries
        .map_while(Result::ok)
        .filter_map(|e| super::names::check_name(&e.path_bytes()).ok().flatten())
        .any(|n| n == "manifest.json")
}

/// Refuses an `oci-layout` whose `imageLayoutVersion` is not 1.x: a later major version may
/// change what the members mean.
pub fn check_layout_version(path: &Path, bytes: &[u8]) -> Result<(), LayoutError> {
    let v: Option<serde_json::Value> = serde_json::from_slice(bytes).ok();
    let version = v
        .as_ref()
        .and_then(|v| v.get("imageLayoutVersion"))
        .and_then(serde_json::Value::as_str);
    match version {
        Some(s) if s == "1" || s.starts_with("1.") => Ok(()),
        Some(other) => Err(LayoutError::Corrupt {
            path: path.to_path_buf(),
            damage: Damage::LayoutVersion(other.chars().take(40).collect()),
        }),
        // A missing or malformed oci-layout is reported by verify as a problem of its own.
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_layout_version_1_is_read() {
        let p = Path::new("b.tar");
        assert!(check_layout_version(p, br#"{"imageLayoutVersion":"1.0.0"}"#).is_ok());
        assert!(check_layout_version(p, br#"{"imageLayoutVersion":"1.1.0"}"#).is_ok());
        let e = check_layout_version(p, br#"{"imageLayoutVersion":"9.0.0"}"#).unwrap_err();
        assert!(e.to_string().contains("9.0.0"), "{e}");
        assert!(check_layout_version(p, br#"{"imageLayoutVersion":"10.0"}"#).is_err());
    }
}
