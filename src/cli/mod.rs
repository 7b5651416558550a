//! The `oms` command line (the binary in `src/bin/oms.rs` only parses and calls [`run()`]).
//!
//! Subcommands live in [`Command`]; each has its own argument struct and `run` function, in
//! `commands.rs` (decode, stats, verify, tail) or in a file of its own (`audit.rs`,
//! `replay.rs`, `run.rs` and `run/`), so adding one is a variant, a struct, its `run` and a match
//! arm. The decoder's [`Formatter`] and the [`Stats`] of `oms stats` are public for the benches
//! and the fuzz targets that measure and attack them.
//!
//! Exit codes: 0 success (for `verify`: the journal is sound), 1 a journal is corrupt, foreign
//! or unreadable (the message names the file and the byte offset), 2 bad usage (clap; for
//! `replay` also a malformed scenario, bad configuration or bad `--start`). `audit` has its own:
//! 0 every rule holds, 1 a rule is broken, 2 the journal or the configuration cannot be used.
//! `run`: 0 a clean stop (signal, `--once`), 1 the journal cannot be written or resumed or the
//! engine failed, 2 bad configuration or orders input, or a journal under another configuration.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::journal::{Journal, JournalError};

mod audit;
mod commands;
mod format;
mod replay;
mod run;
mod stats;
mod submit;

pub use audit::AuditArgs;
pub use commands::{DecodeArgs, StatsArgs, TailArgs, VerifyArgs};
pub use format::{CSV_HEADER, Format, Formatter};
pub use replay::ReplayArgs;
pub use run::RunArgs;
pub use stats::Stats;
pub use submit::SubmitArgs;

/// `oms`: the order management system's journal tools, scenario replay, audit, and the live engine.
#[derive(Debug, Parser)]
#[command(name = "oms", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print journal records as text, CSV or JSON lines.
    Decode(DecodeArgs),
    /// Count events per kind and reject reason; response latency percentiles.
    Stats(StatsArgs),
    /// Check headers, checksums and sequence continuity; exit 1 on corruption.
    Verify(VerifyArgs),
    /// Follow a live journal, printing records as they are committed.
    Tail(TailArgs),
    /// Run a scenario file through the real engine on virtual time, writing a journal.
    Replay(ReplayArgs),
    /// Check a journal against the rules (window, throttle, queue, fates); exit 1 naming each
    /// broken rule, 2 if the journal cannot be read.
    Audit(AuditArgs),
    /// Run the engine on the real clock against the configured exchange, writing a journal;
    /// feed it orders from a file or standard input; stop on SIGINT / SIGTERM (or --once).
    Run(RunArgs),
    /// Attach to a listening `oms run` (--listen DIR) as a producer in another process: send
    /// orders from a file or standard input at their times, print this client's outcomes as
    /// they are journaled, exit once every request sent is answered.
    Submit(SubmitArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Decode(a) => commands::decode(&a),
        Command::Stats(a) => commands::stats(&a),
        Command::Verify(a) => commands::verify(&a),
        Command::Tail(a) => commands::tail(&a),
        Command::Replay(a) => replay::run(&a),
        Command::Audit(a) => audit::run(&a),
        Command::Run(a) => run::run(&a),
        Command::Submit(a) => submit::run(&a),
    };
    match result {
        Ok(code) => code,
        Err(CliError::BrokenPipe) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oms: {e}");
            ExitCode::from(1)
        }
    }
}

/// Errors of the CLI.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A journal problem (names the file and offset).
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// Writing the output failed.
    #[error("{what}: {source}")]
    Output {
        /// The output (stdout or a file name).
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The reader of stdout went away (`oms decode … | head`): stop quietly.
    #[error("broken pipe")]
    BrokenPipe,
}

/// Maps a stdout write error.
pub(crate) fn stdout_err(e: std::io::Error) -> CliError {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        CliError::BrokenPipe
    } else {
        CliError::Output { what: "cannot write to stdout".into(), source: e }
    }
}

/// Opens every PATH (a base path brings all its segments); a segment already included through
/// an earlier PATH is skipped. Paths that cannot be opened are returned as errors, in order.
pub fn open_all(paths: &[PathBuf]) -> Vec<Result<Journal, JournalError>> {
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut out = Vec::new();
    for p in paths {
        let canonical = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        if seen.contains(&canonical) {
            continue;
        }
        match Journal::open(p) {
            Ok(j) => {
                seen.extend(j.canonical_paths());
                out.push(Ok(j));
            }
            Err(e) => out.push(Err(e)),
        }
    }
    out
}

/// Buffered stdout: lines are appended to a `Vec<u8>` and written in large chunks.
pub(crate) struct Out {
    buf: Vec<u8>,
    stdout: std::io::Stdout,
}

impl Out {
    pub(crate) fn new() -> Out {
        Out { buf: Vec::with_capacity(1 << 20), stdout: std::io::stdout() }
    }

    pub(crate) fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Writes the buffer out if it is large.
    #[inline]
    pub(crate) fn maybe_flush(&mut self) -> Result<(), CliError> {
        if self.buf.len() >= (1 << 20) - 1024 { self.flush() } else { Ok(()) }
    }

    pub(crate) fn flush(&mut self) -> Result<(), CliError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut lock = self.stdout.lock();
        lock.write_all(&self.buf).map_err(stdout_err)?;
        lock.flush().map_err(stdout_err)?;
        self.buf.clear();
        Ok(())
    }
}
