//! After the run: audit the journal against the rules (`oms::audit`, the same checker as
//! `oms audit`), then check what this demo's script promises beyond the rules.

use std::path::Path;

use hdrhistogram::Histogram;
use oms::audit::{AuditOptions, Rule, audit};
use oms::journal::JournalStats;
use oms::model::SessionEvent;
use oms::record::Event;
use oms::window::Closing;
use oms::{EngineStats, EventKind as K, EventRecord, RejectReason, RequestType, ValidConfig};

use crate::desks::{Expect, Script};

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
    let audit = audit(ev, window, throttle, AuditOptions::LIVE);
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
        if let Expect::Reject(reason) = s.expect {
            let hit = of(K::Rejected).any(|e| {
                e.order_id == s.order.order_id
                    && e.request == s.request
                    && e.reason.map(|x| x.name()) == Some(reason)
            });
            if !hit {
                p.push(format!("{} #{}: expected {reason}", s.request.name(), s.order.order_id));
            }
        }
    }
    r.check("invalid, duplicate, unknown, already-sent and out-of-window requests get their reason", p);

    let ended = of(K::Rejected).filter(|e| e.reason == Some(RejectReason::SessionEnded)).count();
    let p = if ended == 0 { vec!["no order was still queued at the logout".into()] } else { vec![] };
    r.check(&format!("the second burst outlasts the window: {ended} orders rejected session_ended"), p);

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

/// Counts per kind and reason, response latency percentiles.
pub fn summary(ev: &[EventRecord], stats: &EngineStats, journal: &JournalStats) {
    println!("\nSummary:");
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
