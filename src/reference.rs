//! Image references, normalised the way docker does, so `alpine`, `docker.io/alpine` and
//! `index.docker.io/library/alpine` name the same image and map to the same target.
//! It imports only `digest`.

use std::fmt;

use crate::digest::{Digest, DigestError};

/// Docker Hub's canonical name; what users and `index.json` see.
pub const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's registry API is actually served.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// Why a reference could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("invalid image reference {input:?}: {reason}")]
    Invalid {
        input: String,
        reason: ReferenceProblem,
    },
    /// The part after `@` is not a digest.
    #[error("invalid image reference {input:?}")]
    Digest { input: String, source: DigestError },
}

/// What is wrong with a reference that is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceProblem {
    Empty,
    TooLong,
    Tag(String),
    Host(String),
    PathLength,
    /// A repository path component (lowercase letters, digits and separators only).
    PathComponent(String),
}

impl std::fmt::Display for ReferenceProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReferenceProblem::Empty => f.write_str("empty"),
            ReferenceProblem::TooLong => f.write_str("longer than 4096 characters"),
            ReferenceProblem::Tag(t) => write!(f, "invalid tag {t:?}"),
            ReferenceProblem::Host(h) => write!(f, "invalid registry host {h:?}"),
            ReferenceProblem::PathLength => {
                f.write_str("repository path must be 1 to 255 characters")
            }
            ReferenceProblem::PathComponent(c) => write!(f, "invalid repository path component {c:?} (lowercase letters, digits and . _ - separators only)"),
        }
    }
}

/// A normalised image reference: registry, repository path, and a tag and/or digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    /// Registry host as users write it (`docker.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// Repository path (`library/alpine`).
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

fn invalid(input: &str, reason: ReferenceProblem) -> ReferenceError {
    ReferenceError::Invalid {
        input: input.to_string(),
        reason,
    }
}

/// True when the first path component names a registry host (docker's rule).
pub fn is_registry_host(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

fn valid_path_component(c: &str) -> bool {
    // [a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum(x: u8) -> bool {
    x.is_ascii_lowercase() || x.is_ascii_digit()
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&x| x.is_ascii_alphanumeric() || x == b'_' || x == b'.' || x == b'-')
}

fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.bytes().all(|x| {
            x.is_ascii_alphanumeric() || matches!(x, b'.' | b'-' | b':' | b'[' | b']' | b'_')
        })
}

impl Reference {
    /// Parses and normalises a reference (`alpine` → `docker.io/library/alpine`).
    pub fn parse(input: &str) -> Result<Reference, ReferenceError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(invalid(input, ReferenceProblem::Empty));
        }
        if s.len() > 4096 {
            return Err(invalid(input, ReferenceProblem::TooLong));
        }
        let (name_tag, digest) = match s.split_once('@') {
            Some((n, d)) => {
                let d = Digest::parse(d).map_err(|source| ReferenceError::Digest {
                    input: input.to_string(),
                    source,
                })?;
                (n, Some(d))
            }
            None => (s, None),
        };
        // A tag is after the last ':' that follows the last '/'.
        let last_slash = name_tag.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => {
                let t = &name_tag[last_slash + i + 1..];
                if !valid_tag(t) {
                    return Err(invalid(input, ReferenceProblem::Tag(t.to_string())));
                }
                (&name_tag[..last_slash + i], Some(t.to_string()))
            }
            None => (name_tag, None),
        };
        let (registry, path) = match name.split_once('/') {
            Some((first, rest)) if is_registry_host(first) => (first.to_string(), rest.to_string()),
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        if !valid_host(&registry) {
            return Err(invalid(input, ReferenceProblem::Host(registry)));
        }
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
            _ => registry,
        };
        let path = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        if path.is_empty() || path.len() > 255 {
            return Err(invalid(input, ReferenceProblem::PathLength));
        }
        if let Some(bad) = path.split('/').find(|c| !valid_path_component(c)) {
            return Err(invalid(
                input,
                ReferenceProblem::PathComponent(bad.to_string()),
            ));
        }
        Ok(Reference {
            registry,
            repository: path,
            tag,
            digest,
        })
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The host that actually serves the registry API.
    pub fn api_host(&self) -> &str {
        api_host(&self.registry)
    }

    /// The tag, or the digest string, to put in `/v2/<name>/manifests/<here>`.
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }

    /// Adds `:latest` when neither tag nor digest is present (what `docker pull` does).
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some("latest".into());
        }
        self
    }

    /// Same repository, pinned to another digest and no tag.
    pub fn with_digest(&self, d: &Digest) -> Reference {
        Reference {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: None,
            digest: Some(d.clone()),
        }
    }

    /// Same repository with a tag and no digest.
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: Some(tag.to_string()),
            digest: None,
        }
    }
}

/// Maps a user-facing registry name to the host serving its API.
pub fn api_host(registry: &str) -> &str {
    if registry == DOCKER_HUB {
        DOCKER_HUB_API
    } else {
        registry
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalises_like_docker() {
        assert_eq!(n("alpine"), "docker.io/library/alpine");
        assert_eq!(n("alpine:3.19"), "docker.io/library/alpine:3.19");
        assert_eq!(
            n("index.docker.io/library/alpine"),
            "docker.io/library/alpine"
        );
        assert_eq!(n("istio/proxyv2:1.1"), "docker.io/istio/proxyv2:1.1");
        assert_eq!(n("localhost/x"), "localhost/x");
        assert_eq!(n("127.0.0.1:5000/a/b/c/d:t"), "127.0.0.1:5000/a/b/c/d:t");
        assert_eq!(n("ghcr.io/org/app"), "ghcr.io/org/app");
    }

    #[test]
    fn parses_digest_and_tag() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("host:5000/x:t@{d}")).unwrap();
        assert_eq!(r.registry, "host:5000");
        assert_eq!(r.repository, "x");
        assert_eq!(r.tag.as_deref(), Some("t"));
        assert_eq!(r.manifest_reference(), d);
        let r = Reference::parse(&format!("host:5000/x@{d}")).unwrap();
        assert_eq!(r.tag, None);
    }

    #[test]
    fn default_tag_and_api_host() {
        let r = Reference::parse("alpine").unwrap().with_default_tag();
        assert_eq!(r.to_string(), "docker.io/library/alpine:latest");
        assert_eq!(r.api_host(), "registry-1.docker.io");
    }

    #[test]
    fn rejects_bad_names() {
        for bad in [
            "",
            "UPPER/case",
            "a//b",
            "a/b:",
            "a/b:-x",
            "a/b@sha256:zz",
            "-a/b",
            "a/../b",
            "x y",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
