//! What `ferry map --emit KIND` writes after a relocation: the containers signature policy
//! (`policy`: `policy.json` and a `registries.d` fragment, DESIGN §6) and the configurations
//! that point workloads at the relocated repositories (`mirror`: kustomize, Helm values,
//! `registries.conf`). Pure text from a mapping: it imports only `reference`, `mapping` and
//! `layout`'s atomic write, never the network.

pub mod error;
pub mod mirror;
pub mod policy;

pub use error::EmitError;

use mirror::MirrorKind;

/// The configurations `map` writes (`--emit KIND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmitKind {
    /// containers `policy.json` and a `registries.d` fragment (needs a key).
    PolicyJson,
    /// kustomize Component with an `images:` list.
    Kustomize,
    /// Helm values fragment `ferry.images`.
    HelmValues,
    /// containers `registries.conf` (v2).
    RegistriesConf,
}

impl EmitKind {
    pub(crate) fn mirror(self) -> Option<MirrorKind> {
        match self {
            EmitKind::PolicyJson => None,
            EmitKind::Kustomize => Some(MirrorKind::Kustomize),
            EmitKind::HelmValues => Some(MirrorKind::HelmValues),
            EmitKind::RegistriesConf => Some(MirrorKind::RegistriesConf),
        }
    }
}
