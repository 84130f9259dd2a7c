//! Member names: a bundle member may only name a path inside the layout (DESIGN §2).

use super::LayoutError;

fn unsafe_member(name: &str, reason: &str) -> LayoutError {
    LayoutError::Unsafe {
        member: name.chars().take(300).collect(),
        reason: reason.to_string(),
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
