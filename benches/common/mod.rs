//! Shared by the bench targets: an engine configuration whose trading window is open now, the
//! sink the benches put behind the engine, and a no-op exchange that answers at once.
#![allow(dead_code)] // each bench target uses a different part

use std::path::Path;

use oms::journal::JournalWriter;
use oms::{
    Config, EngineClock, Exchange, Logon, Logout, OrderRequest, OrderResponse, Responder, ResponseType,
};
use oms::{Side, ValidConfig};

/// The event sink behind the engine in every bench: the memory-mapped journal (journal on).
/// Switching the benches to another sink (e.g. `oms::sink::CountingSink`) is this alias and
/// [`make_sink`].
pub type BenchSink = JournalWriter;

/// What the reports call the sink.
pub const SINK_LABEL: &str = "JournalWriter (journal on, temp dir, default 64 MiB segments)";

/// Builds the sink for one run of `cfg` (whose journal path is in a fresh temporary directory).
pub fn make_sink(cfg: &Config, clock: &EngineClock) -> BenchSink {
    let valid = cfg.validate().expect("bench config is valid");
    JournalWriter::create(&valid.journal, &cfg.journal_meta(clock)).expect("create the bench journal")
}

/// Untimed, between measured chunks: prepares the journal's room on the spot (as its idle turns
/// would), so a benchmark that records faster than the engine's idle turns prepare (criterion
/// loops never idle) measures the append path rather than the out-of-room path.
pub fn journal_catch_up(sink: &mut BenchSink) {
    let _ = sink.prepare(0);
}

/// The machine's cores as seen at the first call (call it before pinning anything: a pinned
/// thread's children inherit its one-core mask).
pub fn cores() -> &'static [core_affinity::CoreId] {
    static CORES: std::sync::OnceLock<Vec<core_affinity::CoreId>> = std::sync::OnceLock::new();
    CORES.get_or_init(|| core_affinity::get_core_ids().unwrap_or_default())
}

/// Pins the calling thread to core index `i` when the machine has at least two cores.
pub fn pin(i: usize) {
    let ids = cores();
    if ids.len() >= 2 {
        let _ = core_affinity::set_for_current(ids[i % ids.len()]);
    }
}

/// [`raw_config`], validated.
pub fn config(core: Option<usize>, rate: u32, burst: u32, dir: &Path) -> ValidConfig {
    raw_config(core, rate, burst, dir).validate().expect("bench config is valid")
}

/// A config with a UTC window open from an hour ago to three hours ahead, the throttle at
/// `rate`/s with `burst`, spin idle, the engine pinned to `core`, the journal under `dir`.
pub fn raw_config(core: Option<usize>, rate: u32, burst: u32, dir: &Path) -> Config {
    let mut c = Config::default();
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let hms = |z: jiff::Zoned| z.time().strftime("%H:%M:%S").to_string();
    c.session.timezone = "UTC".into();
    c.session.start = hms(now.checked_sub(jiff::SignedDuration::from_hours(1)).expect("now - 1h"));
    c.session.end = hms(now.checked_add(jiff::SignedDuration::from_hours(3)).expect("now + 3h"));
    c.session.password = Some("bench".into());
    c.throttle.max_orders_per_sec = rate;
    c.throttle.burst = Some(burst);
    c.journal.path = dir.join("oms.journal");
    c.engine.core = core;
    c.engine.idle = oms::runner::IdleStrategy::Spin.name().into();
    c
}

/// A valid New order with id `id`.
#[inline(always)]
pub fn order(id: u64) -> OrderRequest {
    let side = if id & 1 == 0 { Side::Buy } else { Side::Sell };
    OrderRequest::new(id, (id % 64) as i32, side, 100.0 + (id % 100) as f64 * 0.25, 10 + id % 90)
}

/// A no-op exchange that answers Accept at once through the response ring.
pub struct AnsweringExchange {
    /// The response handle.
    pub responder: Responder,
    /// Responses the ring refused.
    pub lost: u64,
}

impl Exchange for AnsweringExchange {
    #[inline(always)]
    fn send(&mut self, order: &OrderRequest) {
        let resp = OrderResponse { order_id: order.order_id, response_type: ResponseType::Accept };
        if self.responder.on_data(resp).is_err() {
            self.lost += 1;
        }
    }
    fn send_logon(&mut self, _logon: &Logon) {}
    fn send_logout(&mut self, _logout: &Logout) {}
}
