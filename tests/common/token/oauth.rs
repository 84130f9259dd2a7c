//! The OAuth2 side of the token issuer (distribution's `spec/auth/oauth.md`): `POST /token`
//! with a form body. Only `grant_type=refresh_token` is granted, for the refresh token the
//! issuer was configured with; `service` and `client_id` are required as the spec says.

use super::wire::{parse_urlencoded, Incoming};
use super::{split_scopes, Credentials, Decision, TokenConfig};

/// Form fields whose values are secrets: recorded as `<redacted>`.
const SECRET_FIELDS: [&str; 2] = ["refresh_token", "password"];

pub fn post_grant(req: &Incoming, config: &TokenConfig) -> Decision {
    let body = String::from_utf8_lossy(&req.body);
    let form = parse_urlencoded(&body);
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let mut d = Decision {
        status: 400,
        credentials: Credentials::None,
        service: field("service").map(str::to_string),
        scopes: form
            .iter()
            .filter(|(k, _)| k == "scope")
            .flat_map(|(_, v)| split_scopes(v))
            .collect(),
        form: form
            .iter()
            .map(|(k, v)| {
                let v = if SECRET_FIELDS.contains(&k.as_str()) {
                    "<redacted>".to_string()
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect(),
        grant: None,
        error: "invalid_request",
        oauth: true,
    };
    if let Some(status) = config.post_status {
        d.status = status;
        d.error = "not supported";
        return d;
    }
    let form_type = req
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !form_type || field("client_id").is_none_or(str::is_empty) || d.service.is_none() {
        return d;
    }
    match field("grant_type") {
        Some("refresh_token") => {
            let given = field("refresh_token");
            if given.is_some() && given == config.refresh_token.as_deref() {
                d.credentials = Credentials::Refresh;
                d.status = 200;
                d.grant = Some((config.user.clone(), true));
            } else {
                d.credentials = Credentials::Invalid;
                d.error = "invalid_grant";
            }
        }
        _ => d.error = "unsupported_grant_type",
    }
    d
}
