//! What a crashed export leaves beside its output: temporary files (`.NAME.ferry-PID.tmp`, and
//! `.NAME.ferry-PID.tmp.NNN` for further split parts) and a journal of verified members.
//! Leftovers of dead processes are adopted when their journal matches the plan, else removed.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

/// True when process `pid` still runs (signal 0 probes without sending anything).
fn alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence and permission.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0
            || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

/// The journal's members when its first line is `fingerprint`; a torn last line is ignored.
fn read_journal(path: &Path, fingerprint: &str) -> Option<BTreeSet<String>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.split_inclusive('\n');
    if lines.next()?.trim_end() != fingerprint {
        return None;
    }
    Some(
        lines
            .filter(|l| l.ends_with('\n'))
            .map(|l| l.trim_end().to_string())
            .collect(),
    )
}

/// A crashed run's leftovers that match the plan: its temporary parts (by part index) and the
/// members its journal lists.
pub struct Adopted {
    pub parts: BTreeMap<usize, PathBuf>,
    pub members: BTreeSet<String>,
}

/// `(pid, part index)` of a leftover temporary file name after the `.NAME.ferry-` prefix.
fn parse_temp(rest: &str) -> Option<(i32, usize)> {
    let (pid, tail) = rest.split_once(".tmp")?;
    let pid = pid.parse().ok()?;
    let part = match tail.strip_prefix('.') {
        None if tail.is_empty() => 0,
        Some(n) => n.parse().ok()?,
        None => return None,
    };
    Some((pid, part))
}

/// Adopts the leftovers of one dead process whose journal matches `fingerprint`; removes
/// every other leftover of this output whose process is gone.
pub fn adopt_or_remove(dir: &Path, name: &str, fingerprint: &str) -> Option<Adopted> {
    let prefix = format!(".{name}.ferry-");
    let mut by_pid: BTreeMap<i32, BTreeMap<usize, PathBuf>> = BTreeMap::new();
    let mut journals: BTreeMap<i32, PathBuf> = BTreeMap::new();
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let fname = e.file_name().to_string_lossy().to_string();
        let Some(rest) = fname.strip_prefix(&prefix) else {
            continue;
        };
        if let Some(pid) = rest
            .strip_suffix(".journal")
            .and_then(|p| p.parse::<i32>().ok())
        {
            journals.insert(pid, e.path());
        } else if let Some((pid, part)) = parse_temp(rest) {
            by_pid.entry(pid).or_default().insert(part, e.path());
        }
    }
    let mut adopted = None;
    for (pid, parts) in by_pid {
        if alive(pid) {
            continue;
        }
        let members = journals
            .get(&pid)
            .and_then(|j| read_journal(j, fingerprint));
        match members {
            Some(members) if adopted.is_none() => adopted = Some(Adopted { parts, members }),
            _ => {
                for p in parts.values() {
                    let _ = std::fs::remove_file(p);
                }
            }
        }
    }
    for (pid, j) in journals {
        if !alive(pid) {
            let _ = std::fs::remove_file(j);
        }
    }
    adopted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_parse() {
        assert_eq!(parse_temp("123.tmp"), Some((123, 0)));
        assert_eq!(parse_temp("123.tmp.002"), Some((123, 2)));
        assert_eq!(parse_temp("123.tmpx"), None);
        assert_eq!(parse_temp("abc.tmp"), None);
    }
}
