//! Member names: a bundle member may only name a path inside the layout (DESIGN §2).

use super::LayoutError;

fn unsafe_member(name: &str, reason: &'static str) -> LayoutError {
    LayoutError::Unsafe {
        member: name.chars().take(300).collect(),
        reason,
    }
}

/// Checks a member name and returns it normalised (no `./`), or None for entries to skip.
pub fn check_name(raw: &[u8]) -> Result<Option<String>, LayoutError> {
    let shown = String::from_utf8_lossy(raw).to_string();
    if raw.contains(&0) {
        return Err(unsafe_member(&shown, "the name contains a NUL byte"));
    }
    if raw.len() > 4096 {
        return Err(unsafe_member(&shown, "the name is longer than 4096 bytes"));
    }
    let name =
        std::str::from_utf8(raw).map_err(|_| unsafe_member(&shown, "the name is not UTF-8"))?;
    if name.starts_with('/') {
        return Err(unsafe_member(name, "absolute path"));
    }
    let mut parts = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => continue,
            ".." => {
                return Err(unsafe_member(
                    name,
                    "the path contains '..' and could escape the layout",
                ))
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(parts.join("/")))
}

/// Whether a member belongs to the OCI layout (`oci-layout`, `index.json`, `blobs/…`). Other
/// members (a Docker ≥ 25 archive's `manifest.json`, `repositories` and legacy layer
/// directories) are ignored, never read, whatever their type: ferry never extracts.
pub fn in_layout(name: &str) -> bool {
    name == super::OCI_LAYOUT_FILE || name == super::INDEX_FILE || name.starts_with("blobs/")
}

/// The normalised name of a tar member of the layout that is a regular file; None for
/// directories and members outside the layout; an error for links, devices and FIFOs inside
/// it (they could point outside the layout).
pub fn regular_member<R: std::io::Read>(
    entry: &tar::Entry<'_, R>,
) -> Result<Option<String>, LayoutError> {
    let Some(name) = check_name(&entry.path_bytes())? else {
        return Ok(None);
    };
    if !in_layout(&name) {
        return Ok(None);
    }
    let refuse = |reason: &'static str| Err(unsafe_member(&name, reason));
    match entry.header().entry_type() {
        tar::EntryType::Regular | tar::EntryType::Continuous => Ok(Some(name)),
        tar::EntryType::Directory => Ok(None),
        tar::EntryType::Symlink => refuse("symbolic link members are not allowed"),
        tar::EntryType::Link => refuse("hard link members are not allowed"),
        tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
            refuse("device and FIFO members are not allowed")
        }
        other => Err(LayoutError::MemberType {
            member: name.chars().take(300).collect(),
            entry_type: other,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_are_checked() {
        assert_eq!(
            check_name(b"./blobs/sha256/ab").unwrap().as_deref(),
            Some("blobs/sha256/ab")
        );
        assert_eq!(check_name(b"./").unwrap(), None);
        for bad in [&b"/etc/passwd"[..], b"blobs/../../x", b"..", b"a\0b"] {
            assert!(
                check_name(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(check_name(&vec![b'a'; 5000]).is_err());
    }
}
