//! What an error answer says, for a message: OCI error codes, messages and the blob or
//! manifest they concern (`detail`), escaped, and never a token (DESIGN §1: a body that looks
//! like a token service's answer is described, not quoted).

use std::fmt;

use serde_json::Value;

use crate::text::escape;

/// JSON keys under which token services hand out secrets.
const TOKEN_KEYS: [&str; 4] = ["token", "access_token", "refresh_token", "id_token"];

/// Longest piece of a body quoted in a message.
const QUOTE_LIMIT: usize = 200;

/// Whether `body` looks like it carries a token: a JSON object with a token key (at the top
/// or one level down), or text that names one.
pub fn carries_token(body: &[u8]) -> bool {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let has = |o: &Value| {
            o.as_object()
                .is_some_and(|m| TOKEN_KEYS.iter().any(|k| m.contains_key(*k)))
        };
        if has(&v) {
            return true;
        }
        if let Some(m) = v.as_object() {
            if m.values().any(has) {
                return true;
            }
        }
    }
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    TOKEN_KEYS
        .iter()
        .any(|k| text.contains(&format!("\"{k}\"")) || text.contains(&format!("{k}=")))
}

/// Replaces what looks like a JWT (`eyJ….….…`) or the value after `Bearer`/`Basic` with
/// `<redacted>`.
fn redact(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut after_scheme = false;
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String, after_scheme: &mut bool| {
        if word.is_empty() {
            return;
        }
        let jwt = word.starts_with("eyJ") && word.contains('.') && word.len() >= 20;
        if jwt || (*after_scheme && word.len() >= 8) {
            out.push_str("<redacted>");
        } else {
            out.push_str(word);
        }
        *after_scheme = word.eq_ignore_ascii_case("bearer") || word.eq_ignore_ascii_case("basic");
        word.clear();
    };
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=' | '+' | '/' | '~') {
            word.push(c);
        } else {
            flush(&mut word, &mut out, &mut after_scheme);
            out.push(c);
        }
    }
    flush(&mut word, &mut out, &mut after_scheme);
    out
}

/// Outside text made fit for a message: redacted, escaped, at most [`QUOTE_LIMIT`] characters.
fn quote(s: &str) -> String {
    let short: String = s.trim().chars().take(QUOTE_LIMIT).collect();
    escape(&redact(&short))
}

/// What an OCI error's `detail` names: a digest, repository, tag or reference (distribution
/// sends a digest string for MANIFEST_BLOB_UNKNOWN, other registries `{"digest": …}`).
fn detail_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(quote(s)),
        Value::Object(m) => {
            let parts: Vec<String> = ["digest", "name", "tag", "reference"]
                .iter()
                .filter_map(|k| m.get(*k)?.as_str().map(|s| format!("{k} {}", quote(s))))
                .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        _ => None,
    }
}

fn errors(body: &[u8]) -> Option<Vec<Value>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("errors")?.as_array().cloned()
}

/// One OCI error of an error answer (go-containerregistry's `transport.Diagnostic`): its
/// code, message and what its `detail` names, each redacted and escaped for a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciError {
    /// `NAME_UNKNOWN`, `DENIED`, `MANIFEST_BLOB_UNKNOWN`, …
    pub code: String,
    pub message: String,
    /// What `detail` names: `digest sha256:…`, `name team/app`, or its text.
    pub detail: Option<String>,
}

impl OciError {
    fn of(e: &Value) -> OciError {
        let text = |k: &str| e.get(k).and_then(Value::as_str).map(quote);
        OciError {
            code: text("code").unwrap_or_default(),
            message: text("message").unwrap_or_default(),
            detail: e.get("detail").and_then(detail_of),
        }
    }

    fn is_empty(&self) -> bool {
        self.code.is_empty() && self.message.is_empty() && self.detail.is_none()
    }
}

/// `CODE message (digest sha256:…)`.
impl fmt::Display for OciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(format!("{} {}", self.code, self.message).trim())?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

/// What an error answer said, as data: its OCI errors in order, else the start of its text;
/// a body that carries a token is never kept (DESIGN §1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Answer {
    /// No body, or none was read (the answer to a HEAD).
    #[default]
    Empty,
    /// An OCI error body (`{"errors": [{"code", "message", "detail"}]}`).
    Errors(Vec<OciError>),
    /// Any other body: its start, redacted and escaped.
    Text(String),
    /// A body that looks like a token service's answer: described, not quoted.
    Token,
}

impl Answer {
    /// Reads an error answer's body.
    pub fn of(body: &[u8]) -> Answer {
        if carries_token(body) {
            return Answer::Token;
        }
        if let Some(errs) = errors(body) {
            let errs: Vec<OciError> = errs
                .iter()
                .map(OciError::of)
                .filter(|e| !e.is_empty())
                .collect();
            if !errs.is_empty() {
                return Answer::Errors(errs);
            }
        }
        match quote(&String::from_utf8_lossy(body)) {
            t if t.is_empty() => Answer::Empty,
            t => Answer::Text(t),
        }
    }

    /// The OCI error codes of the answer, in order.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        let errs = match self {
            Answer::Errors(e) => &e[..],
            _ => &[],
        };
        errs.iter().map(|e| e.code.as_str())
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Answer::Empty)
    }

    /// `: ANSWER`, or nothing for an empty answer: the tail of a status message.
    pub fn tail(&self) -> String {
        if self.is_empty() {
            String::new()
        } else {
            format!(": {self}")
        }
    }
}

/// `CODE message (digest sha256:…); …`, the text, or that it carried a token.
impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Empty => Ok(()),
            Answer::Errors(errs) => {
                for (i, e) in errs.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            Answer::Text(t) => f.write_str(t),
            Answer::Token => f.write_str("an answer that carries a token (not shown)"),
        }
    }
}

/// Summarises an error answer for a message (the text of [`Answer::of`]).
pub fn describe_body(body: &[u8]) -> String {
    Answer::of(body).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_oci_error_bodies_with_their_detail() {
        let b =
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#;
        assert_eq!(describe_body(b), "MANIFEST_UNKNOWN manifest unknown");
        assert_eq!(describe_body(b"404 page not found\n"), "404 page not found");
        let d = "sha256:4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b";
        let object = format!(
            r#"{{"errors":[{{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry","detail":{{"digest":"{d}"}}}}]}}"#
        );
        assert_eq!(
            describe_body(object.as_bytes()),
            format!("MANIFEST_BLOB_UNKNOWN blob unknown to registry (digest {d})")
        );
        let string = format!(
            r#"{{"errors":[{{"code":"BLOB_UNKNOWN","message":"blob unknown","detail":"{d}"}}]}}"#
        );
        assert_eq!(
            describe_body(string.as_bytes()),
            format!("BLOB_UNKNOWN blob unknown ({d})")
        );
        let answer = Answer::of(object.as_bytes());
        assert_eq!(
            answer.codes().collect::<Vec<_>>(),
            ["MANIFEST_BLOB_UNKNOWN"]
        );
        assert_eq!(
            answer,
            Answer::Errors(vec![OciError {
                code: "MANIFEST_BLOB_UNKNOWN".into(),
                message: "blob unknown to registry".into(),
                detail: Some(format!("digest {d}")),
            }])
        );
        assert_eq!(Answer::of(b""), Answer::Empty);
        assert_eq!(Answer::of(b"").tail(), "");
        assert_eq!(Answer::of(b"x").tail(), ": x");
    }

    #[test]
    fn never_quotes_tokens_and_escapes_controls() {
        for b in [
            &br#"{"token":"s3cr3t","expires_in":60}"#[..],
            br#"{"access_token":"s3cr3t"}"#,
            br#"{"data":{"refresh_token":"s3cr3t"}}"#,
            br#"{"token":"s3cr3t","#,
            b"access_token=s3cr3t&x=1",
        ] {
            let d = describe_body(b);
            assert!(!d.contains("s3cr3t"), "{d}");
        }
        let jwt = br#"{"errors":[{"code":"DENIED","message":"token eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln rejected; Authorization: Bearer abcdefgh12345678"}]}"#;
        let d = describe_body(jwt);
        assert_eq!(
            d,
            "DENIED token <redacted> rejected; Authorization: Bearer <redacted>"
        );
        let hostile =
            br#"{"errors":[{"code":"DENIED\u0007","message":"\u001b[2J\rexported OK\nforged"}]}"#;
        assert_eq!(
            describe_body(hostile),
            "DENIED\\x07 \\x1b[2J\\x0dexported OK\\x0aforged"
        );
        assert_eq!(
            describe_body(b"\x1b]0;title\x07 text"),
            "\\x1b]0;title\\x07 text"
        );
    }
}
