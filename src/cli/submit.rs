//! `oms submit`: a client of a listening `oms run` on the command line.
//!
//! ```text
//! oms submit --connect DIR [--orders FILE|-] [--until-final] [--producer N] [--format F]
//! ```
//!
//! Attaches to the engine listening in DIR ([`crate::ipc::connect`]), sends the requests of
//! `--orders` (the scenario format's `new`, `modify`, `cancel` and `advance` lines, each at its
//! `@<ms>` after the start; standard input by default, a line at a time as it comes) through its
//! ring, and prints its own outcomes as they are journaled (the records of its producer after
//! its `client_attached`, as `oms tail --producer` prints them). A producer number another
//! client held before is this client's only from its own attach on: its attach is the first
//! `client_attached` of its number and process id journaled after it started to attach (the
//! journal is read to its end first, so an earlier holder with the same process id is not
//! taken for it), and of the records after it, those about an order show only if this client
//! sent a request for that order (a previous holder's orders, cancelled or kept when it went,
//! are answered under the same number later). It exits once the input has
//! ended and every request it sent has been answered: a New by its first answer from the
//! exchange or its reject (`--until-final`: by its final state, filled, cancelled, expired,
//! rejected or unanswered), a Modify or Cancel by the record that took or refused it.
//!
//! Exit codes: 0 everything answered; 1 the engine went (or the journal cannot be read) before
//! that, the requests still unanswered listed; 2 bad usage (the orders input, a line naming
//! another producer, `halt` / `resume`, which a client cannot ask for); 130 SIGINT / SIGTERM.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};
use std::time::{Duration, Instant};

use crate::ipc::SendError;
use crate::journal::{Follower, Poll};
use crate::model::{OrderRequest, RequestType, ResponseType};
use crate::record::{Event, EventRecord};
use crate::replay::{Action, Verbs, parse_scenario_line_for};

use super::format::Format;
use super::run::signal;
use super::{CliError, Out};

/// Arguments of `oms submit`.
#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// The directory a listening `oms run` was given (`--listen DIR`, `[ipc] dir`).
    #[arg(long, value_name = "DIR")]
    pub connect: PathBuf,
    /// Requests to send, one `@<ms> new|modify|cancel|advance ...` per line, each at its time
    /// after the start; `-` (the default) reads standard input as lines arrive.
    #[arg(long, value_name = "FILE|-")]
    pub orders: Option<PathBuf>,
    /// Wait for each New's final state (filled, cancelled, expired, rejected, unanswered), not
    /// only its first answer.
    #[arg(long)]
    pub until_final: bool,
    /// Attach as this producer number (a client's, free): a restarted client takes its number
    /// back. Default: the first free one.
    #[arg(long, value_name = "N")]
    pub producer: Option<u16>,
    /// Output format of the outcomes.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// A request line, due at `at_ns` after the start.
struct Line {
    at_ns: u64,
    line: usize,
    request: RequestType,
    order: OrderRequest,
}

/// What standard input's reader thread hands over.
enum Read {
    Line(Line),
    Bad(String),
    End,
}

/// What is still owed to one order id.
#[derive(Default)]
struct Owed {
    /// Its New awaits its answer (or its final state).
    new: bool,
    /// Modifies and Cancels not yet taken or refused.
    others: u32,
}

fn usage(msg: impl std::fmt::Display) -> Result<ExitCode, CliError> {
    eprintln!("oms submit: {msg}");
    Ok(ExitCode::from(2))
}

fn failed(msg: impl std::fmt::Display) -> Result<ExitCode, CliError> {
    eprintln!("oms submit: {msg}");
    Ok(ExitCode::from(1))
}

/// A scenario line as a client's request: `Ok(None)` for a blank, comment or `advance` line.
fn request_of(raw: &str, line: usize, name: &str) -> Result<Option<Line>, String> {
    let ev = parse_scenario_line_for(raw, line, Verbs::Requests).map_err(|e| format!("{name}:{e}"))?;
    match ev.map(|e| (e.at_ns, e.action)) {
        None | Some((_, Action::Advance)) => Ok(None),
        Some((at_ns, Action::Request { producer: 0, request, order })) => {
            Ok(Some(Line { at_ns, line, request, order }))
        }
        Some((_, Action::Request { producer, .. })) => Err(format!(
            "{name}:line {line}: p={producer}: a client is one producer (its lines name none, or p=0)"
        )),
        Some((_, Action::Halt | Action::Resume)) => Err(format!(
            "{name}:line {line}: halt and resume are the run's (SIGUSR1 / SIGUSR2), not a client's"
        )),
        Some((_, Action::Reference { .. })) => Err(format!(
            "{name}:line {line}: a reference price is the run's (a `reference` line in its orders input), not a client's"
        )),
        Some((_, Action::Answer(_))) => {
            Err(format!("{name}:line {line}: the exchange answers, not a client"))
        }
    }
}

/// Reads standard input a line at a time on its own thread.
fn stdin_lines() -> Receiver<Read> {
    let (tx, rx) = sync_channel(1024);
    let _ = std::thread::Builder::new().name("oms-submit-stdin".into()).spawn(move || {
        for (i, raw) in std::io::stdin().lock().lines().enumerate() {
            let msg = match raw {
                Err(e) => Read::Bad(format!("<stdin>: {e}")),
                Ok(raw) => match request_of(&raw, i + 1, "<stdin>") {
                    Ok(None) => continue,
                    Ok(Some(l)) => Read::Line(l),
                    Err(m) => Read::Bad(m),
                },
            };
            let bad = matches!(msg, Read::Bad(_));
            if tx.send(msg).is_err() || bad {
                return;
            }
        }
        let _ = tx.send(Read::End);
    });
    rx
}

/// Runs `oms submit`.
pub fn run(a: &SubmitArgs) -> Result<ExitCode, CliError> {
    let mut pending: VecDeque<Line> = VecDeque::new();
    let mut stdin = None;
    match &a.orders {
        Some(p) if p.as_os_str() != "-" => {
            let text = match std::fs::read_to_string(p) {
                Ok(t) => t,
                Err(e) => return usage(format!("{}: {e}", p.display())),
            };
            let name = p.display().to_string();
            let mut last = 0;
            for (i, raw) in text.lines().enumerate() {
                match request_of(raw, i + 1, &name) {
                    Ok(None) => {}
                    Ok(Some(l)) if l.at_ns < last => {
                        return usage(format!("{name}:line {}: time goes backwards", l.line));
                    }
                    Ok(Some(l)) => {
                        last = l.at_ns;
                        pending.push_back(l);
                    }
                    Err(m) => return usage(m),
                }
            }
        }
        _ => stdin = Some(stdin_lines()),
    }
    if let Err(e) = signal::install() {
        return failed(format!("cannot install the SIGINT / SIGTERM handler: {e}"));
    }
    let journal = match std::fs::read_link(a.connect.join(crate::ipc::JOURNAL_LINK)) {
        Ok(j) => j,
        Err(e) => {
            return failed(format!(
                "cannot attach to {}: no link to the journal there ({e})",
                a.connect.display()
            ));
        }
    };
    let mut follower = match Follower::open(&journal) {
        Ok(f) => f,
        Err(e) => return failed(e),
    };
    let mut f = super::commands::formatter(a.format, &journal, follower.timezone());
    // The journal so far, before attaching: nothing in it is this client's.
    let mut before = 0;
    loop {
        match follower.poll() {
            Ok(Poll::Record(r)) => {
                f.see(&r);
                before = r.seq;
            }
            Ok(Poll::Pending | Poll::Closed) => break,
            Err(e) => return failed(e),
        }
    }
    let mut client = match crate::ipc::connect_as(&a.connect, a.producer) {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot attach to {}: {e}", a.connect.display())),
    };
    let producer = client.producer();
    eprintln!("oms submit: attached as producer {producer}; journal {}", journal.display());
    let mut out = Out::new();
    f.header(out.buf());
    let mut mine = Mine::new(producer, std::process::id(), before);
    let (mut owed, mut sent) = (HashMap::<u64, Owed>::new(), 0u64);
    let mut input_done = stdin.is_none();
    let start = Instant::now();
    loop {
        if signal::received() {
            out.flush()?;
            eprintln!("oms submit: stopped by a signal; {} orders unanswered", owed.len());
            return Ok(ExitCode::from(130));
        }
        if let Some(rx) = &stdin {
            loop {
                match rx.try_recv() {
                    Ok(Read::Line(l)) => pending.push_back(l),
                    Ok(Read::Bad(m)) => {
                        out.flush()?;
                        return usage(m);
                    }
                    Ok(Read::End) | Err(TryRecvError::Disconnected) => {
                        input_done = true;
                        break;
                    }
                    Err(TryRecvError::Empty) => break,
                }
            }
        }
        let elapsed = start.elapsed().as_nanos() as u64;
        while let Some(l) = pending.front().filter(|l| l.at_ns <= elapsed) {
            match client.on_data(l.order, l.request) {
                Ok(()) => {
                    mine.sent(l.order.order_id);
                    let o = owed.entry(l.order.order_id).or_default();
                    if l.request == RequestType::New {
                        o.new = true;
                    } else {
                        o.others += 1;
                    }
                    sent += 1;
                    pending.pop_front();
                }
                Err(SendError::Full(_)) => break,
                Err(SendError::Disconnected(_)) => break,
            }
        }
        let mut progressed = false;
        loop {
            match follower.poll() {
                Ok(Poll::Record(r)) => {
                    f.see(&r);
                    if r.producer != producer {
                        continue;
                    }
                    progressed = true;
                    if mine.shows(&r) {
                        f.line(out.buf(), &r);
                        answered(&r, &mut owed, a.until_final);
                    }
                }
                Ok(Poll::Pending) => break,
                Ok(Poll::Closed) => {
                    out.flush()?;
                    return unanswered(&owed, &pending, "the engine closed its journal");
                }
                Err(e) => {
                    out.flush()?;
                    return failed(e);
                }
            }
        }
        out.flush()?;
        if input_done && pending.is_empty() && owed.is_empty() {
            eprintln!("oms submit: {sent} requests sent as producer {producer}, every one answered");
            return Ok(ExitCode::SUCCESS);
        }
        if !client.is_connected() && !progressed {
            return unanswered(&owed, &pending, "the engine is gone");
        }
        let wait = match pending.front() {
            Some(l) => Duration::from_nanos(l.at_ns.saturating_sub(start.elapsed().as_nanos() as u64)),
            None => Duration::from_millis(2),
        };
        std::thread::sleep(wait.clamp(Duration::from_micros(100), Duration::from_millis(2)));
    }
}

/// Which records of the journal are this client's: its producer's, after its own attach,
/// about orders it sent a request for (or about no order: its detach).
#[derive(Debug)]
struct Mine {
    producer: u16,
    pid: u32,
    /// The last record journaled before this client started to attach.
    before: u64,
    /// This client's attach has been seen, and no later attach of its number.
    attached: bool,
    /// Order ids this client sent a request for.
    ids: HashSet<u64>,
}

impl Mine {
    fn new(producer: u16, pid: u32, before: u64) -> Mine {
        Mine { producer, pid, before, attached: false, ids: HashSet::new() }
    }

    /// This client sent a request for order `id`.
    fn sent(&mut self, id: u64) {
        self.ids.insert(id);
    }

    /// Whether record `r` is this client's to show.
    fn shows(&mut self, r: &EventRecord) -> bool {
        if r.producer != self.producer {
            return false;
        }
        if let Event::ClientAttached { pid } = r.event() {
            // This client's own attach, or another client's (an earlier holder of the
            // number, or a later one once this client was let go).
            self.attached = r.seq > self.before && pid == self.pid;
            return false;
        }
        self.attached && r.event().order_id().is_none_or(|id| self.ids.contains(&id))
    }
}

/// The engine went with requests owed: say which, exit 1.
fn unanswered(owed: &HashMap<u64, Owed>, pending: &VecDeque<Line>, why: &str) -> Result<ExitCode, CliError> {
    let mut ids: Vec<u64> = owed.keys().copied().collect();
    ids.sort_unstable();
    let shown: Vec<String> = ids.iter().take(20).map(u64::to_string).collect();
    let more = if ids.len() > 20 { format!(" and {} more", ids.len() - 20) } else { String::new() };
    failed(format!(
        "{why}: {} orders unanswered ({}{more}), {} requests not sent; reconnect to the restarted run \
         and read the journal for what was taken",
        ids.len(),
        shown.join(", "),
        pending.len()
    ))
}

/// Record `r`, one of this client's, answers what it owed.
fn answered(r: &EventRecord, owed: &mut HashMap<u64, Owed>, until_final: bool) {
    let Some(id) = r.event().order_id() else { return };
    let Some(o) = owed.get_mut(&id) else { return };
    let (new_answer, new_final, other) = match r.event() {
        Event::Response { response, .. } => (true, response != ResponseType::Accept, false),
        Event::Rejected { request: RequestType::New, .. } => (true, true, false),
        Event::Rejected { .. } => (false, false, true),
        Event::Cancelled { .. } => (true, true, true),
        Event::Unanswered { .. } | Event::VenueCancelled { .. } | Event::Expired { .. } => {
            (true, true, false)
        }
        Event::Fill { complete, .. } => (true, complete, false),
        Event::Modified { .. }
        | Event::ReplaceQueued { .. }
        | Event::ReplaceSent { .. }
        | Event::CancelQueued { .. }
        | Event::CancelSent { .. } => (false, false, true),
        _ => (false, false, false),
    };
    if other {
        o.others = o.others.saturating_sub(1);
    }
    if if until_final { new_final } else { new_answer } {
        o.new = false;
    }
    if !o.new && o.others == 0 {
        owed.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DetachCause, Side};

    #[test]
    fn a_reused_number_shows_only_this_clients_records_after_its_own_attach() {
        let o = |id| OrderRequest::new(id, 1, Side::Buy, 10.0, 1);
        let rec = |seq: u64, e: Event| EventRecord { seq, ..EventRecord::new(0, e).from_producer(1) };
        // An earlier client of producer 1 with the same process id (ids are reused): its
        // attach, order 1 sent, its detach under `keep`; then this client starts to attach
        // (the journal's end is seq 4), attaches, sends order 2; order 1's late answer comes.
        let journal = [
            rec(1, Event::ClientAttached { pid: 77 }),
            rec(2, Event::Sent { order: o(1), in_oms_ns: 0 }),
            rec(3, Event::Response { order: o(1), response: ResponseType::Accept, round_trip_ns: 1 }),
            rec(4, Event::ClientDetached { pid: 77, cause: DetachCause::Closed, cancel: false }),
            rec(5, Event::ClientAttached { pid: 77 }),
            rec(6, Event::Sent { order: o(2), in_oms_ns: 0 }),
            rec(7, Event::Expired { order: o(1) }),
            rec(8, Event::Response { order: o(2), response: ResponseType::Accept, round_trip_ns: 1 }),
            rec(9, Event::ClientDetached { pid: 77, cause: DetachCause::Closed, cancel: false }),
            rec(10, Event::ClientAttached { pid: 78 }),
            rec(11, Event::Expired { order: o(2) }),
        ];
        let mut mine = Mine::new(1, 77, 4);
        mine.sent(2);
        let shown: Vec<u64> = journal.iter().filter(|r| mine.shows(r)).map(|r| r.seq).collect();
        assert_eq!(shown, [6, 8, 9], "order 2's records and this client's detach, nothing of the others");
    }
}
