//! The alternative design, for comparison only: the engine thread encodes each NewOrderSingle and
//! writes the turn's orders (one `write`), and a session thread blocks in `read`, decodes the
//! ExecutionReports and pushes each order's answer through the `Responder`. Logon is done once,
//! blocking, before the engine starts. A prototype: no heartbeats, resends, reconnects.

use std::io::{Read, Write};
use std::net::TcpStream;

use oms::exchange::NotSent;
use oms::exchange::fix::decode::decode;
use oms::exchange::fix::encode::MessageWriter;
use oms::exchange::fix::tags;
use oms::exchange::fix::text::TimestampCache;
use oms::exchange::{Exchange, ExchangeEvent};
use oms::{EngineClock, Logon, Logout, OrderRequest, OrderResponse, Responder, ResponseType};

pub struct SplitFix {
    stream: TcpStream,
    out: Vec<u8>,
    seq: u64,
    time: TimestampCache,
    clock: EngineClock,
}

impl SplitFix {
    /// Connects, logs on (ResetSeqNumFlag, so the acceptor's store does not matter), and starts
    /// the reader thread.
    pub fn connect(port: u16, mut responder: Responder, clock: EngineClock) -> Result<SplitFix, String> {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut s = SplitFix {
            stream: stream.try_clone().map_err(|e| e.to_string())?,
            out: Vec::with_capacity(1 << 20),
            seq: 1,
            time: TimestampCache::default(),
            clock,
        };
        let mut logon = std::mem::take(&mut s.out);
        {
            let mut w = MessageWriter::begin(&mut logon, b"A");
            s.fields(&mut w);
            w.uint(tags::ENCRYPT_METHOD, 0).uint(tags::HEART_BT_INT, 30).char(tags::RESET_SEQ_NUM_FLAG, b'Y');
            w.str(tags::USERNAME, b"trader").str(tags::PASSWORD, b"secret");
            w.finish().map_err(|e| e.to_string())?;
        }
        stream.write_all(&logon).map_err(|e| format!("write the Logon: {e}"))?;
        logon.clear();
        s.out = logon;
        s.seq = 2;
        let mut rx = vec![0u8; 1 << 20];
        let mut len = 0;
        loop {
            let n = stream.read(&mut rx[len..]).map_err(|e| format!("read the Logon answer: {e}"))?;
            if n == 0 {
                return Err("the acceptor closed the connection instead of answering the Logon".into());
            }
            len += n;
            if let Ok(Some((m, used))) = decode(&rx[..len], 1 << 16) {
                if m.msg_type() != b"A" {
                    return Err(format!(
                        "the Logon was answered by 35={}",
                        String::from_utf8_lossy(m.msg_type())
                    ));
                }
                rx.copy_within(used..len, 0);
                len -= used;
                break;
            }
        }
        std::thread::Builder::new()
            .name("fix-reader".into())
            .spawn(move || {
                loop {
                    let mut at = 0;
                    while let Ok(Some((m, used))) = decode(&rx[at..len], 1 << 16) {
                        if m.msg_type() == b"8"
                            && let Some(order_id) = m.get_u64(tags::CL_ORD_ID)
                            && m.get(tags::EXEC_TYPE) != Some(b"F")
                        {
                            let rejected = m.get(tags::EXEC_TYPE) == Some(b"8");
                            let response_type =
                                if rejected { ResponseType::Reject } else { ResponseType::Accept };
                            while responder.on_data(OrderResponse { order_id, response_type }).is_err() {
                                std::thread::yield_now();
                            }
                        }
                        at += used;
                    }
                    rx.copy_within(at..len, 0);
                    len -= at;
                    match stream.read(&mut rx[len..]) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => len += n,
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(s)
    }

    fn fields(&mut self, w: &mut MessageWriter<'_>) {
        let now = self.time.format(self.clock.wall_ns(self.clock.now_ns()));
        w.str(tags::SENDER_COMP_ID, b"OMS")
            .str(tags::TARGET_COMP_ID, b"EXCH")
            .uint(tags::MSG_SEQ_NUM, self.seq)
            .str(tags::SENDING_TIME, now);
    }
}

impl Exchange for SplitFix {
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        let mut out = std::mem::take(&mut self.out);
        let wall = self.clock.wall_ns(self.clock.now_ns());
        let transact = *self.time.format(wall);
        let mut w = MessageWriter::begin(&mut out, tags::msg::NEW_ORDER_SINGLE);
        self.fields(&mut w);
        w.uint(tags::CL_ORD_ID, order.order_id)
            .str(tags::SYMBOL, b"ACME")
            .char(tags::SIDE, if order.side == 'B' { b'1' } else { b'2' })
            .str(tags::TRANSACT_TIME, &transact)
            .uint(tags::ORDER_QTY, order.qty)
            .char(tags::ORD_TYPE, b'2')
            .price(tags::PRICE, order.price);
        if w.finish().is_ok() {
            self.seq += 1;
        }
        self.out = out;
        Ok(())
    }
    fn send_logon(&mut self, _: &Logon) {}
    fn send_logout(&mut self, _: &Logout) {}
    fn poll(&mut self, _now_ns: u64, _events: &mut dyn FnMut(ExchangeEvent<'_>)) -> usize {
        if self.out.is_empty() {
            return 0;
        }
        let _ = self.stream.write_all(&self.out);
        self.out.clear();
        1
    }
}
