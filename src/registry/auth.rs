//! `WWW-Authenticate` challenges and the bearer-token cache. Tokens are requested for exactly
//! the scopes a challenge lists and cached by that scope set (DESIGN §1).

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scopes: BTreeSet<String>,
    },
}

/// Parses the first usable challenge of a `WWW-Authenticate` header.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let h = header.trim();
    let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => {
            let params = parse_params(rest);
            let realm = params.get("realm")?.clone();
            let scopes = params
                .get("scope")
                .map(|s| {
                    s.split(' ')
                        .filter(|x| !x.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            Some(Challenge::Bearer {
                realm,
                service: params.get("service").cloned(),
                scopes,
            })
        }
        _ => None,
    }
}

/// `k="v", k2=v2` with quoted values that may hold commas.
fn parse_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if chars.next().is_none() {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            val.push(n)
                        }
                    }
                    '"' => break,
                    c => val.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                val.push(c);
                chars.next();
            }
        }
        out.insert(key.trim().to_ascii_lowercase(), val.trim().to_string());
    }
    out
}

/// Key of a cached token: where it came from and which scopes it carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenKey {
    pub realm: String,
    pub service: Option<String>,
    pub scopes: BTreeSet<String>,
}

/// Bearer tokens by scope set, plus which header to send first for a repository.
#[derive(Default)]
pub struct TokenCache {
    tokens: HashMap<TokenKey, (String, Instant)>,
    /// (host, repository, push) → the Authorization header that last worked.
    hints: HashMap<(String, String, bool), String>,
}

impl TokenCache {
    pub fn get(&self, key: &TokenKey) -> Option<String> {
        self.tokens
            .get(key)
            .filter(|(_, exp)| *exp > Instant::now())
            .map(|(t, _)| t.clone())
    }

    pub fn put(&mut self, key: TokenKey, token: String, expires_in: Option<u64>) {
        // Expire a little early; the default lifetime of a registry token is 60 s.
        let secs = expires_in.unwrap_or(60).max(10) - 5;
        self.tokens
            .insert(key, (token, Instant::now() + Duration::from_secs(secs)));
    }

    pub fn hint(&self, host: &str, repo: &str, push: bool) -> Option<String> {
        self.hints
            .get(&(host.to_string(), repo.to_string(), push))
            .cloned()
    }

    pub fn set_hint(&mut self, host: &str, repo: &str, push: bool, header: String) {
        self.hints
            .insert((host.to_string(), repo.to_string(), push), header);
    }

    pub fn forget_hint(&mut self, host: &str, repo: &str, push: bool) {
        self.hints
            .remove(&(host.to_string(), repo.to_string(), push));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_with_comma_scopes() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push repository:c:pull""#,
        )
        .unwrap();
        match c {
            Challenge::Bearer {
                realm,
                service,
                scopes,
            } => {
                assert_eq!(realm, "https://auth.docker.io/token");
                assert_eq!(service.as_deref(), Some("registry.docker.io"));
                let want: BTreeSet<String> = ["repository:a/b:pull,push", "repository:c:pull"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                assert_eq!(scopes, want);
            }
            _ => panic!("expected bearer"),
        }
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
    }
}
