//! After the run: audit the journal against the rules (`oms::audit`, the same checker as
//! `oms audit`), then check what this demo's script promises beyond the rules.

use std::path::Path;

use hdrhistogram::Histogram;
use oms::audit::{AuditOptions, Auditor, Rule};
use oms::journal::JournalStats;
use oms::model::SessionEvent;
use oms::record::Event;
use oms::window::Closing;
use oms::{EngineStats, EventKind as K, EventRecord, RejectReason, RequestType, ValidConfig};

use crate::desks::{Expect, FAT_FINGER_ID, FAT_FINGER_QTY, Script};

/// The reject reasons of the pre-trade risk limits.
const LIMITS: [RejectReason; 8] = [
    RejectReason::MaxOrderQty,
    RejectReason::MaxOrderNotional,
    RejectReason::PriceBand,
    RejectReason::NoReferencePrice,
    RejectReason::MaxOpenOrders,
    RejectReason::MaxPosition,
    RejectReason::MaxDailyNotional,
    RejectReason::TooManySymbols,
];

/// How late (ns) the logon and the logout may be after the configured instants. The engine
/// parks at most 200 µs when idle and wakes at its next deadline, so on a quiet machine they are
/// within a millisecond; a busy two-vCPU machine can keep the engine's thread off its core for
/// a few scheduler periods (tens of ms each). 250 ms tolerates that and still catches a timer
/// that is off by a second, a time zone or a day.
const TIMER_SLACK_NS: i64 = 250_000_000;

struct Report {
    ok: bool,
}

impl Report {
    fn check(&mut self, what: &str, problems: Vec<String>) {
        if problems.is_empty() {
            println!("  ok    {what}");
        } else {
            self.ok = false;
            println!("  FAIL  {what}");
            for p in problems.iter().take(5) {
                println!("          {p}");
            }
            if problems.len() > 5 {
                println!("          ... and {} more", problems.len() - 5);
            }
        }
    }
}

/// Audits the journal, then checks the script's own promises; prints one line per rule and per
/// check; `Ok(true)` when everything holds.
pub fn check_run(
    ev: &[EventRecord],
    script: &Script,
    cfg: &ValidConfig,
    journal: &Path,
    desks_saw: &[(u16, u64)],
) -> std::io::Result<bool> {
    let (window, throttle) = (&cfg.engine.session.window, &cfg.engine.throttle);
    println!("The rules, audited from the journal ({} records; `oms audit` checks the same):", ev.len());
    let mut auditor = Auditor::new(window, throttle, AuditOptions::LIVE).with_risk(cfg.engine.risk.as_ref());
    for r in ev {
        auditor.push(r);
    }
    let audit = auditor.finish();
    for line in audit.to_string().lines() {
        println!("  {line}");
    }
    let mut r = Report { ok: audit.is_clean() };
    println!("\nWhat this demo's script promises beyond the rules:");
    let of = |k: K| ev.iter().filter(move |e| e.kind == k);

    let news = script.steps().filter(|s| s.request == RequestType::New).count() as u64;
    let seen = audit.rule(Rule::Fates).checked;
    let lost = if seen == news { vec![] } else { vec![format!("{seen} in the journal")] };
    r.check(&format!("each of the {news} New orders the desks sent is in the journal"), lost);

    let mut p = Vec::new();
    for s in script.steps() {
        let refused = |want: &dyn Fn(RejectReason) -> bool| {
            of(K::Rejected).any(|e| {
                e.order_id == s.order.order_id && e.request == s.request && e.reason.is_some_and(want)
            })
        };
        let (hit, expected) = match s.expect {
            Expect::Any => continue,
            Expect::Reject(reason) => (refused(&|x| x.name() == reason), reason),
            Expect::Limit => (refused(&|x| LIMITS.contains(&x)), "a risk limit"),
        };
        if !hit {
            p.push(format!("{} #{}: expected {expected}", s.request.name(), s.order.order_id));
        }
    }
    r.check(
        "invalid, duplicate, unknown, already-sent, out-of-window and halted requests get their reason; \
         the fat finger is refused by a risk limit",
        p,
    );
    let leaked: Vec<String> = of(K::Sent)
        .filter(|e| e.order_id == FAT_FINGER_ID)
        .map(|e| format!("#{} sent at seq {}", e.order_id, e.seq))
        .collect();
    r.check("the fat finger never reaches the exchange", leaked);

    r.check(
        "the halt: one decision (the queue rejected halted, a cancel of every working order), nothing \
         but cancels sent until the resume, trading again after it",
        halt_problems(ev, cfg.fix.is_none()),
    );

    let ended = of(K::Rejected).filter(|e| e.reason == Some(RejectReason::SessionEnded)).count();
    let p = if ended == 0 { vec!["no order was still queued at the logout".into()] } else { vec![] };
    r.check(&format!("the last burst outlasts the window: {ended} orders rejected session_ended"), p);

    r.check(
        &format!(
            "one logon and one logout, at most {} ms after the window's start and end (the logout also \
             the grace it gives the cancels of working orders; the engine parks \
             up to 200 us when idle; the rest is room for a busy machine's scheduler)",
            TIMER_SLACK_NS / 1_000_000
        ),
        timer_problems(ev, cfg),
    );

    if cfg.fix.is_some() {
        r.check(
            "the FIX session logged on after the engine's logon, answered every order sent, and \
             logged out after the engine's logout",
            fix_problems(ev),
        );
    } else {
        let min_ns = cfg.exchange.latency_min_us * 1000;
        let p: Vec<String> = of(K::Response)
            .filter(|e| e.latency_ns < min_ns)
            .map(|e| format!("#{} answered in {} ns", e.order_id, e.latency_ns))
            .collect();
        r.check(
            &format!(
                "no response is faster than the simulated exchange's minimum ({} us)",
                cfg.exchange.latency_min_us
            ),
            p,
        );
    }

    let p: Vec<String> = desks_saw
        .iter()
        .filter_map(|&(producer, saw)| {
            let own = ev.iter().filter(|e| e.producer == producer).count() as u64;
            (saw != own).then(|| format!("producer {producer} told {saw} outcomes, the journal has {own}"))
        })
        .chain((desks_saw.len() != 3).then(|| format!("{} of 3 desks finished", desks_saw.len())))
        .collect();
    r.check("each desk told every record about its own requests, and only those", p);

    r.check("the password appears in no byte of the journal", password_problems(cfg, journal)?);
    Ok(r.ok)
}

/// One `halted` and one `resumed`; between them nothing sent but cancels; every order working
/// at the halt (sent and accepted, its life not ended) gets the engine's cancel, or ends by
/// itself first (a fill); the queue at the halt rejected `halted`. With the simulated exchange
/// (`working_expected`: its orders work for 2 s) at least one order was working at the halt.
fn halt_problems(ev: &[EventRecord], working_expected: bool) -> Vec<String> {
    let at = |k: K| ev.iter().position(|e| e.kind == k);
    let (Some(h), Some(res)) = (at(K::Halted), at(K::Resumed)) else {
        return vec![format!(
            "halted at {:?}, resumed at {:?}: expected one of each",
            at(K::Halted),
            at(K::Resumed)
        )];
    };
    let mut p = Vec::new();
    if ev.iter().filter(|e| matches!(e.kind, K::Halted | K::Resumed)).count() != 2 {
        p.push("more than one halt or resume".into());
    }
    for e in &ev[h..res] {
        if matches!(e.kind, K::Sent | K::ReplaceSent) {
            p.push(format!("{} #{} at seq {} while halted", e.kind.name(), e.order_id, e.seq));
        }
    }
    let working = working_at(&ev[..h]);
    let cancelled: Vec<u64> = ev[h..]
        .iter()
        .filter(|e| e.kind == K::CancelQueued && e.producer == u16::MAX)
        .map(|e| e.order_id)
        .collect();
    for id in &working {
        if !cancelled.contains(id) {
            p.push(format!("#{id} was working at the halt and got no cancel"));
        }
    }
    if working_expected && working.is_empty() {
        p.push("no order was working at the halt".into());
    }
    if !ev[res..].iter().any(|e| e.kind == K::Sent) {
        p.push("nothing sent after the resume".into());
    }
    p
}

/// The orders working (accepted, their life not ended) at the end of `ev`.
fn working_at(ev: &[EventRecord]) -> Vec<u64> {
    let mut working: Vec<u64> = Vec::new();
    for e in ev {
        match e.event() {
            Event::Response { order, response: oms::ResponseType::Accept, .. } => {
                working.push(order.order_id)
            }
            Event::Fill { order_id, complete: true, .. } => working.retain(|id| *id != order_id),
            Event::VenueCancelled { order, .. } | Event::Expired { order } | Event::Unanswered { order } => {
                working.retain(|id| *id != order.order_id)
            }
            _ => {}
        }
    }
    working
}

/// The FIX session's own records: logged on after the engine's logon and before the first send,
/// logged out after the engine's logout; every order sent answered.
fn fix_problems(ev: &[EventRecord]) -> Vec<String> {
    let seq = |f: &dyn Fn(&EventRecord) -> bool| ev.iter().find(|e| f(e)).map(|e| e.seq);
    let session = |want: SessionEvent| move |e: &EventRecord| matches!(e.event(), Event::ExchangeSession(report) if report.event() == want);
    let logon = seq(&|e| e.kind == K::Logon);
    let logged_on = seq(&session(SessionEvent::LoggedOn));
    let first_send = seq(&|e| e.kind == K::Sent);
    let logout = seq(&|e| e.kind == K::Logout);
    let logged_out = seq(&session(SessionEvent::LoggedOut));
    let mut p = Vec::new();
    if !(logon < logged_on && logged_on.is_some() && (first_send.is_none() || logged_on < first_send)) {
        p.push(format!(
            "logon at seq {logon:?}, FIX logged on at {logged_on:?}, first send at {first_send:?}"
        ));
    }
    if !(logout < logged_out && logout.is_some()) {
        p.push(format!("logout at seq {logout:?}, FIX logged out at {logged_out:?}"));
    }
    let unanswered = ev.iter().filter(|e| e.kind == K::Unanswered).count();
    if unanswered > 0 {
        p.push(format!("{unanswered} order(s) sent but unanswered"));
    }
    p
}

/// One logon and one logout, each within the slack after its configured instant.
fn timer_problems(ev: &[EventRecord], cfg: &ValidConfig) -> Vec<String> {
    let logons: Vec<i64> = ev.iter().filter(|e| e.kind == K::Logon).map(|e| e.time_ns).collect();
    let logouts: Vec<i64> = ev.iter().filter(|e| e.kind == K::Logout).map(|e| e.time_ns).collect();
    let (&[on], &[off]) = (logons.as_slice(), logouts.as_slice()) else {
        return vec![format!("{} logons and {} logouts, expected 1 and 1", logons.len(), logouts.len())];
    };
    let Some(span) = cfg.engine.session.window.current_or_next(on) else {
        return vec!["no window around the logon".into()];
    };
    // With orders working at the window's end the Logout waits for their cancels, for the
    // grace at most (the audit checks it waited for nothing else).
    let grace = match cfg.engine.session.closing {
        Closing::CancelFirst { grace_ns } => i64::try_from(grace_ns).unwrap_or(i64::MAX),
        Closing::LogoutAtEnd => 0,
    };
    let mut p = Vec::new();
    for (what, at, due, late) in
        [("logon", on, span.start_ns, TIMER_SLACK_NS), ("logout", off, span.end_ns, grace + TIMER_SLACK_NS)]
    {
        if !(0..=late).contains(&(at - due)) {
            p.push(format!("{what} {:.3} ms after its instant", (at - due) as f64 / 1e6));
        }
    }
    p
}

/// Every file of the journal, searched for the password's bytes.
fn password_problems(cfg: &ValidConfig, journal: &Path) -> std::io::Result<Vec<String>> {
    let mut p = Vec::new();
    let secret = cfg.engine.session.logon.password.expose().as_bytes();
    if secret.is_empty() {
        return Ok(p);
    }
    let dir = journal.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let stem = journal.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&stem)) {
            let bytes = std::fs::read(&path)?;
            if bytes.windows(secret.len()).any(|w| w == secret) {
                p.push(format!("{} contains the password", path.display()));
            }
        }
    }
    Ok(p)
}

/// Counts per kind and reason, response latency percentiles; the fat finger and the halt.
pub fn summary(ev: &[EventRecord], stats: &EngineStats, journal: &JournalStats, cfg: &ValidConfig) {
    println!("\nSummary:");
    risk_summary(ev, cfg);
    for k in K::ALL {
        let n = ev.iter().filter(|e| e.kind == k).count();
        if n > 0 {
            println!("  {:<20}{n}", k.name());
        }
    }
    let mut reasons: Vec<(&str, usize)> = RejectReason::ALL
        .iter()
        .map(|r| (r.name(), ev.iter().filter(|e| e.kind == K::Rejected && e.reason == Some(*r)).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
    let list: Vec<String> = reasons.iter().map(|(r, n)| format!("{r} {n}")).collect();
    println!("  rejects by reason:  {}", list.join(", "));
    if let Ok(mut h) = Histogram::<u64>::new(3) {
        for e in ev.iter().filter(|e| e.kind == K::Response) {
            let _ = h.record(e.latency_ns.max(1));
        }
        if !h.is_empty() {
            let q = |p: f64| h.value_at_quantile(p) as f64 / 1e3;
            println!(
                "  response latency:   p50 {:.0} us, p90 {:.0} us, p99 {:.0} us, max {:.0} us ({} responses)",
                q(0.5),
                q(0.9),
                q(0.99),
                h.max() as f64 / 1e3,
                h.len()
            );
        }
    }
    println!(
        "  engine:             {} requests, {} sent, deepest queue {}; journal: {} records in {} segment(s)",
        stats.requests, stats.sent, stats.max_queue_len, journal.records, journal.segments
    );
}

/// What the risk limits and the kill switch did: the fat finger's refusal (with the limit it
/// broke), and the halt's decision.
fn risk_summary(ev: &[EventRecord], cfg: &ValidConfig) {
    let refusal = ev.iter().find(|e| e.kind == K::Rejected && e.order_id == FAT_FINGER_ID);
    let limit = cfg.engine.risk.as_ref().map(|r| r.limits(crate::desks::SYM));
    match refusal.and_then(|e| e.reason) {
        Some(reason) => {
            let set = match (reason, limit) {
                (RejectReason::MaxOrderQty, Some(l)) => l.max_order_qty.map(|m| format!(" > limit {m}")),
                _ => None,
            };
            println!(
                "  fat finger:         #{FAT_FINGER_ID} for {FAT_FINGER_QTY} shares refused {} (qty {FAT_FINGER_QTY}{}), never sent",
                reason.name(),
                set.unwrap_or_default()
            );
        }
        None => println!("  fat finger:         #{FAT_FINGER_ID}: no refusal in the journal"),
    }
    let Some(h) = ev.iter().position(|e| e.kind == K::Halted) else {
        println!("  kill switch:        no halt in the journal");
        return;
    };
    let res = ev.iter().position(|e| e.kind == K::Resumed).unwrap_or(ev.len());
    let during = &ev[h..res];
    let queue = during
        .iter()
        .filter(|e| {
            e.kind == K::Rejected && e.reason == Some(RejectReason::Halted) && e.request == RequestType::New
        })
        .count();
    let cancels: Vec<u64> = during
        .iter()
        .filter(|e| e.kind == K::CancelQueued && e.producer == u16::MAX)
        .map(|e| e.order_id)
        .collect();
    let done = ev[h..]
        .iter()
        .filter(|e| matches!(e.event(), Event::VenueCancelled { solicited: true, order, .. } if cancels.contains(&order.order_id)))
        .count();
    println!(
        "  kill switch:        halted for {:.1} s: {queue} New orders rejected halted (queued or new), \
         {working} working orders cancelled by the engine ({done} cancels carried out), nothing else sent",
        ev.get(res).map_or(0, |r| r.time_ns - ev[h].time_ns) as f64 / 1e9,
        working = cancels.len()
    );
}
