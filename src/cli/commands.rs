//! The subcommands `decode`, `stats`, `verify` and `tail`: arguments and implementations.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::journal::{Follower, Journal, JournalError, Poll};
use crate::model::EventKind;
use crate::record::EventRecord;

use super::format::{Format, Formatter, about_order, kind_parser};
use super::stats::Stats;
use super::{CliError, Out, open_all, stdout_err};

/// Arguments of `oms decode`.
#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// Journal base path (all its segments, in order) or single segment files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Only records of this kind (repeatable).
    #[arg(long = "kind", value_name = "K", value_parser = kind_parser())]
    pub kinds: Vec<EventKind>,
    /// Only events about this order id.
    #[arg(long = "order", value_name = "ID")]
    pub order: Option<u64>,
    /// Only events answering this producer's requests (producers are numbered from 0 in the
    /// order the engine handed them out).
    #[arg(long = "producer", value_name = "N")]
    pub producer: Option<u16>,
}

/// Arguments of `oms stats`.
#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// Journal base path (all its segments, in order) or single segment files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Also write the response latency distribution to FILE in HdrHistogram's
    /// percentile-distribution (.hgrm) format, values in microseconds.
    #[arg(long, value_name = "FILE")]
    pub hgrm: Option<PathBuf>,
}

/// Arguments of `oms verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Journal base path (all its segments, in order) or single segment files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// Arguments of `oms tail`.
#[derive(Debug, clap::Args)]
pub struct TailArgs {
    /// Journal base path (or a segment to start from). Follows into later segments and exits
    /// when the writer closes the journal.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Only the records answering this producer's requests: its orders' fates as they are
    /// committed (65535: the engine's own records).
    #[arg(long = "producer", value_name = "N")]
    pub producer: Option<u16>,
}

pub(super) fn formatter(format: Format, j_path: &Path, timezone: &str) -> Formatter {
    Formatter::new(format, timezone).unwrap_or_else(|_| {
        if format == Format::Text {
            eprintln!("oms: {}: unknown time zone {timezone:?} in the header; showing UTC", j_path.display());
        }
        Formatter::utc(format)
    })
}

/// The `[risk]` limits of the configuration a journal's header holds (none if it has none, or
/// if it cannot be read: a refusal's line then shows the value without its limit).
fn header_risk(config_toml: &str) -> Option<crate::risk::RiskSettings> {
    crate::config::Config::from_toml_str(config_toml).ok()?.risk_rules().ok()?
}

fn report_err(out: &mut Out, e: &dyn std::fmt::Display) -> Result<(), CliError> {
    out.flush()?;
    eprintln!("oms: {e}");
    Ok(())
}

fn code(failed: bool) -> ExitCode {
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// `oms decode`.
pub fn decode(a: &DecodeArgs) -> Result<ExitCode, CliError> {
    let mut wanted = [a.kinds.is_empty(); EventKind::SLOTS];
    for k in &a.kinds {
        wanted[*k as usize] = true;
    }
    let keep = |r: &EventRecord| {
        wanted[r.kind as usize]
            && a.order.is_none_or(|o| about_order(r, o))
            && a.producer.is_none_or(|p| r.producer == p)
    };
    let mut out = Out::new();
    let mut failed = false;
    let mut header_done = false;
    for j in open_all(&a.paths) {
        let j = match j {
            Ok(j) => j,
            Err(e) => {
                report_err(&mut out, &e)?;
                failed = true;
                continue;
            }
        };
        let first = j.segments().next().map(|(p, _)| p.to_path_buf()).unwrap_or_default();
        let mut f = formatter(a.format, &first, &j.header().meta.timezone);
        f.set_risk(header_risk(&j.header().meta.config_toml));
        if !header_done {
            f.header(out.buf());
            header_done = true;
        }
        for r in j.records() {
            match r {
                Ok(rec) => {
                    f.see(&rec);
                    if keep(&rec) {
                        f.line(out.buf(), &rec);
                        out.maybe_flush()?;
                    }
                }
                Err(e) => {
                    report_err(&mut out, &e)?;
                    failed = true;
                }
            }
        }
    }
    // No CSV header or empty table when nothing could be read: only the errors.
    out.flush()?;
    Ok(code(failed))
}

/// `oms stats`.
pub fn stats(a: &StatsArgs) -> Result<ExitCode, CliError> {
    let mut s = Stats::new();
    let mut out = Out::new();
    let mut failed = false;
    let mut read_any = false;
    for j in open_all(&a.paths) {
        match j {
            Ok(j) => {
                read_any = true;
                for r in j.records() {
                    match r {
                        Ok(rec) => s.add(&rec),
                        Err(e) => {
                            report_err(&mut out, &e)?;
                            failed = true;
                        }
                    }
                }
            }
            Err(e) => {
                report_err(&mut out, &e)?;
                failed = true;
            }
        }
    }
    if !read_any {
        // Nothing could be read: an empty table would look like an empty journal.
        return Ok(code(failed));
    }
    s.report(out.buf()).map_err(stdout_err)?;
    out.flush()?;
    if let Some(path) = &a.hgrm {
        let mut text = Vec::new();
        let written = s.write_hgrm(&mut text).and_then(|()| std::fs::write(path, &text));
        written
            .map_err(|e| CliError::Output { what: format!("{}: cannot write", path.display()), source: e })?;
    }
    Ok(code(failed))
}

/// `oms verify`.
pub fn verify(a: &VerifyArgs) -> Result<ExitCode, CliError> {
    let mut out = Out::new();
    let mut failed = false;
    for j in open_all(&a.paths) {
        let j: Journal = match j {
            Ok(j) => j,
            Err(e) => {
                report_err(&mut out, &e)?;
                failed = true;
                continue;
            }
        };
        let r = j.verify();
        let name = j.segments().next().map(|(p, _)| p.display().to_string()).unwrap_or_default();
        let b = out.buf();
        let seqs = match (r.first_seq, &r.last_good) {
            (Some(f), Some(l)) => format!(", seq {f}..{}", l.seq),
            _ => String::new(),
        };
        // The writer's mark says how it ended, not what happened to the files since.
        let closed = match (r.closed, r.is_sound()) {
            (true, true) => "closed cleanly",
            (true, false) => "closed by its writer, damaged since",
            (false, _) => "not closed (writer running, or it crashed)",
        };
        let verdict = if !r.is_sound() {
            "CORRUPT"
        } else if r.dropped > 0 {
            "INCOMPLETE"
        } else if r.sync_failed {
            "NOT DURABLE"
        } else {
            "ok"
        };
        let _ = writeln!(
            b,
            "{name}: {verdict}: {} records{seqs} in {} segment(s), {closed}",
            r.records,
            r.segments.len()
        );
        for s in &r.segments {
            let _ = writeln!(
                b,
                "  segment {} {}: first seq {}, {} of {} slots used",
                s.index,
                s.path.display(),
                s.first_seq,
                s.records,
                s.capacity
            );
        }
        if let Some(l) = &r.last_good {
            let _ =
                writeln!(b, "  last good record: seq {} at {} offset {}", l.seq, l.path.display(), l.offset);
        }
        if let Some(t) = &r.torn_tail {
            let _ = writeln!(
                b,
                "  torn tail: unpublished record (would be seq {}) at {} offset {}: ignored",
                t.seq,
                t.path.display(),
                t.offset
            );
        }
        if r.dropped > 0 {
            let _ = writeln!(
                b,
                "  error: the writer dropped {} records (journal full, reserve used up): the journal is incomplete",
                r.dropped
            );
            failed = true;
        }
        if r.sync_failed {
            let _ = writeln!(
                b,
                "  error: the writer saw a flush to disk fail (see its sync_failed records): records may be missing after a power loss"
            );
            failed = true;
        }
        if let Some(e) = &r.error {
            report_err(&mut out, e)?;
            failed = true;
        }
        out.maybe_flush()?;
    }
    out.flush()?;
    Ok(code(failed))
}

/// `oms tail`.
pub fn tail(a: &TailArgs) -> Result<ExitCode, CliError> {
    let mut follower = Followed { follower: Follower::open(&a.path)?, producer: a.producer };
    let mut f = formatter(a.format, &a.path, follower.timezone());
    let mut out = Out::new();
    f.header(out.buf());
    let mut idle = Duration::from_micros(50);
    let mut followed = 0u64;
    loop {
        match follower.poll(&mut f)? {
            Poll::Record(r) => {
                f.line(out.buf(), &r);
                out.maybe_flush()?;
                followed += 1;
                idle = Duration::from_micros(50);
            }
            Poll::Pending => {
                out.flush()?;
                std::thread::sleep(idle);
                idle = (idle * 2).min(Duration::from_millis(20));
            }
            Poll::Closed => {
                out.flush()?;
                eprintln!(
                    "oms: {}: the writer closed the journal; {followed} records followed",
                    a.path.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
}

/// What `oms tail` follows: every record, or one producer's; every record is shown to the
/// formatter (`see`) first.
struct Followed {
    follower: Follower,
    producer: Option<u16>,
}

impl Followed {
    fn poll(&mut self, f: &mut Formatter) -> Result<Poll, JournalError> {
        loop {
            match self.follower.poll()? {
                Poll::Record(r) => {
                    f.see(&r);
                    if self.producer.is_none_or(|p| p == r.producer) {
                        return Ok(Poll::Record(r));
                    }
                }
                other => return Ok(other),
            }
        }
    }

    fn timezone(&self) -> &str {
        self.follower.timezone()
    }
}
