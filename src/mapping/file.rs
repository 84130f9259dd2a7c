//! Reads `--mapping FILE`: a JSON object, or the one-pair-per-line subset of YAML
//! (`source: target`), into pairs in file order so duplicates can be reported, not lost.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};

use super::FileProblem;

/// Source → target pairs as written, in file order.
pub(super) fn parse_entries(text: &str) -> Result<Vec<(String, String)>, FileProblem> {
    let entries = if text.trim_start().starts_with('{') {
        let mut de = serde_json::Deserializer::from_str(text);
        let pairs = de.deserialize_map(Pairs).map_err(FileProblem::Json)?;
        de.end().map_err(FileProblem::Json)?;
        pairs
    } else {
        parse_simple_yaml(text)?
    };
    if entries.is_empty() {
        return Err(FileProblem::Empty);
    }
    Ok(entries)
}

/// A JSON object of strings kept as a list, so a repeated key is seen.
struct Pairs;

impl<'de> Visitor<'de> for Pairs {
    type Value = Vec<(String, String)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object mapping source references to target repositories (strings)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(pair) = map.next_entry::<String, String>()? {
            out.push(pair);
        }
        Ok(out)
    }
}

/// `key: value` lines with optional quotes, `#` comments, blank lines and `---`; anything
/// fancier (nesting, lists, anchors, escapes) is refused rather than guessed at.
fn parse_simple_yaml(text: &str) -> Result<Vec<(String, String)>, FileProblem> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end();
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') || t == "---" {
            continue;
        }
        if t.len() != line.len() {
            return Err(FileProblem::Indented(n));
        }
        let (key, rest) = if t.starts_with(['"', '\'']) {
            quoted(t, n)?
        } else {
            let end = t
                .find(": ")
                .or_else(|| t.strip_suffix(':').map(str::len))
                .ok_or(FileProblem::NotAPair(n))?;
            (plain(&t[..end], n)?, &t[end..])
        };
        let rest = rest
            .strip_prefix(':')
            .ok_or(FileProblem::NoColon(n))?
            .trim_start();
        let value = if rest.starts_with(['"', '\'']) {
            let (v, after) = quoted(rest, n)?;
            let after = after.trim_start();
            if !(after.is_empty() || after.starts_with('#')) {
                return Err(FileProblem::AfterValue(n));
            }
            v
        } else {
            let v = rest.split(" #").next().unwrap_or_default().trim();
            if v.is_empty() {
                return Err(FileProblem::NoTarget { line: n, key });
            }
            plain(v, n)?
        };
        out.push((key, value));
    }
    Ok(out)
}

/// A quoted scalar without escapes, and what follows it.
fn quoted(s: &str, n: usize) -> Result<(String, &str), FileProblem> {
    let q = s.chars().next().unwrap_or('"');
    let body = &s[1..];
    let end = body.find(q).ok_or(FileProblem::UnclosedQuote(n))?;
    let v = &body[..end];
    if v.contains('\\') {
        return Err(FileProblem::Escapes(n));
    }
    Ok((v.to_string(), &body[end + 1..]))
}

/// An unquoted scalar: only characters that occur in image references, so YAML syntax
/// (`- `, `{`, `[`, `&`, `*`, `|`) is never misread as a name; `[::1]` hosts need quotes.
fn plain(s: &str, n: usize) -> Result<String, FileProblem> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "._-/:@".contains(c);
    if s.is_empty() || !s.chars().all(ok) {
        return Err(FileProblem::NotPlain {
            line: n,
            text: s.into(),
        });
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn json_keeps_order_and_repeats() {
        let e = parse_entries(r#"{"alpine": "a", "x/y": "reg.local/b", "alpine": "c"}"#);
        assert_eq!(
            e.unwrap(),
            pairs(&[("alpine", "a"), ("x/y", "reg.local/b"), ("alpine", "c")])
        );
        assert!(parse_entries(r#"{"alpine": 1}"#).is_err());
        assert!(parse_entries(r#"{"alpine": "a"} trailing"#).is_err());
        assert!(parse_entries("{}").is_err());
    }

    #[test]
    fn simple_yaml() {
        let text = "---\n# comment\n127.0.0.1:5000/x:1.1: reg.local/y # note\n\
                    \"alpine\": 'team/alpine'\nistio/proxyv2:  team/p\n";
        assert_eq!(
            parse_entries(text).unwrap(),
            pairs(&[
                ("127.0.0.1:5000/x:1.1", "reg.local/y"),
                ("alpine", "team/alpine"),
                ("istio/proxyv2", "team/p"),
            ])
        );
        for bad in [
            "images:\n  alpine: x\n",
            "- alpine: x\n",
            "alpine: {a: b}\n",
            "alpine: &anchor x\n",
            "alpine:\n",
            "\"alp\\\"ine\": x\n",
            "alpine x\n",
            "",
        ] {
            assert!(parse_entries(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
