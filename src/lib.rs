//! ferry: carry container images across an air gap, byte for byte.
//!
//! The library does the work; `main.rs` only parses arguments and prints. See DESIGN.md for the
//! formats and protocol rules each module follows.
//!
//! The API (DESIGN §8) is six functions, each taking one options struct:
//! [`export()`] (registries → bundle, through a [`Client`]), [`import()`] (bundle → registry),
//! [`inspect()`] and [`verify()`] (a bundle, offline), [`map()`] (names and configuration,
//! offline) and [`verify_bundle()`] (one sigstore bundle over one artifact, offline); [`images()`]
//! finds the references in manifests, charts and CNAB bundles. [`login`] says which registry a
//! command-line login belongs to.
//!
//! The domain modules are public for their types (Reference, Digest, Descriptor, Platform,
//! Bundle, Client, Mapper) and the errors the API returns; the machinery under them (`pool`,
//! `walk`, `sizes`, `error`) is crate-private, free to change.

pub mod digest;
pub mod emit;
pub(crate) mod error;
pub mod export;
pub mod image_list;
pub mod import;
pub mod inspect;
pub mod inventory;
pub mod layout;
pub mod login;
pub mod manifest;
pub mod map;
pub mod mapping;
pub mod platform;
pub(crate) mod pool;
pub mod progress;
pub mod reference;
pub mod registry;
pub mod signed;
pub mod sigstore;
pub(crate) mod sizes;
pub mod sources;
pub mod text;
pub mod verify;
pub mod verify_bundle;
pub(crate) mod walk;

pub use export::{export, Discovery, ExportError, ExportOptions, ExportSummary, Output};
pub use import::{import, ImportError, ImportOptions, ImportSummary, SparsePolicy};
pub use inspect::{inspect, InspectError, InspectOptions, Inspection};
pub use map::{map, Emit, EmitKind, MapError, MapOptions, MapOutput, MapSource};
pub use mapping::MappingChoice;
pub use progress::Mode;
pub use registry::{Client, ClientOptions};
pub use sources::find::{images, ImagesOptions};
pub use verify::{verify, VerifyError, VerifyOptions, VerifyReport};
pub use verify_bundle::{verify_bundle, VerifyBundleError, VerifyBundleOptions};
