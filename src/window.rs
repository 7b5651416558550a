//! The trading window: a time-of-day range in an IANA time zone, on some days of the week.
//!
//! The engine keeps time as monotonic nanoseconds and converts to wall-clock nanoseconds since the
//! Unix epoch (UTC) through its anchor (see [`crate::clock`]). This module answers the one question
//! the engine asks off the hot path (at start-up, at logon and at logout): *which window contains
//! this instant, or which one comes next?* The answer is a [`WindowSpan`] of two UTC instants, so
//! the engine turns it into two monotonic deadlines (logon, logout) and never touches a time zone
//! while orders flow.
//!
//! ```
//! use jiff::civil::time;
//! use jiff::tz::TimeZone;
//! use oms::{DaySet, TradingWindow, WindowSpan};
//!
//! let ist = TimeZone::get("Asia/Kolkata").unwrap();
//! let w = TradingWindow::new(ist, time(10, 0, 0, 0), time(13, 0, 0, 0), DaySet::ALL);
//! let t: i64 = 1_709_526_600_000_000_000; // 2024-03-04T10:00:00+05:30
//! assert!(w.contains(t));
//! let h3 = 3 * 3_600 * 1_000_000_000;
//! assert_eq!(w.current_or_next(t), Some(WindowSpan { start_ns: t, end_ns: t + h3 }));
//! ```
//!
//! # Rules
//!
//! - A window is half-open, `[start, end)`: an order at exactly `start` is inside, one at exactly
//!   `end` is outside.
//! - `end < start` means the window crosses midnight: it starts on one calendar day and ends on the
//!   next. `end == start` is an empty window (config validation rejects it; [`TradingWindow`] then
//!   simply never has a window and [`TradingWindow::current_or_next`] returns `None`).
//! - The day filter ([`DaySet`]) applies to the day on which a window **starts**: with Mon–Fri, a
//!   Fri 22:00–02:00 window runs into Saturday, and there is no Sat or Sun window.
//! - Daylight-saving time: start and end are local wall-clock times, resolved per calendar day with
//!   jiff's `compatible` disambiguation (the RFC 5545 / Temporal default). A time that falls in a
//!   gap (spring forward, e.g. 02:30 in New York on 2024-03-10) is moved forward by the length of
//!   the gap (03:30 EDT); a time that occurs twice (fall back, e.g. 01:30 on 2024-11-03) is the
//!   earlier occurrence (01:30 EDT). A window may therefore be an hour shorter or longer on those
//!   days; if resolution makes a window empty (end not after start) that day has no window.
//! - Overlapping or touching windows are **one continuous window**. Gap resolution can move a
//!   window's end to or past the next window's start: in New York with start 03:00 and end 02:30,
//!   Saturday 2024-03-09's window ends at 02:30 on Sunday, which does not exist and resolves to
//!   03:30 EDT, half an hour after Sunday's window starts (03:00 EDT); with end 02:00 the end
//!   resolves to exactly 03:00 EDT. Such windows join: one window from the first start to the
//!   last end, so the engine neither logs out nor logs on at the seam and rejects nothing there.
//!   [`TradingWindow::current_or_next`] returns the joined span.
//!
//! # Why compute per day instead of storing offsets
//!
//! The offset of a zone changes (DST, and governments change rules), so each occurrence is
//! computed from the calendar day and the zone's rules with jiff's bundled tz database. The scan
//! looks at the window that started the previous day (a midnight-crossing window may still be
//! open), today's, and the following eight days: with at least one day in the set, a window starts
//! within any seven consecutive days, so `None` only happens for an empty window or at the far end
//! of the `i64` nanosecond range (year 2262). Each call costs about ten zone conversions
//! (microseconds), which is why it stays off the hot path.

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;

use crate::model::{Logon, Logout};

/// How many days after today a window start is looked for.
const LOOKAHEAD_DAYS: usize = 8;

/// Most windows joined on each side of a window (windows only meet on a day whose offset
/// changes, so real zones join two at most).
const MAX_JOINED: usize = LOOKAHEAD_DAYS;

/// Days of the week as a bit set (bit 0 = Monday).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaySet(u8);

impl DaySet {
    /// Every day.
    pub const ALL: DaySet = DaySet(0x7f);

    /// A set of the given days.
    pub fn of(days: &[Weekday]) -> DaySet {
        DaySet(days.iter().fold(0, |set, d| set | Self::bit(*d)))
    }

    /// Whether `day` is in the set.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & Self::bit(day) != 0
    }

    /// Whether no day is in the set (such a window never opens).
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn bit(day: Weekday) -> u8 {
        1 << (day.to_monday_zero_offset() as u8)
    }
}

/// A checked `[session]`: the trading window and the credentials.
#[derive(Clone, Debug)]
pub struct SessionSettings {
    /// When the session is open.
    pub window: TradingWindow,
    /// Logon message (holds the password).
    pub logon: Logon,
    /// Logout message.
    pub logout: Logout,
    /// What happens to working orders at the window's end.
    pub closing: Closing,
}

/// What the engine does with the orders working at the exchange when its window ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closing {
    /// Cancel them first (within the throttle, ahead of nothing: the queue is rejected
    /// `session_ended`), then log out once every order at the exchange has ended or after
    /// `grace_ns`; orders still open then are recorded `unanswered`.
    CancelFirst {
        /// Longest wait for the cancels' answers, ns.
        grace_ns: u64,
    },
    /// Log out at once; working orders stay open at the exchange (answers about them are still
    /// recorded; they are `unanswered` at shutdown).
    LogoutAtEnd,
}

/// One concrete window occurrence, in wall-clock ns since the Unix epoch (UTC). `[start_ns, end_ns)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSpan {
    /// First instant inside the window (logon time).
    pub start_ns: i64,
    /// First instant after the window (logout time).
    pub end_ns: i64,
}

impl WindowSpan {
    /// Whether `t_ns` lies in `[start_ns, end_ns)`.
    #[inline]
    pub fn contains(&self, t_ns: i64) -> bool {
        self.start_ns <= t_ns && t_ns < self.end_ns
    }
}

/// A daily trading window in a time zone, filtered by the weekday on which it starts.
#[derive(Clone, Debug)]
pub struct TradingWindow {
    timezone: TimeZone,
    start: Time,
    end: Time,
    days: DaySet,
}

impl TradingWindow {
    /// A window from `start` to `end` (local times in `timezone`) on each day in `days`.
    /// `end < start` crosses midnight; `end == start` is empty (never open).
    pub fn new(timezone: TimeZone, start: Time, end: Time, days: DaySet) -> Self {
        TradingWindow { timezone, start, end, days }
    }

    /// The time zone of the window.
    pub fn timezone(&self) -> &TimeZone {
        &self.timezone
    }

    /// Start time of day.
    pub fn start(&self) -> Time {
        self.start
    }

    /// End time of day (before `start`: the window crosses midnight).
    pub fn end(&self) -> Time {
        self.end
    }

    /// Days on which a window starts.
    pub fn days(&self) -> DaySet {
        self.days
    }

    /// The window containing `t_ns` if there is one, else the next one starting after `t_ns`;
    /// joined with the windows it overlaps or touches (see the module docs).
    ///
    /// `None` only if no window starts within the next 8 days (cannot happen with a non-empty
    /// [`DaySet`] and a non-empty window, except beyond year 2262 where ns no longer fit an
    /// `i64`). Never panics.
    pub fn current_or_next(&self, t_ns: i64) -> Option<WindowSpan> {
        let ts = Timestamp::from_nanosecond(i128::from(t_ns)).ok()?;
        let today = self.timezone.to_datetime(ts).date();
        // Start one day back: a midnight-crossing window that started yesterday may contain `t`.
        let mut day = today.yesterday().ok()?;
        for _ in 0..LOOKAHEAD_DAYS + 2 {
            if let Some(span) = self.occurrence_on(day)
                // Candidates come in start order, so the first one not yet over either contains
                // `t` (start <= t) or is the next one (start > t).
                && t_ns < span.end_ns
            {
                return Some(self.joined(span, day));
            }
            day = day.tomorrow().ok()?;
        }
        None
    }

    /// The window containing `t_ns`, if one does (joined as [`current_or_next`](Self::current_or_next)
    /// joins).
    pub fn current(&self, t_ns: i64) -> Option<WindowSpan> {
        self.current_or_next(t_ns).filter(|w| w.contains(t_ns))
    }

    /// Whether `t_ns` (wall-clock ns since the Unix epoch) is inside a window.
    pub fn contains(&self, t_ns: i64) -> bool {
        self.current(t_ns).is_some()
    }

    /// `span`, the occurrence starting on `day`, joined with the occurrences before and after it
    /// that overlap or touch it. Only adjacent days can meet (an occurrence lasts at most 25 h
    /// and the one after a skipped day starts at least 47 h later), so each side stops at the
    /// first day that does not join.
    fn joined(&self, mut span: WindowSpan, day: Date) -> WindowSpan {
        let mut before = day;
        for _ in 0..MAX_JOINED {
            match before.yesterday().ok().and_then(|d| Some((d, self.occurrence_on(d)?))) {
                Some((d, prev)) if prev.end_ns >= span.start_ns => {
                    span.start_ns = prev.start_ns;
                    before = d;
                }
                _ => break,
            }
        }
        let mut after = day;
        for _ in 0..MAX_JOINED {
            match after.tomorrow().ok().and_then(|d| Some((d, self.occurrence_on(d)?))) {
                Some((d, next)) if next.start_ns <= span.end_ns => {
                    span.end_ns = span.end_ns.max(next.end_ns);
                    after = d;
                }
                _ => break,
            }
        }
        span
    }

    /// The occurrence that starts on local calendar day `day` if `day` is in the day set.
    fn occurrence_on(&self, day: Date) -> Option<WindowSpan> {
        if self.days.contains(day.weekday()) { self.span_starting_on(day) } else { None }
    }

    /// The occurrence that starts on local calendar day `day` (ignoring the day filter), or `None`
    /// if it is empty after DST resolution or out of the `i64` ns range.
    fn span_starting_on(&self, day: Date) -> Option<WindowSpan> {
        let end_day = if self.end < self.start { day.tomorrow().ok()? } else { day };
        let start_ns = self.resolve(day, self.start)?;
        let end_ns = self.resolve(end_day, self.end)?;
        (start_ns < end_ns).then_some(WindowSpan { start_ns, end_ns })
    }

    /// Local `day` at `time` in the window's zone, as UTC ns (`compatible` disambiguation).
    fn resolve(&self, day: Date, time: Time) -> Option<i64> {
        let ts = self.timezone.to_ambiguous_timestamp(day.to_datetime(time)).compatible().ok()?;
        i64::try_from(ts.as_nanosecond()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use jiff::civil::time;

    /// UTC ns of an RFC 3339 instant with an explicit offset: computed by jiff's parser, not by
    /// the zone rules under test.
    fn ns(s: &str) -> i64 {
        i64::try_from(s.parse::<Timestamp>().expect("test instant").as_nanosecond()).expect("in range")
    }

    fn span(a: &str, b: &str) -> Option<WindowSpan> {
        Some(WindowSpan { start_ns: ns(a), end_ns: ns(b) })
    }

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).expect("bundled tzdb")
    }

    fn weekdays() -> DaySet {
        use Weekday::*;
        DaySet::of(&[Monday, Tuesday, Wednesday, Thursday, Friday])
    }

    fn kolkata() -> TradingWindow {
        TradingWindow::new(tz("Asia/Kolkata"), time(10, 0, 0, 0), time(13, 0, 0, 0), DaySet::ALL)
    }

    #[test]
    fn test_dates_are_the_weekdays_the_tests_assume() {
        let d = |s: &str| s.parse::<Date>().unwrap().weekday();
        assert_eq!(d("2024-03-01"), Weekday::Friday);
        assert_eq!(d("2024-03-02"), Weekday::Saturday);
        assert_eq!(d("2024-03-04"), Weekday::Monday);
        assert_eq!(d("2024-03-10"), Weekday::Sunday);
        // 10:00 IST is 04:30 UTC (hand-computed; IST is +05:30 with no DST).
        assert_eq!(ns("2024-03-04T10:00:00+05:30"), 1_709_526_600_000_000_000);
    }

    #[test]
    fn kolkata_inside() {
        let w = kolkata();
        let t = ns("2024-03-04T11:00:00+05:30");
        assert_eq!(w.current_or_next(t), span("2024-03-04T04:30:00Z", "2024-03-04T07:30:00Z"));
        assert!(w.contains(t));
    }

    #[test]
    fn kolkata_before_start_is_outside_and_points_to_today() {
        let w = kolkata();
        let t = ns("2024-03-04T09:59:59.999999999+05:30");
        assert_eq!(w.current_or_next(t), span("2024-03-04T10:00:00+05:30", "2024-03-04T13:00:00+05:30"));
        assert!(!w.contains(t));
    }

    #[test]
    fn kolkata_exactly_at_start_is_inside() {
        let w = kolkata();
        let t = ns("2024-03-04T10:00:00+05:30");
        assert_eq!(t, 1_709_526_600_000_000_000);
        assert_eq!(
            w.current_or_next(t),
            Some(WindowSpan {
                start_ns: 1_709_526_600_000_000_000,
                end_ns: 1_709_526_600_000_000_000 + 3 * 3_600 * 1_000_000_000
            })
        );
        assert!(w.contains(t));
    }

    #[test]
    fn kolkata_exactly_at_end_is_outside_and_points_to_next_day() {
        let w = kolkata();
        let end = ns("2024-03-04T13:00:00+05:30");
        assert!(w.contains(end - 1));
        assert!(!w.contains(end));
        assert_eq!(w.current_or_next(end), span("2024-03-05T10:00:00+05:30", "2024-03-05T13:00:00+05:30"));
        // Afternoon: also tomorrow's.
        let t = ns("2024-03-04T18:00:00+05:30");
        assert!(!w.contains(t));
        assert_eq!(w.current_or_next(t), span("2024-03-05T10:00:00+05:30", "2024-03-05T13:00:00+05:30"));
    }

    #[test]
    fn window_across_midnight() {
        let w = TradingWindow::new(tz("Asia/Kolkata"), time(22, 0, 0, 0), time(2, 0, 0, 0), DaySet::ALL);
        let mon = span("2024-03-04T22:00:00+05:30", "2024-03-05T02:00:00+05:30");
        // 23:00: inside, the window that started today.
        let t = ns("2024-03-04T23:00:00+05:30");
        assert_eq!(w.current_or_next(t), mon);
        assert!(w.contains(t));
        // 01:00 next day: inside the window that started yesterday.
        let t = ns("2024-03-05T01:00:00+05:30");
        assert_eq!(w.current_or_next(t), mon);
        assert!(w.contains(t));
        // 02:00: the end, outside; next is tonight's.
        let t = ns("2024-03-05T02:00:00+05:30");
        assert!(!w.contains(t));
        assert_eq!(w.current_or_next(t), span("2024-03-05T22:00:00+05:30", "2024-03-06T02:00:00+05:30"));
        // Hand-computed length: 4 h.
        let s = w.current_or_next(t).unwrap();
        assert_eq!(s.end_ns - s.start_ns, 4 * 3_600 * 1_000_000_000);
    }

    #[test]
    fn weekday_filter_skips_the_weekend() {
        let w = TradingWindow::new(tz("Asia/Kolkata"), time(10, 0, 0, 0), time(13, 0, 0, 0), weekdays());
        // Saturday 11:00 → Monday's window.
        let t = ns("2024-03-02T11:00:00+05:30");
        assert!(!w.contains(t));
        assert_eq!(w.current_or_next(t), span("2024-03-04T10:00:00+05:30", "2024-03-04T13:00:00+05:30"));
        // Friday 11:00 is inside.
        assert!(w.contains(ns("2024-03-01T11:00:00+05:30")));
    }

    #[test]
    fn days_filter_the_start_day_of_a_midnight_crossing_window() {
        let w = TradingWindow::new(tz("Asia/Kolkata"), time(22, 0, 0, 0), time(2, 0, 0, 0), weekdays());
        let fri = span("2024-03-01T22:00:00+05:30", "2024-03-02T02:00:00+05:30");
        // Saturday 01:00 is inside Friday's window.
        let t = ns("2024-03-02T01:00:00+05:30");
        assert!(w.contains(t));
        assert_eq!(w.current_or_next(t), fri);
        // Saturday 23:00 and Sunday 01:00: no Saturday window → Monday night's.
        let mon = span("2024-03-04T22:00:00+05:30", "2024-03-05T02:00:00+05:30");
        for t in [ns("2024-03-02T23:00:00+05:30"), ns("2024-03-03T01:00:00+05:30")] {
            assert!(!w.contains(t));
            assert_eq!(w.current_or_next(t), mon);
        }
        // Monday 01:00: Sunday had no window either.
        let t = ns("2024-03-04T01:00:00+05:30");
        assert!(!w.contains(t));
        assert_eq!(w.current_or_next(t), mon);
    }

    #[test]
    fn dst_spring_forward_start_in_the_gap_moves_forward() {
        // New York, 2024-03-10: 02:00 EST jumps to 03:00 EDT, so 02:30 does not exist.
        // `compatible` → 03:30 EDT = 07:30 UTC. 05:00 EDT = 09:00 UTC.
        let w = TradingWindow::new(tz("America/New_York"), time(2, 30, 0, 0), time(5, 0, 0, 0), DaySet::ALL);
        let t = ns("2024-03-10T06:00:00Z"); // 01:00 EST
        assert_eq!(w.current_or_next(t), span("2024-03-10T07:30:00Z", "2024-03-10T09:00:00Z"));
        assert!(!w.contains(ns("2024-03-10T07:29:59.999999999Z")));
        assert!(w.contains(ns("2024-03-10T07:30:00Z")));
        // The day before: 02:30 EST = 07:30 UTC, 05:00 EST = 10:00 UTC (a 2.5 h window).
        let t = ns("2024-03-09T08:00:00Z");
        assert_eq!(w.current_or_next(t), span("2024-03-09T07:30:00Z", "2024-03-09T10:00:00Z"));
        // The day after: 02:30 EDT = 06:30 UTC.
        let t = ns("2024-03-10T09:00:00Z");
        assert_eq!(w.current_or_next(t), span("2024-03-11T06:30:00Z", "2024-03-11T09:00:00Z"));
    }

    #[test]
    fn dst_fall_back_ambiguous_start_takes_the_earlier_instant() {
        // New York, 2024-11-03: 01:30 happens twice; `compatible` → the first, 01:30 EDT = 05:30 UTC.
        // 03:00 is after the fold: 03:00 EST = 08:00 UTC. The window is 2.5 h that day.
        let w = TradingWindow::new(tz("America/New_York"), time(1, 30, 0, 0), time(3, 0, 0, 0), DaySet::ALL);
        let t = ns("2024-11-03T04:00:00Z");
        assert_eq!(w.current_or_next(t), span("2024-11-03T05:30:00Z", "2024-11-03T08:00:00Z"));
        // Inside during the repeated hour's second pass (01:45 EST = 06:45 UTC).
        assert!(w.contains(ns("2024-11-03T06:45:00Z")));
    }

    #[test]
    fn dst_overlapping_windows_join_into_one() {
        // New York, 03:00 → 02:30 next day. Saturday 2024-03-09's window ends on Sunday at 02:30,
        // which does not exist: 03:30 EDT = 07:30Z, after Sunday's start (03:00 EDT = 07:00Z).
        // Sunday's window ends Monday 02:30 EDT = 06:30Z.
        let w = TradingWindow::new(tz("America/New_York"), time(3, 0, 0, 0), time(2, 30, 0, 0), DaySet::ALL);
        let joined = span("2024-03-09T08:00:00Z", "2024-03-11T06:30:00Z");
        for t in
            ["2024-03-09T12:00:00Z", "2024-03-10T06:50:00Z", "2024-03-10T07:15:00Z", "2024-03-10T08:00:00Z"]
        {
            assert_eq!(w.current_or_next(ns(t)), joined, "at {t}");
        }
        assert!(w.contains(ns("2024-03-10T07:30:00Z")), "Saturday's end is not an end");
        // Friday's window (03:00 EST → 02:30 EST Saturday) does not touch Saturday's.
        let t = ns("2024-03-09T07:40:00Z");
        assert!(!w.contains(t));
        assert_eq!(w.current_or_next(t), joined);
        assert_eq!(
            w.current_or_next(ns("2024-03-08T12:00:00Z")),
            span("2024-03-08T08:00:00Z", "2024-03-09T07:30:00Z")
        );
    }

    #[test]
    fn dst_touching_windows_join_into_one() {
        // New York, 03:00 → 02:00 next day: on 2024-03-10, 02:00 resolves to 03:00 EDT, exactly
        // Sunday's start.
        let w = TradingWindow::new(tz("America/New_York"), time(3, 0, 0, 0), time(2, 0, 0, 0), DaySet::ALL);
        let joined = span("2024-03-09T08:00:00Z", "2024-03-11T06:00:00Z");
        assert_eq!(w.current_or_next(ns("2024-03-10T06:59:59.999999999Z")), joined);
        assert_eq!(w.current_or_next(ns("2024-03-10T07:00:00Z")), joined);
        // With Sundays off there is nothing to join: Saturday's window ends at 03:00 EDT.
        use Weekday::*;
        let w = TradingWindow::new(
            tz("America/New_York"),
            time(3, 0, 0, 0),
            time(2, 0, 0, 0),
            DaySet::of(&[Monday, Tuesday, Wednesday, Thursday, Friday, Saturday]),
        );
        assert_eq!(
            w.current_or_next(ns("2024-03-10T06:00:00Z")),
            span("2024-03-09T08:00:00Z", "2024-03-10T07:00:00Z")
        );
        assert!(!w.contains(ns("2024-03-10T07:00:00Z")));
    }

    #[test]
    fn from_session_uses_the_config() {
        let v = Config::default().validate().unwrap();
        let w = v.engine.session.window;
        let t = ns("2024-03-04T12:00:00+05:30");
        assert_eq!(w.current_or_next(t), span("2024-03-04T10:00:00+05:30", "2024-03-04T13:00:00+05:30"));
    }

    #[test]
    fn empty_window_and_extreme_instants_do_not_panic() {
        let empty = TradingWindow::new(tz("UTC"), time(10, 0, 0, 0), time(10, 0, 0, 0), DaySet::ALL);
        assert_eq!(empty.current_or_next(0), None);
        assert!(!empty.contains(0));
        let w = kolkata();
        for t in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX] {
            let _ = w.current_or_next(t);
            let _ = w.contains(t);
        }
        // Near the top of the range there is no window left whose ns fit an i64.
        assert_eq!(w.current_or_next(i64::MAX), None);
        // 1970-01-01 00:00 UTC is 05:30 IST: the epoch's window is 1970-01-01 10:00 IST.
        assert_eq!(w.current_or_next(0), span("1970-01-01T10:00:00+05:30", "1970-01-01T13:00:00+05:30"));
    }
}
