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

use crate::model::{EventKind, FixCode, RejectReason, ResponseType, SessionEvent};
use crate::record::{ENGINE, EventRecord, ExchangeDetail};

/// The CSV header line, as a literal (for `--help` as well as [`CSV_HEADER`]).
macro_rules! csv_header {
    () => {
        "seq,time,kind,order_id,symbol,side,price,qty,response,latency_ns,reason,producer,detail"
    };
}

/// The exact CSV header line.
pub const CSV_HEADER: &str = csv_header!();

/// Output format of `decode` and `tail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One readable line per event, times in the session's time zone, latencies in µs.
    Text,
    /// CSV with the header [`CSV_HEADER`].
    #[value(help = concat!("CSV, first line the header: ", csv_header!()))]
    Csv,
    /// One JSON object per line, with the CSV column names as keys.
    Jsonl,
}

/// The value parser of `--kind`: a record kind's name, one of [`EventKind::ALL`]. Its possible
/// values come from that table, so `--help` lists every kind and a new kind appears there by
/// itself; a name that is not a kind is refused with the list.
pub fn kind_parser() -> impl clap::builder::TypedValueParser<Value = EventKind> {
    use clap::builder::TypedValueParser;
    let names = EventKind::ALL.map(EventKind::name);
    clap::builder::PossibleValuesParser::new(names).try_map(|name: String| {
        // The possible values are exactly the names, so this finds every one that got here.
        EventKind::from_name(&name).ok_or_else(|| format!("unknown event kind {name:?}"))
    })
}

/// Which optional fields a record carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applies {
    /// `order_id`.
    pub order: bool,
    /// `symbol`, `side`.
    pub symbol: bool,
    /// `price`, `qty`.
    pub amount: bool,
    /// `response`.
    pub response: bool,
    /// `latency_ns`.
    pub latency: bool,
    /// `reason`.
    pub reason: bool,
    /// `detail` (the exchange kinds).
    pub detail: bool,
}

/// The fields that apply to `r` (see the module docs).
pub fn applies(r: &EventRecord) -> Applies {
    let none = Applies {
        order: false,
        symbol: false,
        amount: false,
        response: false,
        latency: false,
        reason: false,
        detail: false,
    };
    let order = Applies { order: true, symbol: true, amount: true, ..none };
    match r.kind {
        EventKind::Logon | EventKind::Logout | EventKind::SyncFailed => none,
        // `order_id` and `qty` hold counts (in flight, queued): see `recovered_qty`.
        EventKind::Recovered => Applies { order: true, ..none },
        EventKind::Queued | EventKind::Modified | EventKind::Cancelled | EventKind::Unanswered => order,
        EventKind::Sent => Applies { latency: true, ..order },
        EventKind::Rejected => Applies { reason: true, ..order },
        EventKind::Response => {
            let recorded = r.side != '\0';
            Applies { symbol: recorded, amount: recorded, response: true, latency: true, ..order }
        }
        EventKind::UnmatchedResponse => Applies { order: true, response: true, ..none },
        EventKind::ClockStep => Applies { latency: true, ..none },
        EventKind::ExchangeSession => Applies { detail: true, ..none },
        EventKind::Execution => Applies { order: true, amount: true, detail: true, ..none },
        EventKind::ExchangeReject => Applies { order: true, detail: true, ..none },
    }
}

/// Whether `order_id` names an order (`oms decode --order`): not for the engine's own
/// records, whose `order_id` is 0 or, in a `recovered` record, a count.
pub fn names_order(r: &EventRecord) -> bool {
    applies(r).order && r.kind != EventKind::Recovered
}

/// Whether `qty` is shown without the other order fields: a `recovered` record's count of
/// orders restored to the queue.
fn recovered_qty(r: &EventRecord) -> bool {
    r.kind == EventKind::Recovered
}

/// A value in an exchange record's detail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetailValue {
    /// A snake_case name (an event, a cause, a source).
    Name(&'static str),
    /// A number.
    Num(u64),
    /// A one-letter FIX value; the name is its meaning (for text), if known.
    Code(FixCode, Option<&'static str>),
}

/// An exchange record's detail, as printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detail {
    /// The first word: the event's name (`exchange_session`).
    pub first: Option<&'static str>,
    /// Up to three `key=value` pairs.
    pub pairs: [Option<(&'static str, DetailValue)>; 3],
}

/// An exchange record's detail (see the module docs); `None` for other kinds.
pub fn detail(r: &EventRecord) -> Option<Detail> {
    use DetailValue::{Code, Name, Num};
    let (a, b, wait) = (r.qty, r.order_id, r.latency_ns);
    let (first, pairs) = match r.exchange() {
        ExchangeDetail::None => return None,
        ExchangeDetail::Session { event, cause } => {
            let pairs = match event {
                SessionEvent::LoggedOn => {
                    [Some(("next_out_seq", Num(a))), Some(("next_in_seq", Num(b))), None]
                }
                SessionEvent::LogonRefused => [Some(("retry_in_ns", Num(wait))), None, None],
                SessionEvent::Disconnected => [
                    Some(("cause", Name(cause.map_or("unknown", |c| c.name())))),
                    Some(("retry_in_ns", Num(wait))),
                    None,
                ],
                SessionEvent::LoggedOut => [None, None, None],
                SessionEvent::ResendRequested => [Some(("begin", Num(a))), Some(("end", Num(b))), None],
                SessionEvent::GapFilled => [Some(("begin", Num(a))), Some(("new_seq", Num(b))), None],
                SessionEvent::SequenceReset => [Some(("new_seq", Num(a))), None, None],
                SessionEvent::SessionRejected => [Some(("ref_seq", Num(a))), Some(("code", Num(b))), None],
                SessionEvent::Unhandled => [Some(("seq", Num(a))), None, None],
            };
            (Some(event.name()), pairs)
        }
        ExchangeDetail::Execution { exec_type, ord_status } => (
            None,
            [
                Some(("exec_type", Code(exec_type, exec_type.exec_type_name()))),
                Some(("ord_status", Code(ord_status, ord_status.ord_status_name()))),
                None,
            ],
        ),
        ExchangeDetail::Reject { source } => {
            (None, [Some(("source", Name(source.name()))), Some(("code", Num(a))), None])
        }
    };
    Some(Detail { first, pairs })
}

/// The detail as words (`logged_on next_out_seq=5 ...`); `meanings` adds a FIX code's meaning
/// in parentheses (text).
fn push_detail_words(out: &mut Vec<u8>, r: &EventRecord, meanings: bool) {
    let Some(Detail { first, pairs }) = detail(r) else { return };
    let mut sep = false;
    if let Some(word) = first {
        out.extend_from_slice(word.as_bytes());
        sep = true;
    }
    for (key, value) in pairs.into_iter().flatten() {
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
fn push_detail_json(out: &mut Vec<u8>, r: &EventRecord) {
    let Some(Detail { first, pairs }) = detail(r) else {
        out.extend_from_slice(b"null");
        return;
    };
    out.push(b'{');
    let mut sep = false;
    if let Some(word) = first {
        out.extend_from_slice(b"\"event\":");
        json_str(out, |o| o.extend_from_slice(word.as_bytes()));
        sep = true;
    }
    for (key, value) in pairs.into_iter().flatten() {
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
        let a = applies(r);
        push_u64(out, r.seq);
        out.push(b',');
        self.push_utc(out, r.time_ns);
        out.push(b',');
        push_kind(out, r.kind);
        out.push(b',');
        if a.order {
            push_u64(out, r.order_id);
        }
        out.push(b',');
        if a.symbol {
            push_i64(out, r.symbol_id as i64);
            out.push(b',');
            push_side_csv(out, r.side);
        } else {
            out.push(b',');
        }
        out.push(b',');
        if a.amount {
            push_f64(out, r.price);
            out.push(b',');
            push_u64(out, r.qty);
        } else {
            out.push(b',');
            if recovered_qty(r) {
                push_u64(out, r.qty);
            }
        }
        out.push(b',');
        if a.response {
            push_response(out, r.response);
        }
        out.push(b',');
        if a.latency {
            push_latency(out, r);
        }
        out.push(b',');
        if a.reason {
            push_reason(out, r.reason);
        }
        out.push(b',');
        if r.producer != ENGINE {
            push_u64(out, r.producer.into());
        }
        out.push(b',');
        if a.detail {
            push_detail_words(out, r, false);
        }
        out.push(b'\n');
    }

    fn jsonl(&mut self, out: &mut Vec<u8>, r: &EventRecord) {
        let a = applies(r);
        out.extend_from_slice(b"{\"seq\":");
        push_u64(out, r.seq);
        out.extend_from_slice(b",\"time\":\"");
        self.push_utc(out, r.time_ns);
        out.extend_from_slice(b"\",\"kind\":");
        json_str(out, |o| push_kind(o, r.kind));
        out.extend_from_slice(b",\"order_id\":");
        json_or_null(out, a.order, |o| push_u64(o, r.order_id));
        out.extend_from_slice(b",\"symbol\":");
        json_or_null(out, a.symbol, |o| push_i64(o, r.symbol_id as i64));
        out.extend_from_slice(b",\"side\":");
        match (a.symbol, r.side) {
            (true, c) if c != '\0' => {
                let mut b = [0u8; 4];
                let s = serde_json::to_string(c.encode_utf8(&mut b) as &str).unwrap_or_default();
                out.extend_from_slice(s.as_bytes());
            }
            _ => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"price\":");
        if !a.amount {
            out.extend_from_slice(b"null");
        } else if r.price.is_finite() {
            push_f64(out, r.price);
        } else {
            out.push(b'"');
            push_f64(out, r.price);
            out.push(b'"');
        }
        out.extend_from_slice(b",\"qty\":");
        json_or_null(out, a.amount || recovered_qty(r), |o| push_u64(o, r.qty));
        out.extend_from_slice(b",\"response\":");
        json_or_null(out, a.response, |o| json_str(o, |o| push_response(o, r.response)));
        out.extend_from_slice(b",\"latency_ns\":");
        json_or_null(out, a.latency, |o| push_latency(o, r));
        out.extend_from_slice(b",\"reason\":");
        json_or_null(out, a.reason, |o| json_str(o, |o| push_reason(o, r.reason)));
        out.extend_from_slice(b",\"producer\":");
        json_or_null(out, r.producer != ENGINE, |o| push_u64(o, r.producer.into()));
        out.extend_from_slice(b",\"detail\":");
        push_detail_json(out, r);
        out.extend_from_slice(b"}\n");
    }

    fn text(&mut self, out: &mut Vec<u8>, r: &EventRecord) {
        let a = applies(r);
        out.push(b'#');
        push_u64(out, r.seq);
        out.push(b' ');
        self.push_local(out, r.time_ns);
        out.push(b' ');
        push_kind(out, r.kind);
        if r.kind == EventKind::Rejected {
            out.push(b' ');
            out.extend_from_slice(r.request.name().as_bytes());
        }
        if r.kind == EventKind::Recovered {
            out.extend_from_slice(b" queued=");
            push_u64(out, r.qty);
            out.extend_from_slice(b" in_flight=");
            push_u64(out, r.order_id);
        } else if a.order {
            out.extend_from_slice(b" order=");
            push_u64(out, r.order_id);
        }
        if a.symbol {
            out.extend_from_slice(b" sym=");
            push_i64(out, r.symbol_id as i64);
            if r.side != '\0' {
                out.push(b' ');
                if r.side.is_control() {
                    let _ = write!(out, "side=U+{:04X}", u32::from(r.side));
                } else {
                    let mut b = [0u8; 4];
                    out.extend_from_slice(r.side.encode_utf8(&mut b).as_bytes());
                }
            }
        }
        if a.amount {
            out.push(b' ');
            push_u64(out, r.qty);
            out.push(b'@');
            push_f64(out, r.price);
        }
        if a.response {
            out.push(b' ');
            push_response(out, r.response);
        }
        if a.latency && r.kind == EventKind::ClockStep {
            let step = r.latency_ns as i64;
            out.extend_from_slice(if step < 0 { b" step=-" } else { b" step=+" });
            push_us(out, step.unsigned_abs());
        } else if a.latency {
            out.extend_from_slice(if r.kind == EventKind::Sent { b" in_oms=" } else { b" latency=" });
            push_us(out, r.latency_ns);
        }
        if a.reason {
            out.extend_from_slice(b" reason=");
            push_reason(out, r.reason);
        }
        if a.detail {
            out.push(b' ');
            push_detail_words(out, r, true);
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

/// `latency_ns` in ns; a `clock_step` holds a signed step.
fn push_latency(out: &mut Vec<u8>, r: &EventRecord) {
    if r.kind == EventKind::ClockStep {
        push_i64(out, r.latency_ns as i64)
    } else {
        push_u64(out, r.latency_ns)
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

fn push_reason(out: &mut Vec<u8>, reason: Option<RejectReason>) {
    out.extend_from_slice(reason.map_or("", RejectReason::name).as_bytes());
}

fn push_response(out: &mut Vec<u8>, response: ResponseType) {
    out.extend_from_slice(response.name().as_bytes());
}

/// Writes a JSON value with `f` when the field applies to the record, `null` otherwise.
fn json_or_null(out: &mut Vec<u8>, applies: bool, f: impl FnOnce(&mut Vec<u8>)) {
    if applies { f(out) } else { out.extend_from_slice(b"null") }
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
    use crate::model::{OrderRequest, RequestType, Side};

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
        let r = EventRecord::for_order(EventKind::Sent, 1_704_169_800_000_001_000, &o, RequestType::New);
        let mut r = r.from_producer(2);
        r.seq = 5;
        r.latency_ns = 1234;
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
        let mut r = EventRecord::bare(EventKind::ClockStep, 1_704_169_800_000_000_000);
        r.seq = 3;
        r.latency_ns = (-2_500_000i64) as u64;
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
        r.latency_ns = 1_500;
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
        use crate::model::{DisconnectCause, RejectSource};
        let t = 1_704_169_800_000_000_000;
        let mut on = EventRecord::for_exchange(
            EventKind::ExchangeSession,
            t,
            ExchangeDetail::Session { event: SessionEvent::LoggedOn, cause: None },
        );
        (on.seq, on.qty, on.order_id) = (2, 5, 3);
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

        let mut down = EventRecord::for_exchange(
            EventKind::ExchangeSession,
            t,
            ExchangeDetail::Session {
                event: SessionEvent::Disconnected,
                cause: Some(DisconnectCause::PeerClosed),
            },
        );
        (down.seq, down.latency_ns) = (3, 500_000_000);
        let [csv, _, json] = lines(&down);
        assert!(csv.ends_with(",,disconnected cause=peer_closed retry_in_ns=500000000\n"), "{csv}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["detail"]["cause"], "peer_closed");
        assert_eq!(v["latency_ns"], serde_json::Value::Null, "the retry delay is in the detail only");

        let exec = ExchangeDetail::Execution {
            exec_type: FixCode::new(b'F').unwrap(),
            ord_status: FixCode::new(b'"').unwrap(),
        };
        let mut fill = EventRecord::for_exchange(EventKind::Execution, t, exec);
        (fill.seq, fill.order_id, fill.qty, fill.price) = (4, 42, 100, 101.25);
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

        let mut rej = EventRecord::for_exchange(
            EventKind::ExchangeReject,
            t,
            ExchangeDetail::Reject { source: RejectSource::BusinessReject },
        );
        (rej.seq, rej.order_id, rej.qty) = (5, 43, 2);
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
        for kind in EventKind::ALL {
            let mut r = EventRecord::bare(kind, 0);
            if kind.is_exchange() {
                let bits = if kind == EventKind::Execution { u32::from(b'0') } else { 1 };
                r = EventRecord::for_exchange(kind, 0, ExchangeDetail::from_bits(kind, bits).unwrap());
            }
            let [csv, _, json] = lines(&r);
            assert_eq!(csv.trim_end().split(',').count(), columns, "{kind:?}: {csv}");
            let v: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(v.as_object().unwrap().len(), columns, "{kind:?}: {json}");
        }
    }

    #[test]
    fn recovered_prints_its_counts() {
        let mut r = EventRecord::bare(EventKind::Recovered, 1_704_169_800_000_000_000);
        (r.seq, r.qty, r.order_id) = (9, 12, 3);
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
