//! The engine trading through its FIX exchange, built from a config as `oms run` builds it,
//! recording to memory (for the test to look at while it runs) and to a journal, which
//! [`Rig::finish`] checks with the `oms` binary (`audit`, `decode`) and searches for the password.
//! A rig can be dropped without a shutdown (a crash: its records are all that is left) and
//! restarted on its journal ([`Rig::recover`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use oms::engine::{Engine, EngineBuilder, EngineReport};
use oms::exchange::FixExchange;
use oms::journal::{Journal, JournalWriter, WriterOptions};
use oms::model::SessionEvent;
use oms::record::Event;
use oms::{
    Config, EngineClock, EventKind as K, EventRecord, EventSink, MemorySink, OrderRequest, Producer,
    RequestType, Side, ValidConfig,
};

use super::{PASSWORD, USER};

/// Records to memory (for the test to look at while the engine runs) and to a journal.
pub struct Both {
    pub mem: MemorySink,
    pub journal: JournalWriter,
}

impl EventSink for Both {
    fn record(&mut self, e: &EventRecord) {
        self.mem.record(e);
        self.journal.record(e);
    }
    fn has_room(&self) -> bool {
        self.journal.has_room()
    }
    fn takes_requests(&self) -> bool {
        self.journal.takes_requests()
    }
    fn housekeep(&mut self) -> bool {
        self.journal.housekeep()
    }
    fn sync(&mut self) {
        self.journal.sync();
    }
}

pub struct Rig {
    pub engine: Engine<FixExchange, Both>,
    pub producer: Producer,
    pub journal: PathBuf,
    pub config: PathBuf,
    pub valid: ValidConfig,
    pub window_start: Instant,
    pub window_end: Instant,
    /// Records of earlier runs on the same journal (before a restart).
    pub before: Vec<EventRecord>,
}

/// `HH:MM:SS.mmm` in UTC, `secs` from now.
pub fn utc_in(secs: f64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_secs_f64(secs);
    t.to_zoned(jiff::tz::TimeZone::UTC).time().strftime("%H:%M:%S%.3f").to_string()
}

impl Rig {
    /// The config of an engine whose window opens `open_in` s from now and lasts `length` s,
    /// trading through a FIX exchange to the acceptor on `port`, with `password`.
    pub fn config(dir: &Path, port: u16, password: &str, open_in: f64, length: f64, rate: u32) -> Config {
        let mut c = Config::default();
        c.session.timezone = "UTC".into();
        c.session.username = USER.into();
        c.session.password = Some(password.into());
        c.throttle.max_orders_per_sec = rate;
        c.journal.path = dir.join("oms.journal");
        (c.engine.ring_capacity, c.engine.max_queued_orders, c.engine.max_in_flight) = (1024, 1024, 1024);
        c.engine.max_working_orders = 1024;
        c.exchange.kind = "fix".into();
        c.exchange.host = Some("127.0.0.1".into());
        c.exchange.port = Some(port.into());
        c.exchange.sender_comp_id = Some("OMS".into());
        c.exchange.target_comp_id = Some("EXCH".into());
        c.exchange.store = Some(dir.join("fix-store"));
        (c.exchange.reconnect_min_ms, c.exchange.reconnect_max_ms) = (Some(200), Some(800));
        let symbols = [("1", "ACME"), ("2", "FILL"), ("3", "BMR")];
        c.exchange.symbols = Some(symbols.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        (c.session.start, c.session.end) = (utc_in(open_in), utc_in(open_in + length));
        c
    }

    /// An engine on config `c` (see [`Rig::config`]) whose window opens `open_in` s from now and
    /// lasts `length` s.
    pub fn with_config(c: &Config, open_in: f64, length: f64) -> Rig {
        let window_start = Instant::now() + Duration::from_secs_f64(open_in);
        let window_end = window_start + Duration::from_secs_f64(length);
        let valid = c.validate().expect("valid config");
        let config = c.journal.path.with_file_name("oms.toml");
        std::fs::write(&config, c.public_toml()).expect("write the config");

        // How `oms run` builds it.
        let clock = EngineClock::system();
        let options = WriterOptions::with_reserve(valid.engine.capacities.journal_reserve(1));
        let journal = JournalWriter::create_with(&valid.journal, &c.journal_meta(&clock), options)
            .expect("create the journal");
        let (mut builder, responder) = EngineBuilder::new(&valid.engine, clock.clone());
        let producer = builder.producer().expect("a producer handle");
        let fix = Self::exchange(&valid, responder, clock);
        let engine = builder.build(fix, Both { mem: MemorySink::default(), journal });
        let journal = c.journal.path.clone();
        Rig { engine, producer, journal, config, valid, window_start, window_end, before: Vec::new() }
    }

    /// An engine whose window opens `open_in` s from now and lasts `length` s, trading through
    /// a FIX exchange to the acceptor on `port`, with `password`.
    pub fn new(dir: &Path, port: u16, password: &str, open_in: f64, length: f64, rate: u32) -> Rig {
        Self::with_config(&Self::config(dir, port, password, open_in, length, rate), open_in, length)
    }

    fn exchange(valid: &ValidConfig, responder: oms::Responder, clock: EngineClock) -> FixExchange {
        FixExchange::new(
            valid.fix.as_ref().expect("kind = fix"),
            valid.engine.session.window.clone(),
            responder,
            clock,
            valid.engine.capacities.max_working_orders.get(),
        )
        .expect("FIX exchange")
    }

    /// A crash (no shutdown: the engine and its FIX session are dropped, the records are all
    /// that is left), then a restart on the journal as `oms run` does: the state recovered from
    /// it, the journal resumed, a new FIX exchange (the engine's recovery hands it each open
    /// order's place in its ClOrdID chain).
    pub fn crash_and_recover(self) -> Rig {
        let Rig { engine, journal, config, valid, window_start, window_end, mut before, .. } = self;
        before.extend_from_slice(engine.sink().mem.events());
        drop(engine);
        let recovery = oms::recovery::read(&journal, &valid).expect("recover");
        let options = WriterOptions::with_reserve(valid.engine.capacities.journal_reserve(1));
        let writer = JournalWriter::resume(&valid.journal, options).expect("resume the journal");
        let mut clock = EngineClock::system();
        recovery.state.prepare_clock(&mut clock);
        let (mut builder, responder) = EngineBuilder::new(&valid.engine, clock.clone());
        let producer = builder.producer().expect("a producer handle");
        let fix = Self::exchange(&valid, responder, clock);
        let sink = Both { mem: MemorySink::default(), journal: writer };
        let engine = builder.recover(recovery.state, fix, sink).expect("recover the engine");
        Rig { engine, producer, journal, config, valid, window_start, window_end, before }
    }

    pub fn records(&self) -> &[EventRecord] {
        self.engine.sink().mem.events()
    }

    pub fn of(&self, kind: K) -> Vec<EventRecord> {
        self.records().iter().filter(|r| r.kind == kind).copied().collect()
    }

    pub fn session_events(&self) -> Vec<SessionEvent> {
        self.records()
            .iter()
            .filter_map(|r| match r.event() {
                Event::ExchangeSession(report) => Some(report.event()),
                _ => None,
            })
            .collect()
    }

    pub fn count_session(&self, e: SessionEvent) -> usize {
        self.session_events().iter().filter(|x| **x == e).count()
    }

    /// Hands a request to the engine and runs one loop turn.
    pub fn submit(&mut self, o: OrderRequest, request: RequestType) {
        self.producer.on_data(o, request).expect("ring room");
        self.engine.poll();
    }

    pub fn new_order(&mut self, id: u64, symbol: i32, qty: u64, price: f64) {
        self.submit(OrderRequest::new(id, symbol, Side::Buy, price, qty), RequestType::New);
    }

    pub fn modify(&mut self, id: u64, symbol: i32, qty: u64, price: f64) {
        self.submit(OrderRequest::new(id, symbol, Side::Buy, price, qty), RequestType::Modify);
    }

    pub fn cancel(&mut self, id: u64) {
        self.submit(OrderRequest::new(id, 1, Side::Buy, 1.0, 1), RequestType::Cancel);
    }

    pub fn pump(&mut self) {
        if self.engine.poll() == 0 {
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// Runs the engine until `f` holds, for at most `within`.
    pub fn until(&mut self, what: &str, within: Duration, f: impl Fn(&Rig) -> bool) {
        let deadline = Instant::now() + within;
        while !f(self) {
            assert!(Instant::now() < deadline, "not within {within:?}: {what}\n{}", self.dump());
            self.pump();
        }
    }

    /// Runs the engine until `t`.
    pub fn run_until(&mut self, t: Instant) {
        while Instant::now() < t {
            self.pump();
        }
    }

    pub fn dump(&self) -> String {
        let lines: Vec<String> = self.records().iter().map(|r| format!("{r:?}")).collect();
        format!("records:\n{}\nexchange: {:?}", lines.join("\n"), self.engine.exchange())
    }

    /// Shuts the engine down, closes the journal; `oms audit` must pass and no file of the
    /// journal may hold the password. Returns this run's records, `oms decode`'s text (of the
    /// whole journal) and the counters.
    pub fn finish(self) -> (Vec<EventRecord>, String, oms::EngineStats) {
        let (journal, config) = (self.journal.clone(), self.config.clone());
        let before = self.before.len();
        let EngineReport { stats, sink, .. } = self.engine.shutdown();
        let records = sink.mem.events().to_vec();
        sink.journal.close().expect("close the journal");
        let audit = oms(&["audit", path(&journal), "--config", path(&config)]);
        assert!(audit.0, "oms audit failed:\n{}\n{}", audit.1, audit.2);
        let decode = oms(&["decode", path(&journal)]);
        assert!(decode.0, "oms decode failed: {}", decode.2);
        let on_disk = Journal::open(&journal).expect("open the journal").records().count();
        assert_eq!(on_disk, before + records.len(), "journal and memory agree");
        for entry in std::fs::read_dir(journal.parent().expect("dir")).expect("list") {
            let p = entry.expect("entry").path();
            if p.is_file() {
                let bytes = std::fs::read(&p).expect("read");
                assert!(
                    !bytes.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()),
                    "{} holds the password",
                    p.display()
                );
            }
        }
        (records, decode.1, stats)
    }
}

pub fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Runs the `oms` binary: (success, stdout, stderr).
pub fn oms(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_oms")).args(args).output().expect("run oms");
    (o.status.success(), String::from_utf8_lossy(&o.stdout).into(), String::from_utf8_lossy(&o.stderr).into())
}
