//! The session rules of the [`Auditor`]: one logon per window traded and one logout at its
//! end or at shutdown (`sessions`, `session_end`), nothing sent outside a logged-on session or
//! while the exchange session is down (`window`), and a restart's `recovered` record.

use super::{AfterEnd, Auditor, Bound, ExchangeState, Open, between};
use crate::audit::Rule;
use crate::model::SessionEvent;
use crate::record::EventRecord;
use crate::window::WindowSpan;

impl Auditor {
    pub(super) fn on_logon(&mut self, r: &EventRecord) {
        self.count(Rule::Sessions);
        if let Some(open) = self.session {
            self.fail(Rule::Sessions, r.seq, None, || {
                format!(
                    "logon while the session logged on at seq {} is still on: sessions overlap",
                    open.logon_seq
                )
            });
        }
        let t = r.time_ns;
        let span = match self.window.current_or_next(t) {
            Some(span) if span.contains(t) => span,
            other => {
                self.fail(Rule::Sessions, r.seq, None, || match other {
                    Some(next) => format!(
                        "logon while no trading window is open (the next opens in {}): a logon for a \
                         window already over, or before its start",
                        between(next.start_ns, t)
                    ),
                    None => "logon while no trading window is open or ahead".into(),
                });
                WindowSpan { start_ns: t, end_ns: t }
            }
        };
        let start_up = self.records == 1 || self.shutdown_seen;
        if self.options.exact_timers && t != span.start_ns && span.contains(t) && !start_up {
            self.fail(Rule::Sessions, r.seq, None, || {
                format!(
                    "logon {} after its window opened, though the engine was running (not a start-up)",
                    between(t, span.start_ns)
                )
            });
        }
        // A logon into the window the engine was logged on in when it stopped continues that
        // session: the restarted engine restores its bucket instead of refilling it.
        let continues = self.crashed.take() == Some(span);
        self.logon_continues = continues;
        if let Bound::Bucket(b) = &mut self.bound
            && !continues
        {
            b.reset();
        }
        self.session = Some(Open { span, logon_seq: r.seq, after_end: None });
        self.stopped_until = None;
        self.shutdown_seen = false;
        self.exchange = ExchangeState::Silent { sends: None };
    }

    pub(super) fn on_logout(&mut self, r: &EventRecord) {
        self.count(Rule::SessionEnd);
        // The engine's logout ends the exchange session too (until the next logon).
        self.exchange = ExchangeState::Down(r.seq, SessionEvent::LoggedOut);
        let t = r.time_ns;
        let ending = self.ending.take();
        if let Some((first, n)) = self.orders.drop_cancels() {
            self.fail(Rule::SessionEnd, r.seq, Some(first), || {
                format!(
                    "{n} cancel(s) still waiting at the logout without a reject (session_ended at the \
                     window's end, shutdown at shutdown); this one waited longest"
                )
            });
        }
        if let Some((first, n)) = self.orders.drop_queue() {
            self.fail(Rule::SessionEnd, r.seq, Some(first), || {
                format!(
                    "{n} order(s) still queued at the logout without a reject (session_ended at the window's \
                     end, shutdown at shutdown); this one is the oldest"
                )
            });
        }
        let Some(open) = self.session.take() else {
            self.fail(Rule::Sessions, r.seq, None, || "logout with no session logged on".into());
            return;
        };
        let span = open.span;
        if t < span.end_ns {
            // Only a shutdown logs out before the window's end.
            if let Some(first) = ending {
                self.fail(Rule::SessionEnd, first, None, || {
                    format!(
                        "orders rejected session_ended at a logout {} before the window's end",
                        between(span.end_ns, t)
                    )
                });
            }
            self.stopped_until = Some(span.end_ns);
            self.shutdown_seen = true;
            return;
        }
        // With orders open at the exchange when the window ended, the engine may cancel them
        // before its Logout, which then comes late; with none, it logs out at the end.
        let cancelling = open.after_end == Some(AfterEnd { orders_open: true });
        if self.options.exact_timers && t != span.end_ns && !cancelling {
            self.fail(Rule::Sessions, r.seq, None, || {
                format!(
                    "logout {} after the window's end, though no order was open at the exchange then \
                     (only cancels of open orders hold the logout back)",
                    between(t, span.end_ns)
                )
            });
        }
        // The cancels' grace ends at the next window's start at the latest: a Logout then is
        // on time; one with no cancels to wait for comes at the end (checked above).
        if let Some(next) = self.window.current_or_next(span.end_ns)
            && (t > next.start_ns || (t == next.start_ns && !cancelling))
        {
            self.fail(Rule::Sessions, r.seq, None, || {
                format!(
                    "logout {} after the next window opened: the session ran into it",
                    between(t, next.start_ns)
                )
            });
        }
    }

    /// The window rule for a cancel of order `id` queued or sent at `r`: inside a logged-on
    /// session, in the window or after its end (the working orders are cancelled before the
    /// Logout).
    pub(super) fn check_cancel_window(&mut self, r: &EventRecord, id: u64) {
        if self.after_end(r) {
            self.count(Rule::Window);
        } else {
            self.check_window(r, id);
        }
    }

    /// The window rule for order `id` sent or queued at `r`.
    pub(super) fn check_window(&mut self, r: &EventRecord, id: u64) {
        self.count(Rule::Window);
        match self.session {
            None => self.fail(Rule::Window, r.seq, Some(id), || {
                format!("{} while no session is logged on", r.kind.name())
            }),
            Some(open) if !open.span.contains(r.time_ns) => self.fail(Rule::Window, r.seq, Some(id), || {
                let (start, end) = (open.span.start_ns, open.span.end_ns);
                if r.time_ns >= end {
                    format!("{} {} after the window closed", r.kind.name(), between(r.time_ns, end))
                } else {
                    format!("{} {} before the window opened", r.kind.name(), between(start, r.time_ns))
                }
            }),
            Some(_) => {}
        }
    }

    /// A send needs the exchange session up: never after it reported itself down (until it
    /// logs on again); sends before its first report are judged when that report comes.
    pub(super) fn check_exchange_ready(&mut self, r: &EventRecord, id: u64) {
        match &mut self.exchange {
            ExchangeState::Ready => {}
            ExchangeState::Silent { sends: Some((_, _, n)) } => *n += 1,
            ExchangeState::Silent { sends } => *sends = Some((r.seq, id, 1)),
            ExchangeState::Down(since, event) => {
                let (since, event) = (*since, *event);
                self.fail(Rule::Window, r.seq, Some(id), || {
                    format!(
                        "sent while the exchange session was down ({} at seq {since}): orders wait \
                         in the queue until it logs on again",
                        event.name()
                    )
                });
            }
        }
    }

    pub(super) fn on_exchange_session(&mut self, r: &EventRecord, event: SessionEvent) {
        if let ExchangeState::Silent { sends: Some((seq, id, n)) } = self.exchange {
            self.fail(Rule::Window, seq, Some(id), || {
                format!(
                    "{n} order(s) sent after the logon before the exchange session reported anything \
                     (its first report, {} at seq {}, shows it has a session of its own: orders wait \
                     for it to log on)",
                    event.name(),
                    r.seq
                )
            });
        }
        self.exchange = match event.ready_after() {
            Some(true) => ExchangeState::Ready,
            Some(false) => ExchangeState::Down(r.seq, event),
            None => match self.exchange {
                ExchangeState::Silent { .. } => ExchangeState::Ready,
                other => other,
            },
        };
    }

    /// The engine restarted: the counts it states must be the journal's; the session it was
    /// logged on in (if any) died with the process, and what it had begun (a run of
    /// `session_ended` rejects, a shutdown) was cut short.
    pub(super) fn on_recovered(&mut self, r: &EventRecord, stated_queued: u64, stated_open: u64) {
        // Checked under `fates` but not counted: its count is of New orders.
        let queued = self.orders.queued_len() as u64;
        let open = self.orders.open_len() as u64;
        if (stated_queued, stated_open) != (queued, open) {
            self.fail(Rule::Fates, r.seq, None, || {
                format!(
                    "recovered states {stated_queued} queued and {stated_open} open, but the journal \
                     before it shows {queued} queued and {open} open at the exchange"
                )
            });
        }
        self.ending = None;
        self.stopped_until = None;
        self.shutdown_seen = true;
        // A restart that dies before it logs on leaves the interrupted session as it was: the
        // next restart's logon into its window still continues it.
        self.crashed = self.session.take().map(|open| open.span).or(self.crashed);
    }
}
