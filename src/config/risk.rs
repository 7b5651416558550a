//! `[risk]`: pre-trade limits, checked into [`RiskSettings`]. Absent, the engine checks none
//! (and its records are those of an engine without limits).
//!
//! ```toml
//! [risk]
//! max_symbols = 1024          # books kept, one per symbol (default 1024)
//! no_reference = "allow"      # the price band with no fill yet: "allow" (default) or "refuse"
//! max_order_qty = 10000       # each limit optional: the default of every symbol
//! max_order_notional = 1e6
//! price_band_bps = 500
//! max_open_orders = 100
//! max_position = 50000
//! max_daily_notional = 1e8
//! [risk.symbols.7]            # symbol 7's own limits (the others from above)
//! max_order_qty = 500
//! ```

use std::collections::BTreeMap;
use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

use super::Problems;
use crate::risk::{Limits, NoReference, RiskSettings};

/// Most books `max_symbols` may ask for (each a few dozen bytes, allocated at start-up).
pub const MAX_RISK_SYMBOLS: usize = 1 << 20;

/// One set of limits (the section's own keys, or a symbol's table); each optional.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest quantity of one order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_order_qty: Option<u64>,
    /// Largest price × quantity of one order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_order_notional: Option<f64>,
    /// Farthest an order's price may be from the reference price, basis points.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_band_bps: Option<u32>,
    /// Most orders open (queued or at the exchange) on a symbol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_open_orders: Option<u32>,
    /// Largest position, long or short, with every open order of its side filled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_position: Option<u64>,
    /// Largest notional filled in a session plus that of the open orders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_daily_notional: Option<f64>,
}

/// `[risk]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// Most symbols with a book.
    pub max_symbols: usize,
    /// `"allow"` or `"refuse"` ([`NoReference`]).
    pub no_reference: String,
    /// Largest quantity of one order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_order_qty: Option<u64>,
    /// Largest price × quantity of one order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_order_notional: Option<f64>,
    /// Farthest an order's price may be from the reference price, basis points.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_band_bps: Option<u32>,
    /// Most orders open on a symbol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_open_orders: Option<u32>,
    /// Largest position on a symbol, open orders of its side counted as filled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_position: Option<u64>,
    /// Largest notional filled in a session plus that of the open orders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_daily_notional: Option<f64>,
    /// Limits of their own per symbol id (`[risk.symbols.7]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbols: Option<BTreeMap<String, LimitsConfig>>,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            max_symbols: 1024,
            no_reference: NoReference::Allow.name().into(),
            max_order_qty: None,
            max_order_notional: None,
            price_band_bps: None,
            max_open_orders: None,
            max_position: None,
            max_daily_notional: None,
            symbols: None,
        }
    }
}

fn limits(p: &mut Problems, at: &str, l: &LimitsConfig) -> Limits {
    let field = |k: &str| if at.is_empty() { format!("risk.{k}") } else { format!("{at}.{k}") };
    if l.max_order_qty == Some(0) {
        p.push(&field("max_order_qty"), "must be > 0");
    }
    if l.max_open_orders == Some(0) {
        p.push(&field("max_open_orders"), "must be > 0");
    }
    for (k, v) in [("max_order_notional", l.max_order_notional), ("max_daily_notional", l.max_daily_notional)]
    {
        if let Some(v) = v
            && !(v.is_finite() && v > 0.0)
        {
            p.push(&field(k), format!("{v} must be a finite number > 0"));
        }
    }
    if let Some(b) = l.price_band_bps
        && (b == 0 || b > 1_000_000)
    {
        p.push(&field("price_band_bps"), format!("{b} must be 1 to 1000000"));
    }
    Limits {
        max_order_qty: l.max_order_qty,
        max_order_notional: l.max_order_notional,
        price_band_bps: l.price_band_bps,
        max_open_orders: l.max_open_orders,
        max_position: l.max_position,
        max_daily_notional: l.max_daily_notional,
    }
}

impl RiskConfig {
    pub(super) fn validate(&self, p: &mut Problems) -> Option<RiskSettings> {
        let own = LimitsConfig {
            max_order_qty: self.max_order_qty,
            max_order_notional: self.max_order_notional,
            price_band_bps: self.price_band_bps,
            max_open_orders: self.max_open_orders,
            max_position: self.max_position,
            max_daily_notional: self.max_daily_notional,
        };
        let default = limits(p, "", &own);
        let no_reference = NoReference::from_name(&self.no_reference);
        if no_reference.is_none() {
            p.push(
                "risk.no_reference",
                format!("{:?} is not a policy (\"allow\" or \"refuse\")", self.no_reference),
            );
        }
        let max_symbols: Option<NonZeroUsize> = p.non_zero("risk.max_symbols", self.max_symbols);
        if self.max_symbols > MAX_RISK_SYMBOLS {
            p.push("risk.max_symbols", format!("{} is above {MAX_RISK_SYMBOLS}", self.max_symbols));
        }
        let mut symbols = Vec::new();
        for (id, l) in self.symbols.iter().flatten() {
            let at = format!("risk.symbols.{id}");
            match id.trim().parse::<i32>() {
                Ok(n) => symbols.push((n, limits(p, &at, l))),
                Err(_) => p.push(&at, format!("{id:?} is not a symbol id (a 32-bit integer)")),
            }
        }
        symbols.sort_unstable_by_key(|(s, _)| *s);
        if symbols.windows(2).any(|w| w[0].0 == w[1].0) {
            p.push("risk.symbols", "a symbol id is listed twice (e.g. \"1\" and \"01\")");
        }
        if symbols.len() > self.max_symbols {
            p.push(
                "risk.max_symbols",
                format!("{} is below the {} symbols of [risk.symbols]", self.max_symbols, symbols.len()),
            );
        }
        Some(RiskSettings { default, symbols, max_symbols: max_symbols?, no_reference: no_reference? })
    }
}
