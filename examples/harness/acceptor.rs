//! `--exchange fix`: the QuickFIX acceptor (examples/fix_acceptor.py) as the demo's counterparty,
//! started from the venv `.ci/quickfix-setup` makes (run the first time it is needed:
//! `examples/quickfix`), and the `[exchange]` settings that point the engine's FIX session at it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;

use oms::Config;

/// The demo's one symbol goes out as FILL: the acceptor accepts, then fills, each order.
pub const DEMO_TICKER: &str = "FILL";
/// Orders above this quantity are rejected by the acceptor (an ExecutionReport, Rejected).
pub const MAX_QTY: u64 = 15;

/// The acceptor process; killed when dropped.
pub struct Acceptor {
    child: Child,
    /// The port it listens on.
    pub port: u16,
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts examples/fix_acceptor.py on a free loopback port with its store under `dir`,
/// accepting `username` / `password`; its lines (LOGON, LOGOUT, REFUSED) are printed as they
/// come. Waits (up to 60 s) for it to say READY.
pub fn start(dir: &Path, username: &str, password: &str) -> Result<Acceptor, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = crate::quickfix::python().map_err(|e| {
        format!("--exchange fix needs it ({e}); or start an acceptor yourself and pass --fix-port PORT")
    })?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free loopback port: {e}"))?
        .port();
    let mut child = Command::new(&python)
        .arg(root.join("examples/fix_acceptor.py"))
        .args(["--port", &port.to_string(), "--quiet", "--max-qty", &MAX_QTY.to_string()])
        .args(["--username", username, "--password", password, "--store"])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("start {}: {e}", python.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout from the acceptor")?;
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("READY") {
                let _ = tx.send(());
            } else {
                println!("           QuickFIX > {line}");
            }
        }
    });
    let acceptor = Acceptor { child, port };
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => Ok(acceptor),
        Err(RecvTimeoutError::Timeout) => Err("the QuickFIX acceptor did not say READY within 60 s".into()),
        Err(RecvTimeoutError::Disconnected) => Err("the QuickFIX acceptor exited before it was ready".into()),
    }
}

/// Points `[exchange]` at a FIX acceptor on 127.0.0.1:`port` (SenderCompID OMS, TargetCompID
/// EXCH, as examples/fix_acceptor.cfg expects), the sequence-number store in `store`.
pub fn configure(cfg: &mut Config, port: u16, store: PathBuf, symbol: i32) {
    let x = &mut cfg.exchange;
    x.kind = "fix".into();
    x.host = Some("127.0.0.1".into());
    x.port = Some(port.into());
    x.sender_comp_id = Some("OMS".into());
    x.target_comp_id = Some("EXCH".into());
    x.store = Some(store);
    (x.reconnect_min_ms, x.reconnect_max_ms) = (Some(200), Some(2000));
    x.symbols = Some([(symbol.to_string(), DEMO_TICKER.to_string())].into());
}
