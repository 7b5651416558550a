//! Where the engine's events go: the [`EventSink`] trait, and two sinks that live in memory
//! ([`MemorySink`] for tests and tools, [`CountingSink`] for benchmarks). The journal's sink is
//! [`JournalWriter`](crate::journal::JournalWriter).
//!
//! A sink numbers what it records: the engine hands over events with `seq` 0 and the sink gives
//! each the next sequence number of its own (1, 2, 3 …), so the journal's sequence numbers are
//! positional and assigned in exactly one place.

use crate::record::EventRecord;

/// Where the engine's events go. Called only from the engine thread.
///
/// `record` must not allocate, lock or make a syscall in steady state: it runs on the hot path.
pub trait EventSink {
    /// Persists one event, numbering it with the sink's next sequence number (the event's own
    /// `seq` is ignored).
    fn record(&mut self, event: &EventRecord);

    /// `false` once the sink is close to full: the engine then rejects New orders
    /// `journal_full` and sends nothing more, so the room left is enough to record the end of
    /// the session. The default sink never fills.
    fn has_room(&self) -> bool {
        true
    }

    /// `false` while the sink can take little more than the end of the session (a journal whose
    /// next segment is not ready, or whose disk is full, is down to its reserve): the engine
    /// then leaves requests in the producer rings, so producers see
    /// [`Backpressure`](crate::Backpressure), until it can. Responses are still matched (the
    /// reserve holds every order in flight). Default: always.
    fn takes_requests(&self) -> bool {
        true
    }

    /// A bounded slice of the sink's own work (a journal prepares its next segment a little at
    /// a time), called by the engine when a loop turn found nothing else to do, so that it runs
    /// on the engine's core in time the engine would otherwise spend idle. Returns whether it
    /// did something (more may be pending). Must not block. Default: nothing to do.
    fn housekeep(&mut self) -> bool {
        false
    }

    /// Called at logout and at shutdown (e.g. to flush); off the order path.
    fn sync(&mut self) {}
}

/// An in-memory sink: a `Vec` pre-allocated to a capacity. Once full it reports `has_room() ==
/// false` and keeps accepting a reserve of records (growing only then), so nothing is lost.
#[derive(Debug, Default)]
pub struct MemorySink {
    events: Vec<EventRecord>,
    capacity: usize,
    last_seq: u64,
}

impl MemorySink {
    /// Reserves room for `capacity` events up front (0: unbounded, never reports full).
    pub fn with_capacity(capacity: usize) -> Self {
        MemorySink { events: Vec::with_capacity(capacity), capacity, last_seq: 0 }
    }

    /// The events recorded so far, numbered from 1.
    pub fn events(&self) -> &[EventRecord] {
        &self.events
    }

    /// Takes the recorded events out (numbering continues after them).
    pub fn take(&mut self) -> Vec<EventRecord> {
        std::mem::take(&mut self.events)
    }
}

impl EventSink for MemorySink {
    #[inline]
    fn record(&mut self, event: &EventRecord) {
        self.last_seq += 1;
        self.events.push(EventRecord { seq: self.last_seq, ..*event });
    }

    fn has_room(&self) -> bool {
        self.capacity == 0 || self.events.len() < self.capacity
    }
}

/// A sink that keeps nothing but counts (for benchmarks).
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingSink {
    /// Events recorded (= the last sequence number given).
    pub count: u64,
}

impl EventSink for CountingSink {
    #[inline]
    fn record(&mut self, _event: &EventRecord) {
        self.count += 1;
    }
}

impl<S: EventSink + ?Sized> EventSink for Box<S> {
    fn record(&mut self, event: &EventRecord) {
        (**self).record(event)
    }
    fn has_room(&self) -> bool {
        (**self).has_room()
    }
    fn takes_requests(&self) -> bool {
        (**self).takes_requests()
    }
    fn housekeep(&mut self) -> bool {
        (**self).housekeep()
    }
    fn sync(&mut self) {
        (**self).sync()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Event;

    #[test]
    fn memory_sink_numbers_records_itself_and_reports_full() {
        let mut s = MemorySink::with_capacity(2);
        let mut e = EventRecord::new(5, Event::Logon);
        e.seq = 99; // ignored
        for _ in 0..3 {
            s.record(&e);
        }
        let seqs: Vec<u64> = s.events().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [1, 2, 3]);
        assert!(!s.has_room());
        let taken = s.take();
        s.record(&e);
        assert_eq!((taken.len(), s.events()[0].seq), (3, 4));
    }
}
