//! Handles over the SPSC rings between threads: one [`Producer`] per upstream thread and one
//! [`Responder`] for the exchange side.
//!
//! The rings are crossbeam-queue `ArrayQueue`s (bounded, allocation-free after creation). An
//! `ArrayQueue` is MPMC; single-producer use is enforced by the handles: they are `Send` but not
//! `Clone`, and their methods take `&mut self`. A full ring never blocks and never drops: the
//! value comes back in the `Err`.
//!
//! Each message is stamped with the clock's raw reading (TSC) as it enters the ring, so the
//! engine can report how long an order spent inside the OMS and the exact round-trip latency of a
//! response (arrival stamp minus send stamp), independent of how late the engine drains the ring.

use std::sync::Arc;

use crossbeam_queue::ArrayQueue;
use quanta::Clock;

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

/// A response as it travels through the response ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InboundResponse {
    /// The exchange's response.
    pub response: OrderResponse,
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

/// One upstream thread's handle: `Send`, not `Clone`.
#[derive(Debug)]
pub struct Producer {
    ring: Arc<ArrayQueue<Inbound>>,
    clock: Clock,
    index: u16,
}

impl Producer {
    pub(crate) fn new(ring: Arc<ArrayQueue<Inbound>>, clock: Clock, index: u16) -> Self {
        Producer { ring, clock, index }
    }

    /// This producer's index: its requests' records carry it (`oms decode --producer N`).
    pub fn index(&self) -> u16 {
        self.index
    }

    /// Hands a request to the engine (`onData(OrderRequest&&, RequestType)`). Never blocks,
    /// never allocates; a full ring returns the request in the error.
    #[inline]
    pub fn on_data(&mut self, order: OrderRequest, request: RequestType) -> Result<(), Backpressure> {
        let arrival_raw = self.clock.raw();
        self.ring
            .push(Inbound { order, request, arrival_raw, producer: self.index })
            .map_err(|i| Backpressure { order: i.order, request })
    }

    /// Requests waiting in this producer's ring.
    pub fn pending(&self) -> usize {
        self.ring.len()
    }
}

/// The exchange side's handle for responses (`onData(OrderResponse&&)`): `Send`, not `Clone`.
#[derive(Debug)]
pub struct Responder {
    ring: Arc<ArrayQueue<InboundResponse>>,
    clock: Clock,
}

impl Responder {
    pub(crate) fn new(ring: Arc<ArrayQueue<InboundResponse>>, clock: Clock) -> Self {
        Responder { ring, clock }
    }

    /// Hands an exchange response to the engine, stamped with its arrival time.
    #[inline]
    pub fn on_data(&mut self, response: OrderResponse) -> Result<(), ResponseBackpressure> {
        let arrival_raw = self.clock.raw();
        self.ring
            .push(InboundResponse { response, arrival_raw })
            .map_err(|r| ResponseBackpressure(r.response))
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
        let ring = Arc::new(ArrayQueue::new(1));
        let mut p = Producer::new(ring.clone(), clock.clone(), 4);
        mock.increment(5u64);
        let o = OrderRequest::new(1, 2, Side::Buy, 3.0, 4);
        p.on_data(o, RequestType::New).unwrap();
        let o2 = OrderRequest::new(2, 2, Side::Sell, 3.0, 4);
        let err = p.on_data(o2, RequestType::Cancel).unwrap_err();
        assert_eq!((err.order, err.request), (o2, RequestType::Cancel));
        assert_eq!(
            ring.pop().unwrap(),
            Inbound { order: o, request: RequestType::New, arrival_raw: 5, producer: 4 }
        );

        let rring = Arc::new(ArrayQueue::new(1));
        let mut r = Responder::new(rring.clone(), clock);
        let resp = OrderResponse { order_id: 1, response_type: ResponseType::Accept };
        r.on_data(resp).unwrap();
        assert_eq!(r.on_data(resp), Err(ResponseBackpressure(resp)));
    }
}
