//! `[session]`: the exchange credentials and the trading window, checked into
//! [`SessionSettings`] (the window alone into a [`TradingWindow`], for an audit).

use std::fmt;

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::Problems;
use crate::model::{Logon, Logout, Secret};
use crate::window::{Closing, DaySet, SessionSettings, TradingWindow};

/// `[session]`.
#[derive(Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Exchange user name.
    pub username: String,
    /// Password in clear (prefer `password_env`). Never serialized back out.
    #[serde(skip_serializing)]
    pub password: Option<String>,
    /// Name of an environment variable holding the password.
    pub password_env: Option<String>,
    /// IANA time zone of the window.
    pub timezone: String,
    /// Window start, time of day (`HH:MM[:SS[.fff]]`).
    pub start: String,
    /// Window end, time of day; earlier than `start` means the window crosses midnight.
    pub end: String,
    /// Days on which a window starts (`Mon`…`Sun`); default every day.
    pub days: Option<Vec<String>>,
    /// At the window's end, cancel every order working at the exchange before the Logout
    /// (default true). Off: the Logout goes at once and working orders stay open.
    pub cancel_on_logout: bool,
    /// With `cancel_on_logout`, how long the Logout waits for the cancels' answers at most, ms
    /// (default 2000, at most 60000): orders still open then are recorded `unanswered`.
    pub logout_grace_ms: u64,
}

/// Longest `logout_grace_ms`.
pub const MAX_LOGOUT_GRACE_MS: u64 = 60_000;

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("password_env", &self.password_env)
            .field("timezone", &self.timezone)
            .field("start", &self.start)
            .field("end", &self.end)
            .field("days", &self.days)
            .field("cancel_on_logout", &self.cancel_on_logout)
            .field("logout_grace_ms", &self.logout_grace_ms)
            .finish()
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            username: "trader".into(),
            password: None,
            password_env: None,
            timezone: "Asia/Kolkata".into(),
            start: "10:00:00".into(),
            end: "13:00:00".into(),
            days: None,
            cancel_on_logout: true,
            logout_grace_ms: 2_000,
        }
    }
}

/// Parses `Mon`, `monday`, `MON` …
fn parse_weekday(s: &str) -> Option<Weekday> {
    let l = s.to_ascii_lowercase();
    let days = [
        ("mon", "monday", Weekday::Monday),
        ("tue", "tuesday", Weekday::Tuesday),
        ("wed", "wednesday", Weekday::Wednesday),
        ("thu", "thursday", Weekday::Thursday),
        ("fri", "friday", Weekday::Friday),
        ("sat", "saturday", Weekday::Saturday),
        ("sun", "sunday", Weekday::Sunday),
    ];
    days.into_iter().find(|(a, b, _)| l == *a || l == *b).map(|(_, _, d)| d)
}

impl SessionConfig {
    pub(super) fn validate(&self, p: &mut Problems) -> Option<SessionSettings> {
        if self.username.trim().is_empty() {
            p.push("session.username", "must not be empty");
        }
        let password = match (&self.password, &self.password_env) {
            (Some(_), Some(_)) => {
                p.push("session", "set either password or password_env, not both");
                None
            }
            (Some(pw), None) => Some(Secret::new(pw.clone())),
            (None, Some(var)) => match std::env::var(var) {
                Ok(pw) => Some(Secret::new(pw)),
                Err(_) => {
                    p.push(
                        "session.password_env",
                        format!("environment variable {var:?} is not set (or not UTF-8)"),
                    );
                    None
                }
            },
            (None, None) => Some(Secret::default()),
        };
        if self.logout_grace_ms > MAX_LOGOUT_GRACE_MS {
            p.push(
                "session.logout_grace_ms",
                format!("{} is above {MAX_LOGOUT_GRACE_MS} (a minute)", self.logout_grace_ms),
            );
        }
        let window = self.window(p)?;
        let username = self.username.clone();
        let closing = if self.cancel_on_logout {
            Closing::CancelFirst { grace_ns: self.logout_grace_ms.min(MAX_LOGOUT_GRACE_MS) * 1_000_000 }
        } else {
            Closing::LogoutAtEnd
        };
        Some(SessionSettings {
            window,
            logon: Logon { username: username.clone(), password: password? },
            logout: Logout { username },
            closing,
        })
    }

    /// The window part of the section: zone, start, end, days.
    pub(super) fn window(&self, p: &mut Problems) -> Option<TradingWindow> {
        let timezone = TimeZone::get(&self.timezone).ok();
        if timezone.is_none() {
            p.push("session.timezone", format!("unknown IANA time zone {:?}", self.timezone));
        }
        let mut time = |field: &str, v: &str| {
            let t = v.parse::<Time>().ok();
            if t.is_none() {
                p.push(field, format!("{v:?} is not a time of day (HH:MM or HH:MM:SS)"));
            }
            t
        };
        let start = time("session.start", &self.start);
        let end = time("session.end", &self.end);
        if let (Some(a), Some(b)) = (start, end)
            && a == b
        {
            p.push("session", format!("start and end are both {a}: the window would be empty"));
        }
        let days = match &self.days {
            None => DaySet::ALL,
            Some(list) => {
                let mut seen = Vec::new();
                for d in list {
                    match parse_weekday(d) {
                        Some(w) if seen.contains(&w) => {
                            p.push("session.days", format!("{d:?} is listed twice"))
                        }
                        Some(w) => seen.push(w),
                        None => p.push("session.days", format!("{d:?} is not a day (Mon..Sun)")),
                    }
                }
                if list.is_empty() {
                    p.push("session.days", "empty list: the session would never open");
                }
                DaySet::of(&seen)
            }
        };
        Some(TradingWindow::new(timezone?, start?, end?, days))
    }
}
