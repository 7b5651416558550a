//! `oms stats`: counts per kind and per reject reason, response latency percentiles
//! (hdrhistogram, 3 significant digits), the fill ratio (quantity filled over quantity sent),
//! the round trips of cancels and replaces of open orders, and the `.hgrm`
//! percentile-distribution export (of the responses).

use std::io::Write;

use hdrhistogram::Histogram;

use crate::model::{EventKind, RejectReason, ResponseType, SessionEvent};
use crate::record::{Event, EventRecord};

/// The percentiles `oms stats` prints.
pub const PERCENTILES: [(&str, f64); 5] =
    [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9), ("p99.99", 99.99)];

/// Records `ns` in `h` (auto-resizing: only absurd values, beyond what it can ever track, are
/// clamped).
fn record(h: &mut Histogram<u64>, ns: u64) {
    if h.record(ns).is_err() {
        h.saturating_record(ns);
    }
}

/// `title (N what):` and the percentiles of `h`, in µs and ns; `title: no what` when empty.
fn percentiles(out: &mut impl Write, title: &str, what: &str, h: &Histogram<u64>) -> std::io::Result<()> {
    if h.is_empty() {
        return writeln!(out, "{title}: no {what}");
    }
    writeln!(out, "{title} ({} {what}):", h.len())?;
    for (name, p) in PERCENTILES {
        let v = h.value_at_percentile(p);
        writeln!(out, "  {name:<7} {:>14.3} µs  {v:>14} ns", v as f64 / 1000.0)?;
    }
    let max = h.max();
    writeln!(out, "  {:<7} {:>14.3} µs  {max:>14} ns", "max", max as f64 / 1000.0)
}

/// Accumulated statistics over one or more journals.
#[derive(Debug)]
pub struct Stats {
    /// Valid records seen.
    pub records: u64,
    /// Count per kind, indexed by its wire value.
    pub kinds: [u64; EventKind::SLOTS],
    /// Count per reject reason of `rejected` events, indexed by its wire value.
    pub reasons: [u64; RejectReason::ALL.len() + 1],
    /// Count per response type of `response` events, indexed by its wire value.
    pub responses: [u64; 3],
    /// Count per event of `exchange_session` records, indexed by its wire value.
    pub sessions: [u64; SessionEvent::ALL.len() + 1],
    /// Round-trip latency of `response` events, ns.
    pub latency: Histogram<u64>,
    /// Quantity of the orders sent (their first version).
    pub sent_qty: u64,
    /// Quantity filled (`fill` records).
    pub filled_qty: u64,
    /// Round trip of our cancels carried out (cancel sent to `venue_cancelled`), ns.
    pub cancel_latency: Histogram<u64>,
    /// Round trip of replaces carried out (replace sent to `replaced`), ns.
    pub replace_latency: Histogram<u64>,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    /// Empty statistics.
    pub fn new() -> Stats {
        // 3 significant digits, auto-resizing: cannot fail.
        let histogram =
            || Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits are valid"));
        Stats {
            records: 0,
            kinds: [0; EventKind::SLOTS],
            reasons: [0; RejectReason::ALL.len() + 1],
            responses: [0; 3],
            sessions: [0; SessionEvent::ALL.len() + 1],
            latency: histogram(),
            sent_qty: 0,
            filled_qty: 0,
            cancel_latency: histogram(),
            replace_latency: histogram(),
        }
    }

    /// Adds one record.
    #[inline]
    pub fn add(&mut self, r: &EventRecord) {
        self.records += 1;
        self.kinds[r.kind as usize] += 1;
        match r.event() {
            Event::Rejected { reason, .. } => self.reasons[reason as usize] += 1,
            Event::Response { response, round_trip_ns, .. } => {
                self.responses[response as usize] += 1;
                record(&mut self.latency, round_trip_ns);
            }
            Event::ExchangeSession(report) => self.sessions[report.event() as usize] += 1,
            Event::Sent { order, .. } => self.sent_qty = self.sent_qty.saturating_add(order.qty),
            Event::Fill { last_qty, .. } => self.filled_qty = self.filled_qty.saturating_add(last_qty),
            Event::VenueCancelled { solicited: true, round_trip_ns, .. } => {
                record(&mut self.cancel_latency, round_trip_ns)
            }
            Event::Replaced { round_trip_ns, .. } => record(&mut self.replace_latency, round_trip_ns),
            // Counted by kind only. (A record that does not fit its kind is never decoded from
            // a journal.)
            Event::Logon
            | Event::Logout
            | Event::Halted
            | Event::Resumed
            | Event::ClientAttached { .. }
            | Event::ClientDetached { .. }
            | Event::Reference { .. }
            | Event::Queued { .. }
            | Event::VenueCancelled { solicited: false, .. }
            | Event::CancelQueued { .. }
            | Event::CancelSent { .. }
            | Event::ReplaceQueued { .. }
            | Event::ReplaceSent { .. }
            | Event::CancelRejected { .. }
            | Event::Expired { .. }
            | Event::UnexpectedReport { .. }
            | Event::Modified { .. }
            | Event::Cancelled { .. }
            | Event::UnmatchedResponse { .. }
            | Event::Unanswered { .. }
            | Event::ClockStep { .. }
            | Event::Recovered { .. }
            | Event::SyncFailed
            | Event::Execution { .. }
            | Event::ExchangeReject { .. }
            | Event::Unfit(_) => {}
        }
    }

    /// The human-readable report.
    pub fn report(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, "records: {}", self.records)?;
        writeln!(out, "events by kind:")?;
        for k in EventKind::ALL {
            writeln!(out, "  {:<20} {:>12}", k.name(), self.kinds[k as usize])?;
        }
        writeln!(out, "rejects by reason:")?;
        for r in RejectReason::ALL {
            if self.reasons[r as usize] > 0 {
                writeln!(out, "  {:<20} {:>12}", r.name(), self.reasons[r as usize])?;
            }
        }
        if self.kinds[EventKind::ExchangeSession as usize] > 0 {
            writeln!(out, "exchange session events:")?;
            for e in SessionEvent::ALL {
                if self.sessions[e as usize] > 0 {
                    writeln!(out, "  {:<20} {:>12}", e.name(), self.sessions[e as usize])?;
                }
            }
        }
        let responses = |t: ResponseType| self.responses[t as usize];
        writeln!(
            out,
            "responses: accept {}, reject {}, other {}",
            responses(ResponseType::Accept),
            responses(ResponseType::Reject),
            responses(ResponseType::Unknown)
        )?;
        percentiles(out, "response latency", "responses", &self.latency)?;
        if self.filled_qty > 0 || self.kinds[EventKind::Fill as usize] > 0 {
            let ratio = self.filled_qty as f64 / self.sent_qty.max(1) as f64;
            writeln!(
                out,
                "fill ratio: {:.4} ({} filled of {} sent, {} fills: {} partial, {} completing an order)",
                ratio,
                self.filled_qty,
                self.sent_qty,
                self.kinds[EventKind::Fill as usize] + self.kinds[EventKind::Filled as usize],
                self.kinds[EventKind::Fill as usize],
                self.kinds[EventKind::Filled as usize]
            )?;
        }
        if !self.cancel_latency.is_empty() {
            percentiles(out, "cancel latency", "cancels", &self.cancel_latency)?;
        }
        if !self.replace_latency.is_empty() {
            percentiles(out, "replace latency", "replaces", &self.replace_latency)?;
        }
        Ok(())
    }

    /// Writes the latency histogram in HdrHistogram's percentile-distribution (`.hgrm`) format,
    /// values in microseconds (as `outputPercentileDistribution(out, 5, 1000.0)` in Java).
    pub fn write_hgrm(&self, out: &mut impl Write) -> std::io::Result<()> {
        const SCALE: f64 = 1000.0;
        let h = &self.latency;
        writeln!(
            out,
            "{:>12} {:>14} {:>10} {:>14}\n",
            "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
        )?;
        let mut total = 0u64;
        for v in h.iter_quantiles(5) {
            total += v.count_since_last_iteration();
            let q = v.quantile_iterated_to();
            let value = v.value_iterated_to() as f64 / SCALE;
            if q < 1.0 {
                writeln!(out, "{value:>12.3} {q:>2.12} {total:>10} {:>14.2}", 1.0 / (1.0 - q))?;
            } else {
                writeln!(out, "{value:>12.3} {q:>2.12} {total:>10}")?;
            }
        }
        let sub_buckets = (2 * 10u64.pow(u32::from(h.sigfig()))).next_power_of_two();
        let (mean, sd) = if h.is_empty() { (0.0, 0.0) } else { (h.mean() / SCALE, h.stdev() / SCALE) };
        writeln!(out, "#[Mean    = {mean:>12.3}, StdDeviation   = {sd:>12.3}]")?;
        writeln!(out, "#[Max     = {:>12.3}, Total count    = {:>12}]", h.max() as f64 / SCALE, h.len())?;
        writeln!(out, "#[Buckets = {:>12}, SubBuckets     = {sub_buckets:>12}]", h.buckets())
    }
}
