//! `oms replay`: the real engine on virtual time, from a scenario file, into a journal.
//!
//! Everything that can be checked is checked before the journal is created: the scenario
//! (`SCENARIO:LINE: what is wrong`), the configuration (names the file), `--start`. Those are
//! usage errors, exit 2. A journal that cannot be written is exit 1, like the other
//! subcommands. A run that completes is exit 0, whatever the orders' fates. The format and the
//! semantics are in `docs/scenario-format.md`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::clock::system_wall_ns;
use crate::config::ParsedConfig;
use crate::journal::{ConfigProblem, JournalError};
use crate::replay::{AutoResponse, BatchJournal, default_start_wall_ns, parse_scenario, parse_start, replay};

use super::CliError;

/// Arguments of `oms replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Scenario file: one `@<ms> verb key=value ...` event per line (docs/scenario-format.md).
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    /// Configuration (TOML): trading window and time zone, throttle, capacities.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Journal to write (base path; read it with `oms decode`).
    #[arg(long, value_name = "PATH")]
    pub journal: PathBuf,
    /// Virtual start time (`@0`), RFC 3339 with an offset, e.g. 2026-11-23T10:00:00+05:30.
    /// Default: today's window start in the configuration's time zone.
    #[arg(long, value_name = "RFC3339")]
    pub start: Option<String>,
    /// Answer every message sent MS milliseconds after its send: each order accepted (it then
    /// works until the scenario fills or cancels it), rejected (`:reject`), or accepted and
    /// filled in full at its price (`:fill`); each cancel and replace carried out.
    #[arg(long, value_name = "MS[:accept|reject|fill]", value_parser = parse_auto)]
    pub auto_response: Option<AutoResponse>,
    /// Replace an existing journal at PATH (default: refuse).
    #[arg(long)]
    pub overwrite: bool,
}

fn parse_auto(s: &str) -> Result<AutoResponse, String> {
    s.parse()
}

/// A usage error: the message on stderr, exit 2.
fn usage(msg: impl std::fmt::Display) -> Result<ExitCode, CliError> {
    eprintln!("oms replay: {msg}");
    Ok(ExitCode::from(2))
}

/// Reads the scenario as UTF-8; a bad byte is reported with its line.
fn read_scenario(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid].iter().filter(|b| **b == b'\n').count() + 1;
        format!("{}:{line}: not UTF-8 text", path.display())
    })
}

/// A `[journal]` setting of `config` that this run cannot use, and what to change.
fn journal_config(config: &Path, problem: &ConfigProblem) -> String {
    let fix = match problem {
        ConfigProblem::SegmentTooSmall { .. } | ConfigProblem::SegmentNotPageMultiple { .. } => {
            "the header holds the configuration's text: raise segment_bytes (a multiple of 4096)"
        }
        ConfigProblem::HeaderTooLong { .. } => "shorten the configuration",
    };
    format!("{}: [journal] {problem}; {fix}", config.display())
}

/// Runs `oms replay`.
pub fn run(a: &ReplayArgs) -> Result<ExitCode, CliError> {
    let text = match read_scenario(&a.scenario) {
        Ok(t) => t,
        Err(msg) => return usage(msg),
    };
    let scenario = match parse_scenario(&text) {
        Ok(s) => s,
        Err(e) => return usage(format!("{}:{}: {}", a.scenario.display(), e.line, e.message)),
    };
    let parsed = match ParsedConfig::load(&a.config) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let valid = match parsed.validate() {
        Ok(v) => v,
        Err(e) => return usage(e),
    };
    let config = parsed.config;
    let start = match &a.start {
        Some(s) => match parse_start(s) {
            Ok(t) => t,
            Err(msg) => return usage(msg),
        },
        None => match default_start_wall_ns(&valid, system_wall_ns()) {
            Some(t) => t,
            None => {
                let msg =
                    format!("{}: no trading window opens within a week; pass --start", a.config.display());
                return usage(msg);
            }
        },
    };
    let sink = match BatchJournal::create(&config, &valid, &a.journal, start, a.overwrite) {
        Ok(sink) => sink,
        Err(JournalError::Exists { path }) => {
            eprintln!(
                "oms replay: {}: a journal already exists; pass --overwrite to replace it (all its \
                 segments), or choose another --journal path",
                path.display()
            );
            return Ok(ExitCode::from(1));
        }
        Err(JournalError::Config { problem, .. }) => return usage(journal_config(&a.config, &problem)),
        Err(e) => return Err(e.into()),
    };
    let report = match replay(&valid, &scenario, start, a.auto_response, sink) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("oms replay: {}: {e}", a.scenario.display());
            return Ok(ExitCode::from(1));
        }
    };
    let (events, stats) = (report.events, report.stats);
    let journal = report.sink.close()?;
    println!(
        "replayed {events} scenario events: {} sent, {} queued, {} cancelled, {} rejected, {} responses \
         ({} unmatched), {} fills, {} cancels and {} replaces sent, {} unexpected answers, {} unanswered; \
         {} records in {}",
        stats.sent,
        stats.queued,
        stats.cancelled,
        stats.rejected_total(),
        stats.matched,
        stats.unmatched,
        stats.fills,
        stats.cancels_sent,
        stats.replaces_sent,
        stats.unexpected,
        stats.unanswered,
        journal.records,
        a.journal.display()
    );
    Ok(ExitCode::SUCCESS)
}
