//! The one login a command takes on its command line (`--username`, `--password-stdin`): which
//! registry it belongs to (DESIGN §1: exactly one, the images' own or the `--to` prefix's) and
//! how its password is read. Owns that rule and nothing else; it reads only the reader it is
//! given and must not import export, import or layout.

use std::io::Read;

use crate::reference::{Reference, ReferenceError};
use crate::registry::{CliCredential, Credential};

/// Why a command-line login cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("--username/--password-stdin apply to one registry only, and these images come from several; put credentials in a docker config or $REGISTRY_AUTH_FILE instead")]
    SeveralRegistries,
    #[error("reading the password from stdin")]
    Read(#[source] std::io::Error),
    #[error("--password-stdin: standard input was empty")]
    EmptyPassword,
    #[error("--to {to:?} is not a registry prefix (host[/path])")]
    Prefix {
        to: String,
        #[source]
        source: ReferenceError,
    },
}

/// The registry all of `images` come from, or None when they come from several (or none);
/// an image that is not a reference is an error.
pub fn registry_of_images(images: &[String]) -> Result<Option<String>, ReferenceError> {
    let mut registries: Vec<String> = Vec::new();
    for i in images {
        let r = Reference::parse(i)?;
        if !registries.contains(&r.registry) {
            registries.push(r.registry);
        }
    }
    Ok(match <[String; 1]>::try_from(registries) {
        Ok([one]) => Some(one),
        Err(_) => None,
    })
}

/// The registry of a target prefix (`reg.local/team` → `reg.local`), as `--to` gives it.
pub fn registry_of_prefix(to: &str) -> Result<String, LoginError> {
    Reference::parse(&format!("{}/x", to.trim_end_matches('/')))
        .map(|r| r.registry)
        .map_err(|source| LoginError::Prefix {
            to: to.to_string(),
            source,
        })
}

/// `username` with the password read from `password` (standard input: one line, its line
/// break dropped), bound to `registry`; None for `registry` means the command talks to several.
pub fn read(
    registry: Option<&str>,
    username: &str,
    mut password: impl Read,
) -> Result<CliCredential, LoginError> {
    let registry = registry.ok_or(LoginError::SeveralRegistries)?;
    let mut secret = String::new();
    password
        .read_to_string(&mut secret)
        .map_err(LoginError::Read)?;
    let secret = secret.trim_end_matches(['\r', '\n']).to_string();
    if secret.is_empty() {
        return Err(LoginError::EmptyPassword);
    }
    Ok(CliCredential {
        registry: registry.to_string(),
        credential: Credential {
            username: username.to_string(),
            password: secret,
            source: "--username/--password-stdin".into(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_registry_or_none() {
        let one = [
            "alpine".to_string(),
            "docker.io/library/busybox:1".to_string(),
        ];
        assert_eq!(
            registry_of_images(&one).unwrap().as_deref(),
            Some("docker.io")
        );
        let two = ["alpine".to_string(), "quay.io/a/b".to_string()];
        assert_eq!(registry_of_images(&two).unwrap(), None);
        assert!(registry_of_images(&["Bad!!".to_string()]).is_err());
        assert_eq!(
            registry_of_prefix("reg.local:5000/team/").unwrap(),
            "reg.local:5000"
        );
        let e = registry_of_prefix("bad prefix").unwrap_err();
        assert!(std::error::Error::source(&e).is_some(), "{e}");
    }

    #[test]
    fn the_password_is_one_line() {
        let c = read(Some("r.local"), "u", &b"s3cret\r\n"[..]).unwrap();
        assert_eq!(
            (c.registry.as_str(), c.credential.password.as_str()),
            ("r.local", "s3cret")
        );
        assert!(matches!(
            read(Some("r.local"), "u", &b"\n"[..]),
            Err(LoginError::EmptyPassword)
        ));
        assert!(matches!(
            read(None, "u", &b"x"[..]),
            Err(LoginError::SeveralRegistries)
        ));
    }
}
