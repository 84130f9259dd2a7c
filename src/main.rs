//! The `ferry` binary: parse the arguments (cli.rs), resolve them into the library's options
//! (cli/resolve.rs), call the library, print the result (cli/print.rs, through the escaping
//! macros below) and map it to an exit code: 0, 1 for a failure, 2 for a usage error (clap).

/// Lines for humans, on stderr (`tell!`) or stdout (`say!`), with every control character
/// escaped (DESIGN §1): text from a registry, a token service or a bundle may be in them, and
/// this is the one place all of it passes on its way to a terminal.
macro_rules! tell {
    ($($arg:tt)*) => { eprintln!("{}", ferry::text::printable(&format!($($arg)*))) };
}
macro_rules! say {
    ($($arg:tt)*) => { println!("{}", ferry::text::printable(&format!($($arg)*))) };
}
/// Text that ends its own lines (a report, a file's contents), escaped like `say!`.
macro_rules! say_text {
    ($text:expr) => {
        print!("{}", ferry::text::printable(&$text))
    };
}
/// JSON for scripts: serde escapes C0 controls, `json_safe` the rest (DEL, C1, bidi).
macro_rules! json_text {
    ($value:expr) => {
        ferry::text::json_safe(&serde_json::to_string_pretty($value)?)
    };
}

mod cli;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use cli::{print, resolve, Cli, Command};

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            tell!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Runs the command; false when it ran but did not succeed (exit 1 without an error line).
fn run(cli: Cli) -> Result<bool> {
    match cli.command {
        Command::Export(a) => {
            let (client, opts) = resolve::export(&a)?;
            let summary = ferry::export(&client, &opts)?;
            print::exported(
                &summary,
                &a.out,
                matches!(opts.output, ferry::Output::Stdout),
            )?;
            Ok(summary.failed.is_empty())
        }
        Command::Import(a) => {
            let (client, opts) = resolve::import(&a)?;
            print::imported(&ferry::import(&client, &opts)?, &a.out)?;
            Ok(true)
        }
        Command::Map(a) => {
            print::mapped(ferry::map(&resolve::map(&a)?)?, a.json)?;
            Ok(true)
        }
        Command::Verify(a) => {
            let report = ferry::verify(&resolve::verify(&a)?)?;
            print::verified(&report, &a.out)?;
            Ok(report.ok)
        }
        Command::Inspect(a) => {
            print::inspected(&ferry::inspect(&resolve::inspect(&a))?, a.json)?;
            Ok(true)
        }
        Command::Inventory(a) => {
            let (client, opts, output) = resolve::inventory(&a)?;
            let inventory = ferry::inventory::inventory(&client, &opts)?;
            print::inventoried(&inventory, output.as_deref(), a.quiet)?;
            Ok(true)
        }
        Command::Images(a) => {
            print::found(&ferry::images(&resolve::images(&a))?, a.json)?;
            Ok(true)
        }
        Command::VerifyBundle(a) => {
            let verified = ferry::verify_bundle(&resolve::verify_bundle(&a))?;
            print::bundle_verified(&verified, a.trust.key.as_deref());
            Ok(true)
        }
    }
}
