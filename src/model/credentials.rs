//! The session credentials: [`Logon`] (username and password) and [`Logout`], with the password
//! kept in a [`Secret`] that never prints.

use std::fmt;

/// A secret string (the exchange password): never printed by `Debug` or `Display`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for the exchange adapter that must send it. Never log this.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Logon message, sent at each trading window's start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logon {
    /// Session user.
    pub username: String,
    /// Session password (redacted in `Debug`).
    pub password: Secret,
}

/// Logout message, sent at each trading window's end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logout {
    /// Session user.
    pub username: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let logon = Logon { username: "u".into(), password: Secret::new("hunter2") };
        assert!(!format!("{logon:?}").contains("hunter2"));
        assert!(!format!("{}", logon.password).contains("hunter2"));
        assert_eq!(logon.password.expose(), "hunter2");
    }
}
