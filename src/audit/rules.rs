//! The rules an audit checks, each with a name and a one-line statement.

use crate::throttle::{ThrottleMode, ThrottleSettings};

use super::AuditOptions;

/// One rule of the audit. [`Rule::ALL`] lists them in the order reports print them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Sequence numbers 1..n without gaps, times never go backwards, fields fit the kind.
    Records,
    /// Nothing sent outside the trading window and a logged-on session (exchange session included).
    Window,
    /// One logon per window traded, one logout at its end (or at shutdown), no overlap.
    Sessions,
    /// The throttle bound of the configured mode.
    Throttle,
    /// Queued orders go out oldest first; no new order overtakes the queue.
    Fifo,
    /// A modify changes a queued order in place, and what is sent is its last values.
    Modify,
    /// Only well-formed orders are accepted or sent.
    WellFormed,
    /// Exactly one fate per New order and per sent order; reject reasons fit the state.
    Fates,
    /// Orders queued at a logout are rejected `session_ended` right before it.
    SessionEnd,
    /// Every response matches an order in flight, with a consistent latency.
    Responses,
    /// An order's life at the exchange follows its state machine.
    Lifecycle,
    /// No order taken or modified beyond a configured risk limit; each refusal for a limit
    /// is the one the limits give.
    Risk,
    /// A client's Modify or Cancel is applied only to an order it owns.
    Ownership,
}

impl Rule {
    /// Every rule, in report order.
    pub const ALL: [Rule; 13] = [
        Rule::Records,
        Rule::Window,
        Rule::Sessions,
        Rule::Throttle,
        Rule::Fifo,
        Rule::Modify,
        Rule::WellFormed,
        Rule::Fates,
        Rule::SessionEnd,
        Rule::Responses,
        Rule::Lifecycle,
        Rule::Risk,
        Rule::Ownership,
    ];

    /// The rule's short name (snake_case), as `oms audit` prints it.
    pub const fn name(self) -> &'static str {
        match self {
            Rule::Records => "records",
            Rule::Window => "window",
            Rule::Sessions => "sessions",
            Rule::Throttle => "throttle",
            Rule::Fifo => "fifo",
            Rule::Modify => "modify",
            Rule::WellFormed => "well_formed",
            Rule::Fates => "fates",
            Rule::SessionEnd => "session_end",
            Rule::Responses => "responses",
            Rule::Lifecycle => "lifecycle",
            Rule::Risk => "risk",
            Rule::Ownership => "ownership",
        }
    }

    /// What the rule's count of checked items counts.
    pub const fn unit(self) -> &'static str {
        match self {
            Rule::Records => "records",
            Rule::Window => "orders sent or queued",
            Rule::Sessions => "logons",
            Rule::Throttle | Rule::Fifo => "messages sent",
            Rule::Modify => "modifies",
            Rule::WellFormed => "orders accepted",
            Rule::Fates => "New orders",
            Rule::SessionEnd => "logouts",
            Rule::Responses => "responses",
            Rule::Lifecycle => "cancels, replaces and answers at the exchange",
            Rule::Risk => "orders taken, modifies and refusals for a limit",
            Rule::Ownership => "modifies and cancels of clients",
        }
    }

    /// The rule in one sentence, for a compliance officer, with the configured numbers.
    pub fn statement(self, throttle: &ThrottleSettings, options: &AuditOptions) -> String {
        match self {
            Rule::Records => "every record is present: sequence numbers run 1, 2, 3 ... without a gap, \
                              times never go backwards, and each record's fields fit its kind"
                .into(),
            Rule::Window => "nothing is sent outside the trading window: every order sent (or queued to \
                             be sent) is inside a window and inside a logged-on session, and never while \
                             the exchange session reports itself down (logon refused, disconnected, \
                             logged out) or before it first logs on"
                .into(),
            Rule::Sessions => format!(
                "one logon in each window traded, at its start{}, and one logout at its end{} or at \
                 shutdown; never a logon outside a window; sessions never overlap",
                if options.exact_timers {
                    " exactly (later only when the engine starts inside the window)"
                } else {
                    " (or later when the engine starts inside the window)"
                },
                if options.exact_timers { " exactly" } else { "" }
            ),
            Rule::Throttle => throttle_statement(throttle),
            Rule::Fifo => "queued orders and replaces go out oldest first; a new order or a replace is \
                           never sent at once while another waits in the queue; waiting cancels go \
                           out before any new order or replace, oldest first, and none is sent at \
                           once while another waits"
                .into(),
            Rule::Modify => "a modify changes a queued order (or a queued replace) in place: it keeps its \
                             place in the queue, its new price and quantity are valid, and it is sent \
                             with its last modified values"
                .into(),
            Rule::WellFormed => "only well-formed orders are accepted or sent: price finite and above 0, \
                                 quantity above 0, side B or S"
                .into(),
            Rule::Fates => "every New order ends exactly once (sent, cancelled or rejected) and every \
                            sent order exactly once (rejected, filled, cancelled, expired or \
                            unanswered); no order is sent twice; each reject reason fits the state"
                .into(),
            Rule::SessionEnd => "cancels and orders still waiting at a logout are rejected session_ended, \
                                 oldest first, right before the logout (at shutdown: rejected shutdown)"
                .into(),
            Rule::Responses => format!(
                "every response answers an order in flight, with a latency {} the time from its send to \
                 the response (a cancel's or replace's answer: from the cancel or replace sent); \
                 unmatched_response only for an id not in flight; an execution report or exchange \
                 reject about an order comes after its response (a Pending New may come before)",
                if options.exact_latency { "equal to" } else { "no longer than" }
            ),
            Rule::Lifecycle => "an order's life at the exchange follows its state machine: a cancel or \
                                replace is sent only for a working order (accepted, not filled), one at a \
                                time, and a replace never asks for what is already filled; no order is \
                                filled beyond the quantity of the version that was live; every answer \
                                fits the order's state, and an unexpected_report only one that does not; \
                                every order the exchange accepted ends filled, cancelled, expired or \
                                unanswered"
                .into(),
            Rule::Risk => "no order is taken (queued or sent) and no order modified beyond a configured \
                           [risk] limit (order size, price band, open orders, position with the open \
                           orders of its side, the day's notional, the number of symbols), and each \
                           refusal for a limit names the first limit the request breaks; without \
                           limits, nothing is refused for one"
                .into(),
            Rule::Ownership => "a client's modify or cancel is applied only to an order whose New was its \
                                own: never to another producer's order, nor to the orders of an earlier \
                                client of its producer number (unless that one detached under \
                                on_client_exit = \"keep\", which hands its orders to the next client of \
                                the number, or the engine restarted); the cancel policy's own cancels of \
                                a detached client's orders are that client's"
                .into(),
        }
    }
}

/// The throttle rule with its numbers.
fn throttle_statement(t: &ThrottleSettings) -> String {
    match t.mode {
        ThrottleMode::SlidingWindow => format!(
            "at most {} orders sent in any one-second interval [t, t+1s), across sessions too \
             (sliding window, {}/s)",
            t.rate, t.rate
        ),
        ThrottleMode::TokenBucket => format!(
            "at most {} + floor({} x T / 1s) orders sent in any span of length T within one session \
             (token bucket, {}/s, burst {}, full at each logon)",
            t.burst, t.rate, t.rate, t.burst
        ),
    }
}
