//! The requests a journal shows the engine took, per producer, in the order it took them: what
//! an `--orders FILE` run that recovers from the journal must not hand over again.
//!
//! The orders' lives ([`Lifecycle`]) tell a record that answers a request as the engine took
//! it from a ring from a later fate of an order taken before. A producer's requests are taken
//! in the order it handed them over (its ring is FIFO), so the requests a file's producer had
//! handed over and the engine took are a prefix of its lines.

use std::path::Path;

use crate::journal::{Journal, JournalError};
use crate::lifecycle::{Lifecycle, Step};
use crate::model::RequestType;
use crate::record::EventRecord;

/// Per producer, the requests taken: (request type, order id), in order.
#[derive(Debug, Default)]
pub(super) struct Taken {
    pub(super) by_producer: Vec<Vec<(RequestType, u64)>>,
}

impl Taken {
    /// Reads the committed records of the journal at `path`.
    pub(super) fn read(path: &Path) -> Result<Taken, JournalError> {
        let journal = Journal::open(path)?;
        let mut fold = Fold::default();
        for r in journal.records() {
            fold.push(&r?);
        }
        Ok(fold.taken)
    }
}

#[derive(Debug, Default)]
struct Fold {
    orders: Lifecycle,
    taken: Taken,
}

impl Fold {
    fn push(&mut self, r: &EventRecord) {
        if let Step::Took(request) = self.orders.push(r) {
            let p = usize::from(r.producer);
            let by = &mut self.taken.by_producer;
            if by.len() <= p {
                by.resize_with(p + 1, Vec::new);
            }
            by[p].push((request, r.order_id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventKind, FixCode, OrderRequest, RejectReason, RejectSource, ResponseType, Side};
    use crate::record::Event;

    fn rec(kind: EventKind, id: u64, request: RequestType, p: u16) -> EventRecord {
        let o = OrderRequest::new(id, 1, Side::Buy, 10.0, 1);
        let event = match kind {
            EventKind::Queued => Event::Queued { order: o },
            EventKind::Sent => Event::Sent { order: o, in_oms_ns: 0 },
            EventKind::Modified => Event::Modified { order: o },
            EventKind::Cancelled => Event::Cancelled { order: o },
            EventKind::Response => {
                Event::Response { order: o, response: ResponseType::Accept, round_trip_ns: 1 }
            }
            EventKind::Unanswered => Event::Unanswered { order: o },
            EventKind::Execution => Event::Execution {
                order_id: id,
                last_qty: 1,
                last_px: 10.0,
                exec_type: FixCode::new(b'F').expect("valid"),
                ord_status: FixCode::new(b'2').expect("valid"),
            },
            EventKind::ExchangeReject => {
                Event::ExchangeReject { order_id: id, source: RejectSource::BusinessReject, code: 1 }
            }
            other => panic!("no test record of kind {other:?}"),
        };
        assert_eq!(event.kind(), kind);
        let _ = request;
        EventRecord::new(0, event).from_producer(p)
    }

    fn rejected(id: u64, request: RequestType, reason: RejectReason, p: u16) -> EventRecord {
        let o = OrderRequest::new(id, 1, Side::Buy, 10.0, 1);
        EventRecord::new(0, Event::Rejected { order: o, request, reason, value: 0.0 }).from_producer(p)
    }

    #[test]
    fn later_fates_are_not_requests() {
        use EventKind as K;
        use RequestType::{Cancel, Modify, New};
        let mut f = Fold::default();
        for r in [
            rec(K::Queued, 1, New, 0),
            rec(K::Sent, 2, New, 1), // at once
            rec(K::Queued, 3, New, 0),
            rec(K::Modified, 3, Modify, 0),
            rec(K::Sent, 1, New, 0), // from the queue
            rec(K::Response, 1, New, 0),
            rec(K::Execution, 1, New, 0), // the exchange's report of order 1
            rec(K::ExchangeReject, 2, New, 1),
            rejected(3, New, RejectReason::DuplicateOrderId, 1), // a duplicate of a queued id
            rec(K::Queued, 4, New, 1),
            rejected(9, Cancel, RejectReason::NotQueued, 1),
            rec(K::Cancelled, 4, Cancel, 1),
            rejected(3, New, RejectReason::Shutdown, 0), // the queued order at shutdown
            rejected(5, New, RejectReason::Shutdown, 0), // a request left in the ring
            rec(K::Unanswered, 2, New, 1),
        ] {
            f.push(&r);
        }
        assert_eq!(f.taken.by_producer[0], [(New, 1), (New, 3), (Modify, 3), (New, 5)]);
        assert_eq!(f.taken.by_producer[1], [(New, 2), (New, 3), (New, 4), (Cancel, 9), (Cancel, 4)]);
    }
}
