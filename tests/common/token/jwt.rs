//! Signing: ES256 JWTs whose `x5c` header chains to the CA in the registry's
//! `rootcertbundle`, with `access` claims built from the requested scopes.

use super::{wire, Anonymous, TokenConfig};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::{signature::Signer, Signature, SigningKey};
use serde_json::json;

pub struct Signer256 {
    pub key: SigningKey,
    pub x5c: String,
}

/// Turns `type:name:a,b` scopes into `access` claims.
pub fn grant(
    scopes: &[String],
    authenticated: bool,
    anonymous: Anonymous,
) -> Vec<serde_json::Value> {
    let mut access = Vec::new();
    for scope in scopes {
        let Some((typ, rest)) = scope.split_once(':') else {
            continue;
        };
        let Some((name, actions)) = rest.rsplit_once(':') else {
            continue;
        };
        let actions: Vec<&str> = actions
            .split(',')
            .filter(|a| !a.is_empty())
            .filter(|a| authenticated || (anonymous == Anonymous::Pull && *a == "pull"))
            .collect();
        if actions.is_empty() {
            continue;
        }
        access.push(json!({"type": typ, "name": name, "actions": actions}));
    }
    access
}

pub fn sign_token(
    signer: &Signer256,
    config: &TokenConfig,
    sub: &str,
    access: Vec<serde_json::Value>,
) -> String {
    let header = json!({"typ": "JWT", "alg": "ES256", "x5c": [signer.x5c]});
    let iat = wire::now();
    let claims = json!({
        "iss": config.issuer,
        // A JSON string: distribution 2.8.2 fails to decode an array here.
        "aud": config.service,
        "sub": sub,
        "exp": iat + config.expires_in,
        "nbf": iat - 1,
        "iat": iat,
        "jti": format!("{:032x}", rand::random::<u128>()),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    // JWS ES256: SHA-256 then the raw 64-byte r||s signature.
    let sig: Signature = signer.key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}
