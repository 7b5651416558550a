//! `# expect:` annotations: what a scenario says must happen, checked against the journal a
//! replay of it wrote (syntax: the last section of `docs/scenario-format.md`).
//!
//! The check is independent of the golden CSV files: a regenerated CSV that contradicts its
//! scenario's annotations fails. The rules:
//! - each expectation claims one record: the earliest not yet claimed with its kind, time and
//!   every field it names;
//! - every record of the journal is claimed by exactly one expectation;
//! - records at the same instant appear in the journal in the order their expectations are
//!   written (file order, left to right within a line).

use oms::{EventKind, EventRecord, RejectReason, RequestType, ResponseType};

/// One expected record.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// 1-based line of the scenario file.
    pub line: usize,
    /// The expectation as written.
    pub text: String,
    pub kind: EventKind,
    /// Time since the start of the run, ns (`@<ms>`).
    pub at_ns: u64,
    pub id: Option<u64>,
    pub px: Option<f64>,
    pub qty: Option<u64>,
    pub sym: Option<i32>,
    pub side: Option<char>,
    pub reason: Option<RejectReason>,
    pub response: Option<ResponseType>,
    pub latency_ns: Option<u64>,
    /// A fill's quantity filled so far (`cum=`).
    pub cum: Option<u64>,
    /// A `cancel_rejected`'s reason code (`code=`).
    pub code: Option<u64>,
    pub req: Option<RequestType>,
    /// The producer the record answers (`p=`, as in scenario lines).
    pub p: Option<u16>,
}

/// `<ms>` with up to 6 decimals → ns.
fn ms_to_ns(s: &str) -> Option<u64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() || frac.len() > 6 || !(int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())) {
        return None;
    }
    let frac_ns: u64 = if frac.is_empty() { 0 } else { format!("{frac:0<6}").parse().ok()? };
    int.parse::<u64>().ok()?.checked_mul(1_000_000)?.checked_add(frac_ns)
}

fn parse_one(line: usize, text: &str) -> Result<Expectation, String> {
    let err = |m: String| format!("line {line}: `{text}`: {m}");
    let mut words = text.split_whitespace();
    let kind_word = words.next().ok_or_else(|| err("empty expectation".into()))?;
    let kind =
        EventKind::from_name(kind_word).ok_or_else(|| err(format!("unknown event kind {kind_word:?}")))?;
    let mut e = Expectation {
        line,
        text: text.to_string(),
        kind,
        at_ns: 0,
        id: None,
        px: None,
        qty: None,
        sym: None,
        side: None,
        reason: None,
        response: None,
        latency_ns: None,
        cum: None,
        code: None,
        req: None,
        p: None,
    };
    let mut at = None;
    let mut seen: Vec<&str> = Vec::new();
    for w in words {
        if let Some(ms) = w.strip_prefix('@') {
            if at.replace(ms_to_ns(ms).ok_or_else(|| err(format!("bad time {w:?}")))?).is_some() {
                return Err(err("two times".into()));
            }
            continue;
        }
        let (key, value) =
            w.split_once('=').ok_or_else(|| err(format!("{w:?} is not @<ms> or key=value")))?;
        if seen.contains(&key) {
            return Err(err(format!("{key} given twice")));
        }
        seen.push(key);
        let bad = || err(format!("bad value for {key}: {value:?}"));
        match key {
            "id" => e.id = Some(value.parse().map_err(|_| bad())?),
            "px" => e.px = Some(value.parse().map_err(|_| bad())?),
            "qty" => e.qty = Some(value.parse().map_err(|_| bad())?),
            "sym" => e.sym = Some(value.parse().map_err(|_| bad())?),
            "side" => e.side = Some(value.parse().map_err(|_| bad())?),
            "reason" => e.reason = Some(RejectReason::from_name(value).ok_or_else(bad)?),
            "response" => {
                e.response = Some(match value {
                    "accept" => ResponseType::Accept,
                    "reject" => ResponseType::Reject,
                    _ => return Err(bad()),
                })
            }
            "latency" => e.latency_ns = Some(ms_to_ns(value).ok_or_else(bad)?),
            "cum" if matches!(kind, EventKind::Fill | EventKind::Filled) => {
                e.cum = Some(value.parse().map_err(|_| bad())?)
            }
            "code" if kind == EventKind::CancelRejected => e.code = Some(value.parse().map_err(|_| bad())?),
            "cum" | "code" => return Err(err(format!("{key}= does not apply to {}", kind.name()))),
            "req" => {
                e.req = Some(match value {
                    "new" => RequestType::New,
                    "modify" => RequestType::Modify,
                    "cancel" => RequestType::Cancel,
                    _ => return Err(bad()),
                })
            }
            "p" => e.p = Some(value.parse().map_err(|_| bad())?),
            _ => return Err(err(format!("unknown key {key:?}"))),
        }
    }
    e.at_ns = at.ok_or_else(|| err("no @<ms> time".into()))?;
    let session = matches!(kind, EventKind::Logon | EventKind::Logout);
    if session != e.id.is_none() {
        return Err(err(if session { "logon/logout take no id".into() } else { "id= is required".into() }));
    }
    Ok(e)
}

/// Every expectation in a scenario's text, in file order.
pub fn parse(scenario: &str) -> Result<Vec<Expectation>, String> {
    let mut out = Vec::new();
    for (i, line) in scenario.lines().enumerate() {
        let Some((_, comment)) = line.split_once('#') else { continue };
        let Some(body) = comment.trim_start().strip_prefix("expect:") else { continue };
        for part in body.split(';').map(str::trim) {
            out.push(parse_one(i + 1, part)?);
        }
    }
    Ok(out)
}

fn matches(e: &Expectation, r: &EventRecord, start_ns: i64) -> bool {
    let same_px = |px: f64| px == r.price || (px.is_nan() && r.price.is_nan());
    r.kind == e.kind
        && r.time_ns.checked_sub(start_ns) == i64::try_from(e.at_ns).ok()
        && e.id.is_none_or(|v| v == r.order_id)
        && e.px.is_none_or(same_px)
        && e.qty.is_none_or(|v| v == r.qty)
        && e.sym.is_none_or(|v| v == r.symbol_id)
        && e.side.is_none_or(|v| v == r.side)
        && e.reason.is_none_or(|v| Some(v) == r.reason)
        && e.response.is_none_or(|v| v == r.response)
        && e.latency_ns.is_none_or(|v| v == r.latency_ns)
        && e.cum.is_none_or(|v| v == r.latency_ns)
        && e.code.is_none_or(|v| v == r.latency_ns)
        && e.req.is_none_or(|v| v == r.request)
        && e.p.is_none_or(|v| v == r.producer)
}

fn describe(r: &EventRecord, start_ns: i64) -> String {
    let ms = (r.time_ns - start_ns) as f64 / 1e6;
    format!(
        "seq {} {} id={} @{ms} px={} qty={} reason={:?} response={:?} latency_ns={} req={:?}",
        r.seq,
        r.kind.name(),
        r.order_id,
        r.price,
        r.qty,
        r.reason.map(|x| x.name()),
        r.response,
        r.latency_ns,
        r.request
    )
}

/// What is wrong with `records` (a replay started at wall-clock `start_ns`) against the
/// expectations; empty if nothing.
pub fn check(expectations: &[Expectation], records: &[EventRecord], start_ns: i64) -> Vec<String> {
    let mut problems = Vec::new();
    let mut claimed = vec![false; records.len()];
    // (at_ns, record index) per expectation, in file order.
    let mut claims: Vec<(u64, usize, &Expectation)> = Vec::new();
    for e in expectations {
        match (0..records.len()).find(|&i| !claimed[i] && matches(e, &records[i], start_ns)) {
            Some(i) => {
                claimed[i] = true;
                claims.push((e.at_ns, i, e));
            }
            None => {
                let near: Vec<String> = records
                    .iter()
                    .filter(|r| r.kind == e.kind && e.id.is_none_or(|id| id == r.order_id))
                    .map(|r| describe(r, start_ns))
                    .collect();
                problems.push(format!(
                    "line {}: no record for `{}`; records of that kind: {near:?}",
                    e.line, e.text
                ));
            }
        }
    }
    for (r, _) in records.iter().zip(&claimed).filter(|(_, c)| !**c) {
        problems.push(format!("no expectation for record {}", describe(r, start_ns)));
    }
    for (n, (at, i, e)) in claims.iter().enumerate() {
        for (at2, j, e2) in &claims[n + 1..] {
            if at == at2 && j < i {
                problems.push(format!(
                    "line {}: `{}` is written before line {}: `{}`, but the journal has them the other way round \
                     (seq {} after seq {})",
                    e.line, e.text, e2.line, e2.text, records[*i].seq, records[*j].seq
                ));
            }
        }
    }
    problems
}
