//! The requests `oms run` feeds to the engine: `--orders FILE`, read and checked whole before
//! anything starts, or `--orders -`, standard input a line at a time as it arrives. Both are the
//! scenario format of `oms replay` (`docs/scenario-format.md`): `new`, `modify`, `cancel` and
//! `advance`, each `@<ms>` counted from the start of the run and executed at that real time (a
//! line whose time has passed runs at once). `response` lines are refused: the exchange
//! answers. A file is checked whole: every bad line is reported at once (the first
//! [`MAX_LISTED`], then how many more), and nothing starts. On standard input a bad line ends the
//! input, as its end would: nothing is taken from it or after it, and the lines before it run
//! their course (those not yet due are handed over at their times).

use std::collections::VecDeque;
use std::io::BufRead;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};

use crate::replay::{Action, MAX_SCENARIO_PRODUCERS, ScenarioEvent, Verbs, parse_scenario_line_for};
use crate::ring::Producer;

use super::taken::Taken;

/// Name of standard input in messages.
const STDIN: &str = "<stdin>";

/// Bad lines of an orders file listed one by one; past these, only counted.
const MAX_LISTED: usize = 20;

/// A line from the standard-input reader thread.
enum Line {
    Event(ScenarioEvent),
    Bad { line: usize, message: String },
    End,
}

/// What [`Input::feed`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Feed {
    /// Everything due is handed over; the next line is due at this many ns after the start.
    Wait(u64),
    /// A producer ring is full: try again shortly.
    Full,
    /// Nothing is due and nothing more has arrived yet (standard input).
    Idle,
    /// The input has ended and everything was handed over.
    Done,
}

/// The orders input of a run.
pub(super) struct Input {
    name: String,
    pending: VecDeque<ScenarioEvent>,
    stdin: Option<Receiver<Line>>,
    producers: usize,
    last_ns: u64,
    /// The bad line that ended standard input, until the run takes the message.
    bad: Option<String>,
    /// The engine's kill switch, for `halt` and `resume` lines (and `reference` lines).
    switch: Option<crate::engine::HaltSwitch>,
}

impl Input {
    /// Opens `--orders` (`None`: no input). Reads and checks a whole file now. Errors are
    /// messages naming the file (and line).
    pub(super) fn open(orders: Option<&Path>, producers: Option<usize>) -> Result<Input, String> {
        if let Some(n) = producers
            && !(1..=MAX_SCENARIO_PRODUCERS).contains(&n)
        {
            return Err(format!("--producers {n}: between 1 and {MAX_SCENARIO_PRODUCERS}"));
        }
        let mut input = Input {
            name: String::new(),
            pending: VecDeque::new(),
            stdin: None,
            producers: 1,
            last_ns: 0,
            bad: None,
            switch: None,
        };
        match orders {
            None => input.producers = producers.unwrap_or(1),
            Some(p) if p.as_os_str() == "-" => {
                input.name = STDIN.into();
                input.producers = producers.unwrap_or(1);
                input.stdin = Some(read_stdin());
            }
            Some(path) => {
                input.name = path.display().to_string();
                let text = read_text(path)?;
                let mut bad = Vec::new();
                let mut events = Vec::new();
                for (i, raw) in text.lines().enumerate() {
                    match parse_scenario_line_for(raw, i + 1, Verbs::Requests) {
                        Ok(Some(ev)) => events.push(ev),
                        Ok(None) => {}
                        Err(e) => bad.push((e.line, e.message)),
                    }
                }
                let used = events.iter().filter_map(|e| match e.action {
                    Action::Request { producer, .. } => Some(producer + 1),
                    Action::Answer(_)
                    | Action::Advance
                    | Action::Halt
                    | Action::Resume
                    | Action::Reference { .. } => None,
                });
                input.producers = producers.unwrap_or_else(|| used.max().unwrap_or(1));
                for ev in &events {
                    if let Err(message) = input.check(ev) {
                        bad.push((ev.line, message));
                    }
                }
                if !bad.is_empty() {
                    bad.sort_by_key(|(line, _)| *line);
                    return Err(bad_lines(&input.name, &bad));
                }
                input.pending = events.into();
            }
        }
        Ok(input)
    }

    /// The engine's kill switch: `halt` and `resume` lines work it at their times.
    pub(super) fn set_switch(&mut self, switch: crate::engine::HaltSwitch) {
        self.switch = Some(switch);
    }

    /// The engine's kill switch, once set.
    pub(super) fn halt_switch(&self) -> Option<&crate::engine::HaltSwitch> {
        self.switch.as_ref()
    }

    /// Producer rings the run needs.
    pub(super) fn producers(&self) -> usize {
        self.producers
    }

    /// Whether the orders come from a file (not standard input, not none).
    pub(super) fn is_file(&self) -> bool {
        self.stdin.is_none() && !self.name.is_empty()
    }

    /// Drops the request lines of an orders file that the journal being recovered shows the
    /// engine took already, so that running the same command again after a crash hands none of
    /// them over twice: per producer, the leading lines that match, in order, the requests it
    /// took from that producer (`taken`). The first line that does not match, and every line
    /// after it, is handed over (the requests still in a ring at the crash among them: they
    /// were never taken). Standard input is left alone: what comes in is new. Returns a line
    /// for people on what was dropped, if anything was taken.
    pub(super) fn skip_taken(&mut self, taken: &Taken) -> Option<String> {
        if !self.is_file() {
            return None;
        }
        let by = &taken.by_producer;
        let mut next = vec![0usize; by.len()];
        let mut first_kept: Vec<Option<usize>> = vec![None; by.len()];
        self.pending.retain(|ev| {
            let Action::Request { producer: p, request, order } = ev.action else { return true };
            let Some(list) = by.get(p) else { return true };
            if first_kept[p].is_none() && list.get(next[p]) == Some(&(request, order.order_id)) {
                next[p] += 1;
                return false;
            }
            first_kept[p].get_or_insert(ev.line);
            true
        });
        let total: usize = by.iter().map(Vec::len).sum();
        if total == 0 {
            return None;
        }
        let mut msg = format!(
            "{}: {} request line(s) the journal shows taken are not handed over again",
            self.name,
            next.iter().sum::<usize>()
        );
        for (p, list) in by.iter().enumerate().filter(|(p, l)| next[*p] < l.len()) {
            let from = first_kept[p].map_or("the end of the file".to_string(), |l| format!("line {l}"));
            msg += &format!(
                "; p={p}: the journal shows {} taken, the file's first {} match (it differs from {from})",
                list.len(),
                next[p]
            );
        }
        Some(msg)
    }

    /// Whether the input has ended and every line was handed over.
    pub(super) fn ended(&self) -> bool {
        self.stdin.is_none() && self.pending.is_empty()
    }

    /// Hands over every line due `elapsed_ns` after the start, in order. A bad line on standard
    /// input ends the input there ([`take_bad`](Input::take_bad) tells it); the lines before it
    /// are handed over at their times. `Err` only if a line names a ring the run does not have
    /// (a bug: [`check`](Input::check) bounds them).
    pub(super) fn feed(&mut self, elapsed_ns: u64, producers: &mut [Producer]) -> Result<Feed, String> {
        self.receive();
        self.hand_over(elapsed_ns, producers)
    }

    /// The bad line that ended standard input (`<stdin>:LINE: what`), once.
    pub(super) fn take_bad(&mut self) -> Option<String> {
        self.bad.take()
    }

    fn hand_over(&mut self, elapsed_ns: u64, producers: &mut [Producer]) -> Result<Feed, String> {
        while let Some(ev) = self.pending.front() {
            if ev.at_ns > elapsed_ns {
                return Ok(Feed::Wait(ev.at_ns));
            }
            match ev.action {
                Action::Halt | Action::Resume => {
                    if let Some(switch) = &self.switch {
                        if ev.action == Action::Halt { switch.halt() } else { switch.resume() }
                    }
                }
                Action::Reference { symbol, price } => {
                    if let Some(switch) = &self.switch {
                        match switch.set_reference(symbol, price) {
                            Ok(()) => {}
                            // 256 wait for the engine's next turn: try again shortly.
                            Err(crate::model::RejectReason::QueueFull) => return Ok(Feed::Full),
                            Err(reason) => {
                                return Err(format!(
                                    "{}:{}: reference refused {}",
                                    self.name,
                                    ev.line,
                                    reason.name()
                                ));
                            }
                        }
                    }
                }
                Action::Request { .. } | Action::Answer(_) | Action::Advance => {}
            }
            if let Action::Request { producer, request, order } = ev.action {
                // `check` bounds `producer`; a missing ring would be a bug, not a lost line.
                let Some(ring) = producers.get_mut(producer) else {
                    return Err(format!("{}:{}: no producer ring {producer}", self.name, ev.line));
                };
                if ring.on_data(order, request).is_err() {
                    return Ok(Feed::Full);
                }
            }
            self.pending.pop_front();
        }
        Ok(if self.ended() { Feed::Done } else { Feed::Idle })
    }

    /// Takes the lines standard input has delivered so far; a bad one ends the input.
    fn receive(&mut self) {
        loop {
            let Some(rx) = &self.stdin else { return };
            let bad = match rx.try_recv() {
                Ok(Line::Event(ev)) => match self.check(&ev) {
                    Ok(()) => {
                        self.pending.push_back(ev);
                        continue;
                    }
                    Err(message) => (ev.line, message),
                },
                Ok(Line::Bad { line, message }) => (line, message),
                Ok(Line::End) | Err(TryRecvError::Disconnected) => {
                    self.stdin = None;
                    return;
                }
                Err(TryRecvError::Empty) => return,
            };
            // Dropping the receiver stops the reader thread at its next line.
            self.stdin = None;
            self.bad = Some(format!("{STDIN}:{}: {}", bad.0, bad.1));
            return;
        }
    }

    /// What `oms run` refuses in a line that parses: an answer (`response`, `fill`, ...), a
    /// producer it has no ring for, a time before the previous line's. The message does not
    /// name the line.
    fn check(&mut self, ev: &ScenarioEvent) -> Result<(), String> {
        match ev.action {
            Action::Answer(_) => {
                return Err(
                    "answer lines (`response`, `fill`, ...) are not taken by `oms run`: the exchange answers"
                        .into(),
                );
            }
            Action::Request { producer, .. } if producer >= self.producers => {
                let n = self.producers;
                return Err(format!(
                    "p={producer}, but this run has {n} producer ring(s), p=0..{} (--producers N for more)",
                    n - 1
                ));
            }
            Action::Request { .. }
            | Action::Advance
            | Action::Halt
            | Action::Resume
            | Action::Reference { .. } => {}
        }
        if ev.at_ns < self.last_ns {
            return Err(format!(
                "time goes backwards: @{} ms is before the previous line's @{} ms",
                ev.at_ns as f64 / 1e6,
                self.last_ns as f64 / 1e6
            ));
        }
        self.last_ns = ev.at_ns;
        Ok(())
    }
}

/// The message for the bad lines of file `name` (sorted by line): one line for one, else a
/// count and the first [`MAX_LISTED`], one a line.
fn bad_lines(name: &str, bad: &[(usize, String)]) -> String {
    if let [(line, message)] = bad {
        return format!("{name}:{line}: {message}");
    }
    let mut out = format!("{name}: {} bad lines; nothing was started:", bad.len());
    for (line, message) in bad.iter().take(MAX_LISTED) {
        out += &format!("\n  {name}:{line}: {message}");
    }
    if bad.len() > MAX_LISTED {
        out += &format!("\n  ... and {} more", bad.len() - MAX_LISTED);
    }
    out
}

/// Reads `path` as UTF-8; a bad byte is reported with its line.
fn read_text(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid].iter().filter(|b| **b == b'\n').count() + 1;
        format!("{}:{line}: not UTF-8 text", path.display())
    })
}

/// Starts a thread that parses standard input a line at a time as it arrives. It stops at the
/// first malformed line (reporting it) or at the end of the input.
fn read_stdin() -> Receiver<Line> {
    let (tx, rx) = sync_channel::<Line>(1024);
    let spawned = std::thread::Builder::new().name("oms-run-stdin".into()).spawn(move || stdin_lines(&tx));
    if let Err(e) = spawned {
        // The receiver then reports the input as ended: say why.
        eprintln!("oms run: cannot start the standard-input reader: {e}");
    }
    rx
}

fn stdin_lines(tx: &SyncSender<Line>) {
    let mut lock = std::io::stdin().lock();
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        buf.clear();
        line += 1;
        let sent = match lock.read_until(b'\n', &mut buf) {
            Ok(0) => {
                let _ = tx.send(Line::End);
                return;
            }
            Ok(_) => match std::str::from_utf8(&buf) {
                Ok(text) => {
                    match parse_scenario_line_for(text.trim_end_matches(['\n', '\r']), line, Verbs::Requests)
                    {
                        Ok(Some(ev)) => tx.send(Line::Event(ev)),
                        Ok(None) => Ok(()),
                        Err(e) => {
                            let _ = tx.send(Line::Bad { line, message: e.message });
                            return;
                        }
                    }
                }
                Err(_) => {
                    let _ = tx.send(Line::Bad { line, message: "not UTF-8 text".into() });
                    return;
                }
            },
            Err(e) => {
                let _ = tx.send(Line::Bad { line, message: format!("cannot read: {e}") });
                return;
            }
        };
        if sent.is_err() {
            return; // the run has stopped listening
        }
    }
}
