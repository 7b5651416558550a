//! Refusals by the pre-trade risk limits.

use crate::model::{OrderRequest, RejectReason};
use crate::record::EventRecord;

use super::Auditor;

impl Auditor {
    /// Whether the refusal of `o` for risk limit `reason` at record `r` fits what the journal
    /// shows. Judged by the request's shape only (a valid request in a session, of an order that
    /// may take it: the callers' part).
    pub(super) fn risk_refusal_fits(
        &mut self,
        _r: &EventRecord,
        _o: &OrderRequest,
        _reason: RejectReason,
    ) -> bool {
        true
    }
}
