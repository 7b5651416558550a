//! `oms decode --format scenario`: a journal as the scenario `oms replay` reads — each request
//! the engine took from a producer's ring (`new`, `modify`, `cancel`, as the producer gave it)
//! and each answer of the exchange (`response`, `fill`, `cancelled`, `replaced`,
//! `cancel_rejected`, `expired`), at its time after the journal's first record, and an
//! `advance` at each logout (a replay stops after its last line), and each `halt` / `resume` of
//! the kill switch. Replayed under
//! the journal's own configuration from that first record's time (the first line says how), it
//! gives the same records; under another configuration it answers "what would this day's flow
//! have done there?".
//!
//! Which record was a request taken is the order fold's call ([`Lifecycle`]): a `sent` is a New
//! taken when it went out at once, and a later fate when it left the queue. So every record
//! goes through [`Scenario::see`], printed or not. The engine's own requests (its cancels at a
//! window's end) are left out: the engine makes them again. What a scenario line cannot hold
//! (a producer past the scenario's 64, a side that is not one printable character, a request of
//! an unknown type) is written
//! as a comment naming the record, never dropped silently.

use super::{push_f64, push_u64};
use crate::lifecycle::{Lifecycle, Step};
use crate::model::{AnswerKind, RequestType, ResponseType};
use crate::record::{ENGINE, Event, EventRecord};
use crate::replay::MAX_SCENARIO_PRODUCERS;

/// The fold and the time origin of one journal's scenario.
#[derive(Debug, Default)]
pub(super) struct Scenario {
    lives: Lifecycle,
    /// What the record last seen was.
    step: Option<Step>,
    /// The first record's time (wall ns): `@0`.
    t0: Option<i64>,
    /// Whether the first line (how to replay it) is written.
    started: bool,
}

impl Scenario {
    /// Folds record `r` (every record, in journal order, before its line).
    pub(super) fn see(&mut self, r: &EventRecord) {
        self.t0.get_or_insert(r.time_ns);
        self.step = Some(self.lives.push(r));
    }

    /// The scenario line of record `r` (the last one seen), if it has one.
    pub(super) fn line(&mut self, out: &mut Vec<u8>, r: &EventRecord) {
        let Some(step) = self.step else { return };
        let e = r.event();
        let verb = if let Step::Took(request) = step {
            Verb::Request(request)
        } else {
            match e {
                Event::Response { response, .. } | Event::UnmatchedResponse { response, .. } => {
                    Verb::Response(response)
                }
                Event::Fill { last_qty, last_px, .. } => Verb::Fill(last_qty, last_px),
                Event::VenueCancelled { .. } => Verb::Word("cancelled"),
                Event::Replaced { .. } => Verb::Word("replaced"),
                Event::CancelRejected { code, .. } => Verb::CancelRejected(code),
                Event::Expired { .. } => Verb::Word("expired"),
                // The replay runs at least this far (its engine stops after the last line): a
                // logout at shutdown comes at the same time.
                Event::Logout => Verb::Bare("advance"),
                // The kill switch, as it was thrown.
                Event::Halted => Verb::Bare("halt"),
                Event::Resumed => Verb::Bare("resume"),
                Event::Reference { symbol, price } => Verb::Reference(symbol, price),
                // An answer that did not fit its order: the exchange gave it all the same.
                Event::UnexpectedReport { answer, qty, price, .. } => match answer {
                    AnswerKind::Fill => Verb::Fill(qty, price),
                    AnswerKind::Cancelled => Verb::Word("cancelled"),
                    AnswerKind::Replaced => Verb::Word("replaced"),
                    AnswerKind::CancelRejected => Verb::CancelRejected(0),
                    AnswerKind::Expired => Verb::Word("expired"),
                    AnswerKind::Response => {
                        return self.comment(
                            out,
                            r,
                            "a first answer that fit no order, of unrecorded verdict",
                        );
                    }
                },
                // The engine's own doing, which the replayed engine does again (later fates of
                // requests, its session, its clock), and what no replay can ask for.
                Event::Logon
                | Event::ClientAttached { .. }
                | Event::ClientDetached { .. }
                | Event::Queued { .. }
                | Event::Sent { .. }
                | Event::Modified { .. }
                | Event::Cancelled { .. }
                | Event::Rejected { .. }
                | Event::Unanswered { .. }
                | Event::ClockStep { .. }
                | Event::Recovered { .. }
                | Event::SyncFailed
                | Event::ExchangeSession(_)
                | Event::Execution { .. }
                | Event::ExchangeReject { .. }
                | Event::CancelQueued { .. }
                | Event::CancelSent { .. }
                | Event::ReplaceQueued { .. }
                | Event::ReplaceSent { .. }
                | Event::Unfit(_) => return,
            }
        };
        if let Verb::Request(_) = verb {
            if r.producer == ENGINE {
                return; // the engine's own cancel: the replayed engine makes it again
            }
            if usize::from(r.producer) >= MAX_SCENARIO_PRODUCERS {
                return self.comment(out, r, "a request of a producer past the scenario's 64");
            }
            if verb == Verb::Request(RequestType::New) && !one_printable(r.side) {
                return self.comment(out, r, "a New whose side is not one printable character");
            }
            if verb == Verb::Request(RequestType::Unknown) {
                return self.comment(out, r, "a request of an unknown type, which no scenario line asks for");
            }
        }
        self.at(out, r);
        match verb {
            Verb::Request(RequestType::New) => {
                out.extend_from_slice(b" new id=");
                push_u64(out, r.order_id);
                out.extend_from_slice(b" sym=");
                super::push_i64(out, r.symbol_id.into());
                out.extend_from_slice(b" side=");
                let mut b = [0; 4];
                out.extend_from_slice(r.side.encode_utf8(&mut b).as_bytes());
                push_order_terms(out, r);
            }
            Verb::Request(RequestType::Modify) => {
                out.extend_from_slice(b" modify id=");
                push_u64(out, r.order_id);
                push_order_terms(out, r);
            }
            // (An unknown type is a comment, above.)
            Verb::Request(RequestType::Cancel | RequestType::Unknown) => {
                out.extend_from_slice(b" cancel id=");
                push_u64(out, r.order_id);
            }
            Verb::Response(response) => {
                out.extend_from_slice(b" response id=");
                push_u64(out, r.order_id);
                out.extend_from_slice(if response == ResponseType::Accept { b" accept" } else { b" reject" });
            }
            Verb::Fill(qty, px) => {
                out.extend_from_slice(b" fill id=");
                push_u64(out, r.order_id);
                out.extend_from_slice(b" qty=");
                push_u64(out, qty);
                out.extend_from_slice(b" px=");
                push_f64(out, px);
            }
            Verb::CancelRejected(code) => {
                out.extend_from_slice(b" cancel_rejected id=");
                push_u64(out, r.order_id);
                out.extend_from_slice(b" code=");
                push_u64(out, code);
            }
            Verb::Bare(word) => {
                out.push(b' ');
                out.extend_from_slice(word.as_bytes());
            }
            Verb::Reference(symbol, price) => {
                out.extend_from_slice(b" reference sym=");
                super::push_i64(out, symbol.into());
                out.extend_from_slice(b" px=");
                push_f64(out, price);
            }
            Verb::Word(word) => {
                out.push(b' ');
                out.extend_from_slice(word.as_bytes());
                out.extend_from_slice(b" id=");
                push_u64(out, r.order_id);
            }
        }
        if let Verb::Request(_) = verb {
            out.extend_from_slice(b" p=");
            push_u64(out, r.producer.into());
        }
        out.push(b'\n');
    }

    /// `@<ms>` of record `r`, after the first line (how to replay the scenario) once.
    fn at(&mut self, out: &mut Vec<u8>, r: &EventRecord) {
        let t0 = self.t0.unwrap_or(r.time_ns);
        if !self.started {
            self.started = true;
            out.extend_from_slice(b"# oms replay THIS --config CONFIG --journal PATH --start ");
            out.extend_from_slice(
                jiff::Timestamp::from_nanosecond(i128::from(t0))
                    .map(|t| t.to_string())
                    .unwrap_or_default()
                    .as_bytes(),
            );
            out.extend_from_slice(b"   (@0 is the journal's first record)\n");
        }
        let ns = r.time_ns.saturating_sub(t0).max(0) as u64;
        out.push(b'@');
        push_u64(out, ns / 1_000_000);
        let frac = ns % 1_000_000;
        if frac != 0 {
            let mut digits = [0; crate::numfmt::U64_DIGITS];
            let six = crate::numfmt::write_u64(&mut digits, frac + 1_000_000);
            let six = &six[1..];
            let keep = six.iter().rposition(|&d| d != b'0').map_or(0, |i| i + 1);
            out.push(b'.');
            out.extend_from_slice(&six[..keep]);
        }
    }

    /// A comment line for record `r`, which a scenario line cannot hold.
    fn comment(&mut self, out: &mut Vec<u8>, r: &EventRecord, why: &str) {
        out.extend_from_slice(b"# seq ");
        push_u64(out, r.seq);
        out.extend_from_slice(b" (");
        out.extend_from_slice(r.kind.name().as_bytes());
        out.extend_from_slice(b" order ");
        push_u64(out, r.order_id);
        out.extend_from_slice(b" p=");
        push_u64(out, r.producer.into());
        out.extend_from_slice(b"): left out, ");
        out.extend_from_slice(why.as_bytes());
        out.push(b'\n');
    }
}

/// What a record's scenario line says.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Verb {
    Request(RequestType),
    Response(ResponseType),
    Fill(u64, f64),
    CancelRejected(u64),
    Word(&'static str),
    /// A verb alone: `advance`, `halt`, `resume`.
    Bare(&'static str),
    /// `reference sym=<i32> px=<f64>`.
    Reference(i32, f64),
}

/// ` px=<price> qty=<qty>` of the request record `r` carries.
fn push_order_terms(out: &mut Vec<u8>, r: &EventRecord) {
    out.extend_from_slice(b" px=");
    push_f64(out, r.price);
    out.extend_from_slice(b" qty=");
    push_u64(out, r.qty);
}

/// Whether `side` can stand as a scenario's `side=` value: one character that is neither
/// blank, a control character nor a comment's `#`.
fn one_printable(side: char) -> bool {
    !side.is_whitespace() && !side.is_control() && side != '#'
}
