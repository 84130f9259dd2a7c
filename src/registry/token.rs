//! Answering a `401`: the challenge's scheme decides between Basic credentials and a bearer
//! token requested for exactly the challenge's scopes (DESIGN §1), cached by scope set.

use std::io::Read;

use base64::Engine;

use super::auth::{Challenge, TokenKey};
use super::{
    describe_body, lock, percent_encode, transport, Client, Credential, Payload, RegistryError,
    Target,
};

impl Client {
    /// Turns a challenge into an Authorization header value.
    pub(super) fn authorize(
        &self,
        t: &Target,
        challenge: Option<Challenge>,
        used: Option<&str>,
    ) -> Result<String, RegistryError> {
        let cred = self.credential(t)?;
        let no_creds = || {
            RegistryError::Auth {
            host: t.registry.into(),
            repo: format!(" for repository {}", t.repository),
            detail: "the registry requires credentials and none were found; log in (docker login, or --username with --password-stdin) or set REGISTRY_AUTH_FILE".into(),
        }
        };
        match challenge {
            None => Err(RegistryError::Auth {
                host: t.registry.into(),
                repo: String::new(),
                detail: "401 without a usable WWW-Authenticate challenge".into(),
            }),
            Some(Challenge::Basic) => {
                let c = cred.ok_or_else(no_creds)?;
                let v = base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", c.username, c.password));
                let h = format!("Basic {v}");
                if used == Some(h.as_str()) {
                    return Err(RegistryError::Auth {
                        host: t.registry.into(),
                        repo: String::new(),
                        detail: format!("the registry rejected the credentials from {}; check the username and password", c.source),
                    });
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

    fn fetch_token(
        &self,
        t: &Target,
        key: &TokenKey,
        cred: Option<&Credential>,
    ) -> Result<(String, Option<u64>), RegistryError> {
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
            let v = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", c.username, c.password));
            headers.push(("Authorization", format!("Basic {v}")));
        }
        let realm_host = transport::url_host(&key.realm).to_string();
        let mut resp = self
            .raw("GET", &url, &headers, &mut Payload::Empty)
            .map_err(|e| self.net_error(&realm_host, "GET", &key.realm, &e))?;
        let status = resp.status().as_u16();
        if status == 401 || status == 403 {
            return Err(RegistryError::Auth {
                host: t.registry.into(),
                repo: format!(" for repository {}", t.repository),
                detail: match cred {
                    Some(c) => format!("the token service {} refused the credentials from {} (HTTP {status}); check the username and password", key.realm, c.source),
                    None => format!("the token service {} requires credentials (HTTP {status}); log in (docker login, or --username with --password-stdin)", key.realm),
                },
            });
        }
        let mut body = Vec::new();
        resp.body_mut()
            .as_reader()
            .take(1 << 20)
            .read_to_end(&mut body)
            .map_err(|e| RegistryError::Io {
                host: realm_host.clone(),
                what: "token".into(),
                source: e,
            })?;
        if status != 200 {
            return Err(RegistryError::Auth {
                host: t.registry.into(),
                repo: format!(" for repository {}", t.repository),
                detail: format!(
                    "token service {} answered HTTP {status}: {}",
                    key.realm,
                    describe_body(&body)
                ),
            });
        }
        #[derive(serde::Deserialize)]
        struct Tok {
            token: Option<String>,
            access_token: Option<String>,
            expires_in: Option<u64>,
        }
        let tok: Tok = serde_json::from_slice(&body).map_err(|_| RegistryError::Auth {
            host: t.registry.into(),
            repo: String::new(),
            detail: format!(
                "token service {} answered something that is not a token",
                key.realm
            ),
        })?;
        let token = tok
            .token
            .or(tok.access_token)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| RegistryError::Auth {
                host: t.registry.into(),
                repo: String::new(),
                detail: format!("token service {} answered without a token", key.realm),
            })?;
        Ok((token, tok.expires_in))
    }
}
