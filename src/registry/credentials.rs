//! Where credentials come from, in DESIGN §1's order: the command line (one registry only),
//! `$REGISTRY_AUTH_FILE`, the docker config (helpers, store, auths), then the containers
//! auth files. The secret never reaches a message: `Debug` and `source` name only the origin.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use serde::Deserialize;

use super::{CredentialError, RegistryError};
use crate::reference::DOCKER_HUB;

/// A username and secret, plus where they were found (for messages).
#[derive(Clone)]
pub struct Credential {
    pub username: String,
    pub password: String,
    /// Where this came from, e.g. `--password-stdin` or `docker config /root/.docker/config.json`.
    pub source: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({} from {})", self.username, self.source)
    }
}

/// The user name under which docker's credential helpers return an identity token.
pub const TOKEN_USERNAME: &str = "<token>";

impl Credential {
    /// The OAuth2 refresh token this credential is, if it is one: a docker-config
    /// `identitytoken`, or a helper's `<token>` user (DESIGN §1). Such a secret goes to the
    /// token service in a POST grant, never as a password to the registry.
    pub fn refresh_token(&self) -> Option<&str> {
        (self.username == TOKEN_USERNAME && !self.password.is_empty())
            .then_some(self.password.as_str())
    }
}

/// Credentials given on the command line, bound to one registry.
#[derive(Clone, Debug)]
pub struct CliCredential {
    pub registry: String,
    pub credential: Credential,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    /// What `docker login` writes for OAuth2 token services (ACR and others).
    #[serde(default)]
    identitytoken: Option<String>,
}

/// Normalises an auth-file key (`https://index.docker.io/v1/` → `docker.io`).
fn normalise_key(key: &str) -> String {
    let k = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host_and_path = k.trim_end_matches('/');
    let (host, path) = host_and_path.split_once('/').unwrap_or((host_and_path, ""));
    let host = match host {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB,
        h => h,
    };
    // Legacy docker keys carry an API version path (`/v1`, `/v2`): not a repository.
    if path.is_empty() || path == "v1" || path == "v2" {
        host.to_string()
    } else {
        format!("{host}/{path}")
    }
}

fn read_file(path: &Path) -> Result<Option<AuthFile>, RegistryError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|source| {
            CredentialError::Json {
                path: path.to_path_buf(),
                source,
            }
            .into()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CredentialError::Read {
            path: path.to_path_buf(),
            source,
        }
        .into()),
    }
}

fn decode_entry(e: &AuthEntry, source: &str) -> Result<Option<Credential>, RegistryError> {
    // docker prefers the identity token: the `auth` beside it holds a placeholder user.
    if let Some(t) = e.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credential {
            username: TOKEN_USERNAME.to_string(),
            password: t.to_string(),
            source: source.to_string(),
        }));
    }
    if let (Some(u), Some(p)) = (&e.username, &e.password) {
        if !u.is_empty() {
            return Ok(Some(Credential {
                username: u.clone(),
                password: p.clone(),
                source: source.to_string(),
            }));
        }
    }
    let Some(auth) = e.auth.as_deref().filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    let bad = || -> RegistryError {
        CredentialError::AuthEntry {
            from: source.to_string(),
        }
        .into()
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|_| bad())?;
    let s = String::from_utf8(raw).map_err(|_| bad())?;
    let (u, p) = s.split_once(':').ok_or_else(bad)?;
    Ok(Some(Credential {
        username: u.to_string(),
        password: p.to_string(),
        source: source.to_string(),
    }))
}

/// Looks up `auths` by the most specific key first: `host/ns/repo`, `host/ns`, `host`.
fn lookup_auths(
    file: &AuthFile,
    registry: &str,
    repository: &str,
    source: &str,
) -> Result<Option<Credential>, RegistryError> {
    let entries: BTreeMap<String, &AuthEntry> = file
        .auths
        .iter()
        .map(|(k, v)| (normalise_key(k), v))
        .collect();
    let mut keys = Vec::new();
    let parts: Vec<&str> = repository.split('/').collect();
    for n in (1..=parts.len()).rev() {
        keys.push(format!("{registry}/{}", parts[..n].join("/")));
    }
    keys.push(registry.to_string());
    for k in keys {
        if let Some(e) = entries.get(&k) {
            if let Some(c) = decode_entry(e, source)? {
                return Ok(Some(c));
            }
        }
    }
    Ok(None)
}

/// Runs `docker-credential-<helper> get` for a server.
fn from_helper(helper: &str, registry: &str) -> Result<Option<Credential>, RegistryError> {
    let server = if registry == DOCKER_HUB {
        "https://index.docker.io/v1/".to_string()
    } else {
        registry.to_string()
    };
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| CredentialError::Spawn {
            program: program.clone(),
            source,
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits early closes its stdin; its exit status tells the rest.
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|source| CredentialError::Wait {
            program: program.clone(),
            source,
        })?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        if msg.to_lowercase().contains("not found") {
            return Ok(None);
        }
        return Err(CredentialError::HelperFailed {
            program,
            server,
            status: out.status,
        }
        .into());
    }
    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "Username")]
        username: String,
        #[serde(rename = "Secret")]
        secret: String,
    }
    let a: Answer =
        serde_json::from_slice(&out.stdout).map_err(|_| CredentialError::HelperAnswer {
            program: program.clone(),
        })?;
    if a.username == TOKEN_USERNAME && a.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credential {
        username: a.username,
        password: a.secret,
        source: format!("credential helper {program}"),
    }))
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

fn docker_config_path() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(d) => Some(PathBuf::from(d).join("config.json")),
        None => home().map(|h| h.join(".docker/config.json")),
    }
}

fn containers_auth_paths() -> Vec<PathBuf> {
    let mut v = Vec::new();
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) => v.push(PathBuf::from(d).join("containers/auth.json")),
        // SAFETY: getuid has no preconditions and cannot fail.
        None => v.push(PathBuf::from(format!(
            "/run/containers/{}/auth.json",
            unsafe { libc::getuid() }
        ))),
    }
    match std::env::var_os("XDG_CONFIG_HOME") {
        Some(d) => v.push(PathBuf::from(d).join("containers/auth.json")),
        None => {
            if let Some(h) = home() {
                v.push(h.join(".config/containers/auth.json"));
            }
        }
    }
    v
}

/// Finds credentials for `registry` (user-facing name, e.g. `docker.io`) and `repository`.
pub fn lookup(
    cli: Option<&CliCredential>,
    registry: &str,
    repository: &str,
) -> Result<Option<Credential>, RegistryError> {
    if let Some(c) = cli {
        if c.registry == registry {
            return Ok(Some(c.credential.clone()));
        }
    }
    if let Some(p) = std::env::var_os("REGISTRY_AUTH_FILE").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if let Some(f) = read_file(&p)? {
            let src = format!("$REGISTRY_AUTH_FILE {}", p.display());
            if let Some(c) = lookup_auths(&f, registry, repository, &src)? {
                return Ok(Some(c));
            }
        }
    }
    if let Some(p) = docker_config_path() {
        if let Some(f) = read_file(&p)? {
            let host_key = f
                .cred_helpers
                .iter()
                .find(|(k, _)| normalise_key(k) == registry)
                .map(|(_, v)| v.clone());
            if let Some(h) = host_key {
                if let Some(c) = from_helper(&h, registry)? {
                    return Ok(Some(c));
                }
            } else if let Some(store) = f.creds_store.as_deref().filter(|s| !s.is_empty()) {
                if let Some(c) = from_helper(store, registry)? {
                    return Ok(Some(c));
                }
            }
            let src = format!("docker config {}", p.display());
            if let Some(c) = lookup_auths(&f, registry, repository, &src)? {
                return Ok(Some(c));
            }
        }
    }
    for p in containers_auth_paths() {
        if let Some(f) = read_file(&p)? {
            let src = format!("containers auth file {}", p.display());
            if let Some(c) = lookup_auths(&f, registry, repository, &src)? {
                return Ok(Some(c));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_normalise_and_most_specific_wins() {
        assert_eq!(normalise_key("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalise_key("quay.io/org/app"), "quay.io/org/app");
        let f: AuthFile = serde_json::from_str(
            r#"{"auths":{"quay.io":{"auth":"dTE6cDE="},"quay.io/org":{"username":"u2","password":"p2"}}}"#,
        )
        .unwrap();
        let c = lookup_auths(&f, "quay.io", "org/app", "t")
            .unwrap()
            .unwrap();
        assert_eq!(c.username, "u2");
        let c = lookup_auths(&f, "quay.io", "other/app", "t")
            .unwrap()
            .unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("u1", "p1"));
        assert!(lookup_auths(&f, "ghcr.io", "org/app", "t")
            .unwrap()
            .is_none());
        assert!(!format!("{c:?}").contains("p1"));
        assert_eq!(c.refresh_token(), None);
    }

    #[test]
    fn identity_tokens_are_refresh_tokens() {
        let f: AuthFile = serde_json::from_str(
            r#"{"auths":{"x.io":{"auth":"MDAwMDo=","identitytoken":"rt-1"},"y.io":{"auth":"dTE6cDE=","identitytoken":""}}}"#,
        )
        .unwrap();
        let c = lookup_auths(&f, "x.io", "a/b", "t").unwrap().unwrap();
        assert_eq!(c.refresh_token(), Some("rt-1"));
        assert!(!format!("{c:?}").contains("rt-1"));
        let c = lookup_auths(&f, "y.io", "a/b", "t").unwrap().unwrap();
        assert_eq!((c.username.as_str(), c.refresh_token()), ("u1", None));
    }
}
