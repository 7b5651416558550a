//! Handles over the rings between threads: one [`Producer`] per upstream thread and one
//! [`Responder`] for the exchange side.
//!
//! Every ring is single-producer single-consumer (`rtrb`: bounded, allocation-free, wait-free;
//! the pushing thread and the engine each keep a cached copy of the other's index, so a push or
//! a pop touches the shared indices only when its cached view runs out). Each producer has its
//! own ring, and so has each responder: an exchange adapter with several threads answering takes
//! one [`Responder`] per thread ([`crate::EngineBuilder::responder`]). Measured against
//! crossbeam's MPMC `ArrayQueue` in the same driver (`docs/BENCHMARKS.md`, rings section), the
//! SPSC ring is the faster hop and the cheaper one in instructions. A full ring never blocks and
//! never drops: the value comes back in the `Err`. The handles are `Send` but not `Clone`, and
//! their methods take `&mut self`: one thread per ring end, by construction.
//!
//! Each message is stamped with the clock's raw reading (TSC) as it enters the ring, so the
//! engine can report how long an order spent inside the OMS and the exact round-trip latency of a
//! response (arrival stamp minus send stamp), independent of how late the engine drains the ring.

use std::sync::Arc;

use quanta::Clock;

use crate::doorbell::{Doorbell, ReadyBit};
use crate::model::{OrderRequest, OrderResponse, RequestType};

/// A request as it travels through a producer ring.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Inbound {
    /// The order fields.
    pub order: OrderRequest,
    /// New, Modify, Cancel (or Unknown, which the engine rejects).
    pub request: RequestType,
    /// Raw clock reading when `on_data` was called.
    pub arrival_raw: u64,
    /// Index of the producer that handed it over (the order of [`crate::EngineBuilder::producer`]
    /// calls, from 0); the engine's records about the request carry it.
    pub producer: u16,
}

/// What an exchange says about an order, as it travels through a response ring.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Answer {
    /// The order's first answer: accepted (it is working) or rejected (`onData(OrderResponse&&)`).
    Response(OrderResponse),
    /// A fill of an open order: `last_qty` at `last_px` (a fill before the first answer accepts
    /// the order).
    Fill {
        /// The order.
        order_id: u64,
        /// Quantity filled by this execution.
        last_qty: u64,
        /// Its price.
        last_px: f64,
    },
    /// The exchange cancelled the order: the cancel sent for it was carried out, or the venue
    /// cancelled it on its own.
    Cancelled {
        /// The order.
        order_id: u64,
    },
    /// The replace sent for the order was carried out: its new version is live.
    Replaced {
        /// The order.
        order_id: u64,
    },
    /// The cancel or replace sent for the order was refused (FIX OrderCancelReject, 35=9); the
    /// order goes on as it was.
    CancelRejected {
        /// The order.
        order_id: u64,
        /// The venue's reason code (FIX CxlRejReason, 102), 0 if none.
        code: u32,
    },
    /// Done for the day, or expired, at the venue.
    Expired {
        /// The order.
        order_id: u64,
    },
}

impl Answer {
    /// The order the answer is about.
    pub const fn order_id(&self) -> u64 {
        match *self {
            Answer::Response(r) => r.order_id,
            Answer::Fill { order_id, .. }
            | Answer::Cancelled { order_id }
            | Answer::Replaced { order_id }
            | Answer::CancelRejected { order_id, .. }
            | Answer::Expired { order_id } => order_id,
        }
    }
}

/// An answer as it travels through a response ring, stamped as it entered.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InboundResponse {
    /// What the exchange said.
    pub answer: Answer,
    /// Raw clock reading when it arrived.
    pub arrival_raw: u64,
}

/// The ring is full: the request is handed back untouched. Retry later or shed load upstream.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[error("producer ring full: {request:?} for order {} not accepted", order.order_id)]
pub struct Backpressure {
    /// The order that was not accepted.
    pub order: OrderRequest,
    /// Its request type.
    pub request: RequestType,
}

/// The response ring is full: the response is handed back untouched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("response ring full: response for order {} not accepted", .0.order_id)]
pub struct ResponseBackpressure(pub OrderResponse);

/// The response ring is full: the answer is handed back untouched.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[error("response ring full: answer for order {} not accepted", .0.order_id())]
pub struct AnswerBackpressure(pub Answer);

/// One upstream thread's handle: `Send`, not `Clone`.
#[derive(Debug)]
pub struct Producer {
    ring: rtrb::Producer<Inbound>,
    clock: Clock,
    index: u16,
    /// Rung after each push: wakes an engine asleep under `idle = "backoff"`.
    bell: Arc<Doorbell>,
    /// This ring's bit in the engine's ready mask, set after each push: the engine visits only
    /// the rings whose bit is set ([`crate::doorbell::ReadyMask`]).
    ready: ReadyBit,
}

/// The engine's end of one producer's ring.
#[derive(Debug)]
pub(crate) struct Requests(rtrb::Consumer<Inbound>);

impl Requests {
    /// The oldest request, if any.
    #[inline(always)]
    pub(crate) fn pop(&mut self) -> Option<Inbound> {
        self.0.pop().ok()
    }

    /// Whether the ring holds nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The oldest request's arrival stamp (raw clock reading), if any; the request stays.
    pub(crate) fn oldest_arrival_raw(&self) -> Option<u64> {
        self.0.peek().ok().map(|i| i.arrival_raw)
    }

    /// Hands up to `max` waiting requests, oldest first, to `each` (as two slices: the ring may
    /// wrap), then frees their slots. One acquire load and one release store for the batch.
    #[inline(always)]
    pub(crate) fn drain(&mut self, max: usize, each: impl FnOnce(&[Inbound], &[Inbound])) -> usize {
        let n = self.0.slots().min(max);
        if n == 0 {
            return 0;
        }
        match self.0.read_chunk(n) {
            Ok(chunk) => {
                let (a, b) = chunk.as_slices();
                each(a, b);
                chunk.commit_all();
                n
            }
            // `n` is at most what `slots` saw, and only this end consumes.
            Err(_) => 0,
        }
    }
}

/// A producer's ring of `capacity` requests: the producer's handle (index `index`, marking
/// `ready` and ringing `bell` after each push) and the engine's end.
pub(crate) fn request_ring(
    capacity: usize,
    clock: Clock,
    index: u16,
    bell: Arc<Doorbell>,
    ready: ReadyBit,
) -> (Producer, Requests) {
    let (ring, consumer) = rtrb::RingBuffer::new(capacity);
    (Producer { ring, clock, index, bell, ready }, Requests(consumer))
}

impl Producer {
    /// This producer's index: its requests' records carry it (`oms decode --producer N`).
    pub fn index(&self) -> u16 {
        self.index
    }

    /// Hands a request to the engine (`onData(OrderRequest&&, RequestType)`). Never blocks,
    /// never allocates; a full ring returns the request in the error. After the push, one
    /// fence, the ring's bit in the engine's ready mask set if it is not (one load, and an
    /// atomic `or` when a sweep found the ring idle and cleared the bit), and one load of the
    /// engine's `sleeping` flag; a system call only to wake an engine asleep under
    /// `idle = "backoff"` ([`crate::doorbell`]). Always inlined, as [`Responder::on_answer`]: out of line the
    /// request is built in memory and passed by pointer (`benches/instructions.rs`: ~20 more
    /// per push; the inliner dropped both once the ready mask's mark was added).
    #[inline(always)]
    pub fn on_data(&mut self, order: OrderRequest, request: RequestType) -> Result<(), Backpressure> {
        let arrival_raw = self.clock.raw();
        match self.ring.push(Inbound { order, request, arrival_raw, producer: self.index }) {
            Ok(()) => {
                self.bell.ring_marking(&self.ready);
                Ok(())
            }
            Err(rtrb::PushError::Full(i)) => Err(Backpressure { order: i.order, request }),
        }
    }

    /// Requests waiting in this producer's ring.
    pub fn pending(&self) -> usize {
        self.ring.buffer().capacity() - self.ring.slots()
    }
}

/// The exchange side's handle for responses (`onData(OrderResponse&&)`): `Send`, not `Clone`.
#[derive(Debug)]
pub struct Responder {
    ring: rtrb::Producer<InboundResponse>,
    clock: Clock,
    /// Rung after each push, as a [`Producer`]'s.
    bell: Arc<Doorbell>,
}

/// The reading end of one responder's ring.
#[derive(Debug)]
pub(crate) struct Responses(rtrb::Consumer<InboundResponse>);

impl Responses {
    /// The oldest response, if any.
    #[inline(always)]
    pub(crate) fn pop(&mut self) -> Option<InboundResponse> {
        self.0.pop().ok()
    }

    /// Whether the ring holds nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Responses waiting.
    pub(crate) fn len(&self) -> usize {
        self.0.slots()
    }
}

/// A response ring of `capacity`: the responder's handle (ringing `bell` after each push) and
/// the reading end.
pub(crate) fn response_ring(capacity: usize, clock: Clock, bell: Arc<Doorbell>) -> (Responder, Responses) {
    let (ring, consumer) = rtrb::RingBuffer::new(capacity);
    (Responder { ring, clock, bell }, Responses(consumer))
}

impl Responder {
    /// Hands an exchange response to the engine, stamped with its arrival time. May be called
    /// from inside [`Exchange::send`](crate::Exchange::send) (the order is already in flight); a
    /// full ring returns the response in the error.
    #[inline]
    pub fn on_data(&mut self, response: OrderResponse) -> Result<(), ResponseBackpressure> {
        self.on_answer(Answer::Response(response)).map_err(|_| ResponseBackpressure(response))
    }

    /// Hands any answer about an order to the engine (a fill, a cancel or replace carried out
    /// or refused, an expiry, or a first answer), stamped with its arrival time. The rules of
    /// [`on_data`](Self::on_data) apply.
    #[inline(always)]
    pub fn on_answer(&mut self, answer: Answer) -> Result<(), AnswerBackpressure> {
        let arrival_raw = self.clock.raw();
        match self.ring.push(InboundResponse { answer, arrival_raw }) {
            Ok(()) => {
                self.bell.ring();
                Ok(())
            }
            Err(rtrb::PushError::Full(r)) => Err(AnswerBackpressure(r.answer)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ResponseType, Side};

    fn assert_send<T: Send>() {}

    #[test]
    fn full_ring_hands_the_request_back() {
        assert_send::<Producer>();
        assert_send::<Responder>();
        let (clock, mock) = Clock::mock();
        let mut mask = crate::doorbell::ReadyMask::default();
        let (mut p, mut ring) = request_ring(1, clock.clone(), 4, Arc::default(), mask.bit());
        mock.increment(5u64);
        let o = OrderRequest::new(1, 2, Side::Buy, 3.0, 4);
        p.on_data(o, RequestType::New).unwrap();
        assert_eq!(p.pending(), 1);
        let mut marked = Vec::new();
        mask.visit(|i| {
            marked.push(i);
            crate::doorbell::Drained::Empty
        });
        assert_eq!(marked, [0], "the push set the ring's bit");
        let o2 = OrderRequest::new(2, 2, Side::Sell, 3.0, 4);
        let err = p.on_data(o2, RequestType::Cancel).unwrap_err();
        assert_eq!((err.order, err.request), (o2, RequestType::Cancel));
        assert_eq!(
            ring.pop(),
            Some(Inbound { order: o, request: RequestType::New, arrival_raw: 5, producer: 4 })
        );
        assert!(ring.is_empty() && ring.pop().is_none() && p.pending() == 0);

        let (mut r, mut responses) = response_ring(1, clock, Arc::default());
        let resp = OrderResponse { order_id: 1, response_type: ResponseType::Accept };
        r.on_data(resp).unwrap();
        assert_eq!(r.on_data(resp), Err(ResponseBackpressure(resp)));
        assert_eq!(responses.len(), 1);
        assert_eq!(responses.pop().map(|x| x.answer), Some(Answer::Response(resp)));
        assert!(responses.is_empty());
    }
}
