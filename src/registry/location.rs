//! Where a `Location` header points (DESIGN §1). A relative reference (`u1`, `../x`, `/abs`,
//! `//host/p`) is resolved against the URL of the request that returned it, as RFC 3986 §5.2
//! says; only http(s) targets are followed, and never from https down to http.

use std::fmt;

/// Redirects followed for one request before giving up.
pub const MAX_REDIRECTS: usize = 10;

/// Why a `Location` is not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not http or https (`file:`, `ftp:`), or no host.
    Scheme(String),
    /// From https to http: the bytes would travel in the clear, open to tampering.
    Downgrade,
    /// More than [`MAX_REDIRECTS`].
    TooMany,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Scheme(s) => write!(
                f,
                "only http and https URLs with a host are followed, not {s:?}"
            ),
            Refusal::Downgrade => f.write_str("refusing the downgrade from https to http"),
            Refusal::TooMany => write!(f, "more than {MAX_REDIRECTS} redirects"),
        }
    }
}

/// The five components of RFC 3986 §3 (appendix B's regular expression).
#[derive(Debug, Default, Clone, Copy)]
struct Parts<'a> {
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

fn parse(s: &str) -> Parts<'_> {
    let mut p = Parts::default();
    let mut rest = s;
    if let Some(i) = rest.find([':', '/', '?', '#']) {
        if i > 0 && rest.as_bytes()[i] == b':' {
            p.scheme = Some(&rest[..i]);
            rest = &rest[i + 1..];
        }
    }
    if let Some((r, frag)) = rest.split_once('#') {
        p.fragment = Some(frag);
        rest = r;
    }
    if let Some((r, q)) = rest.split_once('?') {
        p.query = Some(q);
        rest = r;
    }
    if let Some(r) = rest.strip_prefix("//") {
        let end = r.find('/').unwrap_or(r.len());
        p.authority = Some(&r[..end]);
        rest = &r[end..];
    }
    p.path = rest;
    p
}

/// RFC 3986 §5.2.4.
fn remove_dot_segments(path: &str) -> String {
    let mut input = path;
    let mut out = String::with_capacity(path.len());
    while !input.is_empty() {
        if let Some(r) = input
            .strip_prefix("../")
            .or_else(|| input.strip_prefix("./"))
        {
            input = r;
        } else if input.starts_with("/./") {
            input = &input[2..];
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") || input == "/.." {
            input = if input == "/.." { "/" } else { &input[3..] };
            let cut = out.rfind('/').unwrap_or(0);
            out.truncate(cut);
        } else if input == "." || input == ".." {
            input = "";
        } else {
            let start = usize::from(input.starts_with('/'));
            let end = input[start..].find('/').map_or(input.len(), |i| i + start);
            out.push_str(&input[..end]);
            input = &input[end..];
        }
    }
    out
}

/// RFC 3986 §5.2.3.
fn merge(base: &Parts, reference: &str) -> String {
    if base.authority.is_some() && base.path.is_empty() {
        return format!("/{reference}");
    }
    match base.path.rfind('/') {
        Some(i) => format!("{}{reference}", &base.path[..=i]),
        None => reference.to_string(),
    }
}

/// Resolves `reference` against the absolute URL `base` (RFC 3986 §5.2.2 and §5.3).
pub fn resolve(base: &str, reference: &str) -> String {
    let b = parse(base);
    let r = parse(reference);
    let (scheme, authority, path, query);
    if r.scheme.is_some() {
        (scheme, authority) = (r.scheme, r.authority);
        path = remove_dot_segments(r.path);
        query = r.query;
    } else {
        scheme = b.scheme;
        if r.authority.is_some() {
            authority = r.authority;
            path = remove_dot_segments(r.path);
            query = r.query;
        } else {
            authority = b.authority;
            if r.path.is_empty() {
                path = b.path.to_string();
                query = r.query.or(b.query);
            } else {
                path = if r.path.starts_with('/') {
                    remove_dot_segments(r.path)
                } else {
                    remove_dot_segments(&merge(&b, r.path))
                };
                query = r.query;
            }
        }
    }
    let mut out = String::new();
    if let Some(s) = scheme {
        out.push_str(s);
        out.push(':');
    }
    if let Some(a) = authority {
        out.push_str("//");
        out.push_str(a);
    }
    out.push_str(&path);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = r.fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// The URL a `Location` sends the next request to, when ferry may follow it: resolved against
/// the URL of the request that returned it, http(s) with a host, no https → http.
pub fn follow(base: &str, location: &str) -> Result<String, Refusal> {
    let resolved = resolve(base, location.trim());
    let target = resolved.split('#').next().unwrap_or("").to_string();
    let p = parse(&target);
    let scheme = p.scheme.unwrap_or("").to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https") || p.authority.is_none_or(str::is_empty) {
        return Err(Refusal::Scheme(without_query(&target).to_string()));
    }
    let from = parse(base).scheme.unwrap_or("").to_ascii_lowercase();
    if from == "https" && scheme == "http" {
        return Err(Refusal::Downgrade);
    }
    // `HTTPS://Host` and `https://Host` are the same origin: keep the scheme lower-case.
    Ok(format!(
        "{scheme}{}",
        &target[p.scheme.map_or(0, str::len)..]
    ))
}

/// Scheme and host of a URL, lower-cased scheme: requests there may carry the registry's
/// credentials only when they match the registry's own.
pub fn origin(url: &str) -> (String, &str) {
    let p = parse(url);
    (
        p.scheme.unwrap_or("").to_ascii_lowercase(),
        p.authority.unwrap_or(""),
    )
}

/// Path and query of an absolute URL (`/v2/x?y`).
pub fn path_and_query(url: &str) -> String {
    let p = parse(url);
    match p.query {
        Some(q) => format!("{}?{q}", p.path),
        None => p.path.to_string(),
    }
}

/// A URL fit for messages: a presigned query carries signatures.
pub fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

#[cfg(test)]
#[path = "location_tests.rs"]
mod tests;
