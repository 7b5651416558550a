//! The `ownership` rule's model: who owns each live order, and who holds each producer number.
//!
//! An order is owned by the producer whose New made it live (its `queued` or `sent` record),
//! and more precisely by that producer's *holder*: an in-process producer holds its number for
//! the whole journal; a client's number is held from its `client_attached` to its
//! `client_detached`, and the next client to attach under that number is a new holder, a new
//! owner, unless the one before it detached under `on_client_exit = "keep"` (`cancel` false:
//! its orders are handed to the next holder of the number, a restarted strategy taking its
//! orders back) or the engine restarted (`recovered`: a client of the run before left no
//! `client_detached`, and its orders wait for it under its number).
//!
//! A Modify or Cancel applied (`modified`, `cancelled`, `replace_queued`, `replace_sent`,
//! `cancel_queued`, `cancel_sent`) for a client (a number some `client_attached` names) is
//! checked against the order's owner: the same number and the same holder. The engine's own
//! (producer `ENGINE`: halts, session ends) and an in-process producer's are not checked: the
//! engine lets in-process producers, the program's own, touch any order. The cancel policy's cancels, which the engine journals for the
//! detached client's number, possibly after the next holder attached (an order awaiting its
//! first answer is cancelled once working), are the previous holder's: a cancel for a number
//! of an order its holder left under `cancel` is allowed; a modify is not.
//!
//! An order whose New this journal does not show (sent by a run before it) has no known owner
//! and is not checked. Everything is O(1) per record: one hash table of live orders' owners,
//! small tables per producer number.

use std::collections::{HashMap, HashSet};

use crate::idmap::IdMap;
use crate::model::EventKind;
use crate::record::ENGINE;

/// Owners of the live orders and holders of the producer numbers.
#[derive(Debug, Default)]
pub(super) struct Owners {
    /// Each live order's owner: (producer number, holder).
    of: IdMap<(u16, u64)>,
    /// Each client number's current holder (absent: 0, an in-process producer's only one).
    holder: HashMap<u16, u64>,
    /// Numbers whose last holder detached under `keep`, or whose run ended in a restart: the
    /// next attach continues that holder.
    handed_on: HashSet<u16>,
    /// Holders that detached under `cancel`: the engine's cancels of their orders follow.
    cancelled: HashSet<u64>,
    /// Holders made so far.
    made: u64,
}

/// A Modify or Cancel applied for a producer that does not own the order: (the owner's
/// number, whether the owner is an earlier holder of the same number).
pub(super) type Stranger = (u16, bool);

impl Owners {
    fn holder_of(&self, producer: u16) -> u64 {
        self.holder.get(&producer).copied().unwrap_or(0)
    }

    /// Whether `producer` is a client's number (some `client_attached` named it): the engine's
    /// own and an in-process producer's requests are not checked (the engine lets those, the
    /// program's own, touch any order).
    pub(super) fn is_client(&self, producer: u16) -> bool {
        producer != ENGINE && self.holder.contains_key(&producer)
    }

    /// A client attached under `producer`.
    pub(super) fn attached(&mut self, producer: u16) {
        if !self.handed_on.remove(&producer) {
            self.made += 1;
            self.holder.insert(producer, self.made);
        }
    }

    /// `producer`'s client detached; `cancel`: under the cancel policy.
    pub(super) fn detached(&mut self, producer: u16, cancel: bool) {
        if cancel {
            self.cancelled.insert(self.holder_of(producer));
            self.handed_on.remove(&producer);
        } else {
            self.handed_on.insert(producer);
        }
    }

    /// The engine restarted: every client number's orders wait for its next holder.
    pub(super) fn recovered(&mut self) {
        self.handed_on.extend(self.holder.keys().copied());
    }

    /// Whether records of `kind` apply a Modify or a Cancel, and which.
    pub(super) fn applies(kind: EventKind) -> Option<bool> {
        match kind {
            EventKind::Modified | EventKind::ReplaceQueued | EventKind::ReplaceSent => Some(false),
            EventKind::Cancelled | EventKind::CancelQueued | EventKind::CancelSent => Some(true),
            _ => None,
        }
    }

    /// Checks a Modify (`cancel` false) or Cancel of order `id` applied for `producer`:
    /// `None` if it owns the order (or its owner is unknown).
    pub(super) fn check(&self, id: u64, producer: u16, cancel: bool) -> Option<Stranger> {
        if !self.is_client(producer) {
            return None;
        }
        let &(owner, holder) = self.of.get(&id)?;
        if owner != producer {
            return Some((owner, false));
        }
        let now = self.holder_of(producer);
        if holder == now || (cancel && self.cancelled.contains(&holder)) {
            return None;
        }
        Some((owner, true))
    }

    /// Order `id` became live with a New of `producer`.
    pub(super) fn made_live(&mut self, id: u64, producer: u16) {
        let holder = self.holder_of(producer);
        self.of.insert(id, (producer, holder));
    }

    /// Order `id` is no longer live.
    pub(super) fn ended(&mut self, id: u64) {
        self.of.remove(&id);
    }
}
