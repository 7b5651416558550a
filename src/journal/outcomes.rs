//! [`Outcomes`]: what became of one producer's requests, read from the committed journal.

use std::path::Path;

use super::{Follower, JournalError, Poll};
use crate::lifecycle::Lifecycle;
use crate::model::{EventKind, OrderLife, OrderRequest, RejectReason, RequestType, ResponseType};
#[cfg(doc)]
use crate::record::ENGINE;
use crate::record::{Event, EventRecord};

/// What happened to a request (or, following [`ENGINE`], what the engine did).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OutcomeKind {
    /// A New order waits in the queue for the throttle.
    Queued,
    /// The order went to the exchange, `in_oms_ns` after it was handed over.
    Sent {
        /// Time inside the OMS, ns.
        in_oms_ns: u64,
    },
    /// A queued order's price and quantity were replaced (`order` has the new ones).
    Modified,
    /// A queued order was removed.
    Cancelled,
    /// A request was refused.
    Rejected {
        /// Which request (a rejected Modify leaves its order as it was).
        request: RequestType,
        /// Why.
        reason: RejectReason,
    },
    /// The exchange answered the sent order.
    Response {
        /// Accept or Reject.
        response: ResponseType,
        /// Round trip from the send, ns.
        latency_ns: u64,
    },
    /// The order was still at the exchange (its first answer awaited, or working) when the
    /// engine shut down: its fate there is unknown.
    Unanswered,
    /// A Cancel of the open order waits for a throttle permit (ahead of the queue).
    CancelQueued,
    /// The cancel went to the exchange, `in_oms_ns` after the Cancel was handed over.
    CancelSent {
        /// The Cancel's time inside the OMS, ns.
        in_oms_ns: u64,
    },
    /// A Modify of the open order waits in the queue (`order`: as it would become).
    ReplaceQueued,
    /// The replace went to the exchange (`order`: as it would become).
    ReplaceSent {
        /// The Modify's time inside the OMS, ns.
        in_oms_ns: u64,
    },
    /// An execution: `last_qty` at `last_px`, `cum_qty` filled in all; `complete` when it
    /// filled the order in full (its life ends).
    Fill {
        /// This execution's quantity.
        last_qty: u64,
        /// Its price.
        last_px: f64,
        /// The order's filled quantity after it.
        cum_qty: u64,
        /// Whether the order is now filled in full.
        complete: bool,
    },
    /// The exchange cancelled the open order: our cancel (`solicited`), or on its own.
    VenueCancelled {
        /// Whether it carried out a cancel sent for the order.
        solicited: bool,
        /// The cancel's round trip, ns (0 when unsolicited).
        round_trip_ns: u64,
    },
    /// The replace was carried out: `order` is the new version.
    Replaced {
        /// The replace's round trip, ns.
        round_trip_ns: u64,
    },
    /// The exchange refused the cancel (`request` Cancel) or replace (Modify): the order goes
    /// on as it was.
    CancelRejected {
        /// Which request was refused.
        request: RequestType,
        /// The venue's reason code.
        code: u64,
    },
    /// The open order ended at the venue (done for the day, or expired).
    Expired,
    /// A record that is not about one of a producer's requests: the engine's own (logon,
    /// logout, clock step, recovered, unmatched response, the exchange's reports), seen when
    /// following [`ENGINE`].
    Other(EventKind),
}

/// One event about one of a producer's requests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    /// The record's sequence number.
    pub seq: u64,
    /// When, wall-clock ns since the Unix epoch.
    pub time_ns: i64,
    /// The order as the record carries it (as queued, sent, modified or rejected); for the
    /// engine's own records, only the id of the order an exchange report names (0 for none).
    pub order: OrderRequest,
    /// What happened.
    pub kind: OutcomeKind,
    /// Where the order stands after it, by the one order state machine ([`OrderLife`]: its
    /// state, the live version's price and quantity, what is filled and at what average price,
    /// the replacement pending): queued, sent, working, partially filled, pending cancel or
    /// replace, or the final state this record put it in. For a refused Modify or Cancel, the
    /// order as it goes on; for a refused New, that request's own end (`rejected`). `None` for
    /// the engine's own records and for a request about no live order (a Cancel of an unknown
    /// or finished order), or when the follower started at a later segment than the order's
    /// first record.
    pub life: Option<OrderLife>,
}

impl Outcome {
    /// The outcome record `r` tells, the order's life after it being `life`.
    fn of(r: &EventRecord, life: Option<OrderLife>) -> Outcome {
        let event = r.event();
        let kind = match event {
            Event::Queued { .. } => OutcomeKind::Queued,
            Event::Sent { in_oms_ns, .. } => OutcomeKind::Sent { in_oms_ns },
            Event::Modified { .. } => OutcomeKind::Modified,
            Event::Cancelled { .. } => OutcomeKind::Cancelled,
            Event::Rejected { request, reason, .. } => OutcomeKind::Rejected { request, reason },
            Event::Response { response, round_trip_ns, .. } => {
                OutcomeKind::Response { response, latency_ns: round_trip_ns }
            }
            Event::Unanswered { .. } => OutcomeKind::Unanswered,
            Event::CancelQueued { .. } => OutcomeKind::CancelQueued,
            Event::CancelSent { in_oms_ns, .. } => OutcomeKind::CancelSent { in_oms_ns },
            Event::ReplaceQueued { .. } => OutcomeKind::ReplaceQueued,
            Event::ReplaceSent { in_oms_ns, .. } => OutcomeKind::ReplaceSent { in_oms_ns },
            Event::Fill { last_qty, last_px, cum_qty, complete, .. } => {
                OutcomeKind::Fill { last_qty, last_px, cum_qty, complete }
            }
            Event::VenueCancelled { solicited, round_trip_ns, .. } => {
                OutcomeKind::VenueCancelled { solicited, round_trip_ns }
            }
            Event::Replaced { round_trip_ns, .. } => OutcomeKind::Replaced { round_trip_ns },
            Event::CancelRejected { request, code, .. } => OutcomeKind::CancelRejected { request, code },
            Event::Expired { .. } => OutcomeKind::Expired,
            e @ (Event::Logon
            | Event::Logout
            | Event::Halted
            | Event::Resumed
            | Event::ClientAttached { .. }
            | Event::ClientDetached { .. }
            | Event::Reference { .. }
            | Event::UnmatchedResponse { .. }
            | Event::ClockStep { .. }
            | Event::Recovered { .. }
            | Event::SyncFailed
            | Event::ExchangeSession(_)
            | Event::Execution { .. }
            | Event::ExchangeReject { .. }
            | Event::UnexpectedReport { .. }
            | Event::Unfit(_)) => OutcomeKind::Other(e.kind()),
        };
        // The engine's own records carry no order; an exchange report names one by its id.
        let order = event.order().copied().unwrap_or(OrderRequest {
            symbol_id: 0,
            price: 0.0,
            qty: 0,
            side: '\0',
            order_id: event.order_id().unwrap_or(0),
        });
        Outcome { seq: r.seq, time_ns: r.time_ns, order, kind, life }
    }

    /// Whether the order's life ended with this outcome: cancelled (in the queue or at the
    /// exchange), rejected (a New; or its first answer a reject), filled in full (by a fill, or
    /// by a replace acknowledged after fills that reached its new quantity), expired, or left
    /// unanswered at shutdown. A rejected Modify or Cancel leaves its order as it was, and an
    /// accepted order is working until one of the above. Read from [`Outcome::life`] when the
    /// follower knows it, else from the record alone.
    pub fn is_final(&self) -> bool {
        if let Some(life) = self.life {
            return life.state().is_final();
        }
        match self.kind {
            OutcomeKind::Cancelled
            | OutcomeKind::Unanswered
            | OutcomeKind::VenueCancelled { .. }
            | OutcomeKind::Expired => true,
            OutcomeKind::Response { response, .. } => response != ResponseType::Accept,
            OutcomeKind::Fill { complete, .. } => complete,
            OutcomeKind::Rejected { request, .. } => request == RequestType::New,
            OutcomeKind::Queued
            | OutcomeKind::Sent { .. }
            | OutcomeKind::Modified
            | OutcomeKind::CancelQueued
            | OutcomeKind::CancelSent { .. }
            | OutcomeKind::ReplaceQueued
            | OutcomeKind::ReplaceSent { .. }
            | OutcomeKind::Replaced { .. }
            | OutcomeKind::CancelRejected { .. }
            | OutcomeKind::Other(_) => false,
        }
    }
}

/// What [`Outcomes::poll`] found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OutcomePoll {
    /// The producer's next outcome.
    Outcome(Outcome),
    /// Nothing new for this producer yet.
    Pending,
    /// The writer closed the journal and every outcome has been returned.
    Closed,
}

/// [`Outcomes`]: what became of one producer's requests, read from the committed journal.
///
/// Every record about a request carries the index of the producer that handed it over, so a
/// producer learns its orders' fates by following the journal and keeping its own records:
/// queued, sent, modified, cancelled, rejected (with the reason), the exchange's response (with
/// the round trip) and, at shutdown, unanswered. The engine does no work for it: the journal
/// is written anyway, and the reader is a [`Follower`] (`pread`, never a mapping, so it works
/// from any thread or another process and a truncated file is an error, not SIGBUS).
///
/// Each outcome carries the order's life after it ([`Outcome::life`]): the follower folds every
/// record of the journal, of all producers, through the same order state machine the engine
/// and recovery use ([`Lifecycle`]), so a producer sees where each order stands (filled and
/// leaves quantity, average price, pending cancel or replace) without keeping books of its own,
/// and a Cancel another producer sent for one of its orders still moves that order's life.
///
/// [`Outcomes::poll`] never blocks and allocates nothing per record: the follower's block
/// buffer is allocated at open, its order tables have room for [`Outcomes::ORDERS`] live orders
/// and grow (amortized, as a `Vec` does) only when more are live at once than ever before;
/// moving to the next segment opens a file. It returns one outcome,
/// [`OutcomePoll::Pending`] when this producer has nothing new, or [`OutcomePoll::Closed`] once
/// the writer has closed the journal and everything was returned. Records of other producers
/// are skipped inside the call. Commit → seen latency is in `docs/BENCHMARKS.md`.
///
/// A request that left no record was never accepted: it was still in the producer's ring when
/// the engine stopped. After a restart the engine rebuilds its queue and in-flight orders from
/// the journal (`recovered`), so everything that had a record goes on; a producer that follows
/// the engine's own records too ([`ENGINE`]) sees the `recovered` record that marks the restart.
///
/// ```no_run
/// use oms::journal::{OutcomeKind, OutcomePoll, Outcomes};
///
/// let mut mine = Outcomes::follow("oms.journal", 2)?;
/// loop {
///     match mine.poll()? {
///         OutcomePoll::Outcome(o) => {
///             if let OutcomeKind::Response { response, latency_ns } = o.kind {
///                 println!("order {}: {} after {latency_ns} ns", o.order.order_id, response.name());
///             }
///         }
///         OutcomePoll::Pending => std::thread::sleep(std::time::Duration::from_micros(50)),
///         OutcomePoll::Closed => break,
///     }
/// }
/// # Ok::<(), oms::journal::JournalError>(())
/// ```
#[derive(Debug)]
pub struct Outcomes {
    follower: Follower,
    producer: u16,
    /// Every order's life, from every record read.
    lives: Lifecycle,
}

impl Outcomes {
    /// How many live orders (queued or at the exchange, of all producers) the order tables hold
    /// before they first grow.
    pub const ORDERS: usize = 1024;

    /// Follows the records of producer `producer` in the journal at `path` (a base path, or a
    /// segment to start from), from its first record.
    pub fn follow(path: impl AsRef<Path>, producer: u16) -> Result<Outcomes, JournalError> {
        Ok(Outcomes {
            follower: Follower::open(path)?,
            producer,
            lives: Lifecycle::with_capacity(Self::ORDERS),
        })
    }

    /// The producer followed.
    pub fn producer(&self) -> u16 {
        self.producer
    }

    /// The time zone recorded in the journal header.
    pub fn timezone(&self) -> &str {
        self.follower.timezone()
    }

    /// The producer's next outcome; never blocks.
    pub fn poll(&mut self) -> Result<OutcomePoll, JournalError> {
        Ok(match self.poll_record()? {
            Poll::Record(r) => OutcomePoll::Outcome(Outcome::of(&r, self.lives.last_life())),
            Poll::Pending => OutcomePoll::Pending,
            Poll::Closed => OutcomePoll::Closed,
        })
    }

    /// The producer's next record, as the journal holds it (what `oms tail --producer`
    /// prints); never blocks.
    pub fn poll_record(&mut self) -> Result<Poll, JournalError> {
        loop {
            match self.follower.poll()? {
                Poll::Record(r) => {
                    self.lives.push(&r);
                    if r.producer == self.producer {
                        return Ok(Poll::Record(r));
                    }
                }
                other => return Ok(other),
            }
        }
    }

    /// Order `id`'s life as the records read so far leave it, if it is live (queued or at the
    /// exchange); `None` once its life ended, or for an order the follower has not seen.
    pub fn life(&self, id: u64) -> Option<OrderLife> {
        self.lives.life(id)
    }
}
