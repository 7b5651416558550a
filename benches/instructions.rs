//! Instructions per order on the engine path, counted by callgrind: a figure that does not move
//! with the load of a shared machine. `cargo bench --bench instructions`.
//!
//! The bench re-runs itself under `valgrind --tool=callgrind` once per workload and size, with
//! `N` and `2N` orders, and reports `(I(2N) − I(N)) / N`: the marginal instructions of one more
//! order, with start-up, warm-up and shutdown cancelled out. The engine runs on a manual clock
//! (advanced by a fixed step per order), so the counts are deterministic: the same binary gives
//! the same figures on any machine of the same architecture, whatever else it is doing.
//!
//! Workloads (each one order = what the engine does for it on its own thread):
//! - `new_send_response/journal`: a New pushed through a producer ring and taken by `poll`,
//!   checked, sent at once, its response matched; two records (sent, response) appended to the
//!   memory-mapped journal.
//! - `new_send_response/counting_sink`: the same with a sink that only counts: the engine alone.
//! - `new_send_response/counting_sink_64rings`: `counting_sink` with 63 more producer rings
//!   that never see a push: what idle rings cost the active one. The engine visits only the
//!   rings its ready mask names (`oms::doorbell::ReadyMask`), so this should stay within a few
//!   instructions of `counting_sink`. `..._64rings_polled`: the same with the engine polling
//!   every ring each turn (`EngineBuilder::poll_every_ring`, the design before the mask).
//! - `new_send_response/risk_counting_sink`: `counting_sink` with every `[risk]` limit set (none
//!   refuses): what the pre-trade checks and the books add to a New and its answer. Its
//!   difference from `counting_sink` has a budget of its own ([`RISK_COST_BUDGET`]).
//! - `new_send_response/journal_batch256`: the first workload with 256 New pushed before each
//!   `poll`, as when the engine is saturated (and as in the criterion bench `engine/step/batch256`):
//!   the turn's fixed cost is shared by 256 orders.
//! - `modify_queued/journal`, `cancel_queued/journal`: a Modify / a Cancel of a random order among
//!   100k queued, through `Engine::on_request` (validation, lookup, record); cancelled orders are
//!   put back by a New (counted too, so the cancel figure is cancel + re-queue).
//! - `new_send/null_exchange` and `new_send/fix`: a New through a producer ring, sent at once,
//!   not answered, counting sink; the exchange is a no-op, or a FIX session logged on to a
//!   counterparty thread that reads and discards (the NewOrderSingle encoded, the turn's `write`,
//!   the turn's `read` that finds nothing, the session's timers). Only the engine thread is
//!   counted (`--separate-threads`): the difference is what a FIX order adds to the engine step,
//!   in user-space instructions (the two system calls' kernel time is not in it; the criterion
//!   bench `fix/engine_step` times them).
//!
//! - `new_send_response/client_counting_sink` and `..._batch256`: `counting_sink` with the
//!   producer a client of `oms::ipc` (in this process, attached through a listener): each New
//!   written into the client's shared-memory ring by `Client::on_data` and copied out of it by
//!   the engine (eight atomic loads, the fields checked, the stamp clamped), 1 or 256 per turn;
//!   beside `counting_sink` and `counting_sink_batch256`, the same through an in-process ring.
//!   Counted inside the measured loop only (`--toggle-collect`): attaching starts a quanta
//!   clock, whose calibration runs for a time, not a number of instructions.
//!
//! Results: a table on stdout and `target/instructions/summary.json`. Each workload has a
//! budget ([`WORKLOADS`]); a count above it exits 1. Without valgrind on the machine the bench says so and exits 0.
#![allow(missing_docs)] // a bench binary

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use oms::engine::{Engine, EngineBuilder, Inbound};
use oms::exchange::Exchange;
use oms::sink::{CountingSink, EventSink};
use oms::{EngineClock, RequestType};
use quanta::Mock;

use common::{AnsweringExchange, LifeExchange};

/// Orders in the smaller of the two runs per workload.
const N: u64 = 20_000;
/// Queued orders for the modify / cancel workloads.
const QUEUED: u64 = 100_000;
/// Manual clock step per order, ns.
const STEP_NS: u64 = 1_000;

/// Each workload and its budget: the most instructions per order it may take. The counts are
/// deterministic, so a figure above its budget is a change in the code, not noise: the bench
/// then exits 1 (`.ci/run` runs it). The budgets are ~7 % above the counts of 2026-12-01
/// (docs/BENCHMARKS.md); lower one when a change earns it. The risk limits may add at most 40
/// per New to the workloads without limits (the first three: their budgets were raised by what
/// the limits' and the kill switch's hooks cost, within that; `modify_queued` by their one test
/// on the Modify path); `risk_counting_sink` is ~5 % above its count. The doorbell (a fence and
/// a load per push, for the `backoff` idle strategy) and those hooks together took the New
/// workloads from 835.5 / 635.3 / 618.5 to 887.5 / 689.3 / 661.5 (2026-12-07); their budgets were
/// raised to ~2-3 % above that, on purpose: the next change on the New path needs room made.
/// The ready mask (a push marks its ring's bit: a load, a `fetch_or`; a turn takes the bits: a
/// load, a swap, a fence, the bit loop) took them to 952.5 / 689.6 / 736.5, `risk_counting_sink`
/// to 821.5 and `null_exchange` to 708.5 (2026-12-07, docs/BENCHMARKS.md, *Many producers*):
/// about a third of that is the mask's own lines (callgrind's per-line counts), the rest the register
/// allocator's and the inliner's answer to a larger `Engine::poll`; budgets raised to ~2-3 % above, on
/// purpose, for what 63 idle rings no longer cost (+4 per order through the mask, +1446 polled).
///
/// `counting_sink_64rings` may take at most ~3 % more than `counting_sink` (63 idle rings cost
/// a load of the mask's word per turn, not a look at each ring); `..._64rings_polled` is the
/// design before the mask, measured beside it (through the mask's bit loop, every bit set),
/// ~3 % above its count.
/// Producers in other processes (the engine's client rings, `not_owner`, the exit policy's
/// cancels) took `counting_sink` from 661.5 to 700.5 and `risk_counting_sink` from 747.5 to
/// 794.5 (one order per turn; the same change took `journal` from 887.5 to 884.5 and
/// `journal_batch256` from 689.3 to 685.3, so it is the inliner's choices for the counting
/// sink's engine, not work added per order: the client hooks are out of line, one test per turn
/// and per first answer): their budgets raised to 715 and 810 (2026-12-07).
///
/// Both changes together (merged the same evening, with the operator's switch read in the
/// sleeper's last look) measure `counting_sink` 769.5, `counting_sink_64rings` 774.5,
/// `risk_counting_sink` 837.5, `journal` 958.5: over either change's own count. Budgets raised
/// to ~2-3 % above, on purpose and not won back: the one-producer New path is ~100
/// instructions dearer than the morning's (661.5 → 769.5 on the counting sink), the price of
/// the client rings and the ready mask; the next change on this path has to win it back.
///
/// The risk limits' derived checks (one compare per limit on the book's first line, the books
/// open-addressed by symbol, refusals out of line) took `risk_counting_sink` from 837.5 to
/// 807.5 and `counting_sink` from 769.5 to 767.5 (2026-12-08): the limits' cost per New, 68 →
/// 40, is checked on its own ([`RISK_COST_BUDGET`]); `risk_counting_sink`'s budget lowered
/// 860 → 830 (~3 % above).
///
/// The client rings' workloads (2026-12-08) are measured beside the in-process ring's: 522.5
/// in-process and 574.4 through a client's ring at 256 per turn, 799.5 through a client's ring
/// one per turn (after the slot's one bounds check instead of eight: 615.4 and 842.5 before);
/// budgets ~5 % above.
const WORKLOADS: [(&str, f64); 16] = [
    ("new_send_response/journal", 975.0),
    ("new_send_response/journal_batch256", 705.0),
    ("new_send_response/counting_sink", 790.0),
    ("new_send_response/counting_sink_64rings", 795.0),
    ("new_send_response/counting_sink_64rings_polled", 2250.0),
    ("new_send_response/risk_counting_sink", 830.0),
    ("modify_queued/journal", 260.0),
    ("cancel_queued/journal", 650.0),
    ("new_send/null_exchange", 725.0),
    ("new_send/fix", 2800.0),
    ("new_fill/journal", 2000.0),
    ("cancel_working/journal", 3000.0),
    ("replace_working/journal", 4000.0),
    ("new_send_response/counting_sink_batch256", 550.0),
    ("new_send_response/client_counting_sink", 840.0),
    ("new_send_response/client_counting_sink_batch256", 605.0),
];

/// What the risk limits may add to a New, in instructions: `risk_counting_sink` less
/// `counting_sink` (every limit set against none), checked by the bench itself (a count above
/// it exits 1, as a workload over its budget does), whatever the two workloads' budgets allow
/// each. Measured 40.0 (2026-12-08): no slack; a change that adds to the limits' path, or
/// takes from the path without limits only, must make room.
const RISK_COST_BUDGET: f64 = 40.0;

/// Workloads counted inside their measured loop only (`Rig::measured_loop`).
fn loop_only(workload: &str) -> bool {
    workload.contains("counting_sink_batch256") || workload.contains("client_")
}

/// Workloads whose other threads are not the engine's work: a counterparty, or the journal's
/// preparation thread (it polls on the wall clock, so its count would not be deterministic; what
/// the engine thread does for the journal, the appends and the idle-turn slices, is counted).
fn engine_thread_only(workload: &str) -> bool {
    workload.starts_with("new_send/") || workload.contains("journal")
}

fn main() {
    if let (Ok(w), Ok(n)) = (std::env::var("OMS_INSTR_WORKLOAD"), std::env::var("OMS_INSTR_ORDERS")) {
        let n: u64 = n.parse().expect("OMS_INSTR_ORDERS is a number");
        child(&w, n);
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` (criterion convention): nothing to list
    }
    let valgrind = Command::new("valgrind").arg("--version").output();
    if !valgrind.as_ref().is_ok_and(|o| o.status.success()) {
        println!("instructions: valgrind not found on this machine; nothing measured");
        return;
    }
    let me = std::env::current_exe().expect("own path");
    let out = out_dir(&me);
    std::fs::create_dir_all(&out).expect("create the output directory");
    println!("instructions per order (callgrind, marginal over {N} -> {} orders)", 2 * N);
    println!("{:<36}{:>16}{:>10}", "workload", "instr/order", "budget");
    let mut rows = Vec::new();
    let mut over = Vec::new();
    for (w, budget) in WORKLOADS {
        let a = count(&me, &out, w, N);
        let b = count(&me, &out, w, 2 * N);
        let per = b.saturating_sub(a) as f64 / N as f64;
        let mark = if per > budget { "  OVER BUDGET" } else { "" };
        println!("{w:<36}{per:>16.1}{budget:>10.0}{mark}");
        if per > budget {
            over.push(format!("{w}: {per:.1} instructions per order, budget {budget:.0}"));
        }
        rows.push(serde_json::json!({"workload": w, "instructions_per_order": (per * 10.0).round() / 10.0,
            "budget": budget, "total_n": a, "total_2n": b, "n": N}));
    }
    let summary = serde_json::json!({
        "valgrind": String::from_utf8_lossy(&valgrind.map(|o| o.stdout).unwrap_or_default()).trim(),
        "date": jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC").to_string(),
        "rows": rows,
    });
    // The risk limits' cost per New: the two workloads' difference, checked on its own (their
    // budgets alone would let it grow by the slack of both).
    let per =
        |w: &str| rows.iter().find(|r| r["workload"] == w).and_then(|r| r["instructions_per_order"].as_f64());
    if let (Some(on), Some(off)) =
        (per("new_send_response/risk_counting_sink"), per("new_send_response/counting_sink"))
    {
        let cost = on - off;
        let mark = if cost > RISK_COST_BUDGET { "  OVER BUDGET" } else { "" };
        println!("{:<36}{cost:>16.1}{RISK_COST_BUDGET:>10.0}{mark}", "risk limits' cost (on - off)");
        if cost > RISK_COST_BUDGET {
            over.push(format!(
                "risk limits' cost: {cost:.1} instructions per New (risk_counting_sink - counting_sink), \
                 budget {RISK_COST_BUDGET:.0}"
            ));
        }
        rows.push(serde_json::json!({"workload": "risk_cost", "instructions_per_order": (cost * 10.0).round() / 10.0,
            "budget": RISK_COST_BUDGET}));
    }
    let path = out.join("summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary).expect("json")).expect("write summary");
    println!("wrote {}", path.display());
    if !over.is_empty() {
        eprintln!("instructions: over budget (budgets in benches/instructions.rs, docs/BENCHMARKS.md):");
        for o in &over {
            eprintln!("  {o}");
        }
        std::process::exit(1);
    }
}

fn out_dir(me: &Path) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).or_else(|| {
        // <target>/release/deps/instructions-<hash>
        me.ancestors().nth(3).map(PathBuf::from)
    });
    target.unwrap_or_else(|| PathBuf::from("target")).join("instructions")
}

/// Total instructions (callgrind `Ir`) of one child run.
fn count(me: &Path, out: &Path, workload: &str, n: u64) -> u64 {
    let file = out.join(format!("{}-{n}.callgrind", workload.replace('/', "-")));
    let separate = engine_thread_only(workload);
    let status = Command::new("valgrind")
        .args(["--tool=callgrind", "--quiet"])
        .args(separate.then_some("--separate-threads=yes"))
        .args(loop_only(workload).then_some("--toggle-collect=*measured_loop*"))
        .arg(format!("--callgrind-out-file={}", file.display()))
        .arg(me)
        .env("OMS_INSTR_WORKLOAD", workload)
        .env("OMS_INSTR_ORDERS", n.to_string())
        .status()
        .expect("run valgrind");
    assert!(status.success(), "callgrind run of {workload} with {n} orders failed");
    // With separate threads, the main (engine) thread's counts are in `FILE-01`.
    let file = if separate { PathBuf::from(format!("{}-01", file.display())) } else { file };
    let text = std::fs::read_to_string(&file).expect("read the callgrind output");
    text.lines()
        .find_map(|l| l.strip_prefix("summary:").or_else(|| l.strip_prefix("totals:")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("a summary line in the callgrind output")
}

/// The workload, run `n` times (in the child process, under callgrind).
fn child(workload: &str, n: u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let journal = |rig: &Rig| common::make_sink(&common::raw_config(None, 1, 1, dir.path()), &rig.clock);
    match workload {
        "new_send_response/journal" => {
            let rig = Rig::new(2_000_000_000, dir.path());
            let sink = journal(&rig);
            rig.new_send_response::<1, _>(sink, n);
        }
        "new_send_response/journal_batch256" => {
            let rig = Rig::new(2_000_000_000, dir.path());
            let sink = journal(&rig);
            rig.new_send_response::<256, _>(sink, n);
        }
        "new_send_response/counting_sink" => {
            Rig::new(2_000_000_000, dir.path()).new_send_response::<1, _>(CountingSink::default(), n);
        }
        "new_send_response/counting_sink_64rings" | "new_send_response/counting_sink_64rings_polled" => {
            let rig = Rig::new(2_000_000_000, dir.path()).idle_rings(63, workload.ends_with("_polled"));
            rig.new_send_response::<1, _>(CountingSink::default(), n);
        }
        "new_send_response/counting_sink_batch256" => {
            Rig::new(2_000_000_000, dir.path()).client_or_not::<256>(false, n, dir.path());
        }
        "new_send_response/client_counting_sink" => {
            Rig::new(2_000_000_000, dir.path()).client_or_not::<1>(true, n, dir.path());
        }
        "new_send_response/client_counting_sink_batch256" => {
            Rig::new(2_000_000_000, dir.path()).client_or_not::<256>(true, n, dir.path());
        }
        "new_send_response/risk_counting_sink" => {
            let rig = Rig::with_risk(2_000_000_000, dir.path(), Some(every_limit()));
            rig.new_send_response::<1, _>(CountingSink::default(), n);
        }
        "modify_queued/journal" | "cancel_queued/journal" => {
            let rig = Rig::new(1, dir.path());
            let sink = journal(&rig);
            rig.queued(sink, n, workload.starts_with("cancel"));
        }
        "new_fill/journal" | "cancel_working/journal" | "replace_working/journal" => {
            let rig = Rig::new(2_000_000_000, dir.path());
            let sink = journal(&rig);
            rig.life(sink, n, workload);
        }
        "new_send/null_exchange" => {
            let rig = Rig::new(2_000_000_000, dir.path());
            rig.new_send(|_, _, _| oms::exchange::NullExchange::default(), n);
        }
        "new_send/fix" => {
            let rig = Rig::new(2_000_000_000, dir.path());
            let store = dir.path().to_path_buf();
            rig.new_send(|cfg, responder, clock| common::logged_on_fix(cfg, responder, clock, &store), n);
        }
        other => panic!("unknown workload {other:?}"),
    }
}

/// An engine builder on a manual clock inside the bench window.
struct Rig {
    builder: EngineBuilder,
    responder: oms::Responder,
    clock: EngineClock,
    mock: Arc<Mock>,
    cfg: oms::ValidConfig,
    /// Producer handles that never push (their rings stay empty), kept for the run.
    idle: Vec<oms::Producer>,
}

impl Rig {
    /// Throttle `rate`/s with burst `rate`.
    fn new(rate: u32, dir: &Path) -> Rig {
        Rig::with_risk(rate, dir, None)
    }

    /// [`Rig::new`] with the risk limits `risk`.
    fn with_risk(rate: u32, dir: &Path, risk: Option<oms::config::RiskConfig>) -> Rig {
        let mut raw = common::raw_config(None, rate, rate, dir);
        raw.risk = risk;
        raw.engine.max_in_flight = 1 << 17; // `new_send` leaves every order in flight
        raw.engine.max_working_orders = 1 << 17; // and `new_send_response` working
        let cfg = raw.validate().expect("bench config is valid");
        let (clock, mock) = EngineClock::manual(oms::clock::system_wall_ns());
        let (builder, responder) = EngineBuilder::new(&cfg.engine, clock.clone());
        Rig { builder, responder, clock, mock, cfg, idle: Vec::new() }
    }

    /// `n` producer rings that never see a push, made before the workload's own (which is
    /// then ring `n`: the last one the engine would look at), the engine polling every ring
    /// each turn if `every_ring`.
    fn idle_rings(mut self, n: usize, every_ring: bool) -> Rig {
        self.builder.poll_every_ring(every_ring);
        self.idle = (0..n).map(|_| self.builder.producer().expect("a producer handle")).collect();
        self
    }

    fn answering(responder: oms::Responder) -> AnsweringExchange {
        AnsweringExchange { responder, lost: 0 }
    }

    /// New orders through a producer ring, each sent at once through the exchange `make`
    /// builds, none answered.
    fn new_send<E: Exchange>(
        mut self,
        make: impl FnOnce(&oms::ValidConfig, oms::Responder, &EngineClock) -> E,
        n: u64,
    ) {
        let exchange = make(&self.cfg, self.responder, &self.clock);
        let mut p = self.builder.producer().expect("a producer handle");
        let mut e = self.builder.build(exchange, CountingSink::default());
        e.poll(); // logon
        assert!(e.logged_on(), "bench window is open");
        for id in 1..=n {
            p.on_data(common::order(id), RequestType::New).expect("ring has room");
            e.poll();
            self.mock.increment(STEP_NS);
        }
        assert_eq!(e.stats().sent, n);
        finish(e);
    }

    /// New orders through a producer ring, each sent at once and answered: `BATCH` of them
    /// pushed before each `poll` (1: one order per turn). A constant, so that the loop of one
    /// order per turn compiles to just that.
    fn new_send_response<const BATCH: u64, S: EventSink>(mut self, sink: S, n: u64) {
        let mut p = self.builder.producer().expect("a producer handle");
        let mut e = self.builder.build(Rig::answering(self.responder), sink);
        e.poll(); // logon
        assert!(e.logged_on(), "bench window is open");
        let mut id = 0;
        while id < n {
            let k = BATCH.min(n - id);
            for _ in 0..k {
                id += 1;
                p.on_data(common::order(id), RequestType::New).expect("ring has room");
            }
            e.poll();
            self.mock.increment(STEP_NS * k);
        }
        e.poll(); // the last batch's responses
        assert_eq!(e.stats().matched, n);
        // Every order is working at the end: a shutdown would record each `unanswered`, which is
        // not the order path this workload measures.
        std::mem::forget(e);
    }

    /// [`Rig::new_send_response`] on the counting sink, the producer an in-process one or
    /// (`client`) a client of `oms::ipc` in this process, attached through a listener in `dir`;
    /// only [`measured_loop`] is counted.
    fn client_or_not<const BATCH: u64>(mut self, client: bool, n: u64, dir: &Path) {
        let (mut push, _listener): (Box<dyn FnMut(u64)>, _) = if client {
            let settings =
                oms::ipc::IpcSettings { max_clients: 1, ring_capacity: 1 << 16, ..Default::default() };
            let port = self.builder.clients(&settings).expect("clients");
            let listener = oms::ipc::Listener::start(&dir.join("ipc"), port, None).expect("listen");
            let mut c = oms::ipc::connect(dir.join("ipc")).expect("attach");
            (
                Box::new(move |id| c.on_data(common::order(id), RequestType::New).expect("room")),
                Some(listener),
            )
        } else {
            let mut p = self.builder.producer().expect("a producer handle");
            (Box::new(move |id| p.on_data(common::order(id), RequestType::New).expect("room")), None)
        };
        let mut e = self.builder.build(Rig::answering(self.responder), CountingSink::default());
        e.poll(); // logon
        assert!(e.logged_on(), "bench window is open");
        // Order 0 (id n + 1) until the engine has taken it: a client's ring is taken between
        // turns once the listener has told the engine.
        push(n + 1);
        while e.stats().sent == 0 {
            e.poll();
            std::thread::yield_now();
        }
        e.poll();
        measured_loop::<BATCH, _>(&mut e, &mut push, &self.mock, n);
        assert_eq!(e.stats().matched, n + 1);
        std::mem::forget(e);
    }

    /// An order's life at the exchange, per order: `new_fill` a New accepted and filled;
    /// `cancel_working` a New accepted, then a Cancel of it carried out; `replace_working` a New
    /// accepted, a Modify of it replaced at the exchange, then filled on its new terms.
    fn life<S: EventSink>(mut self, sink: S, n: u64, workload: &str) {
        let fill = workload == "new_fill/journal";
        let exchange = LifeExchange { responder: self.responder, fill, lost: 0 };
        let mut p = self.builder.producer().expect("a producer handle");
        let mut e = self.builder.build(exchange, sink);
        e.poll(); // logon
        assert!(e.logged_on(), "bench window is open");
        for id in 1..=n {
            let o = common::order(id);
            p.on_data(o, RequestType::New).expect("ring has room");
            e.poll();
            match workload {
                "cancel_working/journal" => {
                    p.on_data(o, RequestType::Cancel).expect("ring has room");
                    e.poll();
                }
                "replace_working/journal" => {
                    let new = oms::OrderRequest { qty: o.qty + 1, ..o };
                    p.on_data(new, RequestType::Modify).expect("ring has room");
                    e.poll();
                    e.poll(); // the replace answered
                    e.exchange_mut()
                        .responder
                        .on_answer(oms::Answer::Fill { order_id: id, last_qty: new.qty, last_px: new.price })
                        .expect("ring has room");
                }
                _ => {}
            }
            e.poll();
            self.mock.increment(STEP_NS);
        }
        e.poll();
        assert_eq!(e.exchange().lost, 0);
        assert_eq!(e.open_len(), 0, "every order's life ended");
        assert_eq!(e.stats().rejected_total(), 0);
        finish(e);
    }

    /// Modifies (or cancels and re-queues) random orders among `QUEUED` waiting ones.
    fn queued<S: EventSink>(self, sink: S, n: u64, cancel: bool) {
        let mut e = self.builder.build(Rig::answering(self.responder), sink);
        e.poll(); // logon
        let clock = self.clock;
        let msg = |id, request| Inbound {
            order: common::order(id),
            request,
            arrival_raw: clock.raw(),
            producer: 0,
        };
        for id in 1..=QUEUED + 1 {
            e.on_request(msg(id, RequestType::New));
        }
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..n {
            let id = rng.u64(2..=QUEUED + 1);
            if cancel {
                e.on_request(msg(id, RequestType::Cancel));
                e.on_request(msg(id, RequestType::New));
            } else {
                let mut m = msg(id, RequestType::Modify);
                m.order.price += 0.5;
                e.on_request(m);
            }
            self.mock.increment(STEP_NS);
        }
        assert_eq!(e.stats().rejected_total(), 0, "every modify / cancel found its order");
        finish(e);
    }
}

/// Every limit of `[risk]` set, none so tight that an order of the workloads is refused.
fn every_limit() -> oms::config::RiskConfig {
    oms::config::RiskConfig {
        max_order_qty: Some(1_000_000),
        max_order_notional: Some(1e12),
        price_band_bps: Some(10_000),
        max_open_orders: Some(u32::MAX),
        max_position: Some(u64::MAX / 2),
        max_daily_notional: Some(1e15),
        ..oms::config::RiskConfig::default()
    }
}

/// `n` New orders pushed by `push`, `BATCH` per turn of `e`, each answered (the one loop that
/// `loop_only` workloads count).
#[inline(never)]
fn measured_loop<const BATCH: u64, E: Exchange>(
    e: &mut Engine<E, CountingSink>,
    push: &mut dyn FnMut(u64),
    mock: &Mock,
    n: u64,
) {
    let mut id = 0;
    while id < n {
        let k = BATCH.min(n - id);
        for _ in 0..k {
            id += 1;
            push(id);
        }
        e.poll();
        mock.increment(STEP_NS * k);
    }
    e.poll(); // the last batch's responses
}

fn finish<E: Exchange, S: EventSink>(e: Engine<E, S>) {
    std::hint::black_box(e.shutdown());
}
