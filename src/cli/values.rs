//! How flag values parse: the enumerated flags as clap `ValueEnum`s, the two flags that take a
//! kind or something else (`--referrers all|none|TYPE`, `--mapping hashed|path|FILE`), and
//! sizes. A value that is none of the kinds but close to one is a usage error with clap's
//! suggestion (exit 2), like every other typo. Knows nothing of what the values do.

use std::ffi::OsStr;
use std::path::Path;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::error::ContextKind;
use clap::{Arg, Command, ValueEnum};
use ferry::sigstore::Pattern;
use ferry::verify_bundle::ArtifactInput;
use ferry::MappingChoice;

// The variants of these enums carry `//` comments, not doc comments: clap would print those
// in `--help` and switch all of it to its long form.

/// `--sparse`: what import does with an index some of whose platforms the bundle lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SparseArg {
    // Push the index's original bytes (registries that check children refuse it).
    Keep,
    // Push a new index of the platforms present (its digest changes).
    Strip,
}

/// `--emit`: the configuration `map` writes instead of names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmitArg {
    // containers policy.json and a registries.d fragment (needs --key).
    PolicyJson,
    // A kustomize Component renaming the images.
    Kustomize,
    // A Helm values fragment, ferry.images.
    HelmValues,
    // containers registries.conf (v2).
    RegistriesConf,
}

/// One `--referrers` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferrersArg {
    All,
    None,
    /// An artifact type (a media type).
    Type(String),
}

/// Parses `--referrers`: `all`, `none`, or an artifact type; a word close to `all` or `none`
/// (no `/`, so not a media type) is a typo.
#[derive(Debug, Clone, Copy)]
pub struct ReferrersParser;

impl TypedValueParser for ReferrersParser {
    type Value = ReferrersArg;

    fn parse_ref(
        &self,
        cmd: &Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> Result<ReferrersArg, clap::Error> {
        match kind_or_other(cmd, arg, value, &["all", "none"])? {
            Ok("all") => Ok(ReferrersArg::All),
            Ok(_) => Ok(ReferrersArg::None),
            Err(other) => Ok(ReferrersArg::Type(other.to_string())),
        }
    }
}

/// Parses `--mapping`: `hashed`, `path`, or a file; a value that names no existing file and is
/// close to a kind is a typo.
#[derive(Debug, Clone, Copy)]
pub struct MappingParser;

impl TypedValueParser for MappingParser {
    type Value = MappingChoice;

    fn parse_ref(
        &self,
        cmd: &Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> Result<MappingChoice, clap::Error> {
        match kind_or_other(cmd, arg, value, &["hashed", "path"]) {
            Ok(v) => Ok(MappingChoice::from_arg(v.unwrap_or_else(|other| other))),
            Err(_) if value.to_str().is_some() && Path::new(value).exists() => {
                Ok(MappingChoice::File(value.into()))
            }
            Err(e) => Err(e),
        }
    }
}

/// `Ok(kind)` when `value` is one of `kinds`, `Err(value)` when it is something else, and
/// clap's error (with its "a similar value exists" tip) when it is not UTF-8 or, having no
/// `/`, is close to a kind.
fn kind_or_other<'v>(
    cmd: &Command,
    arg: Option<&Arg>,
    value: &'v OsStr,
    kinds: &[&'static str],
) -> Result<Result<&'static str, &'v str>, clap::Error> {
    let e = match PossibleValuesParser::new(kinds.to_vec()).parse_ref(cmd, arg, value) {
        Ok(v) => {
            return Ok(Ok(kinds
                .iter()
                .copied()
                .find(|k| *k == v)
                .unwrap_or_default()))
        }
        Err(e) => e,
    };
    match value.to_str() {
        Some(v) if v.contains('/') || e.get(ContextKind::SuggestedValue).is_none() => Ok(Err(v)),
        _ => Err(e),
    }
}

/// `--split-size`: a size, or `fat32` for FAT32's largest file (4 GiB - 1).
pub fn parse_split(s: &str) -> Result<u64, String> {
    if s.eq_ignore_ascii_case("fat32") {
        return Ok(ferry::layout::parts::FAT32_MAX);
    }
    let n = parse_size(s)?;
    if n < 1024 {
        return Err(format!("--split-size {s}: parts must be at least 1 KiB"));
    }
    Ok(n)
}

/// Parses a byte size: `1048576`, `512K`, `16M`, `4G` (binary units).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => {
                    return Err(format!(
                        "invalid size {s:?}: use a number with an optional K, M, G or T suffix"
                    ))
                }
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: u64 = num.trim().parse().map_err(|_| {
        format!("invalid size {s:?}: use a number with an optional K, M, G or T suffix")
    })?;
    n.checked_mul(mult)
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("invalid size {s:?}"))
}

/// `verify-bundle FILE_OR_DIGEST`: `sha256:<64 hex>` is the artifact's digest (the conformance
/// suite's form), anything else a path.
pub fn parse_artifact(s: &str) -> Result<ArtifactInput, String> {
    let Some(hex) = s.strip_prefix("sha256:") else {
        return Ok(ArtifactInput::File(s.into()));
    };
    let bad = || format!("{s:?}: a digest is sha256: and 64 hex digits");
    if hex.len() != 64 {
        return Err(bad());
    }
    let mut d = [0u8; 32];
    for (i, b) in d.iter_mut().enumerate() {
        *b = hex
            .get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .ok_or_else(bad)?;
    }
    Ok(ArtifactInput::Sha256(d))
}

/// A `--certificate-*-regexp` value: a bad expression is a usage error.
pub fn parse_regex(s: &str) -> Result<Pattern, String> {
    Pattern::regex(s).map_err(|e| e.to_string())
}
