//! The counterparties of the FIX latency examples: the QuickFIX acceptor (examples/fix_acceptor.py
//! from the venv `.ci/quickfix-setup` makes, installed the first time it is needed) and a minimal
//! in-process echo.
#![allow(dead_code)] // each example uses a part

#[path = "../quickfix/mod.rs"]
mod quickfix;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Starts examples/fix_acceptor.py on a free port; returns it once it says READY.
pub fn start_acceptor(store: &Path) -> Result<(Child, u16), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = quickfix::python()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let mut child = Command::new(python)
        .arg(root.join("examples/fix_acceptor.py"))
        .args(["--port", &port.to_string(), "--password", "secret", "--quiet", "--store"])
        .arg(store)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the acceptor: {e}"))?;
    let stdout = child.stdout.take().ok_or("no acceptor stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.starts_with("READY") => break,
            Some(Ok(_)) => {}
            _ => return Err("the acceptor exited before READY".into()),
        }
    }
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    Ok((child, port))
}

/// A minimal counterparty on a thread: answers the Logon, then every NewOrderSingle with an
/// ExecutionReport (New), one write per read.
pub fn start_echo() -> Result<u16, String> {
    use oms::exchange::fix::decode::decode;
    use oms::exchange::fix::encode::MessageWriter;
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let port = listener.local_addr().map_err(|e| format!("local address: {e}"))?.port();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else { return };
        let _ = s.set_nodelay(true);
        let mut rx = vec![0u8; 1 << 20];
        let mut out = Vec::with_capacity(1 << 22);
        let (mut len, mut seq) = (0, 1u64);
        loop {
            let n = match s.read(&mut rx[len..]) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            len += n;
            let mut at = 0;
            while let Ok(Some((m, used))) = decode(&rx[at..len], 1 << 16) {
                let t = m.msg_type();
                if t == b"A" || t == b"D" {
                    let mut w = MessageWriter::begin(&mut out, if t == b"A" { b"A" } else { b"8" });
                    w.str(49, b"EXCH").str(56, b"OMS").uint(34, seq).str(52, b"20260101-00:00:00.000");
                    if t == b"A" {
                        w.str(98, b"0").str(108, b"30");
                    } else {
                        let id = m.get(11).unwrap_or(b"0");
                        w.str(11, id).str(17, b"E").str(37, b"O").str(150, b"0").str(39, b"0");
                    }
                    if w.finish().is_err() {
                        return;
                    }
                    seq += 1;
                }
                at += used;
            }
            rx.copy_within(at..len, 0);
            len -= at;
            if s.write_all(&out).is_err() {
                return;
            }
            out.clear();
        }
    });
    Ok(port)
}
