//! Record formatting for `oms decode` / `oms tail`: text, CSV and JSON lines.
//!
//! Lines are appended to a `Vec<u8>` with hand-written integer and time formatting (no
//! `format!` per field): `oms decode --format csv` has to keep up with millions of records per
//! second. Times: CSV and JSONL use RFC 3339 in UTC with nanoseconds
//! (`2024-01-02T04:30:00.000001000Z`); text uses the session's time zone from the journal
//! header.
//!
//! Which fields apply to which kind (empty CSV cell / JSON `null` otherwise):
//!
//! | kind | order_id | symbol, side | price, qty | response | latency_ns | reason | detail |
//! |------|:-:|:-:|:-:|:-:|:-:|:-:|:-:|
//! | `logon`, `logout` | | | | | | | |
//! | `queued`, `modified`, `cancelled`, `unanswered` | ✓ | ✓ | ✓ | | | | |
//! | `sent` | ✓ | ✓ | ✓ | | ✓ (time inside the OMS) | | |
//! | `rejected` | ✓ | ✓ | ✓ | | | ✓ | |
//! | `response` | ✓ | ✓ if recorded (side ≠ 0) | ✓ if recorded | ✓ | ✓ (round trip) | | |
//! | `unmatched_response` | ✓ | | | ✓ | | | |
//! | `clock_step` | | | | | ✓ (the step, signed) | | |
//! | `recovered` | ✓ (orders restored in flight) | | only `qty` (orders restored to the queue) | | | | |
//! | `sync_failed` | | | | | | | |
//! | `exchange_session` | | | | | | | ✓ |
//! | `execution` | ✓ | | ✓ (LastPx, LastQty) | | | | ✓ |
//! | `exchange_reject` | ✓ | | | | | | ✓ |
//!
//! `side` is also empty whenever it is not recorded (`'\0'`). `producer` (text: `p=N`) is the
//! index of the producer whose request the event answers; it is empty for the engine's own events
//! (logon, logout, clock_step, recovered, the exchange kinds) and the writer's (sync_failed). Text
//! shows a `recovered` record as `recovered queued=Q in_flight=F`.
//!
//! `detail` says what an exchange record reports, as `key=value` words separated by spaces in
//! CSV and text (no commas, no quotes), and as an object in JSONL:
//!
//! | record | detail (CSV) |
//! |---|---|
//! | `exchange_session` | the event, then its numbers: `logged_on next_out_seq=5 next_in_seq=3`, `logon_refused retry_in_ns=500000000`, `disconnected cause=peer_closed retry_in_ns=500000000`, `logged_out`, `resend_requested begin=7 end=0`, `gap_filled begin=4 new_seq=9`, `sequence_reset new_seq=12`, `session_rejected ref_seq=8 code=5`, `unhandled seq=14` |
//! | `execution` | `exec_type=F ord_status=2` (FIX ExecType 150 and OrdStatus 39; text adds their meaning: `exec_type=F(trade)`) |
//! | `exchange_reject` | `source=business_reject code=2` (session_reject, business_reject, gap_filled, not_sent; the counterparty's SessionRejectReason 373 or BusinessRejectReason 380) |

use std::io::Write;

use jiff::tz::TimeZone;

use crate::model::{EventKind, FixCode, OrderRequest, RejectReason, ResponseType};
use crate::record::{ENGINE, Event, EventRecord, SessionReport};

/// The exact CSV header line.
pub const CSV_HEADER: &str =
    "seq,time,kind,order_id,symbol,side,price,qty,response,latency_ns,reason,producer,detail";

/// Output format of `decode` and `tail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One readable line per event, times in the session's time zone, latencies in µs.
    Text,
    /// CSV with the header `seq,time,kind,order_id,symbol,side,price,qty,response,latency_ns,reason,producer,detail`.
    Csv,
    /// One JSON object per line, with the CSV column names as keys.
    Jsonl,
}

/// A `latency_ns` cell: a duration, or a clock step's signed ns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Latency {
    Ns(u64),
    Step(i64),
}

/// The optional columns of one record (the table in the module docs): the one place that says
/// which column shows what of each kind. `None` is an empty CSV cell, a JSON `null`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Columns {
    order_id: Option<u64>,
    /// The symbol and the side (`'\0'`: the side was not recorded).
    symbol: Option<(i32, char)>,
    price: Option<f64>,
    qty: Option<u64>,
    response: Option<ResponseType>,
    latency: Option<Latency>,
    reason: Option<RejectReason>,
    detail: Option<Detail>,
}

impl Columns {
    fn of(e: &Event) -> Columns {
        let none = Columns::default();
        let order = |o: &OrderRequest| Columns {
            order_id: Some(o.order_id),
            symbol: Some((o.symbol_id, o.side)),
            price: Some(o.price),
            qty: Some(o.qty),
            ..none
        };
        match *e {
            Event::Logon | Event::Logout | Event::SyncFailed | Event::Unfit(_) => none,
            Event::Queued { order: o }
            | Event::Modified { order: o }
            | Event::Cancelled { order: o }
            | Event::Unanswered { order: o } => order(&o),
            Event::Sent { order: o, in_oms_ns } => {
                Columns { latency: Some(Latency::Ns(in_oms_ns)), ..order(&o) }
            }
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
            // The counts: in flight under order_id, queued under qty.
            Event::Recovered { queued, in_flight } => {
                Columns { order_id: Some(in_flight), qty: Some(queued), ..none }
            }
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DetailValue {
    /// A snake_case name (an event, a cause, a source).
    Name(&'static str),
    /// A number.
    Num(u64),
    /// A one-letter FIX value; the name is its meaning (for text), if known.
    Code(FixCode, Option<&'static str>),
}

/// An exchange record's detail, as printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Detail {
    /// The first word: the event's name (`exchange_session`).
    first: Option<&'static str>,
    /// Up to three `key=value` pairs.
    pairs: [Option<(&'static str, DetailValue)>; 3],
}

impl Detail {
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
    fn push_words(&self, out: &mut Vec<u8>, meanings: bool) {
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
    fn push_json(&self, out: &mut Vec<u8>) {
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

/// Whether record `r` is about order `id` (`oms decode --order`): not for the engine's own
/// records, whose `order_id` is 0 or, in a `recovered` record, a count.
pub fn about_order(r: &EventRecord, id: u64) -> bool {
    r.event().order_id() == Some(id)
}

/// Formats records; keeps per-journal state (time zone, cached date).
#[derive(Debug)]
pub struct Formatter {
    format: Format,
    tz: TimeZone,
    day: i64,
    date: [u8; 10],
}

impl Formatter {
    /// A formatter for `format` whose text lines show times in `timezone` (the IANA name in the
    /// journal header). An unknown name is an error; [`Formatter::utc`] is the fallback.
    pub fn new(format: Format, timezone: &str) -> Result<Formatter, jiff::Error> {
        Ok(Formatter::with_zone(format, TimeZone::get(timezone)?))
    }

    /// A formatter whose text lines show UTC.
    pub fn utc(format: Format) -> Formatter {
        Formatter::with_zone(format, TimeZone::UTC)
    }

    fn with_zone(format: Format, tz: TimeZone) -> Formatter {
        Formatter { format, tz, day: i64::MIN, date: [0; 10] }
    }

    /// Appends the header line, if the format has one.
    pub fn header(&self, out: &mut Vec<u8>) {
        if self.format == Format::Csv {
            out.extend_from_slice(CSV_HEADER.as_bytes());
            out.push(b'\n');
        }
    }

    /// Appends one line for `r`.
    pub fn line(&mut self, out: &mut Vec<u8>, r: &EventRecord) {
        match self.format {
            Format::Csv => self.csv(out, r),
            Format::Jsonl => self.jsonl(out, r),
            Format::Text => self.text(out, r),
        }
    }

    fn csv(&mut self, out: &mut Vec<u8>, r: &EventRecord) {
        let c = Columns::of(&r.event());
        push_u64(out, r.seq);
        out.push(b',');
        self.push_utc(out, r.time_ns);
        out.push(b',');
        push_kind(out, r.kind);
        out.push(b',');
        if let Some(id) = c.order_id {
            push_u64(out, id);
        }
        out.push(b',');
        if let Some((symbol, side)) = c.symbol {
            push_i64(out, symbol.into());
            out.push(b',');
            push_side_csv(out, side);
        } else {
            out.push(b',');
        }
        out.push(b',');
        if let Some(price) = c.price {
            push_f64(out, price);
        }
        out.push(b',');
        if let Some(qty) = c.qty {
            push_u64(out, qty);
        }
        out.push(b',');
        if let Some(response) = c.response {
            push_response(out, response);
        }
        out.push(b',');
        if let Some(latency) = c.latency {
            push_latency(out, latency);
        }
        out.push(b',');
        if let Some(reason) = c.reason {
            push_reason(out, reason);
        }
        out.push(b',');
        if r.producer != ENGINE {
            push_u64(out, r.producer.into());
        }
        out.push(b',');
        if let Some(detail) = &c.detail {
            detail.push_words(out, false);
        }
        out.push(b'\n');
    }

    fn jsonl(&mut self, out: &mut Vec<u8>, r: &EventRecord) {
        let c = Columns::of(&r.event());
        out.extend_from_slice(b"{\"seq\":");
        push_u64(out, r.seq);
        out.extend_from_slice(b",\"time\":\"");
        self.push_utc(out, r.time_ns);
        out.extend_from_slice(b"\",\"kind\":");
        json_str(out, |o| push_kind(o, r.kind));
        out.extend_from_slice(b",\"order_id\":");
        json_or_null(out, c.order_id, push_u64);
        out.extend_from_slice(b",\"symbol\":");
        json_or_null(out, c.symbol.map(|(symbol, _)| i64::from(symbol)), push_i64);
        out.extend_from_slice(b",\"side\":");
        match c.symbol {
            Some((_, side)) if side != '\0' => {
                let mut b = [0u8; 4];
                let s = serde_json::to_string(side.encode_utf8(&mut b) as &str).unwrap_or_default();
                out.extend_from_slice(s.as_bytes());
            }
            _ => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"price\":");
        json_or_null(out, c.price, |o, price| {
            if price.is_finite() {
                push_f64(o, price);
            } else {
                // NaN and infinities are not JSON numbers.
                json_str(o, |o| push_f64(o, price));
            }
        });
        out.extend_from_slice(b",\"qty\":");
        json_or_null(out, c.qty, push_u64);
        out.extend_from_slice(b",\"response\":");
        json_or_null(out, c.response, |o, v| json_str(o, |o| push_response(o, v)));
        out.extend_from_slice(b",\"latency_ns\":");
        json_or_null(out, c.latency, push_latency);
        out.extend_from_slice(b",\"reason\":");
        json_or_null(out, c.reason, |o, v| json_str(o, |o| push_reason(o, v)));
        out.extend_from_slice(b",\"producer\":");
        json_or_null(out, (r.producer != ENGINE).then_some(u64::from(r.producer)), push_u64);
        out.extend_from_slice(b",\"detail\":");
        json_or_null(out, c.detail, |o, d| d.push_json(o));
        out.extend_from_slice(b"}\n");
    }

    fn text(&mut self, out: &mut Vec<u8>, r: &EventRecord) {
        let e = r.event();
        let c = Columns::of(&e);
        out.push(b'#');
        push_u64(out, r.seq);
        out.push(b' ');
        self.push_local(out, r.time_ns);
        out.push(b' ');
        push_kind(out, r.kind);
        if let Event::Rejected { request, .. } = e {
            out.push(b' ');
            out.extend_from_slice(request.name().as_bytes());
        }
        if let Event::Recovered { queued, in_flight } = e {
            out.extend_from_slice(b" queued=");
            push_u64(out, queued);
            out.extend_from_slice(b" in_flight=");
            push_u64(out, in_flight);
        } else if let Some(id) = c.order_id {
            out.extend_from_slice(b" order=");
            push_u64(out, id);
        }
        if let Some((symbol, side)) = c.symbol {
            out.extend_from_slice(b" sym=");
            push_i64(out, symbol.into());
            if side != '\0' {
                out.push(b' ');
                if side.is_control() {
                    let _ = write!(out, "side=U+{:04X}", u32::from(side));
                } else {
                    let mut b = [0u8; 4];
                    out.extend_from_slice(side.encode_utf8(&mut b).as_bytes());
                }
            }
        }
        if let (Some(price), Some(qty), false) = (c.price, c.qty, matches!(e, Event::Recovered { .. })) {
            out.push(b' ');
            push_u64(out, qty);
            out.push(b'@');
            push_f64(out, price);
        }
        if let Some(response) = c.response {
            out.push(b' ');
            push_response(out, response);
        }
        match c.latency {
            Some(Latency::Step(step)) => {
                out.extend_from_slice(if step < 0 { b" step=-" } else { b" step=+" });
                push_us(out, step.unsigned_abs());
            }
            Some(Latency::Ns(ns)) => {
                out.extend_from_slice(if matches!(e, Event::Sent { .. }) {
                    b" in_oms="
                } else {
                    b" latency="
                });
                push_us(out, ns);
            }
            None => {}
        }
        if let Some(reason) = c.reason {
            out.extend_from_slice(b" reason=");
            push_reason(out, reason);
        }
        if let Some(detail) = &c.detail {
            out.push(b' ');
            detail.push_words(out, true);
        }
        if r.producer != ENGINE {
            out.extend_from_slice(b" p=");
            push_u64(out, r.producer.into());
        }
        out.push(b'\n');
    }

    /// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
    fn push_utc(&mut self, out: &mut Vec<u8>, ns: i64) {
        self.push_civil(out, ns, b'T');
        out.push(b'Z');
    }

    /// `YYYY-MM-DD HH:MM:SS.nnnnnnnnn+05:30` in the session's time zone.
    fn push_local(&mut self, out: &mut Vec<u8>, ns: i64) {
        let offset =
            jiff::Timestamp::from_nanosecond(ns as i128).map(|t| self.tz.to_offset(t).seconds()).unwrap_or(0);
        self.push_civil(out, ns.saturating_add(offset as i64 * 1_000_000_000), b' ');
        out.push(if offset < 0 { b'-' } else { b'+' });
        let o = offset.unsigned_abs();
        push2(out, o / 3600);
        out.push(b':');
        push2(out, o / 60 % 60);
    }

    fn push_civil(&mut self, out: &mut Vec<u8>, ns: i64, sep: u8) {
        let secs = ns.div_euclid(1_000_000_000);
        let frac = ns.rem_euclid(1_000_000_000) as u32;
        let day = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        if day != self.day {
            let (y, m, d) = civil_from_days(day);
            let mut b = Vec::with_capacity(10);
            let _ = write!(b, "{y:04}-{m:02}-{d:02}");
            self.date = [0; 10];
            let n = b.len().min(10);
            self.date[..n].copy_from_slice(&b[..n]);
            self.day = day;
        }
        out.extend_from_slice(&self.date);
        out.push(sep);
        push2(out, sod / 3600);
        out.push(b':');
        push2(out, sod / 60 % 60);
        out.push(b':');
        push2(out, sod % 60);
        out.push(b'.');
        let mut b = [b'0'; 9];
        let mut f = frac;
        for i in (0..9).rev() {
            b[i] = b'0' + (f % 10) as u8;
            f /= 10;
        }
        out.extend_from_slice(&b);
    }
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian; H. Hinnant).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn push2(out: &mut Vec<u8>, v: u32) {
    out.push(b'0' + (v / 10 % 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

/// Decimal digits of `v`.
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut b = [0u8; 20];
    let mut i = b.len();
    loop {
        i -= 1;
        b[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&b[i..]);
}

fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(out, v.unsigned_abs());
}

/// A `latency_ns` cell in ns (a clock step signed).
fn push_latency(out: &mut Vec<u8>, latency: Latency) {
    match latency {
        Latency::Ns(ns) => push_u64(out, ns),
        Latency::Step(step) => push_i64(out, step),
    }
}

/// Shortest round-trip decimal (`101.25`, `100`, `NaN`, `inf`).
fn push_f64(out: &mut Vec<u8>, v: f64) {
    let _ = write!(out, "{v}");
}

/// Nanoseconds as microseconds with three decimals and the unit (`512.300µs`).
fn push_us(out: &mut Vec<u8>, ns: u64) {
    push_u64(out, ns / 1000);
    out.push(b'.');
    let f = ns % 1000;
    out.push(b'0' + (f / 100) as u8);
    out.push(b'0' + (f / 10 % 10) as u8);
    out.push(b'0' + (f % 10) as u8);
    out.extend_from_slice("µs".as_bytes());
}

fn push_kind(out: &mut Vec<u8>, kind: EventKind) {
    out.extend_from_slice(kind.name().as_bytes());
}

fn push_reason(out: &mut Vec<u8>, reason: RejectReason) {
    out.extend_from_slice(reason.name().as_bytes());
}

fn push_response(out: &mut Vec<u8>, response: ResponseType) {
    out.extend_from_slice(response.name().as_bytes());
}

/// Writes a JSON value with `f` when the column has one, `null` otherwise.
fn json_or_null<T>(out: &mut Vec<u8>, value: Option<T>, f: impl FnOnce(&mut Vec<u8>, T)) {
    match value {
        Some(v) => f(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

/// A JSON string made by `f` (which writes only `[a-z_0-9]`).
fn json_str(out: &mut Vec<u8>, f: impl FnOnce(&mut Vec<u8>)) {
    out.push(b'"');
    f(out);
    out.push(b'"');
}

fn push_side_csv(out: &mut Vec<u8>, side: char) {
    match side {
        '\0' => {}
        ',' | '"' | '\n' | '\r' => {
            out.push(b'"');
            if side == '"' {
                out.extend_from_slice(b"\"\"");
            } else {
                out.push(side as u8);
            }
            out.push(b'"');
        }
        c => {
            let mut b = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DisconnectCause, RejectSource, RequestType, Side};

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_724), (2024, 1, 2));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn csv_and_text_lines() {
        let o = OrderRequest::new(42, 7, Side::Sell, 101.25, 300);
        let r = EventRecord::new(1_704_169_800_000_001_000, Event::Sent { order: o, in_oms_ns: 1234 });
        let mut r = r.from_producer(2);
        r.seq = 5;
        let mut f = Formatter::new(Format::Csv, "Asia/Kolkata").unwrap();
        let mut out = Vec::new();
        f.line(&mut out, &r);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "5,2024-01-02T04:30:00.000001000Z,sent,42,7,S,101.25,300,,1234,,2,\n"
        );
        let mut f = Formatter::new(Format::Text, "Asia/Kolkata").unwrap();
        let mut out = Vec::new();
        f.line(&mut out, &r);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "#5 2024-01-02 10:00:00.000001000+05:30 sent order=42 sym=7 S 300@101.25 in_oms=1.234µs p=2\n"
        );
        let mut f = Formatter::utc(Format::Jsonl);
        let mut out = Vec::new();
        f.line(&mut out, &r);
        assert!(
            String::from_utf8(out).unwrap().ends_with(",\"reason\":null,\"producer\":2,\"detail\":null}\n")
        );
        assert!(Formatter::new(Format::Text, "Mars/Olympus").is_err());
    }

    #[test]
    fn clock_step_prints_its_signed_step() {
        let mut r = EventRecord::new(1_704_169_800_000_000_000, Event::ClockStep { step_ns: -2_500_000 });
        r.seq = 3;
        let line = |format, r: &EventRecord| {
            let mut out = Vec::new();
            Formatter::utc(format).line(&mut out, r);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(line(Format::Csv, &r), "3,2024-01-02T04:30:00.000000000Z,clock_step,,,,,,,-2500000,,,\n");
        let json = line(Format::Jsonl, &r);
        assert!(
            json.contains("\"latency_ns\":-2500000,")
                && json.ends_with("\"producer\":null,\"detail\":null}\n"),
            "{json}"
        );
        let text = line(Format::Text, &r);
        assert!(text.ends_with("clock_step step=-2500.000µs\n"), "{text}");
        let r = EventRecord { seq: 3, ..EventRecord::new(r.time_ns, Event::ClockStep { step_ns: 1_500 }) };
        let text = line(Format::Text, &r);
        assert!(text.ends_with("clock_step step=+1.500µs\n"), "{text}");
    }

    fn lines(r: &EventRecord) -> [String; 3] {
        [Format::Csv, Format::Text, Format::Jsonl].map(|format| {
            let mut out = Vec::new();
            Formatter::utc(format).line(&mut out, r);
            String::from_utf8(out).unwrap()
        })
    }

    #[test]
    fn exchange_records_print_their_detail_in_every_format() {
        let t = 1_704_169_800_000_000_000;
        let at = |seq, e| EventRecord { seq, ..EventRecord::new(t, e) };
        let on = at(2, Event::ExchangeSession(SessionReport::LoggedOn { next_out_seq: 5, next_in_seq: 3 }));
        let [csv, text, json] = lines(&on);
        assert_eq!(
            csv,
            "2,2024-01-02T04:30:00.000000000Z,exchange_session,,,,,,,,,,logged_on next_out_seq=5 next_in_seq=3\n"
        );
        assert!(text.ends_with(" exchange_session logged_on next_out_seq=5 next_in_seq=3\n"), "{text}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            v["detail"],
            serde_json::json!({"event": "logged_on", "next_out_seq": 5, "next_in_seq": 3})
        );
        assert_eq!(v["order_id"], serde_json::Value::Null);

        let down = at(
            3,
            Event::ExchangeSession(SessionReport::Disconnected {
                cause: DisconnectCause::PeerClosed,
                retry_in_ns: 500_000_000,
            }),
        );
        let [csv, _, json] = lines(&down);
        assert!(csv.ends_with(",,disconnected cause=peer_closed retry_in_ns=500000000\n"), "{csv}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["detail"]["cause"], "peer_closed");
        assert_eq!(v["latency_ns"], serde_json::Value::Null, "the retry delay is in the detail only");

        let (exec_type, ord_status) = (FixCode::new(b'F').unwrap(), FixCode::new(b'"').unwrap());
        let fill =
            at(4, Event::Execution { order_id: 42, last_qty: 100, last_px: 101.25, exec_type, ord_status });
        let [csv, text, json] = lines(&fill);
        assert_eq!(
            csv,
            "4,2024-01-02T04:30:00.000000000Z,execution,42,,,101.25,100,,,,,exec_type=F ord_status=\"\n"
        );
        assert!(
            text.ends_with(" execution order=42 100@101.25 exec_type=F(trade) ord_status=\"\n"),
            "{text}"
        );
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["detail"], serde_json::json!({"exec_type": "F", "ord_status": "\""}));
        assert_eq!((v["symbol"].is_null(), v["side"].is_null(), v["qty"].as_u64()), (true, true, Some(100)));

        let rej =
            at(5, Event::ExchangeReject { order_id: 43, source: RejectSource::BusinessReject, code: 2 });
        let [csv, text, json] = lines(&rej);
        assert!(csv.ends_with(",exchange_reject,43,,,,,,,,,source=business_reject code=2\n"), "{csv}");
        assert!(text.ends_with(" exchange_reject order=43 source=business_reject code=2\n"), "{text}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["detail"], serde_json::json!({"source": "business_reject", "code": 2}));
        assert_eq!(v["qty"], serde_json::Value::Null);
    }

    #[test]
    fn every_kind_has_as_many_csv_cells_as_the_header() {
        let columns = CSV_HEADER.split(',').count();
        let o = OrderRequest::new(1, 2, Side::Buy, 3.0, 4);
        let code = FixCode::new(b'0').unwrap();
        let events = [
            Event::Logon,
            Event::Logout,
            Event::Queued { order: o },
            Event::Sent { order: o, in_oms_ns: 1 },
            Event::Modified { order: o },
            Event::Cancelled { order: o },
            Event::Rejected { order: o, request: RequestType::New, reason: RejectReason::QueueFull },
            Event::Response { order: o, response: ResponseType::Accept, round_trip_ns: 1 },
            Event::UnmatchedResponse { order_id: 1, response: ResponseType::Accept },
            Event::Unanswered { order: o },
            Event::ClockStep { step_ns: 1 },
            Event::Recovered { queued: 1, in_flight: 1 },
            Event::SyncFailed,
            Event::ExchangeSession(SessionReport::LoggedOut),
            Event::Execution { order_id: 1, last_qty: 1, last_px: 1.0, exec_type: code, ord_status: code },
            Event::ExchangeReject { order_id: 1, source: RejectSource::NotSent, code: 1 },
        ];
        let kinds: Vec<EventKind> = events.iter().map(Event::kind).collect();
        assert_eq!(kinds, EventKind::ALL, "every kind");
        for e in events {
            let r = EventRecord::new(0, e);
            let [csv, _, json] = lines(&r);
            assert_eq!(csv.trim_end().split(',').count(), columns, "{e:?}: {csv}");
            let v: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(v.as_object().unwrap().len(), columns, "{e:?}: {json}");
        }
    }

    #[test]
    fn recovered_prints_its_counts() {
        let r = EventRecord::new(1_704_169_800_000_000_000, Event::Recovered { queued: 12, in_flight: 3 });
        let r = EventRecord { seq: 9, ..r };
        let line = |format| {
            let mut out = Vec::new();
            Formatter::utc(format).line(&mut out, &r);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(line(Format::Csv), "9,2024-01-02T04:30:00.000000000Z,recovered,3,,,,12,,,,,\n");
        let json = line(Format::Jsonl);
        assert!(
            json.contains("\"order_id\":3,\"symbol\":null,\"side\":null,\"price\":null,\"qty\":12,"),
            "{json}"
        );
        assert!(line(Format::Text).ends_with(" recovered queued=12 in_flight=3\n"), "{}", line(Format::Text));
    }
}
