//! Shared by the bench targets: an engine configuration whose trading window is open now, the
//! sink the benches put behind the engine, and a no-op exchange that answers at once.
#![allow(dead_code)] // each bench target uses a different part

use std::path::Path;

use oms::event::CountingSink;
use oms::{
    Config, EngineClock, Exchange, Logon, Logout, OrderRequest, OrderResponse, Responder, ResponseType,
};
use oms::{Side, ValidConfig};

/// The event sink behind the engine in every bench. Switching the benches to the journal is
/// this alias and [`make_sink`].
pub type BenchSink = CountingSink;

/// What the reports call the sink.
pub const SINK_LABEL: &str = "CountingSink (journal not yet merged)";

/// Builds the sink for one run (`dir`: a fresh temporary directory for journal files).
pub fn make_sink(_dir: &Path, _cfg: &ValidConfig, _clock: &EngineClock) -> BenchSink {
    CountingSink::default()
}

/// A config with a UTC window open from an hour ago to three hours ahead, the throttle at
/// `rate`/s with `burst`, spin idle, the engine pinned to `core`, the journal under `dir`.
pub fn config(core: Option<usize>, rate: u32, burst: u32, dir: &Path) -> ValidConfig {
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
    c.engine.idle = oms::config::IdleStrategy::Spin;
    c.validate().expect("bench config is valid")
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
