//! A response ring without an engine: the [`Responder`] an exchange adapter answers through, and
//! the other end to read the answers from. For driving an adapter on its own (tests, benchmarks,
//! round-trip measurements); the engine builds its own ring.

use crate::clock::EngineClock;
use crate::ring::{Answer, Responder, Responses, response_ring};

/// The reading end of a response ring made by [`response_tap`].
#[derive(Debug)]
pub struct ResponseTap {
    ring: Responses,
}

impl ResponseTap {
    /// The oldest answer and its arrival stamp (raw clock reading), if any.
    pub fn pop(&mut self) -> Option<(Answer, u64)> {
        self.ring.pop().map(|r| (r.answer, r.arrival_raw))
    }

    /// Responses waiting.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

/// A response ring of `capacity` on `clock`: the responder for the adapter, the tap for the
/// caller.
pub fn response_tap(capacity: usize, clock: &EngineClock) -> (Responder, ResponseTap) {
    let (responder, ring) = response_ring(capacity.max(1), clock.quanta().clone(), Default::default());
    (responder, ResponseTap { ring })
}
