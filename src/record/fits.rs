//! Which requests a record of each kind may answer: [`request_fits`], and the same as a table
//! built at compile time for the typed view's check of every decoded record.

use crate::model::{EventKind, RequestType};

/// Per kind (by wire value), the requests a record of it may answer: bit `r` for the request
/// of wire value `r` ([`request_fits`], tabled at compile time: one load and a test per record).
pub(super) const REQUESTS_FITTING: [u8; EventKind::SLOTS] = {
    let mut table = [0u8; EventKind::SLOTS];
    let mut i = 0;
    while i < EventKind::ALL.len() {
        let kind = EventKind::ALL[i];
        let mut r = 0;
        while r < 8 {
            if RequestType::from_u8(r) as u8 == r && request_fits(kind, RequestType::from_u8(r)) {
                table[kind as usize] |= 1 << r;
            }
            r += 1;
        }
        i += 1;
    }
    table
};

/// Whether a record of `kind` may answer (or carry out) `request`.
const fn request_fits(kind: EventKind, request: RequestType) -> bool {
    use RequestType::{Cancel, Modify, New, Unknown};
    match kind {
        EventKind::Queued
        | EventKind::Sent
        | EventKind::Response
        | EventKind::Unanswered
        | EventKind::Fill
        | EventKind::Filled
        | EventKind::Expired => matches!(request, New),
        EventKind::Modified | EventKind::ReplaceQueued | EventKind::ReplaceSent | EventKind::Replaced => {
            matches!(request, Modify)
        }
        EventKind::Cancelled | EventKind::CancelQueued | EventKind::CancelSent => matches!(request, Cancel),
        // Our cancel carried out, or the venue's own.
        EventKind::VenueCancelled => matches!(request, Cancel | New),
        EventKind::CancelRejected => matches!(request, Cancel | Modify),
        EventKind::Rejected => true,
        EventKind::UnexpectedReport
        | EventKind::Logon
        | EventKind::Halted
        | EventKind::Resumed
        | EventKind::Reference
        | EventKind::ClientAttached
        | EventKind::ClientDetached
        | EventKind::Logout
        | EventKind::UnmatchedResponse
        | EventKind::ClockStep
        | EventKind::Recovered
        | EventKind::SyncFailed
        | EventKind::ExchangeSession
        | EventKind::Execution
        | EventKind::ExchangeReject => matches!(request, Unknown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_of_fitting_requests_is_request_fits() {
        let requests = [RequestType::Unknown, RequestType::New, RequestType::Modify, RequestType::Cancel];
        for kind in EventKind::ALL {
            for request in requests {
                let tabled = REQUESTS_FITTING[kind as usize] & (1 << request as u8) != 0;
                assert_eq!(tabled, request_fits(kind, request), "{kind:?} {request:?}");
            }
        }
    }
}
