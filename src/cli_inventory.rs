//! `ferry inventory`: the binary's side (arguments in, inventory file and summary line out);
//! kept apart from `main.rs` so that file stays one screenful per command.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::InventoryArgs;
use ferry::inventory::{detect, InventoryOptions, Source};

/// Takes the inventory and writes it to `-o FILE` (or stdout).
pub fn run(a: InventoryArgs) -> Result<ExitCode> {
    let registry = ferry::login::registry_of_prefix(&a.to)?;
    let client = crate::client(&a.registry, Some(&registry))?;
    let source = match (&a.file, &a.input) {
        (Some(f), _) => Source::List(f.clone()),
        (None, Some(p)) if p.as_os_str() == "-" => {
            anyhow::bail!("ferry inventory reads a bundle or list from a file, not from a pipe")
        }
        (None, Some(p)) => detect(p),
        (None, None) => anyhow::bail!("give a bundle, or an image list with -f FILE"),
    };
    let opts = InventoryOptions {
        source,
        to: a.to.clone(),
        mapping: ferry::mapping::MappingChoice::from_arg(&a.mapping),
        name: a.name.clone(),
        jobs: a.jobs.max(1),
    };
    if let Some(p) = a.output.as_ref().filter(|p| p.as_os_str() != "-") {
        ferry::layout::output::check(p)?;
    }
    let inv = ferry::inventory::inventory(&client, &opts)?;
    match &a.output {
        Some(p) if p.as_os_str() != "-" => inv.write(p)?,
        _ => print!(
            "{}",
            ferry::text::json_safe(&String::from_utf8_lossy(&inv.to_bytes()))
        ),
    }
    if !a.quiet {
        tell!("{}", inv.line());
    }
    Ok(ExitCode::SUCCESS)
}
