//! What an audit finds: per rule, pass or the first violation, and what was checked.

use std::fmt;

use super::Rule;

/// A place where a rule is broken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The rule broken.
    pub rule: Rule,
    /// Sequence number of the offending record (for a problem found at the end of the
    /// journal: the record where it began).
    pub seq: u64,
    /// The order concerned (`None` for a session record).
    pub order_id: Option<u64>,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seq {}", self.seq)?;
        if let Some(id) = self.order_id {
            write!(f, ", order {id}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The outcome of one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleReport {
    /// The rule.
    pub rule: Rule,
    /// The rule in one sentence, with the configured numbers.
    pub statement: String,
    /// How many items the rule looked at (see [`Rule::unit`]).
    pub checked: u64,
    /// The first violation, if any.
    pub first: Option<Violation>,
    /// Violations found in all (those after the first may follow from it).
    pub violations: u64,
}

impl RuleReport {
    /// Whether the rule holds.
    pub fn holds(&self) -> bool {
        self.first.is_none()
    }
}

/// The outcome of an audit: one [`RuleReport`] per rule, in [`Rule::ALL`] order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditReport {
    /// Records read.
    pub records: u64,
    /// Whether the end of the journal was checked too (every order has its fate, no session
    /// left open): [`Auditor::finish`](super::Auditor::finish) rather than
    /// [`Auditor::report`](super::Auditor::report).
    pub complete: bool,
    /// Per rule.
    pub rules: Vec<RuleReport>,
}

impl AuditReport {
    /// Whether every rule holds.
    pub fn is_clean(&self) -> bool {
        self.rules.iter().all(RuleReport::holds)
    }

    /// The report of one rule.
    pub fn rule(&self, rule: Rule) -> &RuleReport {
        // `rules` is built from `Rule::ALL`, in order.
        &self.rules[Rule::ALL.iter().position(|r| *r == rule).unwrap_or_default()]
    }

    /// The first violation of each broken rule.
    pub fn violations(&self) -> impl Iterator<Item = &Violation> + '_ {
        self.rules.iter().filter_map(|r| r.first.as_ref())
    }

    /// The broken rules.
    pub fn broken(&self) -> Vec<Rule> {
        self.violations().map(|v| v.rule).collect()
    }
}

impl fmt::Display for AuditReport {
    /// One line per rule (`ok` or `FAIL`, name, statement, count checked); under a broken rule,
    /// its first violation. Then a closing line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = Rule::ALL.iter().map(|r| r.name().len()).max().unwrap_or(0);
        for r in &self.rules {
            let status = if r.holds() { "ok" } else { "FAIL" };
            writeln!(
                f,
                "{status:<4}  {:<width$}  {} ({} {} checked)",
                r.rule.name(),
                r.statement,
                r.checked,
                r.rule.unit()
            )?;
            if let Some(v) = &r.first {
                let more = match r.violations {
                    0 | 1 => String::new(),
                    n => format!(" ({} more after it)", n - 1),
                };
                writeln!(f, "      {:<width$}  first violation: {v}{more}", "")?;
            }
        }
        let broken = self.broken();
        if broken.is_empty() {
            write!(f, "all {} rules hold over {} records", self.rules.len(), self.records)
        } else {
            let names: Vec<&str> = broken.iter().map(|r| r.name()).collect();
            write!(f, "{} of {} rules broken: {}", broken.len(), self.rules.len(), names.join(", "))
        }
    }
}
