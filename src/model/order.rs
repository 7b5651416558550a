//! The order-entry types of the original interface, in Rust form.
//!
//! `OrderRequest`, `RequestType`, `OrderResponse` and `ResponseType` keep the names and fields of
//! the C++ API (`symbolId`, `price`, `qty`, `side`, `orderId`). They are plain `Copy` values so
//! that they travel through the rings by value and never touch the heap.
//!
//! Validation lives here too ([`OrderRequest::validate_new`], [`OrderRequest::validate_modify`]):
//! a request from upstream is untrusted input, and every way it can be wrong maps to one
//! [`RejectReason`].

use super::RejectReason;

/// Side of an order: the original API's `char`, `'B'` (buy) or `'S'` (sell).
///
/// Kept as a raw `char` in [`OrderRequest`] so that a bad side from upstream can be carried,
/// recorded and rejected (`invalid_side`) instead of being unrepresentable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// `'B'`.
    Buy,
    /// `'S'`.
    Sell,
}

impl Side {
    /// The wire character, `'B'` or `'S'`.
    pub const fn as_char(self) -> char {
        match self {
            Side::Buy => 'B',
            Side::Sell => 'S',
        }
    }

    /// Parses the wire character; anything but `'B'` or `'S'` is `None`.
    pub const fn from_char(c: char) -> Option<Side> {
        match c {
            'B' => Some(Side::Buy),
            'S' => Some(Side::Sell),
            _ => None,
        }
    }
}

impl From<Side> for char {
    fn from(side: Side) -> char {
        side.as_char()
    }
}

/// What the upstream caller asks for (`RequestType` of the original API, same discriminants).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum RequestType {
    /// Not a valid request: always rejected `invalid_request_type`.
    #[default]
    Unknown = 0,
    /// A new order.
    New = 1,
    /// Replace price and quantity of a queued order.
    Modify = 2,
    /// Remove a queued order.
    Cancel = 3,
}

impl RequestType {
    /// Decodes the wire value; unknown values become [`RequestType::Unknown`].
    pub const fn from_u8(v: u8) -> RequestType {
        match v {
            1 => RequestType::New,
            2 => RequestType::Modify,
            3 => RequestType::Cancel,
            _ => RequestType::Unknown,
        }
    }

    /// Lowercase name (`new`, `modify`, `cancel`, `unknown`).
    pub const fn name(self) -> &'static str {
        match self {
            RequestType::Unknown => "unknown",
            RequestType::New => "new",
            RequestType::Modify => "modify",
            RequestType::Cancel => "cancel",
        }
    }
}

/// An order as upstream hands it over and as it is sent to the exchange.
///
/// `Default` is an all-zero placeholder (side `'\0'`), which validation rejects.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct OrderRequest {
    /// Instrument id (`symbolId`).
    pub symbol_id: i32,
    /// Limit price; must be finite and > 0.
    pub price: f64,
    /// Quantity; must be > 0.
    pub qty: u64,
    /// `'B'` or `'S'`; anything else is rejected `invalid_side`.
    pub side: char,
    /// Upstream-assigned id, unique among live (queued or in-flight) orders.
    pub order_id: u64,
}

impl OrderRequest {
    /// Convenience constructor for a well-formed order.
    pub const fn new(order_id: u64, symbol_id: i32, side: Side, price: f64, qty: u64) -> Self {
        OrderRequest { symbol_id, price, qty, side: side.as_char(), order_id }
    }

    /// The parsed side, if valid.
    pub const fn side(&self) -> Option<Side> {
        Side::from_char(self.side)
    }

    /// Checks a New order's fields: price, then qty, then side.
    pub fn validate_new(&self) -> Result<(), RejectReason> {
        self.validate_price_qty()?;
        if self.side().is_none() {
            return Err(RejectReason::InvalidSide);
        }
        Ok(())
    }

    /// Checks the fields a Modify replaces (price and qty); side and symbol are ignored.
    pub fn validate_modify(&self) -> Result<(), RejectReason> {
        self.validate_price_qty()
    }

    fn validate_price_qty(&self) -> Result<(), RejectReason> {
        // Both comparisons are false for NaN; the pair also excludes ±inf, 0 and -0.
        if !(self.price > 0.0 && self.price < f64::INFINITY) {
            return Err(RejectReason::InvalidPrice);
        }
        if self.qty == 0 {
            return Err(RejectReason::InvalidQty);
        }
        Ok(())
    }
}

/// The exchange's verdict on an order (`ResponseType` of the original API).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum ResponseType {
    /// Not a valid response type (recorded as is).
    #[default]
    Unknown = 0,
    /// The exchange accepted the order.
    Accept = 1,
    /// The exchange rejected the order.
    Reject = 2,
}

impl ResponseType {
    /// Decodes the wire value; unknown values become [`ResponseType::Unknown`].
    pub const fn from_u8(v: u8) -> ResponseType {
        match v {
            1 => ResponseType::Accept,
            2 => ResponseType::Reject,
            _ => ResponseType::Unknown,
        }
    }

    /// Lowercase name (`accept`, `reject`, `unknown`).
    pub const fn name(self) -> &'static str {
        match self {
            ResponseType::Unknown => "unknown",
            ResponseType::Accept => "accept",
            ResponseType::Reject => "reject",
        }
    }
}

/// A response from the exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderResponse {
    /// The id of the order this answers.
    pub order_id: u64,
    /// Accept or reject.
    pub response_type: ResponseType,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(price: f64, qty: u64, side: char) -> OrderRequest {
        OrderRequest { symbol_id: 1, price, qty, side, order_id: 7 }
    }

    #[test]
    fn validation_names_the_first_bad_field() {
        assert_eq!(order(10.0, 1, 'B').validate_new(), Ok(()));
        assert_eq!(order(10.0, 1, 'S').validate_new(), Ok(()));
        for p in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0] {
            assert_eq!(order(p, 1, 'B').validate_new(), Err(RejectReason::InvalidPrice), "{p}");
        }
        assert_eq!(order(1.0, 0, 'B').validate_new(), Err(RejectReason::InvalidQty));
        for s in ['b', 'X', '\0', 'é'] {
            assert_eq!(order(1.0, 1, s).validate_new(), Err(RejectReason::InvalidSide));
        }
        // Modify does not care about the side.
        assert_eq!(order(1.0, 1, 'X').validate_modify(), Ok(()));
        assert_eq!(order(1.0, 0, 'B').validate_modify(), Err(RejectReason::InvalidQty));
    }

    #[test]
    fn wire_values_round_trip() {
        for t in [RequestType::Unknown, RequestType::New, RequestType::Modify, RequestType::Cancel] {
            assert_eq!(RequestType::from_u8(t as u8), t);
        }
        assert_eq!(RequestType::from_u8(9), RequestType::Unknown);
        for t in [ResponseType::Unknown, ResponseType::Accept, ResponseType::Reject] {
            assert_eq!(ResponseType::from_u8(t as u8), t);
        }
    }
}
