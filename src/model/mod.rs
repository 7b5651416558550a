//! The domain types, in one dependency-free place every other module may use: orders and the
//! requests that carry them, exchange responses, sides, the session credentials, what the
//! engine decides about them (event kinds and reject reasons), and what an exchange session
//! reports (session events, disconnect causes, reject sources).
//!
//! Nothing here knows about rings, clocks, configuration or the journal.

/// A journal code: a `#[repr(u8)]` enum whose values are its wire values, each with the
/// snake_case name the CLI, the CSV and the scenario format print. Generates the enum and
/// `ALL` (every value, in wire order), `from_u8`, `name`, `from_name`: the table is written once,
/// and a new value is one line.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant = $value, )+
        }

        impl $name {
            /// Every value, in wire order.
            pub const ALL: [$name; [$($value),+].len()] = [$($name::$variant),+];

            /// Decodes the wire value.
            pub const fn from_u8(v: u8) -> Option<$name> {
                match v {
                    $( $value => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// snake_case name, as the CLI and the CSV print it.
            pub const fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// Parses a snake_case name.
            pub fn from_name(s: &str) -> Option<$name> {
                Self::ALL.into_iter().find(|x| x.name() == s)
            }
        }
    };
}

mod credentials;
mod exchange;
mod life;
mod order;
mod outcome;

pub use credentials::{Logon, Logout, Secret};
pub use exchange::{DisconnectCause, FixCode, RejectSource, SessionEvent};
pub use life::{AnswerKind, Filled, OrderLife, OrderState, Refusal, Unexpected, Waiting};
pub use order::{OrderRequest, OrderResponse, RequestType, ResponseType, Side};
pub use outcome::{DetachCause, EventKind, RejectReason};
