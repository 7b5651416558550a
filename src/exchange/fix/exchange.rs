//! [`FixExchange`]: the FIX session, its codec, store and transport, as an [`Exchange`] (see the
//! [module docs](super)).

use std::net::{SocketAddr, ToSocketAddrs};

use super::settings::FixSettings;
use super::{encode, session, tags, text};

use super::decode::{DecodeError, Message, decode};
use super::orders::{CL_ORD_ID_BYTES, Chain, OrderTable, parse_cl_ord_id, write_cl_ord_id};
use super::session::{Command, Now, Output, Session, SessionParams};
use super::store::{SeqStore, StoreError};
use super::transport::{Progress, Transport};
use crate::clock::EngineClock;
use crate::exchange::event::{DisconnectCause, ExchangeEvent, ExecutionReport, RejectSource};
use crate::exchange::{Exchange, NotSent, RestoredOrder};
use crate::model::{Logon, Logout, OrderRequest, OrderResponse, OrderState, ResponseType, Secret};
use crate::ring::{Answer, Responder};
use crate::window::TradingWindow;

/// Bytes of the outbound buffer: every message of a loop turn (an order is ~150 bytes).
pub const OUTBOUND_BYTES: usize = 1 << 20;
/// Bytes of the receive buffer: the longest inbound message.
pub const INBOUND_BYTES: usize = 1 << 16;
/// How long a connect, Logon or Logout may stay unanswered.
pub const ANSWER_TIMEOUT_NS: u64 = 10_000_000_000;

/// Why a FIX exchange could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum FixError {
    /// The host did not resolve to an address.
    #[error("FIX counterparty {host}:{port}: {source}")]
    Resolve {
        /// The configured host.
        host: String,
        /// The configured port.
        port: u16,
        /// The resolver's error.
        #[source]
        source: std::io::Error,
    },
    /// The sequence-number store could not be opened.
    #[error("FIX sequence-number store: {0}")]
    Store(#[from] StoreError),
}

/// Counters (plain integers: one thread).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FixStats {
    /// NewOrderSingles encoded.
    pub orders_sent: u64,
    /// OrderCancelRequests encoded.
    pub cancels_sent: u64,
    /// OrderCancelReplaceRequests encoded.
    pub replaces_sent: u64,
    /// Orders answered through the responder (first answers).
    pub responses: u64,
    /// Later answers through the responder: fills, cancels and replaces carried out or refused,
    /// expiries.
    pub answers: u64,
    /// Orders, cancels and replaces that could not be sent (`NotSent`: the engine rejects them
    /// `not_sent`).
    pub not_sent: u64,
    /// Orders sent but not tracked (more at the exchange than the table was sized for): their
    /// first report is not known to be their first, and no cancel or replace of them can be
    /// sent.
    pub untracked: u64,
    /// Answers the responder ring could not take at once (kept and retried).
    pub answers_deferred: u64,
    /// Answers lost because the deferred list was full too.
    pub answers_lost: u64,
    /// Logons accepted and in sync (each `LoggedOn` reported).
    pub logons: u64,
    /// `write` system calls (one per loop turn with output, more only when the kernel takes
    /// part of it or would block).
    pub writes: u64,
}

/// The FIX 4.4 initiator (see the module docs).
pub struct FixExchange {
    session: Session,
    transport: Transport,
    out: Vec<u8>,
    store: SeqStore,
    orders: OrderTable,
    responder: Responder,
    /// Answers the responder ring had no room for, oldest first (capacity fixed).
    deferred: Vec<Answer>,
    clock: EngineClock,
    window: TradingWindow,
    symbols: Box<[(i32, Box<[u8]>)]>,
    stats: FixStats,
}

impl std::fmt::Debug for FixExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the buffers: the outbound one may hold a Logon with the password.
        f.debug_struct("FixExchange")
            .field("counterparty", &self.transport.addr())
            .field("state", &self.session.state())
            .field("seq", &self.session.seq())
            .field("awaiting", &self.orders.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl FixExchange {
    /// Sets up the session (resolves the host, opens the store); connects at `send_logon`.
    /// `window` decides when a stored session is stale: a store created before the current
    /// window's start is reset at Logon. `capacity` is the most orders at the exchange at once
    /// (the engine's `max_working_orders`): the session follows each one's ClOrdID chain.
    pub fn new(
        settings: &FixSettings,
        window: TradingWindow,
        responder: Responder,
        clock: EngineClock,
        capacity: usize,
    ) -> Result<FixExchange, FixError> {
        let resolve_err =
            |source| FixError::Resolve { host: settings.host.clone(), port: settings.port, source };
        let addr: SocketAddr = (settings.host.as_str(), settings.port)
            .to_socket_addrs()
            .map_err(resolve_err)?
            .next()
            .ok_or_else(|| resolve_err(std::io::Error::new(std::io::ErrorKind::NotFound, "no address")))?;
        let now_wall = clock.wall_ns(clock.now_ns());
        let store =
            SeqStore::open(&settings.store, &settings.sender_comp_id, &settings.target_comp_id, now_wall)?;
        let params = SessionParams {
            sender: settings.sender_comp_id.clone(),
            target: settings.target_comp_id.clone(),
            heartbeat_secs: settings.heartbeat_secs.get(),
            reset_on_logon: settings.reset_on_logon,
            username: String::new(),
            password: Secret::default(),
            // Settings built in code skip the configuration's bounds: saturate, never overflow.
            reconnect_min_ns: settings.reconnect_min_ms.max(1).saturating_mul(1_000_000),
            reconnect_max_ns: settings
                .reconnect_max_ms
                .max(settings.reconnect_min_ms)
                .max(1)
                .saturating_mul(1_000_000),
            answer_timeout_ns: ANSWER_TIMEOUT_NS,
        };
        let session = Session::new(params, store.next_out(), store.next_in());
        let capacity = capacity.max(1);
        Ok(FixExchange {
            session,
            transport: Transport::new(addr, INBOUND_BYTES),
            out: Vec::with_capacity(OUTBOUND_BYTES),
            store,
            orders: OrderTable::with_capacity(capacity),
            responder,
            deferred: Vec::with_capacity(capacity),
            clock,
            window,
            symbols: settings.symbols.iter().map(|(id, s)| (*id, s.as_bytes().into())).collect(),
            stats: FixStats::default(),
        })
    }

    /// Counters.
    pub fn stats(&self) -> &FixStats {
        &self.stats
    }

    /// (our next MsgSeqNum, the next one expected), as stored.
    pub fn seq(&self) -> (u64, u64) {
        self.session.seq()
    }

    /// Whether the session is logged on and in sync: orders go out (what [`Exchange::ready`]
    /// says). After a Logon that continues earlier numbers, only once its TestRequest is answered.
    pub fn logged_on(&self) -> bool {
        self.session.is_active()
    }

    /// Orders sent and not answered yet.
    pub fn awaiting(&self) -> usize {
        self.orders.awaiting()
    }

    /// Orders the session follows at the exchange (sent, their end not reported yet).
    pub fn tracked(&self) -> usize {
        self.orders.len()
    }

    /// Where order `id`'s ClOrdID chain stands, if the session follows it: the requests sent
    /// for it and which one is live (see [`orders`](super::orders)).
    pub fn chain(&self, id: u64) -> Option<Chain> {
        self.orders.chain(id)
    }

    /// The next instant (monotonic ns) at which `poll` has timer work: a heartbeat, a
    /// TestRequest, a reconnect, an answer timeout.
    pub fn next_deadline_ns(&self) -> Option<u64> {
        self.session.next_deadline_ns()
    }

    #[inline]
    fn now(&self, mono_ns: u64) -> Now {
        Now { mono_ns, wall_ns: self.clock.wall_ns(mono_ns) }
    }

    #[inline]
    fn symbol<'s>(symbols: &'s [(i32, Box<[u8]>)], id: i32, digits: &'s mut [u8; 20]) -> &'s [u8] {
        match symbols.binary_search_by_key(&id, |(k, _)| *k) {
            Ok(i) => &symbols[i].1,
            Err(_) if id >= 0 => text::write_u64(digits, id as u64),
            Err(_) => {
                let len = text::write_u64(digits, u64::from(id.unsigned_abs())).len();
                let start = text::U64_DIGITS - len - 1;
                digits[start] = b'-';
                &digits[start..]
            }
        }
    }

    /// Hands an answer to the responder (or keeps it until the ring has room).
    fn respond(responder: &mut Responder, deferred: &mut Vec<Answer>, stats: &mut FixStats, a: Answer) {
        if let Answer::Response(_) = a {
            stats.responses += 1;
        } else {
            stats.answers += 1;
        }
        if !deferred.is_empty() || responder.on_answer(a).is_err() {
            if deferred.len() < deferred.capacity() {
                stats.answers_deferred += 1;
                deferred.push(a);
            } else {
                stats.answers_lost += 1;
            }
        }
    }

    /// Reads, runs the session, writes (see [`Exchange::poll`]).
    pub fn poll_session(&mut self, now_ns: u64, events: &mut dyn FnMut(ExchangeEvent<'_>)) -> usize {
        let now = self.now(now_ns);
        let mut work = 0;
        // Answers the ring could not take earlier, in order.
        while let Some(&a) = self.deferred.first() {
            if self.responder.on_answer(a).is_err() {
                break;
            }
            self.deferred.remove(0);
            work += 1;
        }
        // Connection progress and input, until the socket has nothing more.
        for _ in 0..64 {
            match self.transport.poll() {
                Progress::Idle => break,
                Progress::Connected => {
                    work += 1;
                    self.before_logon(now);
                    let mut d = self.dispatcher(events);
                    let cmd = d.session.on_connected(now, d.out, &mut |o| d.handler.on_output(o));
                    self.apply(cmd, now, events);
                }
                Progress::Data => {
                    work += 1;
                    if !self.read_messages(now, events) {
                        break;
                    }
                }
                Progress::Closed(err) => {
                    work += 1;
                    self.out.clear();
                    let (cause, text) = match &err {
                        None => (DisconnectCause::PeerClosed, String::new()),
                        Some(e) => (DisconnectCause::Io, e.to_string()),
                    };
                    let mut d = self.dispatcher(events);
                    d.session.on_disconnected(now, cause, &text, &mut |o| d.handler.on_output(o));
                    break;
                }
            }
        }
        let mut d = self.dispatcher(events);
        let cmd = d.session.on_timer(now, d.out, &mut |o| d.handler.on_output(o));
        self.apply(cmd, now, events);
        self.flush(now, events);
        let (o, i) = self.session.seq();
        self.store.set(o, i);
        work
    }

    /// Decodes and handles every complete message received; false if the connection was closed.
    /// The bytes handled are dropped once at the end (not per message: a read may hold
    /// hundreds of execution reports).
    fn read_messages(&mut self, now: Now, events: &mut dyn FnMut(ExchangeEvent<'_>)) -> bool {
        let mut at = 0;
        loop {
            let FixExchange { session, transport, out, orders, responder, deferred, stats, .. } = self;
            let mut handler = Handler { orders, responder, deferred, stats, events: &mut *events };
            let cmd = match decode(&transport.received()[at..], INBOUND_BYTES) {
                Ok(None) => {
                    transport.consume(at);
                    return true;
                }
                Ok(Some((m, n))) => {
                    let cmd = session.on_message(now, m, out, &mut |o| handler.on_output(o));
                    at += n;
                    cmd
                }
                Err(e) => {
                    let text = garbled_text(e);
                    let cmd = session.on_message_garbled(now, &text, &mut |o| handler.on_output(o));
                    at = transport.received().len();
                    cmd
                }
            };
            if cmd != Command::None {
                self.transport.consume(at);
                at = 0;
                self.apply(cmd, now, events);
                if !self.transport.is_up() {
                    return false;
                }
            }
        }
    }

    fn dispatcher<'s>(&'s mut self, events: &'s mut dyn FnMut(ExchangeEvent<'_>)) -> Dispatch<'s> {
        let FixExchange { session, out, orders, responder, deferred, stats, .. } = self;
        Dispatch { session, out, handler: Handler { orders, responder, deferred, stats, events } }
    }

    /// Carries out what the session asked for.
    fn apply(&mut self, cmd: Command, now: Now, events: &mut dyn FnMut(ExchangeEvent<'_>)) {
        match cmd {
            Command::None => {}
            Command::Connect => {
                if let Err(e) = self.transport.connect() {
                    let text = e.to_string();
                    let mut d = self.dispatcher(events);
                    d.session.on_connect_failed(now, &text, &mut |o| d.handler.on_output(o));
                }
            }
            Command::Disconnect => {
                // Best effort for a Logout or Reject just written, then close.
                let _ = self.transport.flush(&mut self.out);
                self.stats.writes = self.transport.writes();
                self.transport.close();
                self.out.clear();
            }
        }
    }

    fn flush(&mut self, now: Now, events: &mut dyn FnMut(ExchangeEvent<'_>)) {
        if self.out.is_empty() || !self.transport.is_up() {
            return;
        }
        let flushed = self.transport.flush(&mut self.out);
        self.stats.writes = self.transport.writes();
        if let Err(e) = flushed {
            self.out.clear();
            let text = e.to_string();
            let mut d = self.dispatcher(events);
            d.session.on_disconnected(now, DisconnectCause::Io, &text, &mut |o| d.handler.on_output(o));
        }
    }

    /// A new window with a store from an earlier one starts a new session: both numbers at 1 and
    /// ResetSeqNumFlag (141) on the Logon. (`reset_on_logon` does the same at every Logon.)
    fn before_logon(&mut self, now: Now) {
        let stale = match self.window.current_or_next(now.wall_ns) {
            // The store keeps whole seconds of its creation time.
            Some(span) if span.contains(now.wall_ns) => {
                self.store.creation_wall_ns() < span.start_ns - 999_999_999
            }
            _ => false,
        };
        if stale {
            self.session.reset_at_next_logon();
        }
        if stale || self.session.params().reset_on_logon {
            // The numbers are reset in the mapped file whatever happens; only the creation time
            // (a separate small file) can fail to be written, and then the next connect in this
            // window finds the store stale again and resets again, which changes nothing.
            let _ = self.store.reset(now.wall_ns);
            self.session.set_seq(1, 1);
        }
    }
}

/// The session's borrowers, split from the exchange so the session and the handler can be used
/// at once.
struct Dispatch<'s> {
    session: &'s mut Session,
    out: &'s mut Vec<u8>,
    handler: Handler<'s>,
}

fn garbled_text(e: DecodeError) -> String {
    format!("garbled input: {e}")
}

/// Side (54) of an order's side, 0 if it has none.
#[inline]
fn side_code(side: char) -> u8 {
    match side {
        'B' => b'1',
        'S' => b'2',
        _ => 0,
    }
}

impl FixExchange {
    /// Encodes the next request of the order `order` names, a cancel (F) or a replace (G) to
    /// `order`'s price and quantity, into the outbound buffer: OrigClOrdID the order's live
    /// ClOrdID, ClOrdID the next of its chain (see [`orders`](super::orders)). No allocation, no
    /// system call. Not sent (`NotSent`) when the session is not in sync, when it does not
    /// follow the order (its chain is unknown: never guessed, a guess could repeat a ClOrdID),
    /// or when a field has no FIX form.
    #[inline]
    fn send_request(&mut self, order: &OrderRequest, replace: bool) -> Result<(), NotSent> {
        let id = order.order_id;
        let side = side_code(order.side);
        let next = self.orders.chain(id).and_then(|c| Some((c.live, c.requests.checked_add(1)?)));
        let (Some((live, n)), true) = (next, side != 0) else {
            self.stats.not_sent += 1;
            return Err(NotSent);
        };
        let now = self.now(self.clock.now_ns());
        let mut digits = [0u8; 20];
        let symbol = Self::symbol(&self.symbols, order.symbol_id, &mut digits);
        let transact_time = self.session.timestamp(now.wall_ns);
        let (mut orig, mut cl) = ([0u8; CL_ORD_ID_BYTES], [0u8; CL_ORD_ID_BYTES]);
        let (orig, cl) = (write_cl_ord_id(&mut orig, id, live), write_cl_ord_id(&mut cl, id, n));
        let msg_type =
            if replace { tags::msg::ORDER_CANCEL_REPLACE_REQUEST } else { tags::msg::ORDER_CANCEL_REQUEST };
        let sent = self.session.send_app(&mut self.out, now, msg_type, |w| {
            w.str(tags::ORIG_CL_ORD_ID, orig)
                .str(tags::CL_ORD_ID, cl)
                .str(tags::SYMBOL, symbol)
                .char(tags::SIDE, side)
                .str(tags::TRANSACT_TIME, &transact_time)
                .uint(tags::ORDER_QTY, order.qty);
            if replace {
                w.char(tags::ORD_TYPE, b'2').price(tags::PRICE, order.price);
            }
        });
        match sent {
            Ok(seq) => {
                if replace {
                    self.stats.replaces_sent += 1;
                } else {
                    self.stats.cancels_sent += 1;
                }
                self.orders.request_sent(id, n, seq);
                self.store.set(seq + 1, self.session.seq().1);
                Ok(())
            }
            Err(_) => {
                self.stats.not_sent += 1;
                Err(NotSent)
            }
        }
    }
}

impl Exchange for FixExchange {
    /// Encodes a NewOrderSingle (D), ClOrdID the order id, into the outbound buffer: no
    /// allocation, no system call (the write happens in the loop turn's `poll`). Not sent
    /// (`NotSent`) when the session is not in sync or a field has no FIX form.
    #[inline]
    fn send(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        let now = self.now(self.clock.now_ns());
        let side = side_code(order.side);
        let mut digits = [0u8; 20];
        let symbol = Self::symbol(&self.symbols, order.symbol_id, &mut digits);
        let transact_time = self.session.timestamp(now.wall_ns);
        let sent = if side == 0 {
            Err(session::SendError::Encode(encode::EncodeError::BadValue))
        } else {
            self.session.send_app(&mut self.out, now, tags::msg::NEW_ORDER_SINGLE, |w| {
                w.uint(tags::CL_ORD_ID, order.order_id)
                    .str(tags::SYMBOL, symbol)
                    .char(tags::SIDE, side)
                    .str(tags::TRANSACT_TIME, &transact_time)
                    .uint(tags::ORDER_QTY, order.qty)
                    .char(tags::ORD_TYPE, b'2')
                    .price(tags::PRICE, order.price);
            })
        };
        match sent {
            Ok(seq) => {
                self.stats.orders_sent += 1;
                if !self.orders.sent(order.order_id, seq) {
                    self.stats.untracked += 1;
                }
                self.store.set(seq + 1, self.session.seq().1);
                Ok(())
            }
            Err(_) => {
                self.stats.not_sent += 1;
                Err(NotSent)
            }
        }
    }

    /// An OrderCancelRequest (F) for the order as it is live (see `send_request`).
    #[inline]
    fn send_cancel(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.send_request(order, false)
    }

    /// An OrderCancelReplaceRequest (G) to `order`'s price and quantity (see `send_request`).
    #[inline]
    fn send_replace(&mut self, order: &OrderRequest) -> Result<(), NotSent> {
        self.send_request(order, true)
    }

    /// Follows an order the engine restored open at a restart: its chain goes on from the
    /// journal's count of its requests (the next ClOrdID is `<id>.<requests_sent + 1>`,
    /// OrigClOrdID the live one), and a first answer still awaited is its response.
    fn restore(&mut self, o: &RestoredOrder) {
        let pending = match o.state {
            OrderState::PendingCancel | OrderState::PendingReplace => o.requests_sent,
            _ => 0,
        };
        let chain = Chain { requests: o.requests_sent, live: o.live_request.min(o.requests_sent), pending };
        if !self.orders.restore(o.order.order_id, chain, o.state == OrderState::Sent) {
            self.stats.untracked += 1;
        }
    }

    /// Opens the session: connects (at the next `poll`) and logs on with these credentials,
    /// reconnecting with backoff after every loss until `send_logout`.
    fn send_logon(&mut self, logon: &Logon) {
        let now = self.now(self.clock.now_ns());
        self.session.set_credentials(&logon.username, &logon.password);
        self.session.open(now);
    }

    /// Logs out (the Logout goes out at the next `poll`, the disconnect follows its answer).
    fn send_logout(&mut self, _logout: &Logout) {
        let now = self.now(self.clock.now_ns());
        let cmd = self.session.close(now, &mut self.out);
        // Closing reports nothing: a connect or Logon under way is simply abandoned.
        self.apply(cmd, now, &mut |_| {});
    }

    fn ready(&self) -> bool {
        self.session.is_active()
    }

    fn poll(&mut self, now_ns: u64, events: &mut dyn FnMut(ExchangeEvent<'_>)) -> usize {
        self.poll_session(now_ns, events)
    }

    fn next_deadline_ns(&self) -> Option<u64> {
        self.session.next_deadline_ns()
    }

    /// The socket: an engine asleep between orders wakes when a message arrives (or a connect
    /// completes).
    fn wait_fd(&self) -> Option<crate::exchange::WaitFd> {
        self.transport.wait_fd(!self.out.is_empty())
    }
}

#[path = "handler.rs"]
mod handler;
use handler::Handler;

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
