//! After the run: read the journal back and check every rule the demo showed.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

use hdrhistogram::Histogram;
use oms::journal::JournalStats;
use oms::throttle::ThrottleMode;
use oms::{EngineStats, EventKind as K, EventRecord, RequestType, ValidConfig};

use crate::desks::{Expect, Script};

/// How far (ns) a logon/logout may be from the configured instant: the demo's engine sleeps up
/// to 200 µs when idle, and a shared machine may delay a thread a little more.
const TIMER_SLACK_NS: i64 = 50_000_000;

struct Report {
    ok: bool,
}

impl Report {
    fn check(&mut self, rule: &str, problems: Vec<String>) {
        if problems.is_empty() {
            println!("  ok    {rule}");
        } else {
            self.ok = false;
            println!("  FAIL  {rule}");
            for p in problems.iter().take(5) {
                println!("          {p}");
            }
            if problems.len() > 5 {
                println!("          ... and {} more", problems.len() - 5);
            }
        }
    }
}

/// Checks every rule; prints one line per rule; `Ok(true)` when all hold.
pub fn check_all(
    ev: &[EventRecord],
    script: &Script,
    cfg: &ValidConfig,
    journal: &Path,
) -> std::io::Result<bool> {
    println!("Checking the journal ({} records):", ev.len());
    let mut r = Report { ok: true };
    let of = |k: K| ev.iter().filter(move |e| e.kind == k);

    // Sequence numbers.
    let gaps: Vec<String> = ev
        .iter()
        .enumerate()
        .filter(|(i, e)| e.seq != *i as u64 + 1)
        .map(|(i, e)| format!("record {i} has seq {}", e.seq))
        .collect();
    r.check("every record present, sequence numbers 1..n without gaps", gaps);

    // Window: one logon at the start, one logout at the end, nothing sent outside.
    let logons: Vec<i64> = of(K::Logon).map(|e| e.time_ns).collect();
    let logouts: Vec<i64> = of(K::Logout).map(|e| e.time_ns).collect();
    let mut p = Vec::new();
    if logons.len() != 1 || logouts.len() != 1 {
        p.push(format!("{} logons and {} logouts, expected 1 and 1", logons.len(), logouts.len()));
    }
    let span = cfg.engine.session.window.current_or_next(logons.first().copied().unwrap_or(0));
    if let (Some(&on), Some(&off), Some(span)) = (logons.first(), logouts.first(), span) {
        if (on - span.start_ns).abs() > TIMER_SLACK_NS || on < span.start_ns {
            p.push(format!("logon {} ns after the window start", on - span.start_ns));
        }
        if (off - span.end_ns).abs() > TIMER_SLACK_NS || off < span.end_ns {
            p.push(format!("logout {} ns after the window end", off - span.end_ns));
        }
        for e in of(K::Sent).filter(|e| e.time_ns < on || e.time_ns >= off) {
            p.push(format!("#{} sent outside the session", e.order_id));
        }
        for e in of(K::Queued).filter(|e| e.time_ns < on || e.time_ns >= off) {
            p.push(format!("#{} queued outside the session", e.order_id));
        }
    }
    r.check("logon once at the window start, logout once at its end, nothing sent outside", p);

    // Throttle.
    let sends: Vec<i64> = of(K::Sent).map(|e| e.time_ns).collect();
    let (rate, burst) = (cfg.engine.throttle.rate.get() as u128, cfg.engine.throttle.burst.get() as u128);
    let mut p = Vec::new();
    for j in 0..sends.len() {
        for i in 0..=j {
            let n = (j - i + 1) as u128;
            let span = (sends[j] - sends[i]) as u128;
            let limit = match cfg.engine.throttle.mode {
                ThrottleMode::TokenBucket => burst + rate * span / 1_000_000_000,
                ThrottleMode::SlidingWindow if span < 1_000_000_000 => rate,
                ThrottleMode::SlidingWindow => u128::MAX,
            };
            if n > limit {
                p.push(format!("{n} sends within {span} ns (limit {limit})"));
            }
        }
    }
    r.check(
        &format!(
            "throttle: at most {burst} + {rate}/s x T sends in any span T ({:?})",
            cfg.engine.throttle.mode
        ),
        p,
    );

    // FIFO, modify in place, cancel, lifecycle.
    let mut queue: VecDeque<u64> = VecDeque::new();
    let mut last_values: HashMap<u64, (f64, u64)> = HashMap::new();
    let mut cancelled: HashSet<u64> = HashSet::new();
    let mut sent_at: HashMap<u64, i64> = HashMap::new();
    let (mut fifo, mut modify, mut life) = (Vec::new(), Vec::new(), Vec::new());
    let mut terminal: HashMap<u64, u32> = HashMap::new();
    for e in ev {
        let id = e.order_id;
        match Some(e.kind) {
            Some(K::Queued) => queue.push_back(id),
            Some(K::Modified) => {
                if !queue.contains(&id) {
                    modify.push(format!("#{id} modified while not queued"));
                }
                last_values.insert(id, (e.price, e.qty));
            }
            Some(K::Cancelled) => {
                queue.retain(|x| *x != id);
                cancelled.insert(id);
                *terminal.entry(id).or_default() += 1;
            }
            Some(K::Sent) => {
                if queue.contains(&id) {
                    if queue.front() != Some(&id) {
                        fifo.push(format!("#{id} sent before #{:?}, queued earlier", queue.front()));
                    }
                    queue.retain(|x| *x != id);
                } else if !queue.is_empty() {
                    fifo.push(format!("#{id} overtook {} queued orders", queue.len()));
                }
                if let Some(&(px, qty)) = last_values.get(&id)
                    && (px, qty) != (e.price, e.qty)
                {
                    modify.push(format!("#{id} sent at {} x {}, modified to {px} x {qty}", e.price, e.qty));
                }
                if cancelled.contains(&id) {
                    modify.push(format!("#{id} sent after its cancel"));
                }
                sent_at.insert(id, e.time_ns);
                *terminal.entry(id).or_default() += 1;
            }
            // A duplicate New is a request of its own; it does not end the live order.
            Some(K::Rejected)
                if e.request == RequestType::New && e.reason != Some(oms::RejectReason::DuplicateOrderId) =>
            {
                queue.retain(|x| *x != id);
                *terminal.entry(id).or_default() += 1;
            }
            _ => {}
        }
    }
    r.check("queued orders go out oldest first; a new order never overtakes a queued one", fifo);
    r.check("a modify replaces price and qty in place; a cancelled order is never sent", modify);

    let news: HashSet<u64> =
        script.steps().filter(|s| s.request == RequestType::New).map(|s| s.order.order_id).collect();
    for id in &news {
        match terminal.get(id) {
            Some(1) => {}
            Some(n) => life.push(format!("#{id} ended {n} times")),
            None => life.push(format!("#{id} has no final state")),
        }
    }
    r.check(
        &format!("each of the {} New orders ends exactly once: sent, cancelled or rejected", news.len()),
        life,
    );

    // Scripted outcomes that do not depend on timing.
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

    let mut p = Vec::new();
    let ended = of(K::Rejected).filter(|e| e.reason.map(|x| x.name()) == Some("session_ended")).count();
    if ended == 0 {
        p.push("no order was still queued at logout (expected some)".into());
    }
    if let Some(&off) = logouts.first() {
        for e in of(K::Rejected).filter(|e| e.reason.map(|x| x.name()) == Some("session_ended")) {
            if e.time_ns > off {
                p.push(format!("#{} rejected session_ended after the logout", e.order_id));
            }
        }
    }
    r.check(&format!("orders still queued at logout are rejected session_ended ({ended})"), p);

    // Responses.
    let mut p = Vec::new();
    let min_ns = cfg.exchange.latency_min_us * 1000;
    let mut answered = HashSet::new();
    for e in of(K::Response) {
        match sent_at.get(&e.order_id) {
            None => p.push(format!("response for #{} which was never sent", e.order_id)),
            Some(&t) => {
                if e.latency_ns < min_ns || e.latency_ns as i64 > e.time_ns - t {
                    p.push(format!(
                        "#{} latency {} ns outside [{min_ns}, {}]",
                        e.order_id,
                        e.latency_ns,
                        e.time_ns - t
                    ));
                }
                if !answered.insert(e.order_id) {
                    p.push(format!("#{} answered twice", e.order_id));
                }
            }
        }
    }
    for e in of(K::Unanswered) {
        answered.insert(e.order_id);
    }
    for id in sent_at.keys().filter(|id| !answered.contains(id)) {
        p.push(format!("#{id} sent, neither answered nor recorded unanswered"));
    }
    r.check("every response matched to its order with its round-trip latency", p);

    // The password.
    let mut p = Vec::new();
    let secret = cfg.engine.session.logon.password.expose().as_bytes();
    if !secret.is_empty() {
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
    }
    r.check("the password appears in no byte of the journal", p);
    Ok(r.ok)
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
    let mut reasons: Vec<(&str, usize)> = oms::RejectReason::ALL
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
