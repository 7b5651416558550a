//! Record formatting for `oms decode` / `oms tail`: text, CSV and JSON lines, and the scenario
//! `oms replay` reads (`scenario.rs`).
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
//! shows a `recovered` record as `recovered queued=Q open=O`.
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

use crate::model::{EventKind, RejectReason, ResponseType};
use crate::numfmt::{self, DIGIT_PAIRS, U64_DIGITS, civil_from_days, write_u64};
use crate::record::{ENGINE, Event, EventRecord};

mod columns;
mod scenario;

use columns::{Columns, Detail, Latency};

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
    /// The requests the engine took and the exchange's answers, as `oms replay` reads them
    /// (`@ms` after the first record, whose time the first line gives as `--start`).
    Scenario,
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

/// Whether record `r` is about order `id` (`oms decode --order`): not for the engine's own
/// records, whose `order_id` is 0 or, in a `recovered` record, a count.
pub fn about_order(r: &EventRecord, id: u64) -> bool {
    r.event().order_id() == Some(id)
}

/// Formats records; keeps per-journal state (time zone, the second last printed).
#[derive(Debug)]
pub struct Formatter {
    format: Format,
    tz: TimeZone,
    /// The second (since the epoch, in the printed zone) and separator `stamp` is for.
    second: (i64, u8),
    /// `YYYY-MM-DD?HH:MM:SS.` of that second: records come many to a second.
    stamp: [u8; 20],
    /// The order fold and time origin of [`Format::Scenario`].
    scenario: scenario::Scenario,
    /// The journal's risk limits (its header's configuration): a risk refusal shows its limit.
    risk: Option<crate::risk::RiskSettings>,
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
        Formatter {
            format,
            tz,
            second: (i64::MIN, 0),
            stamp: [0; 20],
            scenario: Default::default(),
            risk: None,
        }
    }

    /// The risk limits a refusal's line names (the journal's configuration's `[risk]`).
    pub fn set_risk(&mut self, risk: Option<crate::risk::RiskSettings>) {
        self.risk = risk;
    }

    /// What record `e`'s line shows, with a risk refusal's limit.
    fn columns(&self, e: &Event) -> Columns {
        let c = Columns::of(e);
        match *e {
            Event::Rejected { order, reason, value, .. } if reason.is_limit() => {
                let limit = self.risk.as_ref().and_then(|r| r.limit_of(order.symbol_id, reason));
                Columns { detail: Detail::limit(limit, value), ..c }
            }
            _ => c,
        }
    }

    /// Appends the header line, if the format has one.
    pub fn header(&self, out: &mut Vec<u8>) {
        if self.format == Format::Csv {
            out.extend_from_slice(CSV_HEADER.as_bytes());
            out.push(b'\n');
        }
    }

    /// Takes in record `r`, whether or not its line is wanted: every record of the journal, in
    /// order, goes through here before its [`line`](Self::line) (the scenario format folds them
    /// all to know which were requests; the others keep nothing).
    pub fn see(&mut self, r: &EventRecord) {
        if self.format == Format::Scenario {
            self.scenario.see(r);
        }
    }

    /// Appends one line for `r` (none for a record the scenario format has no line for).
    pub fn line(&mut self, out: &mut Vec<u8>, r: &EventRecord) {
        match self.format {
            Format::Csv => self.csv(out, r),
            Format::Jsonl => self.jsonl(out, r),
            Format::Text => self.text(out, r),
            Format::Scenario => self.scenario.line(out, r),
        }
    }

    fn csv(&mut self, out: &mut Vec<u8>, r: &EventRecord) {
        let c = self.columns(&r.event());
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
        let c = self.columns(&r.event());
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
        let c = self.columns(&e);
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
        if let Event::Recovered { queued, open } = e {
            out.extend_from_slice(b" queued=");
            push_u64(out, queued);
            out.extend_from_slice(b" open=");
            push_u64(out, open);
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
        } else if let (Some(price), None) = (c.price, c.qty) {
            // A price alone: a reference price.
            out.extend_from_slice(b" px=");
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
        if self.second != (secs, sep) {
            self.stamp = civil_stamp(secs, sep);
            self.second = (secs, sep);
        }
        let mut b = [0; 29];
        b[..20].copy_from_slice(&self.stamp);
        // Nine digits: four pairs and one.
        let (pairs, last) = (frac / 10, frac % 10);
        for (i, p) in
            [pairs / 1_000_000, pairs / 10_000 % 100, pairs / 100 % 100, pairs % 100].into_iter().enumerate()
        {
            let p = p as usize * 2;
            b[20 + 2 * i..22 + 2 * i].copy_from_slice(&DIGIT_PAIRS[p..p + 2]);
        }
        b[28] = b'0' + last as u8;
        out.extend_from_slice(&b);
    }
}

/// `YYYY-MM-DD?HH:MM:SS.` for second `secs` since the epoch, `?` being `sep`.
fn civil_stamp(secs: i64, sep: u8) -> [u8; 20] {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400) as u32;
    let mut text = Vec::with_capacity(20);
    let _ = write!(text, "{y:04}-{m:02}-{d:02}?{:02}:{:02}:{:02}.", sod / 3600, sod / 60 % 60, sod % 60);
    // i64 nanoseconds span the years 1677 to 2262: always 20 bytes.
    let mut stamp = [b'0'; 20];
    let n = text.len().min(20);
    stamp[..n].copy_from_slice(&text[..n]);
    stamp[10] = sep;
    stamp
}

fn push2(out: &mut Vec<u8>, v: u32) {
    out.push(b'0' + (v / 10 % 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

/// Decimal digits of `v`.
pub fn push_u64(out: &mut Vec<u8>, v: u64) {
    let mut b = [0u8; U64_DIGITS];
    out.extend_from_slice(write_u64(&mut b, v));
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

/// Shortest round-trip decimal (`101.25`, `100`, `NaN`, `inf`): prices the fast way, anything
/// else through `Display`, to the same text.
fn push_f64(out: &mut Vec<u8>, v: f64) {
    let mut b = [0; numfmt::PRICE_LIKE_BYTES];
    match numfmt::write_price_like(&mut b, v) {
        Some(text) => out.extend_from_slice(text),
        None => {
            let _ = write!(out, "{v}");
        }
    }
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
mod tests;
