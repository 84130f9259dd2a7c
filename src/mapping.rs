//! One-to-one name mapping (DESIGN §5): where each source repository lands under `--to`. Two
//! different sources must never share a target, and the default names match what duffle and
//! image-relocation produce, so bundles relocated by either tool end up in the same places.
//! It imports only `reference`: mapping is pure, no network and no bundle.

use std::collections::BTreeMap;
use std::path::Path;

use crate::reference::{is_registry_host, Reference, DOCKER_HUB};

mod choice;
mod error;
mod file;
pub mod relocations;

pub use choice::MappingChoice;
pub use error::{EntryProblem, FileProblem, MappingError, PrefixProblem, Syntax, TargetProblem};

/// Longest repository name (`host/path`) registries accept (distribution's `NameTotalLengthMax`).
pub const NAME_MAX: usize = 255;
/// Length of the hex md5 that keeps hashed targets one to one.
const HASH_LEN: usize = 32;

/// How source repositories become target repositories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// `PREFIX/flat-md5` (image-relocation); works on registries that allow only two levels.
    Hashed,
    /// `PREFIX/host/path`, readable, for registries that allow deep paths.
    Path,
    /// Exactly these pairs: normalised source repository → target repository.
    Explicit(BTreeMap<String, String>),
}

/// Maps source references to targets under one validated prefix.
#[derive(Debug, Clone)]
pub struct Mapper {
    prefix: String,
    scheme: Scheme,
}

/// Lowercase hex md5 of `s`: the hash image-relocation appends to keep targets distinct.
pub fn md5_hex(s: &str) -> String {
    format!("{:x}", md5::compute(s.as_bytes()))
}

/// Validates `host[/path]` and normalises Docker Hub's legacy host names to `docker.io`.
fn normalise_prefix(input: &str) -> Result<String, MappingError> {
    let bad = |reason| MappingError::InvalidPrefix {
        prefix: input.to_string(),
        reason,
    };
    let p = input.trim().trim_end_matches('/');
    if p.is_empty() || p.contains("://") {
        return Err(bad(PrefixProblem::NotHostAndPath));
    }
    let (host, path) = match p.split_once('/') {
        Some((h, r)) => (h, Some(r)),
        None => (p, None),
    };
    if !is_registry_host(host) {
        return Err(bad(PrefixProblem::NotAHost {
            host: host.into(),
            prefix: p.into(),
        }));
    }
    let host = match host {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB,
        h => h,
    };
    let Some(path) = path else {
        if host == DOCKER_HUB {
            return Err(bad(PrefixProblem::HubNamespace));
        }
        return check_prefix_syntax(host.to_string(), bad);
    };
    check_prefix_syntax(format!("{host}/{path}"), bad)
}

/// A prefix is valid when `PREFIX/x` parses back to itself as a plain repository name.
fn check_prefix_syntax(
    prefix: String,
    bad: impl Fn(PrefixProblem) -> MappingError,
) -> Result<String, MappingError> {
    let probe = format!("{prefix}/x");
    match Reference::parse(&probe) {
        Ok(r) if r.name() == probe && r.tag.is_none() && r.digest.is_none() => Ok(prefix),
        Ok(_) => Err(bad(PrefixProblem::NotPlain)),
        Err(e) => Err(bad(PrefixProblem::Syntax(Syntax(e)))),
    }
}

/// Checks a finished target name: at most 255 characters, a valid and already normal name.
fn validate_target(repository: &str, target: &str) -> Result<(), MappingError> {
    let bad = |reason| MappingError::InvalidTarget {
        repository: repository.to_string(),
        target: target.to_string(),
        reason,
    };
    if target.len() > NAME_MAX {
        return Err(bad(TargetProblem::TooLong { len: target.len() }));
    }
    match Reference::parse(target) {
        Ok(r) if r.name() == target && r.tag.is_none() && r.digest.is_none() => Ok(()),
        Ok(r) => Err(bad(TargetProblem::NotPlain {
            reads_as: r.to_string(),
        })),
        Err(e) => Err(bad(TargetProblem::Syntax(Syntax(e)))),
    }
}

/// Shortening candidates for a repository path, in image-relocation's order: the whole flat
/// path; the first k components, a lone `-` cut marker and the last, for k = n-2 down to 1;
/// the last component; the first component.
fn flat_candidates(path: &str) -> Vec<String> {
    let c: Vec<&str> = path.split('/').collect();
    let n = c.len();
    let mut out = vec![c.join("-")];
    for k in (1..n.saturating_sub(1)).rev() {
        out.push(format!("{}---{}", c[..k].join("-"), c[n - 1]));
    }
    if n > 1 {
        out.push(c[n - 1].to_string());
    }
    out.push(c[0].to_string());
    out
}

/// `PREFIX/flat-hash`, with `flat` shortened to fit 255 characters, or `PREFIX/hash`.
fn hashed_target(prefix: &str, source: &Reference) -> String {
    let hash = md5_hex(&source.name());
    let available = NAME_MAX.saturating_sub(prefix.len() + 2 + HASH_LEN);
    match flat_candidates(&source.repository)
        .into_iter()
        .find(|c| c.len() <= available)
    {
        Some(flat) => format!("{prefix}/{flat}-{hash}"),
        None => format!("{prefix}/{hash}"),
    }
}

/// A registry host as one path component: lowercase, other characters → `-`, runs of
/// separators collapsed to one `-`, trimmed (`[::1]:5000` → `1-5000`).
pub fn host_component(host: &str) -> String {
    let mapped: Vec<char> = host
        .to_ascii_lowercase()
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '.' | '_' | '-' => c,
            _ => '-',
        })
        .collect();
    let is_sep = |c: char| matches!(c, '.' | '_' | '-');
    let mut out = String::new();
    let mut i = 0;
    while i < mapped.len() {
        let run = mapped[i..].iter().take_while(|c| is_sep(**c)).count();
        out.push(if run > 1 { '-' } else { mapped[i] });
        i += run.max(1);
    }
    out.trim_matches(is_sep).to_string()
}

/// Normalises explicit pairs (see [`Mapper::from_file`] for the rules) and refuses pairs that
/// contradict each other or send two sources to one target.
fn normalise_explicit(
    prefix: &str,
    entries: impl IntoIterator<Item = (String, String)>,
) -> Result<BTreeMap<String, String>, MappingError> {
    let prefix_host = prefix.split('/').next().unwrap_or(prefix);
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    let mut by_target: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in entries {
        let bad = |reason| MappingError::InvalidEntry {
            key: key.clone(),
            value: value.clone(),
            reason,
        };
        let syntax = |e| bad(EntryProblem::Syntax(Syntax(e)));
        let src = Reference::parse(&key).map_err(syntax)?;
        let v = value.trim();
        let full = match v.split_once('/') {
            Some((first, _)) if is_registry_host(first) => v.to_string(),
            _ => format!("{prefix}/{}", v.trim_start_matches('/')),
        };
        let tgt = Reference::parse(&full).map_err(syntax)?;
        if tgt.tag.is_some() && tgt.tag != src.tag {
            return Err(bad(EntryProblem::TagChanged));
        }
        if tgt.registry != prefix_host {
            return Err(bad(EntryProblem::OtherRegistry {
                host: prefix_host.into(),
            }));
        }
        let (name, target) = (src.name(), tgt.name());
        validate_target(&name, &target)?;
        match map.get(&name) {
            Some(t) if *t != target => {
                return Err(bad(EntryProblem::AlreadyMapped {
                    name,
                    target: t.clone(),
                }));
            }
            Some(_) => continue,
            None => {}
        }
        if let Some(other) = by_target.get(&target) {
            return Err(MappingError::Collision {
                first: other.clone(),
                second: name,
                target,
                hint: "give them different targets in the mapping file",
            });
        }
        by_target.insert(target.clone(), name.clone());
        map.insert(name, target);
    }
    Ok(map)
}

impl Mapper {
    /// A mapper under `prefix` (`host[/path]`); the prefix is checked now so no push starts
    /// towards a name the registry would refuse.
    pub fn new(prefix: &str, scheme: Scheme) -> Result<Mapper, MappingError> {
        let prefix = normalise_prefix(prefix)?;
        let scheme = match scheme {
            Scheme::Explicit(map) => Scheme::Explicit(normalise_explicit(&prefix, map)?),
            s => s,
        };
        if scheme == Scheme::Hashed && prefix.len() + 1 + HASH_LEN > NAME_MAX {
            return Err(MappingError::InvalidPrefix {
                reason: PrefixProblem::NoRoomForHash {
                    len: prefix.len(),
                    max: NAME_MAX - 1 - HASH_LEN,
                },
                prefix,
            });
        }
        Ok(Mapper { prefix, scheme })
    }

    /// `--mapping FILE`: a JSON object (or `source: target` lines, a YAML subset) from source
    /// to target. Keys are any reference form (`alpine`, `docker.io/library/alpine:3.19`) and
    /// are normalised; a value whose first component is a registry host (has `.` or `:` or is
    /// `localhost`) is a full target and must be on the prefix's registry, any other value is a
    /// path under the prefix. Tags and digests are ignored, except that a value's tag must equal
    /// its key's, so a `relocation-mapping.json` from an earlier import can be reused.
    pub fn from_file(prefix: &str, path: &Path) -> Result<Mapper, MappingError> {
        let text = std::fs::read_to_string(path).map_err(|source| MappingError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let entries = file::parse_entries(&text).map_err(|problem| MappingError::FileFormat {
            path: path.to_path_buf(),
            problem,
        })?;
        let prefix = normalise_prefix(prefix)?;
        let map = normalise_explicit(&prefix, entries)?;
        Ok(Mapper {
            prefix,
            scheme: Scheme::Explicit(map),
        })
    }

    /// The validated, normalised prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Target repository (`reg.local/team/istio-proxyv2-<md5>`) for a source repository
    /// (`docker.io/istio/proxyv2`); the source's tag and digest play no part.
    pub fn target_repository(&self, source: &Reference) -> Result<String, MappingError> {
        let name = source.name();
        let target = match &self.scheme {
            Scheme::Hashed => hashed_target(&self.prefix, source),
            Scheme::Path => {
                let host = host_component(&source.registry);
                if host.is_empty() {
                    return Err(MappingError::InvalidTarget {
                        repository: name,
                        target: String::new(),
                        reason: TargetProblem::EmptyHost,
                    });
                }
                format!("{}/{host}/{}", self.prefix, source.repository)
            }
            Scheme::Explicit(map) => {
                map.get(&name)
                    .cloned()
                    .ok_or_else(|| MappingError::NotInMapping {
                        repository: name.clone(),
                    })?
            }
        };
        validate_target(&name, &target)?;
        Ok(target)
    }

    /// Full relocated reference: target repository plus the source's tag and/or digest,
    /// unchanged (a bare name stays bare).
    pub fn relocate(&self, source: &Reference) -> Result<String, MappingError> {
        let mut out = self.target_repository(source)?;
        if let Some(t) = &source.tag {
            out.push(':');
            out.push_str(t);
        }
        if let Some(d) = &source.digest {
            out.push('@');
            out.push_str(&d.to_string());
        }
        Ok(out)
    }

    /// Maps every source and proves the result one to one before anything is pushed:
    /// source repository → target repository.
    pub fn check_all<'a>(
        &self,
        sources: impl IntoIterator<Item = &'a Reference>,
    ) -> Result<BTreeMap<String, String>, MappingError> {
        let mut out = BTreeMap::new();
        let mut by_target: BTreeMap<String, String> = BTreeMap::new();
        for s in sources {
            let name = s.name();
            if out.contains_key(&name) {
                continue;
            }
            let target = self.target_repository(s)?;
            if let Some(other) = by_target.get(&target) {
                let hint = match self.scheme {
                    Scheme::Path => "use --mapping hashed or a mapping file",
                    _ => "give them different targets",
                };
                return Err(MappingError::Collision {
                    first: other.clone(),
                    second: name,
                    target,
                    hint,
                });
            }
            by_target.insert(target.clone(), name.clone());
            out.insert(name, target);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
