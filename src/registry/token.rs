//! Answering a `401`: the challenge's scheme decides between Basic credentials and a bearer
//! token requested for exactly the challenge's scopes (DESIGN §1), cached by scope set.
//! A refresh token (identity token) goes to the realm in an OAuth2 POST (`token/oauth.rs`);
//! a password in docker's GET. Either only over TLS, unless the realm's host is itself plain
//! http by the transport rules.

mod oauth;

use std::io::Read;

use base64::Engine;

use super::auth::{Challenge, TokenKey};
use super::{
    describe_body, lock, percent_encode, transport, AuthFailure, Client, Credential, Item, Payload,
    RegistryError, Target,
};

/// A token and its lifetime in seconds, if the service said.
type Token = (String, Option<u64>);

fn basic(user: &str, secret: &str) -> String {
    let v = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
    format!("Basic {v}")
}

/// What a token service may send back in the text of an error, minus the secret we sent it.
fn scrub(text: String, cred: Option<&Credential>) -> String {
    match cred.map(|c| c.password.as_str()).filter(|p| !p.is_empty()) {
        Some(secret) => text.replace(secret, "<redacted>"),
        None => text,
    }
}

/// An authentication failure for `t`, naming its repository when the failure concerns it.
fn auth_error(t: &Target, for_repository: bool, why: AuthFailure) -> RegistryError {
    RegistryError::Auth {
        registry: t.registry.into(),
        repository: for_repository.then(|| t.repository.into()),
        why: Box::new(why),
    }
}

impl Client {
    /// Turns a challenge into an Authorization header value.
    pub(super) fn authorize(
        &self,
        t: &Target,
        challenge: Option<Challenge>,
        used: Option<&str>,
    ) -> Result<String, RegistryError> {
        let cred = self.credential(t)?;
        let no_creds = || auth_error(t, true, AuthFailure::NoCredentials);
        match challenge {
            None => Err(auth_error(t, false, AuthFailure::NoChallenge)),
            Some(Challenge::Basic) => {
                let c = cred.ok_or_else(no_creds)?;
                if c.refresh_token().is_some() {
                    // docker sends nothing here either: the token is for a token service.
                    let from = c.source.clone();
                    return Err(auth_error(
                        t,
                        false,
                        AuthFailure::BasicWithIdentityToken { from },
                    ));
                }
                let h = basic(&c.username, &c.password);
                if used == Some(h.as_str()) {
                    let from = c.source.clone();
                    return Err(auth_error(t, false, AuthFailure::Rejected { from }));
                }
                Ok(h)
            }
            Some(Challenge::Bearer {
                realm,
                service,
                scopes,
            }) => {
                let key = TokenKey {
                    realm,
                    service,
                    scopes,
                };
                let cached = lock(&self.tokens)
                    .get(&key)
                    .map(|tok| format!("Bearer {tok}"));
                if let Some(h) = cached.filter(|h| Some(h.as_str()) != used) {
                    return Ok(h);
                }
                let (token, expires) = self.fetch_token(t, &key, cred.as_ref())?;
                lock(&self.tokens).put(key, token.clone(), expires);
                Ok(format!("Bearer {token}"))
            }
        }
    }

    /// A refresh token: the OAuth2 POST, GET only when the service has no POST (404/405).
    /// A password (or nothing): docker's GET, not the password grant.
    fn fetch_token(
        &self,
        t: &Target,
        key: &TokenKey,
        cred: Option<&Credential>,
    ) -> Result<Token, RegistryError> {
        if cred.is_some() {
            self.check_realm_transport(t, &key.realm)?;
        }
        if let Some((c, refresh)) = cred.and_then(|c| c.refresh_token().map(|r| (c, r))) {
            if let Some(tok) = self.fetch_token_oauth(t, key, c, refresh)? {
                return Ok(tok);
            }
        }
        self.fetch_token_get(t, key, cred)
    }

    /// DESIGN §1: credentials go over plain http only to a host that is itself plain http by
    /// the transport rules: one named by `--plain-http`, or a loopback realm of a registry
    /// that is itself spoken to over plain http. An https registry's `http://` realm is
    /// refused (anonymous requests, which carry nothing secret, are not checked).
    fn check_realm_transport(&self, t: &Target, realm: &str) -> Result<(), RegistryError> {
        let scheme = realm.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if scheme.as_deref() == Some("https") {
            return Ok(());
        }
        let realm_host = transport::url_host(realm);
        let named = self
            .opts
            .transport
            .plain_http
            .iter()
            .any(|h| h == realm_host);
        let plain_registry = self.scheme(t.host) == "http";
        if named || (plain_registry && transport::is_loopback(realm_host)) {
            return Ok(());
        }
        Err(RegistryError::PlainHttpCredentials {
            registry: t.registry.into(),
            realm: realm.split('?').next().unwrap_or(realm).into(),
            plain_host: plain_registry.then(|| realm_host.to_string()),
        })
    }

    /// docker's GET: `service` and one `scope` parameter per scope, the credentials as Basic
    /// (a refresh token as the password of an empty user, as containerd does).
    fn fetch_token_get(
        &self,
        t: &Target,
        key: &TokenKey,
        cred: Option<&Credential>,
    ) -> Result<Token, RegistryError> {
        let mut url = key.realm.clone();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        let mut add = |k: &str, v: &str| {
            url.push(sep);
            url.push_str(k);
            url.push('=');
            url.push_str(&percent_encode(v));
            sep = '&';
        };
        if let Some(s) = &key.service {
            add("service", s);
        }
        for s in &key.scopes {
            add("scope", s);
        }
        let mut headers = Vec::new();
        if let Some(c) = cred {
            let h = match c.refresh_token() {
                Some(r) => basic("", r),
                None => basic(&c.username, &c.password),
            };
            headers.push(("Authorization", h));
        }
        let (status, body) =
            self.token_exchange("GET", &url, &headers, &mut Payload::Empty, key)?;
        if status == 401 || status == 403 {
            let from = cred.map(|c| (c.source.clone(), c.refresh_token().is_some()));
            let realm = key.realm.clone();
            let why = AuthFailure::TokenRefused {
                realm,
                status,
                from,
            };
            return Err(auth_error(t, true, why));
        }
        if status != 200 {
            let why = AuthFailure::TokenStatus {
                realm: key.realm.clone(),
                status,
                answer: scrub(describe_body(&body), cred),
            };
            return Err(auth_error(t, true, why));
        }
        parse_token(t, key, &body)
    }

    /// One request to the token service; its status and at most 1 MiB of its body.
    fn token_exchange(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        payload: &mut Payload,
        key: &TokenKey,
    ) -> Result<(u16, Vec<u8>), RegistryError> {
        let realm_host = transport::url_host(&key.realm).to_string();
        let mut resp = self
            .raw(method, url, headers, payload)
            .map_err(|e| self.net_error(&realm_host, method, &key.realm, e))?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        resp.body_mut()
            .as_reader()
            .take(1 << 20)
            .read_to_end(&mut body)
            .map_err(|e| RegistryError::Io {
                host: realm_host,
                what: Item::Token,
                source: e,
            })?;
        Ok((status, body))
    }
}

/// The token of a 200 answer: `access_token` (OAuth2, and equivalent in GET answers, where
/// distribution's client prefers it) else `token`.
fn parse_token(t: &Target, key: &TokenKey, body: &[u8]) -> Result<Token, RegistryError> {
    #[derive(serde::Deserialize)]
    struct Tok {
        token: Option<String>,
        access_token: Option<String>,
        expires_in: Option<u64>,
    }
    let realm = || key.realm.clone();
    let tok: Tok = serde_json::from_slice(body)
        .map_err(|_| auth_error(t, false, AuthFailure::NotAToken { realm: realm() }))?;
    let token = tok
        .access_token
        .filter(|s| !s.is_empty())
        .or(tok.token)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| auth_error(t, false, AuthFailure::NoToken { realm: realm() }))?;
    Ok((token, tok.expires_in))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{ClientOptions, TransportOptions};

    #[test]
    fn credentials_go_over_plain_http_only_to_plain_http_hosts() {
        let opts = ClientOptions {
            transport: TransportOptions {
                plain_http: vec!["auth.lan:8080".into()],
                ..TransportOptions::default()
            },
            ..ClientOptions::default()
        };
        let c = Client::new(opts).unwrap();
        let t = |host| Target {
            registry: host,
            host,
            repository: "a/b",
            push: false,
        };
        let (https_reg, http_reg) = (t("reg.example"), t("127.0.0.1:5000"));
        lock(&c.schemes).insert("127.0.0.1:5000".into(), "http");
        let ok = |t: &Target, realm| c.check_realm_transport(t, realm).is_ok();
        assert!(ok(&https_reg, "https://auth.elsewhere/token"));
        assert!(ok(&https_reg, "HTTPS://auth.elsewhere/token"));
        assert!(!ok(&https_reg, "http://127.0.0.1:9/token"));
        assert!(ok(&https_reg, "http://auth.lan:8080/token"));
        assert!(ok(&http_reg, "http://127.0.0.1:9/token"));
        let e = c
            .check_realm_transport(&http_reg, "http://auth.example/token?x=1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("to http://auth.example/token;"), "{e}");
        assert!(e.contains("--plain-http"), "{e}");
    }
}
