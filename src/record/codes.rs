//! The codes some kinds keep in `latency_ns`: an `unexpected_report`'s answer and state, a
//! `client_detached`'s cause and exit policy. Read by [`super::event`]'s decoding and `misfit`.

use crate::model::{AnswerKind, DetachCause, OrderState};

/// An `unexpected_report` record's codes (`latency_ns`): which answer (byte 0) and the order's
/// state then (byte 1, 0: not open); the other bytes are zero.
pub(super) fn report_codes(v: u64) -> Result<(AnswerKind, Option<OrderState>), (&'static str, u32)> {
    if v >> 16 != 0 {
        return Err(("report codes", (v >> 16) as u32));
    }
    let answer = AnswerKind::from_u8(v as u8).ok_or(("answer kind", u32::from(v as u8)))?;
    let state = match (v >> 8) as u8 {
        0 => None,
        b => Some(OrderState::from_u8(b).ok_or(("order state", u32::from(b)))?),
    };
    Ok((answer, state))
}

/// A `client_detached` record's codes (`latency_ns`): the cause (byte 0) and the exit policy
/// (byte 1: 1 cancel, 0 keep); the other bytes are zero.
pub(super) fn detach_codes(v: u64) -> Result<(DetachCause, bool), (&'static str, u32)> {
    if v >> 9 != 0 {
        return Err(("detach codes", (v >> 8) as u32));
    }
    let cause = DetachCause::from_u8(v as u8).ok_or(("detach cause", u32::from(v as u8)))?;
    Ok((cause, v >> 8 == 1))
}
