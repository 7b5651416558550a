//! `oms audit`: proves from a journal that the engine kept its rules (see [`crate::audit`] and
//! `docs/audit.md`).
//!
//! Exit 0 when every rule holds (one line per rule), 1 when one is broken (each broken rule with
//! its first offending sequence number and order id), 2 when the journal cannot be read or the
//! configuration cannot be used.
//!
//! A journal its writer has not closed (still running, or stopped without closing it) has no end
//! yet: the audit says so first, judges every rule on the records so far
//! ([`Auditor::report`]), and leaves out the checks that need the end (every order has its fate,
//! no session left logged on, `session_ended` rejects followed by their logout), saying what is
//! still open. A closed journal is judged whole ([`Auditor::finish`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::audit::{AuditOptions, Auditor};
use crate::config::{Config, ParsedConfig};
use crate::journal::Journal;
use crate::risk::RiskSettings;
use crate::throttle::ThrottleSettings;
use crate::window::TradingWindow;

use super::{CliError, Out, stdout_err};

/// Arguments of `oms audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Journal base path (all its segments, in order).
    #[arg(value_name = "JOURNAL")]
    pub journal: PathBuf,
    /// Check against this configuration (TOML) instead of the one stored in the journal header.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The journal was written on virtual time (`oms replay`): logon, logout and response
    /// latencies must be exact.
    #[arg(long)]
    pub virtual_time: bool,
}

/// Cannot audit: the message on stderr, exit 2.
fn unusable(msg: impl std::fmt::Display) -> Result<ExitCode, CliError> {
    eprintln!("oms audit: {msg}");
    Ok(ExitCode::from(2))
}

/// The rules to check: from `--config`, else from the journal header.
fn rules(
    a: &AuditArgs,
    journal: &Journal,
) -> Result<(TradingWindow, ThrottleSettings, Option<RiskSettings>, String), String> {
    match &a.config {
        Some(file) => {
            let parsed = ParsedConfig::load(file).map_err(|e| e.to_string())?;
            let (w, t) = parsed.rules().map_err(|e| e.to_string())?;
            let risk = parsed.risk_rules().map_err(|e| e.to_string())?;
            Ok((w, t, risk, format!("from {}", file.display())))
        }
        None => {
            let stored = &journal.header().meta.config_toml;
            let header = |e: crate::config::ConfigError| {
                format!(
                    "{}: the configuration stored in the journal header: {e}\n(pass --config FILE to audit \
                     against a configuration file instead)",
                    a.journal.display()
                )
            };
            let config = Config::from_toml_str(stored).map_err(header)?;
            let (w, t) = config.rules().map_err(header)?;
            let risk = config.risk_rules().map_err(header)?;
            Ok((w, t, risk, "from the journal header".into()))
        }
    }
}

/// Runs `oms audit`.
pub fn run(a: &AuditArgs) -> Result<ExitCode, CliError> {
    let journal = match Journal::open(&a.journal) {
        Ok(j) => j,
        Err(e) => return unusable(e),
    };
    let (window, throttle, risk, source) = match rules(a, &journal) {
        Ok(r) => r,
        Err(msg) => return unusable(msg),
    };
    let options = if a.virtual_time { AuditOptions::VIRTUAL_TIME } else { AuditOptions::LIVE };
    let mut auditor = Auditor::new(&window, &throttle, options).with_risk(risk.as_ref());
    let mut records = journal.records();
    for r in &mut records {
        match r {
            Ok(rec) => auditor.push(&rec),
            Err(e) => return unusable(format!("{e} (the audit needs every record)")),
        }
    }
    let torn = records.torn_tail().is_some();
    let closed = journal.segments().any(|(_, h)| h.closed);
    let not_closed = (!closed).then(|| open_note(&a.journal, &auditor, auditor.report().records));
    let report = if closed { auditor.finish() } else { auditor.report() };
    let mut out = Out::new();
    let buf = out.buf();
    use std::io::Write;
    let w = |buf: &mut Vec<u8>, s: String| buf.write_all(s.as_bytes()).map_err(stdout_err);
    if let Some(note) = &not_closed {
        w(buf, format!("{note}\n"))?;
    }
    w(buf, header(&a.journal, &window, &throttle, &source, options))?;
    if torn {
        w(buf, "note: the journal ends in a torn record (the writer stopped mid-record)\n".into())?;
    }
    let mut verdict = report.to_string();
    if not_closed.is_some() {
        verdict = if report.is_clean() {
            format!("{verdict} so far")
        } else {
            verdict.replacen(" rules broken: ", " rules broken so far: ", 1)
        };
    }
    w(buf, format!("{verdict}\n"))?;
    out.flush()?;
    Ok(if report.is_clean() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// What a journal that is not closed means for the verdict, with what is still open in it.
fn open_note(path: &Path, auditor: &Auditor, records: u64) -> String {
    let (queued, at_exchange) = (auditor.queued(), auditor.open());
    let mut open = Vec::new();
    if queued + at_exchange > 0 {
        open.push(format!("{queued} orders queued and {at_exchange} open at the exchange have no fate yet"));
    }
    if auditor.logged_on() {
        open.push("a session is logged on".to_string());
    }
    let open = if open.is_empty() { "nothing is left open".to_string() } else { open.join("; ") };
    format!(
        "note: {} is not closed: its writer is still running, or it stopped without closing it (a \
         crash; the next `oms run` on it recovers). The rules are judged on the {} records so far; \
         the checks that need the journal's end (every order has its fate, every session is logged \
         out) are left out: {open}.",
        path.display(),
        records
    )
}

/// What is audited, against what.
fn header(
    path: &Path,
    window: &TradingWindow,
    throttle: &ThrottleSettings,
    source: &str,
    options: AuditOptions,
) -> String {
    let hms = |t: jiff::civil::Time| t.strftime("%H:%M:%S%.f").to_string();
    let tz = window.timezone().iana_name().unwrap_or("the configured zone");
    format!(
        "audit of {}: window {}-{} {tz}, throttle {} {}/s burst {} ({source}); {} time\n",
        path.display(),
        hms(window.start()),
        hms(window.end()),
        throttle.mode.name(),
        throttle.rate,
        throttle.burst,
        if options.exact_timers { "virtual (timers and latencies exact)" } else { "live" }
    )
}
