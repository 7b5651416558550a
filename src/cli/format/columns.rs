//! Which column of `oms decode` shows what of each record kind (the table in the module docs
//! of [`super`]), from the record's typed view.

use super::{json_str, push_f64, push_u64};
use crate::model::{AnswerKind, FixCode, OrderRequest, OrderState, RejectReason, ResponseType};
use crate::record::{Event, SessionReport};

/// A `latency_ns` cell: a duration, or a clock step's signed ns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Latency {
    Ns(u64),
    Step(i64),
}

/// The optional columns of one record (the table in the module docs): the one place that says
/// which column shows what of each kind. `None` is an empty CSV cell, a JSON `null`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Columns {
    pub(super) order_id: Option<u64>,
    /// The symbol and the side (`'\0'`: the side was not recorded).
    pub(super) symbol: Option<(i32, char)>,
    pub(super) price: Option<f64>,
    pub(super) qty: Option<u64>,
    pub(super) response: Option<ResponseType>,
    pub(super) latency: Option<Latency>,
    pub(super) reason: Option<RejectReason>,
    pub(super) detail: Option<Detail>,
}

impl Columns {
    pub(super) fn of(e: &Event) -> Columns {
        let none = Columns::default();
        let order = |o: &OrderRequest| Columns {
            order_id: Some(o.order_id),
            symbol: Some((o.symbol_id, o.side)),
            price: Some(o.price),
            qty: Some(o.qty),
            ..none
        };
        match *e {
            Event::Logon
            | Event::Logout
            | Event::Halted
            | Event::Resumed
            | Event::SyncFailed
            | Event::Unfit(_) => none,
            Event::ClientAttached { pid } => Columns {
                detail: Some(Detail::words("", [Some(("pid", DetailValue::Num(u64::from(pid)))), None])),
                ..none
            },
            Event::ClientDetached { pid, cause, cancel } => Columns {
                detail: Some(Detail::words(
                    if cancel { "cancel" } else { "keep" },
                    [
                        Some(("pid", DetailValue::Num(u64::from(pid)))),
                        Some(("cause", DetailValue::Name(cause.name()))),
                    ],
                )),
                ..none
            },
            Event::Reference { symbol, price } => {
                Columns { symbol: Some((symbol, '\0')), price: Some(price), ..none }
            }
            Event::Queued { order: o }
            | Event::Modified { order: o }
            | Event::Cancelled { order: o }
            | Event::Unanswered { order: o }
            | Event::CancelQueued { order: o }
            | Event::ReplaceQueued { order: o }
            | Event::Expired { order: o } => order(&o),
            Event::Sent { order: o, in_oms_ns }
            | Event::CancelSent { order: o, in_oms_ns }
            | Event::ReplaceSent { order: o, in_oms_ns } => {
                Columns { latency: Some(Latency::Ns(in_oms_ns)), ..order(&o) }
            }
            Event::Replaced { order: o, round_trip_ns } => {
                Columns { latency: Some(Latency::Ns(round_trip_ns)), ..order(&o) }
            }
            Event::VenueCancelled { order: o, solicited, round_trip_ns } => Columns {
                latency: solicited.then_some(Latency::Ns(round_trip_ns)),
                detail: Some(Detail::words(
                    if solicited { "our_cancel" } else { "by_the_venue" },
                    [None, None],
                )),
                ..order(&o)
            },
            Event::CancelRejected { order: o, request, code } => Columns {
                detail: Some(Detail::words(
                    "refused",
                    [
                        Some(("request", DetailValue::Name(request.name()))),
                        Some(("code", DetailValue::Num(code))),
                    ],
                )),
                ..order(&o)
            },
            Event::Fill { order_id, symbol_id, side, last_qty, last_px, cum_qty, .. } => Columns {
                order_id: Some(order_id),
                symbol: Some((symbol_id, side)),
                price: Some(last_px),
                qty: Some(last_qty),
                detail: Some(Detail::words("", [Some(("cum_qty", DetailValue::Num(cum_qty))), None])),
                ..none
            },
            Event::UnexpectedReport { order_id, answer, state, qty, price } => Columns {
                order_id: Some(order_id),
                price: (answer == AnswerKind::Fill).then_some(price),
                qty: (answer == AnswerKind::Fill).then_some(qty),
                detail: Some(Detail::words(
                    "",
                    [
                        Some(("answer", DetailValue::Name(answer.name()))),
                        Some(("state", DetailValue::Name(state.map_or("not_open", OrderState::name)))),
                    ],
                )),
                ..none
            },
            Event::Rejected { order: o, reason, .. } => Columns { reason: Some(reason), ..order(&o) },
            Event::Response { order: o, response, round_trip_ns } => {
                // A record that kept only the id has no side.
                let kept =
                    if o.side != '\0' { order(&o) } else { Columns { order_id: Some(o.order_id), ..none } };
                Columns { response: Some(response), latency: Some(Latency::Ns(round_trip_ns)), ..kept }
            }
            Event::UnmatchedResponse { order_id, response } => {
                Columns { order_id: Some(order_id), response: Some(response), ..none }
            }
            Event::ClockStep { step_ns } => Columns { latency: Some(Latency::Step(step_ns)), ..none },
            // The counts: open under order_id, queued under qty.
            Event::Recovered { queued, open } => Columns { order_id: Some(open), qty: Some(queued), ..none },
            Event::ExchangeSession(report) => Columns { detail: Some(Detail::session(&report)), ..none },
            Event::Execution { order_id, last_qty, last_px, exec_type, ord_status } => Columns {
                order_id: Some(order_id),
                price: Some(last_px),
                qty: Some(last_qty),
                detail: Some(Detail {
                    first: None,
                    pairs: [
                        Some(("exec_type", DetailValue::Code(exec_type, exec_type.exec_type_name()))),
                        Some(("ord_status", DetailValue::Code(ord_status, ord_status.ord_status_name()))),
                        None,
                    ],
                }),
                ..none
            },
            Event::ExchangeReject { order_id, source, code } => Columns {
                order_id: Some(order_id),
                detail: Some(Detail {
                    first: None,
                    pairs: [
                        Some(("source", DetailValue::Name(source.name()))),
                        Some(("code", DetailValue::Num(code))),
                        None,
                    ],
                }),
                ..none
            },
        }
    }
}

/// A value in an exchange record's detail.
#[derive(Clone, Copy, Debug, PartialEq)]
enum DetailValue {
    /// A snake_case name (an event, a cause, a source).
    Name(&'static str),
    /// A number.
    Num(u64),
    /// A number that may have a fraction (a risk limit, the value it refused).
    Real(f64),
    /// A one-letter FIX value; the name is its meaning (for text), if known.
    Code(FixCode, Option<&'static str>),
}

/// An exchange record's detail, as printed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Detail {
    /// The first word: the event's name (`exchange_session`).
    first: Option<&'static str>,
    /// Up to three `key=value` pairs.
    pairs: [Option<(&'static str, DetailValue)>; 3],
}

impl Detail {
    /// A risk limit's refusal: the limit (the journal's configuration's, if it has one) and the
    /// value it refused (if the record has one: 0 is none).
    pub(super) fn limit(limit: Option<f64>, value: f64) -> Option<Detail> {
        let pairs = [
            limit.map(|l| ("limit", DetailValue::Real(l))),
            (value != 0.0).then_some(("value", DetailValue::Real(value))),
        ];
        (pairs[0].is_some() || pairs[1].is_some()).then(|| Detail::words("", pairs))
    }

    /// A first word (none if empty) and up to two pairs.
    fn words(first: &'static str, pairs: [Option<(&'static str, DetailValue)>; 2]) -> Detail {
        Detail { first: (!first.is_empty()).then_some(first), pairs: [pairs[0], pairs[1], None] }
    }

    fn session(report: &SessionReport) -> Detail {
        use DetailValue::{Name, Num};
        let pairs = match *report {
            SessionReport::LoggedOn { next_out_seq, next_in_seq } => {
                [Some(("next_out_seq", Num(next_out_seq))), Some(("next_in_seq", Num(next_in_seq))), None]
            }
            SessionReport::LogonRefused { retry_in_ns } => {
                [Some(("retry_in_ns", Num(retry_in_ns))), None, None]
            }
            SessionReport::Disconnected { cause, retry_in_ns } => {
                [Some(("cause", Name(cause.name()))), Some(("retry_in_ns", Num(retry_in_ns))), None]
            }
            SessionReport::LoggedOut => [None, None, None],
            SessionReport::ResendRequested { begin, end } => {
                [Some(("begin", Num(begin))), Some(("end", Num(end))), None]
            }
            SessionReport::GapFilled { begin, new_seq } => {
                [Some(("begin", Num(begin))), Some(("new_seq", Num(new_seq))), None]
            }
            SessionReport::SequenceReset { new_seq } => [Some(("new_seq", Num(new_seq))), None, None],
            SessionReport::SessionRejected { ref_seq, code } => {
                [Some(("ref_seq", Num(ref_seq))), Some(("code", Num(code))), None]
            }
            SessionReport::Unhandled { seq } => [Some(("seq", Num(seq))), None, None],
        };
        Detail { first: Some(report.event().name()), pairs }
    }

    /// The detail as words (`logged_on next_out_seq=5 ...`); `meanings` adds a FIX code's
    /// meaning in parentheses (text).
    pub(super) fn push_words(&self, out: &mut Vec<u8>, meanings: bool) {
        let mut sep = false;
        if let Some(word) = self.first {
            out.extend_from_slice(word.as_bytes());
            sep = true;
        }
        for (key, value) in self.pairs.into_iter().flatten() {
            if sep {
                out.push(b' ');
            }
            sep = true;
            out.extend_from_slice(key.as_bytes());
            out.push(b'=');
            match value {
                DetailValue::Name(n) => out.extend_from_slice(n.as_bytes()),
                DetailValue::Num(n) => push_u64(out, n),
                DetailValue::Real(v) => push_f64(out, v),
                DetailValue::Code(c, meaning) => {
                    match c.char() {
                        Some(ch) => out.push(ch as u8),
                        None => out.extend_from_slice(b"absent"),
                    }
                    if let (true, Some(m)) = (meanings, meaning) {
                        out.push(b'(');
                        out.extend_from_slice(m.as_bytes());
                        out.push(b')');
                    }
                }
            }
        }
    }

    /// The detail as a JSON object: `{"event":"logged_on","next_out_seq":5,...}`.
    pub(super) fn push_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        let mut sep = false;
        if let Some(word) = self.first {
            out.extend_from_slice(b"\"event\":");
            json_str(out, |o| o.extend_from_slice(word.as_bytes()));
            sep = true;
        }
        for (key, value) in self.pairs.into_iter().flatten() {
            if sep {
                out.push(b',');
            }
            sep = true;
            json_str(out, |o| o.extend_from_slice(key.as_bytes()));
            out.push(b':');
            match value {
                DetailValue::Name(n) => json_str(out, |o| o.extend_from_slice(n.as_bytes())),
                DetailValue::Num(n) => push_u64(out, n),
                DetailValue::Real(v) if v.is_finite() => push_f64(out, v),
                DetailValue::Real(v) => json_str(out, |o| push_f64(o, v)),
                DetailValue::Code(c, _) => match c.char() {
                    // Printable ASCII: '"' and '\\' need escaping.
                    Some(ch @ ('"' | '\\')) => json_str(out, |o| o.extend_from_slice(&[b'\\', ch as u8])),
                    Some(ch) => json_str(out, |o| o.push(ch as u8)),
                    None => out.extend_from_slice(b"null"),
                },
            }
        }
        out.push(b'}');
    }
}
