//! Where a replay starts on the virtual clock: `--start RFC3339`, or by default today's window
//! start in the config's time zone.

use jiff::Timestamp;
use jiff::civil::Time;

use crate::config::ValidConfig;

/// Parses an RFC 3339 instant (`2026-11-23T10:00:00+05:30`, `…Z`) into ns since the Unix epoch.
pub fn parse_start(s: &str) -> Result<i64, String> {
    let ts: Timestamp =
        s.parse().map_err(|e| format!("--start {s:?}: not an RFC 3339 instant with an offset ({e})"))?;
    i64::try_from(ts.as_nanosecond()).map_err(|_| format!("--start {s:?}: outside 1677..2262"))
}

/// The default start: the start of the window that opens on the calendar day of `now_wall_ns`
/// in the config's time zone (even if it is already over), or, if no window opens that day
/// (a day not in `days`), of the next one that does. `None` only if there is no window at all
/// within a week (cannot happen with a validated config, except at the end of the ns range).
pub fn default_start_wall_ns(cfg: &ValidConfig, now_wall_ns: i64) -> Option<i64> {
    let window = &cfg.engine.session.window;
    let tz = window.timezone();
    let now = Timestamp::from_nanosecond(i128::from(now_wall_ns)).ok()?;
    let midnight = tz.to_ambiguous_timestamp(tz.to_datetime(now).date().to_datetime(Time::midnight()));
    let midnight = i64::try_from(midnight.compatible().ok()?.as_nanosecond()).ok()?;
    let span = window.current_or_next(midnight)?;
    // A window that crosses midnight may have started yesterday: take the next one.
    let span = if span.start_ns < midnight { window.current_or_next(span.end_ns)? } else { span };
    Some(span.start_ns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn cfg(start: &str, end: &str, days: Option<&[&str]>) -> ValidConfig {
        let mut c = Config::default();
        c.session.timezone = "Asia/Kolkata".into();
        c.session.start = start.into();
        c.session.end = end.into();
        c.session.days = days.map(|d| d.iter().map(|s| s.to_string()).collect());
        c.validate().unwrap()
    }

    fn ns(s: &str) -> i64 {
        parse_start(s).unwrap()
    }

    #[test]
    fn today_at_the_window_start_in_the_zone() {
        let c = cfg("10:00", "13:00", None);
        // 2026-11-23 is a Monday; 20:00 UTC is already Tuesday 01:30 in Kolkata.
        assert_eq!(
            default_start_wall_ns(&c, ns("2026-11-23T03:00:00Z")),
            Some(ns("2026-11-23T10:00:00+05:30"))
        );
        assert_eq!(
            default_start_wall_ns(&c, ns("2026-11-23T12:00:00Z")),
            Some(ns("2026-11-23T10:00:00+05:30"))
        );
        assert_eq!(
            default_start_wall_ns(&c, ns("2026-11-23T20:00:00Z")),
            Some(ns("2026-11-24T10:00:00+05:30"))
        );
    }

    #[test]
    fn weekend_goes_to_monday_and_midnight_windows_to_tonight() {
        let c = cfg("10:00", "13:00", Some(&["Mon", "Tue", "Wed", "Thu", "Fri"]));
        // Saturday 2026-11-28 → Monday 2026-11-30.
        assert_eq!(
            default_start_wall_ns(&c, ns("2026-11-28T06:00:00Z")),
            Some(ns("2026-11-30T10:00:00+05:30"))
        );
        let c = cfg("22:00", "02:00", None);
        assert_eq!(
            default_start_wall_ns(&c, ns("2026-11-23T06:00:00Z")),
            Some(ns("2026-11-23T22:00:00+05:30"))
        );
    }

    #[test]
    fn bad_start_is_an_error_not_a_panic() {
        for s in ["", "yesterday", "2026-11-23T10:00:00", "9999-12-31T23:59:59Z"] {
            assert!(parse_start(s).is_err(), "{s:?}");
        }
        assert_eq!(default_start_wall_ns(&cfg("10:00", "13:00", None), i64::MAX), None);
    }
}
