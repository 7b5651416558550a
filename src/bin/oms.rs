//! `oms`: decode, stats, verify, tail and audit the order management system's journal; replay
//! scenarios through the engine on virtual time; run the engine live against the configured
//! exchange. Everything lives in the library's `oms::cli` module; this only parses and runs.

use clap::Parser;

fn main() -> std::process::ExitCode {
    oms::cli::run(oms::cli::Cli::parse())
}
