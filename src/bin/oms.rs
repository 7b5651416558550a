//! `oms`: decode, stats, verify and tail the order management system's journal; replay scenarios.
//! Everything lives in the library's `oms::cli` module; this only parses and runs.

use clap::Parser;

fn main() -> std::process::ExitCode {
    oms::cli::run(oms::cli::Cli::parse())
}
