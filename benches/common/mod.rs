//! Shared by the bench targets: an engine configuration whose trading window is open now, the
//! sink the benches put behind the engine, and a no-op exchange that answers at once.
#![allow(dead_code)] // each bench target uses a different part

use std::path::Path;

use oms::exchange::NotSent;
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
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        let resp = OrderResponse { order_id: order.order_id, response_type: ResponseType::Accept };
        if self.responder.on_data(resp).is_err() {
            self.lost += 1;
        }
        Ok(())
    }
    fn send_logon(&mut self, _logon: &Logon) {}
    fn send_logout(&mut self, _logout: &Logout) {}
}

/// An exchange that answers within the send: every order accepted (and, with `fill`, filled in
/// full), every cancel carried out, every replace carried out. Answers go through the response
/// ring as a real exchange's would.
pub struct LifeExchange {
    /// The response handle.
    pub responder: Responder,
    /// Fill each order in full right after accepting it.
    pub fill: bool,
    /// Answers the ring refused.
    pub lost: u64,
}

impl LifeExchange {
    #[inline(always)]
    fn say(&mut self, answer: oms::Answer) {
        if self.responder.on_answer(answer).is_err() {
            self.lost += 1;
        }
    }
}

impl Exchange for LifeExchange {
    #[inline(always)]
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        let order_id = order.order_id;
        self.say(oms::Answer::Response(OrderResponse { order_id, response_type: ResponseType::Accept }));
        if self.fill {
            self.say(oms::Answer::Fill { order_id, last_qty: order.qty, last_px: order.price });
        }
        Ok(())
    }
    #[inline(always)]
    fn send_cancel(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.say(oms::Answer::Cancelled { order_id: order.order_id });
        Ok(())
    }
    #[inline(always)]
    fn send_replace(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.say(oms::Answer::Replaced { order_id: order.order_id });
        Ok(())
    }
    fn send_logon(&mut self, _logon: &Logon) {}
    fn send_logout(&mut self, _logout: &Logout) {}
}

/// A FIX counterparty on a thread of this process that answers the Logon, then reads and
/// discards everything (no ExecutionReports): the FIX send path without its answers. Returns
/// its loopback port.
pub fn discard_counterparty() -> u16 {
    use oms::exchange::fix::decode::decode;
    use oms::exchange::fix::encode::MessageWriter;
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else { return };
        let mut rx = vec![0u8; 1 << 16];
        let mut len = 0;
        loop {
            match s.read(&mut rx[len..]) {
                Ok(0) | Err(_) => return,
                Ok(n) => len += n,
            }
            if let Ok(Some((m, _))) = decode(&rx[..len], 1 << 16)
                && m.msg_type() == b"A"
            {
                let mut out = Vec::with_capacity(256);
                let mut w = MessageWriter::begin(&mut out, b"A");
                w.str(49, b"EXCH").str(56, b"OMS").uint(34, 1).str(52, b"20260101-00:00:00.000");
                w.str(98, b"0").str(108, b"30");
                w.finish().expect("room");
                s.write_all(&out).expect("answer the Logon");
                break;
            }
        }
        let mut sink = vec![0u8; 1 << 20];
        while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
    });
    port
}

/// A FIX exchange logged on to [`discard_counterparty`] through `responder` on `clock`, for an
/// engine of `cfg`. Polls until logged on (10 s at most).
pub fn logged_on_fix(
    cfg: &ValidConfig,
    responder: Responder,
    clock: &EngineClock,
    store: &Path,
) -> oms::exchange::FixExchange {
    use oms::exchange::{FixExchange, FixSettings};
    let mut s = FixSettings::new("127.0.0.1", discard_counterparty(), "OMS", "EXCH");
    s.store = store.to_path_buf();
    let mut fix = FixExchange::new(
        &s,
        cfg.engine.session.window.clone(),
        responder,
        clock.clone(),
        cfg.engine.capacities.max_in_flight.get(),
    )
    .expect("FIX exchange");
    fix.send_logon(&Logon { username: "trader".into(), password: oms::Secret::new("bench") });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !fix.logged_on() {
        assert!(std::time::Instant::now() < deadline, "no FIX logon within 10 s: {fix:?}");
        fix.poll(clock.now_ns(), &mut |_| {});
    }
    fix
}
