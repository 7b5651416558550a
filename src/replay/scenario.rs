//! The scenario file parser: text in, a `Vec<ScenarioEvent>` out, or the first problem with its
//! line number. Never panics, whatever the input (a property test feeds it arbitrary strings).
//!
//! The grammar (`docs/scenario-format.md` is the user-facing reference):
//!
//! ```text
//! @<ms> new             id=<u64> sym=<i32> side=<char> px=<f64> qty=<u64> [p=<producer>]
//! @<ms> modify          id=<u64> px=<f64> qty=<u64> [p=<producer>]
//! @<ms> cancel          id=<u64> [p=<producer>]
//! @<ms> response        id=<u64> accept|reject
//! @<ms> fill            id=<u64> qty=<u64> px=<f64>
//! @<ms> cancelled       id=<u64>
//! @<ms> replaced        id=<u64>
//! @<ms> cancel_rejected id=<u64> [code=<u32>]
//! @<ms> expired         id=<u64>
//! @<ms> advance
//! ```
//!
//! `#` starts a comment, blank lines are skipped, fields are `key=value` in any order. The parser
//! checks syntax only: a side of `X`, a price of `NaN` or a fill of 0 parse fine, so that the
//! engine's own rejects (`invalid_side`, `invalid_price`) and its handling of answers that do
//! not fit (`unexpected_report`) can be replayed.
//!
//! ```
//! use oms::replay::{parse_scenario, Action};
//! use oms::Answer;
//! let events = parse_scenario("@0 new id=1 sym=7 side=B px=100.5 qty=10\n@1.5 cancel id=1 p=2\n\
//!                              @2 fill id=1 qty=4 px=100.5\n").unwrap();
//! assert_eq!(events[1].at_ns, 1_500_000);
//! assert!(matches!(events[1].action, Action::Request { producer: 2, .. }));
//! assert_eq!(events[2].action, Action::Answer(Answer::Fill { order_id: 1, last_qty: 4, last_px: 100.5 }));
//! let err = parse_scenario("@0 new id=1\n").unwrap_err();
//! assert_eq!(err.line, 1);
//! ```

use crate::model::{OrderRequest, OrderResponse, RequestType, ResponseType};
use crate::ring::Answer;

/// Most producers a scenario may use (`p=0` … `p=63`): each one is a ring of `ring_capacity`
/// slots, allocated up front.
pub const MAX_SCENARIO_PRODUCERS: usize = 64;

/// Nanoseconds per millisecond.
const NS_PER_MS: u64 = 1_000_000;

/// One scenario line, parsed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScenarioEvent {
    /// When it happens: nanoseconds since the start of the run.
    pub at_ns: u64,
    /// 1-based line number in the scenario text.
    pub line: usize,
    /// What happens.
    pub action: Action,
}

/// What a scenario line does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Action {
    /// An upstream request (`new`, `modify`, `cancel`) through producer ring `producer`.
    /// Fields a verb does not take are zero (`side` is `'\0'`).
    Request {
        /// Index of the producer ring (`p=`, default 0), below [`MAX_SCENARIO_PRODUCERS`].
        producer: usize,
        /// New, Modify or Cancel.
        request: RequestType,
        /// The order fields as written.
        order: OrderRequest,
    },
    /// An answer of the exchange arriving at this time: a first answer (`response`), a fill, a
    /// cancel or replace carried out or refused, an expiry.
    Answer(Answer),
    /// Nothing but the passage of time (timers due up to this time run).
    Advance,
    /// The kill switch: trading halted at this time ([`crate::engine::Engine::halt`]).
    Halt,
    /// Trading resumed at this time ([`crate::engine::Engine::resume`]).
    Resume,
    /// A reference price for a symbol, the price band's centre until its next fill
    /// ([`crate::engine::Engine::set_reference`]).
    Reference {
        /// The symbol (`sym=`).
        symbol: i32,
        /// The price (`px=`).
        price: f64,
    },
}

/// A scenario that cannot be parsed: the first problem found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ScenarioError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong, in words.
    pub message: String,
}

/// Parses a whole scenario. Stops at the first malformed line.
pub fn parse_scenario(text: &str) -> Result<Vec<ScenarioEvent>, ScenarioError> {
    // A scenario line is rarely shorter than 40 bytes: reserve roughly, never exactly.
    let mut out = Vec::with_capacity(text.len() / 40 + 1);
    let mut last_ns = 0u64;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let Some(ev) = parse_scenario_line_for(raw, line, Verbs::All)? else { continue };
        if ev.at_ns < last_ns {
            return Err(ScenarioError {
                line,
                message: format!(
                    "time goes backwards: @{} is before the previous line's @{}",
                    fmt_ms(ev.at_ns),
                    fmt_ms(last_ns)
                ),
            });
        }
        last_ns = ev.at_ns;
        out.push(ev);
    }
    Ok(out)
}

/// Parses one line of a scenario (numbered `line`, for the event and the error): `Ok(None)`
/// for a blank or comment-only line. Does not check that time goes forward (that needs the
/// line before: [`parse_scenario`] does). For input that arrives a line at a time.
pub fn parse_scenario_line(raw: &str, line: usize) -> Result<Option<ScenarioEvent>, ScenarioError> {
    parse_scenario_line_for(raw, line, Verbs::All)
}

/// Which verbs a reader of scenario lines takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbs {
    /// Every verb: the requests, the exchange's answers and `advance` (`oms replay`).
    All,
    /// The requests and `advance`, not the answers: where a real exchange answers (`oms run`).
    Requests,
}

impl Verbs {
    /// The verbs taken, in words (`new, modify, cancel, advance, halt, resume or reference`).
    fn list(self) -> &'static str {
        match self {
            Verbs::All => {
                "new, modify, cancel, response, fill, cancelled, replaced, cancel_rejected, expired, advance, halt, resume or reference"
            }
            Verbs::Requests => "new, modify, cancel, advance, halt, resume or reference",
        }
    }
}

/// [`parse_scenario_line`] for a reader that takes only `verbs`: an answer line (`response`,
/// `fill`, ...) where only requests are taken is an error saying why, and the messages list only
/// the verbs taken.
///
/// ```
/// use oms::replay::{parse_scenario_line_for, Verbs};
/// let e = parse_scenario_line_for("@0 buy id=1", 1, Verbs::Requests).unwrap_err();
/// assert!(e.message.ends_with("(expected new, modify, cancel, advance, halt, resume or reference)"));
/// assert!(parse_scenario_line_for("@0 response id=1 accept", 1, Verbs::Requests).is_err());
/// assert!(parse_scenario_line_for("@0 fill id=1 qty=1 px=1", 1, Verbs::Requests).is_err());
/// ```
pub fn parse_scenario_line_for(
    raw: &str,
    line: usize,
    verbs: Verbs,
) -> Result<Option<ScenarioEvent>, ScenarioError> {
    // Byte searches: `#`, `=` and `.` are ASCII, so every split lands on a char boundary.
    let content = match raw.bytes().position(|b| b == b'#') {
        Some(k) => &raw[..k],
        None => raw,
    };
    if content.trim_ascii().is_empty() {
        return Ok(None);
    }
    parse_line(content, line, verbs).map(Some).map_err(|message| ScenarioError { line, message })
}

/// Parses a time in milliseconds with up to 6 decimals (`150`, `0.5`, `12.000001`) into exact
/// nanoseconds. Rejects signs, exponents, `inf`, `NaN`, more than 6 decimals and values whose ns
/// do not fit a `u64`. Shared with `--auto-response`.
pub fn parse_ms(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not a time in ms (digits, optionally a '.' and up to 6 decimals)");
    if s.starts_with('-') && s.len() > 1 {
        return Err(format!("{s:?}: a time in ms must not be negative"));
    }
    let (int, frac) = match s.bytes().position(|b| b == b'.') {
        Some(k) => (&s[..k], &s[k + 1..]),
        None => (s, ""),
    };
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    if frac.len() > 6 {
        return Err(format!("{s:?}: at most 6 decimals (nanosecond resolution)"));
    }
    let too_large = || format!("{s:?}: too large (at most {} ms)", u64::MAX / NS_PER_MS);
    let whole: u64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| too_large())? };
    let mut frac_ns = 0u64;
    for (k, b) in frac.bytes().enumerate() {
        frac_ns += u64::from(b - b'0') * 10u64.pow(5 - k as u32);
    }
    whole.checked_mul(NS_PER_MS).and_then(|n| n.checked_add(frac_ns)).ok_or_else(too_large)
}

/// Formats ns as ms, without trailing zeros (`1500000` → `1.5`).
pub(crate) fn fmt_ms(ns: u64) -> String {
    let (ms, rest) = (ns / NS_PER_MS, ns % NS_PER_MS);
    if rest == 0 {
        ms.to_string()
    } else {
        let frac = format!("{rest:06}");
        format!("{ms}.{}", frac.trim_end_matches('0'))
    }
}

/// Keys a line may carry; a bit each, to catch duplicates and missing keys cheaply.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Id = 1,
    Sym = 2,
    Side = 4,
    Px = 8,
    Qty = 16,
    P = 32,
    Code = 64,
}

impl Key {
    /// Byte patterns rather than `&str` ones: they compile to a few compares, not `memcmp` calls
    /// (this is the parser's inner loop).
    fn parse(s: &str) -> Option<Key> {
        Some(match s.as_bytes() {
            b"id" => Key::Id,
            b"sym" => Key::Sym,
            b"side" => Key::Side,
            b"px" => Key::Px,
            b"qty" => Key::Qty,
            b"p" => Key::P,
            b"code" => Key::Code,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Key::Id => "id",
            Key::Sym => "sym",
            Key::Side => "side",
            Key::Px => "px",
            Key::Qty => "qty",
            Key::P => "p",
            Key::Code => "code",
        }
    }

    const ALL: [Key; 7] = [Key::Id, Key::Sym, Key::Side, Key::Px, Key::Qty, Key::P, Key::Code];
}

/// The verbs, with the keys each requires and allows.
#[derive(Clone, Copy)]
enum Verb {
    New,
    Modify,
    Cancel,
    Response,
    Fill,
    Cancelled,
    Replaced,
    CancelRejected,
    Expired,
    Advance,
    Halt,
    Resume,
    Reference,
}

impl Verb {
    fn parse(s: &str) -> Option<Verb> {
        Some(match s.as_bytes() {
            b"new" => Verb::New,
            b"modify" => Verb::Modify,
            b"cancel" => Verb::Cancel,
            b"response" => Verb::Response,
            b"fill" => Verb::Fill,
            b"cancelled" => Verb::Cancelled,
            b"replaced" => Verb::Replaced,
            b"cancel_rejected" => Verb::CancelRejected,
            b"expired" => Verb::Expired,
            b"advance" => Verb::Advance,
            b"halt" => Verb::Halt,
            b"resume" => Verb::Resume,
            b"reference" => Verb::Reference,
            _ => return None,
        })
    }

    /// (required keys, optional keys) as bit sets.
    fn keys(self) -> (u8, u8) {
        let (id, sym, side, px, qty, p, code) = (1, 2, 4, 8, 16, 32, 64);
        match self {
            Verb::New => (id | sym | side | px | qty, p),
            Verb::Modify => (id | px | qty, p),
            Verb::Cancel => (id, p),
            Verb::Fill => (id | qty | px, 0),
            Verb::CancelRejected => (id, code),
            Verb::Response | Verb::Cancelled | Verb::Replaced | Verb::Expired => (id, 0),
            Verb::Advance | Verb::Halt | Verb::Resume => (0, 0),
            Verb::Reference => (sym | px, 0),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Verb::New => "new",
            Verb::Modify => "modify",
            Verb::Cancel => "cancel",
            Verb::Response => "response",
            Verb::Fill => "fill",
            Verb::Cancelled => "cancelled",
            Verb::Replaced => "replaced",
            Verb::CancelRejected => "cancel_rejected",
            Verb::Expired => "expired",
            Verb::Advance => "advance",
            Verb::Halt => "halt",
            Verb::Resume => "resume",
            Verb::Reference => "reference",
        }
    }

    /// Whether the line is an answer of the exchange (not a request, not `advance`).
    fn is_answer(self) -> bool {
        !matches!(
            self,
            Verb::New
                | Verb::Modify
                | Verb::Cancel
                | Verb::Advance
                | Verb::Halt
                | Verb::Resume
                | Verb::Reference
        )
    }
}

/// Parses one non-empty line (comment already removed).
fn parse_line(content: &str, line: usize, verbs: Verbs) -> Result<ScenarioEvent, String> {
    let mut tokens = content.split_ascii_whitespace();
    let (Some(at), Some(verb)) = (tokens.next(), tokens.next()) else {
        return Err(format!("expected `@<ms> <verb> ...` (verbs: {})", verbs.list()));
    };
    let Some(ms) = at.strip_prefix('@') else {
        return Err(format!("expected `@<ms>` at the start of the line, found {at:?}"));
    };
    let at_ns = parse_ms(ms)?;
    let verb =
        Verb::parse(verb).ok_or_else(|| format!("unknown verb {verb:?} (expected {})", verbs.list()))?;
    if verb.is_answer() && verbs == Verbs::Requests {
        return Err(format!(
            "`{}` lines are not taken here: the exchange answers (they are for `oms replay`)",
            verb.name()
        ));
    }
    let (required, optional) = verb.keys();

    let mut seen = 0u8;
    let mut order = OrderRequest { symbol_id: 0, price: 0.0, qty: 0, side: '\0', order_id: 0 };
    let mut producer = 0usize;
    let mut code = 0u32;
    let mut response: Option<ResponseType> = None;
    for tok in tokens {
        if let Verb::Response = verb
            && let Some(t) = match tok {
                "accept" => Some(ResponseType::Accept),
                "reject" => Some(ResponseType::Reject),
                _ => None,
            }
        {
            if response.is_some() {
                return Err("response: give `accept` or `reject` once".into());
            }
            response = Some(t);
            continue;
        }
        let Some((k, v)) = tok.bytes().position(|b| b == b'=').map(|i| (&tok[..i], &tok[i + 1..])) else {
            return Err(match verb {
                Verb::Response => format!("expected `key=value`, `accept` or `reject`, found {tok:?}"),
                _ => format!("expected `key=value`, found {tok:?}"),
            });
        };
        let key = Key::parse(k).ok_or_else(|| format!("unknown key {k:?}"))?;
        let bit = key as u8;
        if (required | optional) & bit == 0 {
            return Err(format!("{}: key `{k}` does not apply to this verb", verb.name()));
        }
        if seen & bit != 0 {
            return Err(format!("key `{k}` given twice"));
        }
        seen |= bit;
        match key {
            Key::Id => order.order_id = number(k, v, "an order id (u64)")?,
            Key::Sym => order.symbol_id = number(k, v, "a symbol id (i32)")?,
            Key::Qty => order.qty = number(k, v, "a quantity (u64)")?,
            Key::Px => order.price = number(k, v, "a price (f64)")?,
            Key::Side => {
                let mut chars = v.chars();
                order.side = match (chars.next(), chars.next()) {
                    (Some(c), None) => c,
                    _ => return Err(format!("side={v:?}: expected exactly one character")),
                };
            }
            Key::Code => code = number(k, v, "a reason code (u32)")?,
            Key::P => {
                producer = number(k, v, "a producer index")?;
                if producer >= MAX_SCENARIO_PRODUCERS {
                    return Err(format!(
                        "p={producer}: at most {MAX_SCENARIO_PRODUCERS} producers (p=0..{})",
                        MAX_SCENARIO_PRODUCERS - 1
                    ));
                }
            }
        }
    }
    if required & !seen != 0 {
        let missing: Vec<&str> =
            Key::ALL.iter().filter(|k| required & (**k as u8) & !seen != 0).map(|k| k.name()).collect();
        return Err(format!("{}: missing {}", verb.name(), missing.join(", ")));
    }
    let action = match verb {
        Verb::New => Action::Request { producer, request: RequestType::New, order },
        Verb::Modify => Action::Request { producer, request: RequestType::Modify, order },
        Verb::Cancel => Action::Request { producer, request: RequestType::Cancel, order },
        Verb::Response => match response {
            Some(response_type) => {
                Action::Answer(Answer::Response(OrderResponse { order_id: order.order_id, response_type }))
            }
            None => return Err("response: missing `accept` or `reject`".into()),
        },
        Verb::Fill => Action::Answer(Answer::Fill {
            order_id: order.order_id,
            last_qty: order.qty,
            last_px: order.price,
        }),
        Verb::Cancelled => Action::Answer(Answer::Cancelled { order_id: order.order_id }),
        Verb::Replaced => Action::Answer(Answer::Replaced { order_id: order.order_id }),
        Verb::CancelRejected => Action::Answer(Answer::CancelRejected { order_id: order.order_id, code }),
        Verb::Expired => Action::Answer(Answer::Expired { order_id: order.order_id }),
        Verb::Advance => Action::Advance,
        Verb::Halt => Action::Halt,
        Verb::Resume => Action::Resume,
        Verb::Reference if !(order.price.is_finite() && order.price > 0.0) => {
            return Err(format!("reference: px={}: not a price (finite, above 0)", order.price));
        }
        Verb::Reference => Action::Reference { symbol: order.symbol_id, price: order.price },
    };
    Ok(ScenarioEvent { at_ns, line, action })
}

fn number<T: std::str::FromStr>(key: &str, v: &str, what: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("{key}={v:?}: not {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> ScenarioError {
        parse_scenario(text).expect_err("should not parse")
    }

    #[test]
    fn every_verb_parses_with_keys_in_any_order() {
        let text = "# a comment\n\n@0 new id=1 sym=7 side=B px=100.5 qty=10\n\
                    @1 modify qty=5 px=99 id=1 p=3   # trailing comment\n\
                    @1 cancel p=1 id=1\n@2.25 response id=1 reject\n  @3 advance  \n\
                    @4 new px=NaN qty=0 side=x sym=-1 id=18446744073709551615\n";
        let ev = parse_scenario(text).unwrap();
        assert_eq!(ev.len(), 6);
        assert_eq!((ev[0].line, ev[0].at_ns), (3, 0));
        let Action::Request { producer, request, order } = ev[0].action else { panic!() };
        assert_eq!((producer, request), (0, RequestType::New));
        assert_eq!(order, OrderRequest { symbol_id: 7, price: 100.5, qty: 10, side: 'B', order_id: 1 });
        let Action::Request { producer, request, order } = ev[1].action else { panic!() };
        assert_eq!(
            (producer, request, order.price, order.qty, order.side),
            (3, RequestType::Modify, 99.0, 5, '\0')
        );
        assert!(matches!(ev[2].action, Action::Request { producer: 1, request: RequestType::Cancel, .. }));
        assert_eq!(
            ev[3].action,
            Action::Answer(Answer::Response(OrderResponse {
                order_id: 1,
                response_type: ResponseType::Reject
            }))
        );
        assert_eq!(ev[3].at_ns, 2_250_000);
        assert_eq!((ev[4].action, ev[4].line), (Action::Advance, 7));
        let Action::Request { order, .. } = ev[5].action else { panic!() };
        assert!(order.price.is_nan());
        assert_eq!((order.qty, order.side, order.symbol_id, order.order_id), (0, 'x', -1, u64::MAX));
    }

    #[test]
    fn times() {
        assert_eq!(parse_ms("0"), Ok(0));
        assert_eq!(parse_ms("150"), Ok(150_000_000));
        assert_eq!(parse_ms("0.000001"), Ok(1));
        assert_eq!(parse_ms(".5"), Ok(500_000));
        assert_eq!(parse_ms("7."), Ok(7_000_000));
        assert_eq!(parse_ms("18446744073709"), Ok(18_446_744_073_709_000_000));
        for bad in
            ["", ".", "-1", "-0.5", "+1", "1e3", "inf", "NaN", "1.0000001", "1.2.3", "١", "18446744073710"]
        {
            assert!(parse_ms(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse_ms("-1").unwrap_err().contains("negative"));
        assert_eq!(fmt_ms(1_500_000), "1.5");
        assert_eq!(fmt_ms(3_000_000), "3");
    }

    #[test]
    fn every_malformed_line_names_its_line_and_problem() {
        let ok = "@0 advance\n";
        let cases: &[(&str, &str)] = &[
            ("new id=1", "`@<ms>`"),
            ("@1", "expected `@<ms> <verb>"),
            ("@1 buy id=1", "unknown verb"),
            ("@x new id=1", "not a time"),
            ("@-1 advance", "negative"),
            ("@inf advance", "not a time"),
            ("@NaN advance", "not a time"),
            ("@1 new id=1 sym=1 side=B px=1", "missing qty"),
            ("@1 new id=1 sym=1 side=B px=1 qty=1 qty=2", "twice"),
            ("@1 new id=1 sym=1 side=B px=1 qty=1 colour=red", "unknown key"),
            ("@1 cancel id=1 px=1", "does not apply"),
            ("@1 new id=-1 sym=1 side=B px=1 qty=1", "order id"),
            ("@1 new id=1 sym=99999999999 side=B px=1 qty=1", "symbol"),
            ("@1 new id=1 sym=1 side=B px=cheap qty=1", "price"),
            ("@1 new id=1 sym=1 side=B px=1 qty=1.5", "quantity"),
            ("@1 new id=1 sym=1 side=BS px=1 qty=1", "exactly one character"),
            ("@1 new id=1 sym=1 side= px=1 qty=1", "exactly one character"),
            ("@1 cancel id=1 p=64", "at most 64 producers"),
            ("@1 cancel id=1 p=-1", "producer"),
            ("@1 response id=1", "missing `accept`"),
            ("@1 response id=1 accept reject", "once"),
            ("@1 response id=1 maybe", "found \"maybe\""),
            ("@1 response accept", "missing id"),
            ("@1 advance id=3", "does not apply"),
            ("@1 cancel id", "key=value"),
            ("@1 fill id=1 qty=2", "fill: missing px"),
            ("@1 fill id=1 px=2", "fill: missing qty"),
            ("@1 fill qty=1 px=2", "fill: missing id"),
            ("@1 fill id=1 qty=-2 px=1", "quantity"),
            ("@1 fill id=1 qty=2 px=1 p=1", "does not apply"),
            ("@1 fill id=1 qty=2 px=1 accept", "key=value"),
            ("@1 cancelled", "cancelled: missing id"),
            ("@1 cancelled id=1 qty=1", "does not apply"),
            ("@1 replaced id=x", "order id"),
            ("@1 replaced id=1 code=1", "does not apply"),
            ("@1 cancel_rejected id=1 code=-1", "reason code"),
            ("@1 cancel_rejected id=1 code=4294967296", "reason code"),
            ("@1 cancel_rejected id=1 code=1 code=2", "twice"),
            ("@1 expired id=1 px=1", "does not apply"),
            ("@1 cancel id=1 code=1", "does not apply"),
            ("@1 canceled id=1", "unknown verb"),
        ];
        for (line, needle) in cases {
            let e = err(&format!("{ok}\n{line}\n{ok}"));
            assert_eq!(e.line, 3, "{line}");
            assert!(e.message.contains(needle), "{line}: {:?} lacks {needle:?}", e.message);
        }
        let e = err("@5 advance\n@4.999 advance\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("backwards"), "{}", e.message);
        assert_eq!(e.to_string(), "line 2: time goes backwards: @4.999 is before the previous line's @5");
    }

    #[test]
    fn every_answer_verb_parses() {
        let text = "@1 fill px=99.5 id=4 qty=3\n@2 cancelled id=4\n@3 replaced id=5\n\
                    @4 cancel_rejected id=6\n@5 cancel_rejected code=99 id=6\n@6 expired id=7\n\
                    @7 fill id=8 qty=0 px=NaN   # syntax only: the engine judges\n";
        let got: Vec<Action> = parse_scenario(text).unwrap().iter().map(|e| e.action).collect();
        assert_eq!(
            got[..6],
            [
                Action::Answer(Answer::Fill { order_id: 4, last_qty: 3, last_px: 99.5 }),
                Action::Answer(Answer::Cancelled { order_id: 4 }),
                Action::Answer(Answer::Replaced { order_id: 5 }),
                Action::Answer(Answer::CancelRejected { order_id: 6, code: 0 }),
                Action::Answer(Answer::CancelRejected { order_id: 6, code: 99 }),
                Action::Answer(Answer::Expired { order_id: 7 }),
            ]
        );
        assert!(
            matches!(got[6], Action::Answer(Answer::Fill { last_qty: 0, last_px, .. }) if last_px.is_nan())
        );
        // Where the exchange answers (`oms run`), no answer line is taken, each saying why.
        for line in text.lines() {
            let e = parse_scenario_line_for(line, 9, Verbs::Requests).unwrap_err();
            assert!(e.message.contains("lines are not taken here: the exchange answers"), "{line}: {e}");
        }
    }

    #[test]
    fn same_time_is_allowed_and_crlf_is_fine() {
        let ev = parse_scenario("@1 advance\r\n@1 advance\r\n").unwrap();
        assert_eq!(ev.len(), 2);
    }
}
