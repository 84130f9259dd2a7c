//! The OAuth2 refresh-token grant of distribution's token spec (`spec/auth/oauth.md`): a POST
//! of an `application/x-www-form-urlencoded` form to the realm. As the spec says and
//! distribution's client does, the scopes go in one `scope` field, separated by spaces (its
//! own token server reads only the first `scope` field of a form).

use super::{auth_error, parse_token, scrub, Token};
use crate::registry::auth::TokenKey;
use crate::registry::{describe_body, percent_encode, Client, Credential, Payload};
use crate::registry::{AuthFailure, RegistryError, Target};

/// The spec requires a `client_id`; it need not be registered, it names the client in audits.
const CLIENT_ID: &str = "ferry";

/// The form body, fields in the spec's order; values percent-encoded (a space is `%20`).
fn form(key: &TokenKey, refresh: &str) -> String {
    let mut fields = vec![("grant_type", "refresh_token".to_string())];
    fields.push(("refresh_token", refresh.to_string()));
    if let Some(s) = &key.service {
        fields.push(("service", s.clone()));
    }
    if !key.scopes.is_empty() {
        let scopes: Vec<&str> = key.scopes.iter().map(String::as_str).collect();
        fields.push(("scope", scopes.join(" ")));
    }
    fields.push(("client_id", CLIENT_ID.to_string()));
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// An OAuth2 error answer (RFC 6749 §5.2: `error`, `error_description`), else the body as an
/// OCI error or text.
fn describe_refusal(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct OAuthError {
        error: String,
        #[serde(default)]
        error_description: String,
    }
    match serde_json::from_slice::<OAuthError>(body) {
        Ok(e) => {
            let text = format!("{} {}", e.error, e.error_description);
            text.chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect::<String>()
                .trim()
                .to_string()
        }
        Err(_) => describe_body(body),
    }
}

impl Client {
    /// The refresh-token grant; `None` when the service has no POST (404, 405), so the caller
    /// falls back to the GET flow as the spec advises.
    pub(super) fn fetch_token_oauth(
        &self,
        t: &Target,
        key: &TokenKey,
        cred: &Credential,
        refresh: &str,
    ) -> Result<Option<Token>, RegistryError> {
        let body = form(key, refresh);
        let headers = [(
            "Content-Type",
            "application/x-www-form-urlencoded".to_string(),
        )];
        let (status, answer) = self.token_exchange(
            "POST",
            &key.realm,
            &headers,
            &mut Payload::Bytes(body.as_bytes()),
            key,
        )?;
        match status {
            200 => parse_token(t, key, &answer).map(Some),
            404 | 405 => Ok(None),
            400 | 401 | 403 => Err(auth_error(
                t,
                true,
                AuthFailure::RefreshRefused {
                    realm: key.realm.clone(),
                    from: cred.source.clone(),
                    status,
                    answer: scrub(describe_refusal(&answer), Some(cred)),
                },
            )),
            _ => Err(auth_error(
                t,
                true,
                AuthFailure::RefreshStatus {
                    realm: key.realm.clone(),
                    status,
                    answer: scrub(describe_refusal(&answer), Some(cred)),
                },
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_errors_are_described() {
        let b = br#"{"error":"invalid_grant","error_description":"expired\u001b[2J"}"#;
        assert_eq!(describe_refusal(b), "invalid_grant expired[2J");
        assert_eq!(describe_refusal(b"nope\n"), "nope");
    }

    #[test]
    fn one_scope_field_with_the_scopes_space_separated() {
        let key = TokenKey {
            realm: "https://auth.example/token".into(),
            service: Some("reg.example".into()),
            scopes: ["repository:a/b:pull", "repository:c:pull,push"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        assert_eq!(
            form(&key, "r&t=1"),
            "grant_type=refresh_token&refresh_token=r%26t%3D1&service=reg.example\
             &scope=repository%3Aa%2Fb%3Apull%20repository%3Ac%3Apull%2Cpush&client_id=ferry"
        );
    }
}
