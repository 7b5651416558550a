//! The pre-trade risk limits at 1M/s: the oms engine with no `[risk]` and with every limit of
//! `[risk]` set (none binding: the orders are far inside each, and the exchange's `Reject` ends
//! each order, so nothing fills), each symbol given a reference price so that the band is
//! checked against one. The two configurations alternate, twice each (off, on, off, on), in the
//! same process, journal on, the engine spinning: what the limits' check and booking (a New)
//! and release (its answer) cost the tail, beside the run-to-run noise of the same
//! configuration.

use serde_json::{Value, json};

use crate::driver::Schedule;
use crate::{oms_design, report};
use oms::runner::IdleStrategy;

/// The reference price of every symbol: the middle of the driver's prices (100 to 124.75).
const REFERENCE: f64 = 112.0;

/// Every limit set, none binding for the driver's orders (quantity 10 to 99, price 100 to
/// 124.75, 64 symbols, each order ended by its answer).
fn limits() -> oms::config::RiskConfig {
    oms::config::RiskConfig {
        max_order_qty: Some(1_000_000),
        max_order_notional: Some(1e12),
        price_band_bps: Some(5_000),
        max_open_orders: Some(1_000_000),
        max_position: Some(u64::MAX / 2),
        max_daily_notional: Some(1e15),
        ..oms::config::RiskConfig::default()
    }
}

/// Runs the section at `rate` for `secs` per run; prints its table and returns its rows for
/// `summary.json` (`risk`).
pub fn section(
    schedule: &dyn Fn(Option<u64>, u64) -> Schedule,
    engine_core: Option<usize>,
    rate: u64,
    secs: f64,
) -> Vec<Value> {
    println!(
        "\n== Risk limits at {}/s: no [risk] vs every limit set (none binding), alternating, journal on, \
         engine spinning: on_data -> send | round trip",
        report::rate_label(rate as f64)
    );
    println!(
        "{:<8}{:<7}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10} |{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>11}{:>8}",
        "limits",
        "run",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "p99.99",
        "max",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "p99.99",
        "max",
        "achieved",
        "cpu %"
    );
    let orders = (rate as f64 * secs) as u64;
    let mut rows = Vec::new();
    for (k, on) in [false, true, false, true].into_iter().enumerate() {
        let journal = tempfile::tempdir().expect("temp dir for the journal");
        let pre = crate::driver::preemptions();
        let risk = on.then(|| (limits(), REFERENCE));
        let o = oms_design::run_with(
            &schedule(Some(rate), orders),
            engine_core,
            journal.path(),
            IdleStrategy::Spin,
            oms_design::SinkKind::Journal,
            risk,
        );
        assert_eq!(o.lost, 0, "the response ring overflowed: the run is invalid");
        let (send, rt) = (report::pcts(&o.send.send), report::pcts(&o.rt.round_trip));
        let cpu = o.time.0.on_cpu_ns as f64 * 100.0 / o.time.0.wall_ns.max(1) as f64;
        let name = if on { "on" } else { "off" };
        print!("{name:<8}{:<7}", k / 2 + 1);
        for v in send {
            print!("{:>10}", report::ns(v));
        }
        print!(" |");
        for v in rt {
            print!("{:>10}", report::ns(v));
        }
        println!(
            "{:>11}{:>8.1}{}",
            report::rate_label(o.rt.achieved()),
            cpu,
            if o.complete && o.rt.rejected == 0 { "" } else { "  INCOMPLETE / REJECTS" }
        );
        rows.push(json!({
            "limits": name, "run": k / 2 + 1, "rate": rate, "achieved": o.rt.achieved().round() as u64,
            "rejected": o.rt.rejected, "complete": o.complete,
            "preempted": crate::driver::preemptions() - pre,
            "engine_cpu_pct": (cpu * 100.0).round() / 100.0,
            "send_ns": {"p50": send[0], "p90": send[1], "p99": send[2], "p999": send[3], "p9999": send[4], "max": send[5]},
            "rtt_ns": {"p50": rt[0], "p90": rt[1], "p99": rt[2], "p999": rt[3], "p9999": rt[4], "max": rt[5]},
            "samples": o.send.send.len(),
        }));
    }
    rows
}
