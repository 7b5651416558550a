//! The QuickFIX acceptor (examples/fix_acceptor.py) on a loopback port, and our FIX session
//! driven directly (no engine), for the tests against a real FIX engine.
//!
//! The acceptor runs from the venv `.ci/quickfix-setup` creates, which the first test that needs
//! it installs ([`python`]). Every wait has a deadline and says what it waited for.
#![allow(dead_code)] // each test binary uses a different part of the rig

#[path = "../../examples/quickfix/mod.rs"]
mod quickfix;
pub mod rig;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oms::exchange::{
    DisconnectCause, Exchange, ExchangeEvent, ExecutionReport, FixExchange, FixSettings, RejectSource,
    ResponseTap, response_tap,
};
use oms::{Answer, Config, EngineClock, Logon, Logout, OrderRequest, OrderResponse, Secret, Side};

pub const USER: &str = "trader";
pub const PASSWORD: &str = "s3cr3t-pw";

/// The venv's python (`target/quickfix-venv`), installed the first time a test needs it
/// (`examples/quickfix`). If it cannot be installed, the test fails with one line saying what
/// is missing, printed as the test's output: the panic hook (and its backtrace, which would
/// bury the line) is skipped.
pub fn python() -> PathBuf {
    match quickfix::python() {
        Ok(python) => python,
        Err(line) => {
            eprintln!("{line}");
            std::panic::resume_unwind(Box::new(line))
        }
    }
}

/// A free loopback port (bound, then released for the acceptor).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().expect("local address").port()
}

/// The acceptor process and the lines it printed.
pub struct Acceptor {
    pub port: u16,
    pub dir: PathBuf,
    args: Vec<String>,
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    /// Every line so far, for failure messages.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Acceptor {
    /// Starts the acceptor on `port` with its store in `dir`; `extra` are more arguments.
    pub fn start(port: u16, dir: &Path, extra: &[&str]) -> Acceptor {
        let args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        Self::spawn(port, dir, args, Arc::new(Mutex::new(Vec::new())))
    }

    fn spawn(port: u16, dir: &Path, args: Vec<String>, log: Arc<Mutex<Vec<String>>>) -> Acceptor {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new(python())
            .arg(root.join("examples/fix_acceptor.py"))
            .args(["--port", &port.to_string(), "--store"])
            .arg(dir)
            .args(["--username", USER, "--password", PASSWORD])
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start examples/fix_acceptor.py");
        let stdin = child.stdin.take().expect("acceptor stdin");
        let stdout = child.stdout.take().expect("acceptor stdout");
        let (tx, lines) = channel();
        let all = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                all.lock().expect("log lock").push(line.clone());
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut a = Acceptor { port, dir: dir.to_path_buf(), args, child, stdin, lines, log };
        a.expect("READY", Duration::from_secs(30));
        a
    }

    /// Stops (SIGSTOP) or continues (SIGCONT) the process: a counterparty that goes silent.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill").args([sig, &self.child.id().to_string()]).status().expect("run kill");
        assert!(ok.success(), "kill {sig} failed");
    }

    /// Kills the process (as a crash would: no Logout) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills it and starts it again on the same port and store.
    pub fn restart(&mut self) {
        self.kill();
        let next = Self::spawn(self.port, &self.dir.clone(), self.args.clone(), self.log.clone());
        let old = std::mem::replace(self, next);
        drop(old);
    }

    /// Sends a command line (see the script's docs).
    pub fn command(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to the acceptor");
        self.stdin.flush().expect("flush the acceptor's stdin");
    }

    /// Waits for a line starting with `prefix` (lines before it are skipped); returns it.
    pub fn expect(&mut self, prefix: &str, within: Duration) -> String {
        self.expect_where(|l| l.starts_with(prefix), prefix, within)
    }

    /// Waits for a line satisfying `f`.
    pub fn expect_where(&mut self, f: impl Fn(&str) -> bool, what: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if f(&l) => return l,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no acceptor line {what:?} within {within:?}; it printed:\n{}", self.dump())
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the acceptor exited before printing {what:?}; it printed:\n{}", self.dump())
                }
            }
        }
    }

    /// Waits for a line satisfying `f` while our side keeps polling (so it answers meanwhile).
    pub fn expect_pumping(
        &mut self,
        oms: &mut Oms,
        f: impl Fn(&str) -> bool,
        what: &str,
        within: Duration,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            match self.lines.try_recv() {
                Ok(l) if f(&l) => return l,
                Ok(_) => {}
                Err(TryRecvError::Empty) => {
                    assert!(
                        Instant::now() < deadline,
                        "no acceptor line {what:?} within {within:?}; it printed:\n{}\nour events: {:?}",
                        self.dump(),
                        oms.events
                    );
                    if oms.poll() == 0 {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                }
                Err(TryRecvError::Disconnected) => {
                    panic!("the acceptor exited before printing {what:?}; it printed:\n{}", self.dump())
                }
            }
        }
    }

    /// QuickFIX's own log of the messages it received and sent.
    pub fn message_log(&self) -> String {
        let p = self.dir.join("log/FIX.4.4-EXCH-OMS.messages.current.log");
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        // QuickFIX logs the password it received: mask it here too.
        let masked = text.split('\x01').map(|f| if f.starts_with("554=") { "554=***" } else { f });
        masked.collect::<Vec<_>>().join("|")
    }

    /// Every line so far.
    pub fn dump(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }

    /// Lines so far that start with `prefix`.
    pub fn lines_starting(&self, prefix: &str) -> Vec<String> {
        self.log.lock().expect("log lock").iter().filter(|l| l.starts_with(prefix)).cloned().collect()
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An owned copy of an event (the texts borrow the receive buffer).
#[derive(Clone, Debug, PartialEq)]
pub enum Ev {
    LoggedOn(u64, u64),
    LogonRefused(String, u64),
    Disconnected(DisconnectCause, String),
    LoggedOut(String),
    Execution(ExecutionReport),
    OrderRejected(u64, RejectSource, u32, String),
    SessionRejected(u64),
    ResendRequested(u64, u64),
    GapFilled(u64, u64),
    SequenceReset(u64),
    Unhandled(String, &'static str),
}

impl From<ExchangeEvent<'_>> for Ev {
    fn from(e: ExchangeEvent<'_>) -> Ev {
        match e {
            ExchangeEvent::LoggedOn { next_out_seq, next_in_seq } => Ev::LoggedOn(next_out_seq, next_in_seq),
            ExchangeEvent::LogonRefused { text, retry_in_ns } => Ev::LogonRefused(text.into(), retry_in_ns),
            ExchangeEvent::Disconnected { cause, text, .. } => Ev::Disconnected(cause, text.into()),
            ExchangeEvent::LoggedOut { text } => Ev::LoggedOut(text.into()),
            ExchangeEvent::Execution(r) => Ev::Execution(r),
            ExchangeEvent::OrderRejected { order_id, source, reason, text } => {
                Ev::OrderRejected(order_id, source, reason, text.into())
            }
            ExchangeEvent::SessionRejected { ref_seq, .. } => Ev::SessionRejected(ref_seq),
            ExchangeEvent::ResendRequested { begin, end } => Ev::ResendRequested(begin, end),
            ExchangeEvent::GapFilled { begin, new_seq } => Ev::GapFilled(begin, new_seq),
            ExchangeEvent::SequenceReset { new_seq } => Ev::SequenceReset(new_seq),
            ExchangeEvent::Unhandled { msg_type, reason, .. } => Ev::Unhandled(msg_type.into(), reason),
        }
    }
}

/// Our side: a FIX exchange, the responses it gave, the events it reported.
pub struct Oms {
    pub fix: FixExchange,
    pub tap: ResponseTap,
    pub clock: EngineClock,
    pub events: Vec<Ev>,
    pub responses: Vec<(OrderResponse, u64)>,
    /// Every answer through the responder, first answers included, in order.
    pub answers: Vec<Answer>,
    /// Every event's Debug text, as a log would hold it.
    pub log: String,
    pub password: String,
}

/// Settings for the acceptor on `port`, store in `store`, heartbeat `hb` s.
pub fn settings(port: u16, store: &Path, hb: u32) -> FixSettings {
    let mut s = FixSettings::new("127.0.0.1", port, "OMS", "EXCH");
    s.store = store.to_path_buf();
    s.heartbeat_secs = std::num::NonZeroU32::new(hb).expect("heartbeat > 0");
    s.reconnect_min_ms = 200;
    s.reconnect_max_ms = 800;
    s.symbols = vec![(1, "ACME".into()), (2, "FILL".into()), (3, "BMR".into())];
    s
}

impl Oms {
    /// A FIX exchange on the system clock (the counterparty runs in real time), logging on with
    /// `password`, inside an always-open UTC window.
    pub fn new(settings: &FixSettings, password: &str) -> Oms {
        let mut c = Config::default();
        c.session.timezone = "UTC".into();
        c.session.start = "00:00:00".into();
        c.session.end = "23:59:59.999".into();
        let window = c.validate().expect("valid config").engine.session.window;
        let clock = EngineClock::system();
        let (responder, tap) = response_tap(1 << 16, &clock);
        let fix =
            FixExchange::new(settings, window, responder, clock.clone(), 1 << 16).expect("FIX exchange");
        Oms {
            fix,
            tap,
            clock,
            events: Vec::new(),
            responses: Vec::new(),
            answers: Vec::new(),
            log: String::new(),
            password: password.into(),
        }
    }

    pub fn logon(&mut self) {
        let logon = Logon { username: USER.into(), password: Secret::new(self.password.clone()) };
        self.fix.send_logon(&logon);
    }

    pub fn logout(&mut self) {
        self.fix.send_logout(&Logout { username: USER.into() });
    }

    /// One poll: events and responses collected.
    pub fn poll(&mut self) -> usize {
        let now = self.clock.now_ns();
        let (events, log) = (&mut self.events, &mut self.log);
        let n = self.fix.poll(now, &mut |e| {
            log.push_str(&format!("{e:?}\n"));
            events.push(e.into());
        });
        while let Some((answer, at)) = self.tap.pop() {
            if let Answer::Response(r) = answer {
                self.responses.push((r, at));
            }
            self.answers.push(answer);
        }
        n
    }

    /// Polls until `f` holds, for at most `within`.
    pub fn pump_until(&mut self, what: &str, within: Duration, f: impl Fn(&Oms) -> bool) {
        let deadline = Instant::now() + within;
        while !f(self) {
            assert!(
                Instant::now() < deadline,
                "not within {within:?}: {what}\nevents: {:#?}\nfix: {:?}",
                self.events,
                self.fix
            );
            if self.poll() == 0 {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }

    /// Polls for `d` (real time passing, e.g. heartbeats).
    pub fn pump_for(&mut self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until {
            if self.poll() == 0 {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }

    pub fn count(&self, f: impl Fn(&Ev) -> bool) -> usize {
        self.events.iter().filter(|e| f(e)).count()
    }

    pub fn logged_on_count(&self) -> usize {
        self.events.iter().filter(|e| matches!(e, Ev::LoggedOn(..))).count()
    }

    pub fn answered(&self, id: u64) -> Option<OrderResponse> {
        self.responses.iter().map(|r| r.0).find(|r| r.order_id == id)
    }

    /// Hands an order to the session; `Err` when it did not take it (nothing went out).
    pub fn send(&mut self, id: u64, symbol: i32, qty: u64, price: f64) -> Result<(), oms::exchange::NotSent> {
        self.fix.send(&OrderRequest::new(id, symbol, Side::Buy, price, qty))
    }

    /// Asks the session to cancel order `id` (live at `qty`); `Err` when nothing went out.
    pub fn cancel(
        &mut self,
        id: u64,
        symbol: i32,
        qty: u64,
        price: f64,
    ) -> Result<(), oms::exchange::NotSent> {
        self.fix.send_cancel(&OrderRequest::new(id, symbol, Side::Buy, price, qty))
    }

    /// Asks the session to replace order `id` by `qty` at `price`; `Err` when nothing went out.
    pub fn replace(
        &mut self,
        id: u64,
        symbol: i32,
        qty: u64,
        price: f64,
    ) -> Result<(), oms::exchange::NotSent> {
        self.fix.send_replace(&OrderRequest::new(id, symbol, Side::Buy, price, qty))
    }

    /// The answers other than first answers, in order.
    pub fn later_answers(&self) -> Vec<Answer> {
        self.answers.iter().copied().filter(|a| !matches!(a, Answer::Response(_))).collect()
    }
}

/// A temporary directory for one test (acceptor store and ours).
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

pub const WAIT: Duration = Duration::from_secs(15);
