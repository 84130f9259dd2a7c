//! Platforms (`os/arch[/variant]`) and the matching rules of DESIGN §3: a missing variant means
//! the architecture's default, on either side, so `linux/arm64` and `linux/arm64/v8` are one.
//! It imports nothing else of ferry's.

use std::fmt;

use serde_json::Value;

/// A platform string that is not `os/arch[/variant][:os.version]`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid platform {0:?}: expected os/arch[/variant], e.g. linux/arm64 or linux/arm/v7")]
pub struct PlatformError(pub String);

/// An image platform as found in an index descriptor or an image config.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    /// Compared only when the requested platform names one.
    pub os_version: Option<String>,
}

fn default_variant(arch: &str) -> Option<&'static str> {
    match arch {
        "arm64" => Some("v8"),
        "arm" => Some("v7"),
        _ => None,
    }
}

impl Platform {
    /// Parses `os/arch[/variant]`, optionally followed by `:os.version`.
    pub fn parse(s: &str) -> Result<Platform, PlatformError> {
        let err = || PlatformError(s.to_string());
        let (main, os_version) = match s.split_once(':') {
            Some((m, v)) if !v.is_empty() => (m, Some(v.to_string())),
            Some(_) => return Err(err()),
            None => (s, None),
        };
        let parts: Vec<&str> = main.split('/').collect();
        let ok = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        };
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| ok(p)) {
            return Err(err());
        }
        Ok(Platform {
            os: parts[0].to_ascii_lowercase(),
            architecture: parts[1].to_ascii_lowercase(),
            variant: parts.get(2).map(|v| v.to_ascii_lowercase()),
            os_version,
        })
    }

    /// Reads a platform from a descriptor's `platform` object or an image config (both use
    /// `os`, `architecture`, `variant`, `os.version`). Read from raw JSON: typed crates drop
    /// fields.
    pub fn from_json(v: &Value) -> Option<Platform> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Some(Platform {
            os: s("os")?,
            architecture: s("architecture")?,
            variant: s("variant").filter(|x| !x.is_empty()),
            os_version: s("os.version").filter(|x| !x.is_empty()),
        })
    }

    fn effective_variant(&self) -> Option<&str> {
        self.variant
            .as_deref()
            .or_else(|| default_variant(&self.architecture))
    }

    /// Does this available platform satisfy `wanted`?
    pub fn matches(&self, wanted: &Platform) -> bool {
        if self.os != wanted.os || self.architecture != wanted.architecture {
            return false;
        }
        let variant_ok = match (self.effective_variant(), wanted.effective_variant()) {
            (Some(a), Some(b)) => a == b,
            // An architecture without a default variant: a missing one on either side matches.
            _ => true,
        };
        let version_ok = match &wanted.os_version {
            Some(v) => self.os_version.as_deref() == Some(v.as_str()),
            None => true,
        };
        variant_ok && version_ok
    }

    /// `unknown/unknown`: buildkit's attestation manifests and other non-runnable entries.
    pub fn is_unknown(&self) -> bool {
        self.os == "unknown" && self.architecture == "unknown"
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        if let Some(v) = &self.os_version {
            write!(f, ":{v}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Platform {
    type Err = PlatformError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        Platform::parse(s).unwrap()
    }

    #[test]
    fn default_variants_match_on_either_side() {
        assert!(p("linux/arm64").matches(&p("linux/arm64/v8")));
        assert!(p("linux/arm64/v8").matches(&p("linux/arm64")));
        assert!(p("linux/arm/v7").matches(&p("linux/arm")));
        assert!(!p("linux/arm/v6").matches(&p("linux/arm")));
        assert!(!p("linux/arm64").matches(&p("linux/amd64")));
        assert!(p("linux/amd64").matches(&p("linux/amd64")));
        assert!(!p("linux/amd64").matches(&p("windows/amd64")));
    }

    #[test]
    fn os_version_only_when_asked() {
        let avail = Platform::from_json(&serde_json::json!({
            "os": "windows", "architecture": "amd64", "os.version": "10.0.17763.1"
        }))
        .unwrap();
        assert!(avail.matches(&p("windows/amd64")));
        assert!(avail.matches(&p("windows/amd64:10.0.17763.1")));
        assert!(!avail.matches(&p("windows/amd64:10.0.20348.1")));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "linux",
            "linux/",
            "/amd64",
            "a/b/c/d",
            "linux/amd 64",
            "linux/amd64:",
        ] {
            assert!(Platform::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(p("Linux/ARM64/V8").to_string(), "linux/arm64/v8");
    }
}
