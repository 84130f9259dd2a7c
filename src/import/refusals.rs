//! Registries that do not create repositories on push (Harbor projects, ECR repositories,
//! Nexus hosted repositories) refuse the first push into a new one with `NAME_UNKNOWN`,
//! `DENIED` or a 403, which reads like a credentials problem. The first refusal in a
//! repository nothing was pushed to yet becomes one error that says what to do.

use std::collections::BTreeSet;
use std::sync::Mutex;

use super::ImportError;
use crate::reference::Reference;
use crate::registry::RegistryError;

/// Codes that, on a first push, mean the repository (or its project) is not there.
const CREATE_FIRST_CODES: [&str; 3] = ["NAME_UNKNOWN", "DENIED", "NOT_FOUND"];

/// Target repositories that have answered a push request: no longer "first".
#[derive(Default)]
pub(super) struct Answered(Mutex<BTreeSet<String>>);

impl Answered {
    pub fn mark(&self, repo: &Reference) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(repo.name());
    }

    fn contains(&self, repo: &Reference) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&repo.name())
    }
}

/// The registry's refusal, when it looks like "this repository does not exist".
fn refusal(e: &RegistryError) -> Option<String> {
    let (status, answer, method) = match e {
        RegistryError::PushRefused {
            status,
            answer,
            method,
            ..
        } => (*status, answer, method.as_str()),
        RegistryError::ManifestRejected { status, answer, .. } => (*status, answer, "PUT"),
        _ => return None,
    };
    let named = answer.codes().find(|c| CREATE_FIRST_CODES.contains(c));
    match named {
        Some(code) => Some(format!("{code} to {method}")),
        None if status == 403 => Some(format!("HTTP 403 to {method}")),
        None => None,
    }
}

/// `e` as the "create it first" error when it is a refusal of the first push into `repo`.
pub(super) fn first_push(
    answered: &Answered,
    repo: &Reference,
    e: RegistryError,
) -> Result<ImportError, RegistryError> {
    match refusal(&e) {
        Some(answer) if !answered.contains(repo) => Ok(ImportError::CreateFirst {
            registry: repo.registry.clone(),
            repository: repo.repository.clone(),
            answer,
            cause: e.into(),
        }),
        _ => Err(e),
    }
}
