//! ferry: carry container images across an air gap, byte for byte.
//!
//! The library does the work; `main.rs` only parses arguments and prints. See DESIGN.md for the
//! formats and protocol rules each module follows.

pub mod digest;
pub mod error;
pub mod export;
pub mod images;
pub mod import;
pub mod inspect;
pub mod inventory;
pub mod layout;
pub mod manifest;
pub mod mapping;
pub mod mirror;
pub mod par;
pub mod platform;
pub mod policy;
pub mod progress;
pub mod reference;
pub mod registry;
pub mod sizes;
pub mod text;
pub mod verify;
pub mod walk;

pub use export::{export, ExportError, ExportOptions, ExportSummary, Output};
