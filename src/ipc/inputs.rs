//! The engine's end of the client rings ([`ClientInputs`]) and the listener's end of the
//! engine ([`ClientPort`]), joined by two small SPSC rings of control messages.
//!
//! The listener thread makes a ring (a system call or three) and hands it over as
//! [`ToEngine::Attach`]; when the client's socket ends it sends [`ToEngine::Detach`]. The engine
//! looks at that ring once per turn (one load when nothing came), takes what it says between
//! turns, and hands each ring it is done with back ([`Freed`]) for the listener to unmap: no
//! `accept`, `mmap`, `munmap` or `close` on the engine thread. Every message carries the slot's
//! generation, so a detach that crosses the engine's own drop of the same client (a broken ring)
//! is recognised as stale and ignored, and a slot is never reused before the engine has let go.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use super::shm::{SharedRing, decode};
use crate::doorbell::Doorbell;
use crate::ring::Inbound;

/// What happens to a client's orders when it goes (`[ipc] on_client_exit`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExitPolicy {
    /// Its queued orders are cancelled and a cancel of each working order is sent (an order
    /// awaiting its first answer or a replace is cancelled once it is working): the
    /// exchanges' cancel-on-disconnect, for strategies that must not leave orders behind.
    Cancel,
    /// Its orders stay as they are; a client that attaches later under the same producer
    /// number owns them. The default, as at exchanges where cancel-on-disconnect is asked
    /// for: `oms submit` sends orders and exits once they are answered, and they stay.
    #[default]
    Keep,
}

impl ExitPolicy {
    /// The configuration's name.
    pub const fn name(self) -> &'static str {
        match self {
            ExitPolicy::Cancel => "cancel",
            ExitPolicy::Keep => "keep",
        }
    }

    /// From the configuration's name.
    pub fn from_name(s: &str) -> Option<ExitPolicy> {
        [ExitPolicy::Cancel, ExitPolicy::Keep].into_iter().find(|p| p.name() == s)
    }
}

/// The checked `[ipc]` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpcSettings {
    /// Where the control socket goes (`oms run --listen DIR` or `[ipc] dir`); none: no listener.
    pub dir: Option<std::path::PathBuf>,
    /// Most clients at once (1 to 64): each has a producer number reserved when the engine is built.
    pub max_clients: u16,
    /// Messages per client ring (a power of two).
    pub ring_capacity: u32,
    /// What happens to a client's orders when it goes.
    pub on_client_exit: ExitPolicy,
    /// A group whose members may attach too (DIR 0750, the socket 0660, both the group's);
    /// none: the run's user only.
    pub group: Option<String>,
}

impl Default for IpcSettings {
    fn default() -> Self {
        IpcSettings {
            dir: None,
            max_clients: 8,
            ring_capacity: 4096,
            on_client_exit: ExitPolicy::Keep,
            group: None,
        }
    }
}

/// Most clients one engine takes (a bit each in a `u64`).
pub const MAX_CLIENTS: u16 = 64;

/// Listener → engine.
#[derive(Debug)]
pub enum ToEngine {
    /// A client attached to `slot` (generation `generation`): its ring.
    Attach {
        /// The client slot (producer `first + slot`).
        slot: u16,
        /// The slot's generation.
        generation: u64,
        /// The ring.
        ring: SharedRing,
        /// The client's process id (from `SO_PEERCRED`).
        pid: u32,
    },
    /// The client of `slot`, generation `generation`, went (its socket ended).
    Detach {
        /// The client slot.
        slot: u16,
        /// The generation it had.
        generation: u64,
    },
}

/// Engine → listener: a ring the engine let go of.
#[derive(Debug)]
pub struct Freed {
    /// The client slot, free again.
    pub slot: u16,
    /// Its generation.
    pub generation: u64,
    /// The ring, to unmap off the engine thread.
    pub ring: SharedRing,
    /// The engine dropped the client (its ring broke the protocol): close its socket.
    pub dropped: bool,
}

struct Slot {
    ring: Option<SharedRing>,
    /// Messages taken (this process's own count; the ring's copy is only written).
    tail: u64,
    generation: u64,
    pid: u32,
    /// The raw clock when it attached: a stamp before it is the client's lie.
    attached_raw: u64,
}

/// The engine's end of the client rings. See the module docs.
pub struct ClientInputs {
    slots: Box<[Slot]>,
    /// Producer number of slot 0.
    first: u16,
    control: rtrb::Consumer<ToEngine>,
    back: rtrb::Producer<Freed>,
    /// The listener's eventfd: written after a push into `back`.
    wake: Arc<OwnedFd>,
    policy: ExitPolicy,
    /// Slots with a ring.
    attached: usize,
    /// Slots whose client went under the cancel policy: their orders that become working
    /// later are cancelled too (a bit per slot; cleared when the slot's next client attaches).
    doomed: u64,
}

impl std::fmt::Debug for ClientInputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInputs")
            .field("first", &self.first)
            .field("slots", &self.slots.len())
            .field("attached", &self.attached)
            .finish_non_exhaustive()
    }
}

/// The listener's end of the engine: what [`crate::EngineBuilder::clients`] hands out.
pub struct ClientPort {
    pub(crate) first: u16,
    pub(crate) settings: IpcSettings,
    pub(crate) control: rtrb::Producer<ToEngine>,
    pub(crate) back: rtrb::Consumer<Freed>,
    pub(crate) wake: Arc<OwnedFd>,
    pub(crate) bell: Arc<Doorbell>,
}

impl std::fmt::Debug for ClientPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientPort").field("first", &self.first).field("settings", &self.settings).finish()
    }
}

impl ClientPort {
    /// Producer number of the first client slot (the others follow).
    pub fn first_producer(&self) -> u16 {
        self.first
    }

    /// The settings.
    pub fn settings(&self) -> &IpcSettings {
        &self.settings
    }
}

/// The two ends for `settings.max_clients` slots from producer `first`, ringing `bell`.
pub(crate) fn client_inputs(
    first: u16,
    settings: &IpcSettings,
    bell: Arc<Doorbell>,
) -> std::io::Result<(ClientInputs, ClientPort)> {
    let n = usize::from(settings.max_clients);
    // Each slot has at most one attach and one detach in flight, and one ring coming back.
    let (control_tx, control_rx) = rtrb::RingBuffer::new(2 * n + 2);
    let (back_tx, back_rx) = rtrb::RingBuffer::new(n + 1);
    let wake = Arc::new(super::eventfd()?);
    let slots =
        (0..n).map(|_| Slot { ring: None, tail: 0, generation: 0, pid: 0, attached_raw: 0 }).collect();
    let inputs = ClientInputs {
        slots,
        first,
        control: control_rx,
        back: back_tx,
        wake: wake.clone(),
        policy: settings.on_client_exit,
        attached: 0,
        doomed: 0,
    };
    let port =
        ClientPort { first, settings: settings.clone(), control: control_tx, back: back_rx, wake, bell };
    Ok((inputs, port))
}

/// What one look at a client ring found.
#[derive(Debug, PartialEq, Eq)]
pub enum Drained {
    /// This many messages handed over.
    Taken(usize),
    /// The ring broke the protocol: drop the client.
    Broken,
}

impl ClientInputs {
    /// Producer number of slot 0.
    pub fn first(&self) -> u16 {
        self.first
    }

    /// Client slots.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there are no slots (never: at least one).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The exit policy.
    pub fn policy(&self) -> ExitPolicy {
        self.policy
    }

    /// Whether the listener sent something. One load when it did not.
    #[inline(always)]
    pub fn control_waits(&self) -> bool {
        !self.control.is_empty()
    }

    /// The listener's next message.
    pub fn next_control(&mut self) -> Option<ToEngine> {
        self.control.pop().ok()
    }

    /// Whether `slot` has a ring of generation `generation`.
    pub fn holds(&self, slot: u16, generation: u64) -> bool {
        self.slots.get(usize::from(slot)).is_some_and(|s| s.ring.is_some() && s.generation == generation)
    }

    /// Takes `ring` into `slot` (the listener made it for generation `generation`), stamps floor at
    /// `now_raw`. A slot still holding a ring hands the old one back first (never happens: the
    /// listener reuses a slot only once it is freed).
    pub fn install(&mut self, slot: u16, generation: u64, ring: SharedRing, pid: u32, now_raw: u64) -> bool {
        let Some(s) = self.slots.get_mut(usize::from(slot)) else {
            let _ = self.back.push(Freed { slot, generation, ring, dropped: true });
            return false;
        };
        debug_assert!(s.ring.is_none(), "slot {slot} attached twice");
        if s.ring.is_some() {
            let _ = self.back.push(Freed { slot, generation, ring, dropped: true });
            return false;
        }
        *s = Slot { ring: Some(ring), tail: 0, generation, pid, attached_raw: now_raw };
        self.attached += 1;
        self.doomed &= !(1u64 << slot);
        true
    }

    /// The client process of `slot`.
    pub fn pid(&self, slot: u16) -> u32 {
        self.slots.get(usize::from(slot)).map_or(0, |s| s.pid)
    }

    /// Lets `slot`'s ring go back to the listener (`dropped`: it must close the socket too).
    pub fn release(&mut self, slot: u16, dropped: bool) {
        let Some(s) = self.slots.get_mut(usize::from(slot)) else { return };
        let Some(ring) = s.ring.take() else { return };
        self.attached -= 1;
        if let Err(rtrb::PushError::Full(f)) =
            self.back.push(Freed { slot, generation: s.generation, ring, dropped })
        {
            // Cannot happen (one ring per slot in flight, and room for all); the mapping
            // stays valid until dropped here, which is only an munmap on this thread.
            drop(f);
        }
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from `one`, alive across the call, to the listener's eventfd.
        let _ = unsafe { libc::write(self.wake.as_raw_fd(), (&raw const one).cast(), 8) };
    }

    /// Marks `slot`'s orders to be cancelled when they become working.
    pub fn doom(&mut self, slot: u16) {
        self.doomed |= 1u64 << slot;
    }

    /// Whether an order of `producer` is to be cancelled once working (its client went
    /// under the cancel policy). One compare when no client went.
    #[inline(always)]
    pub fn is_doomed(&self, producer: u16) -> bool {
        self.doomed != 0
            && producer.checked_sub(self.first).is_some_and(|s| s < 64 && self.doomed >> s & 1 == 1)
    }

    /// The slot of `producer`, if it is a client's.
    #[inline(always)]
    pub fn slot_of(&self, producer: u16) -> Option<u16> {
        producer.checked_sub(self.first).filter(|s| usize::from(*s) < self.slots.len())
    }

    /// Slots with a ring: what a turn looks at.
    #[inline(always)]
    pub fn attached(&self) -> usize {
        self.attached
    }

    /// Whether `slot` has a ring.
    #[inline(always)]
    pub fn is_attached(&self, slot: usize) -> bool {
        self.slots[slot].ring.is_some()
    }

    /// Hands up to `max` messages of `slot`'s ring, oldest first, to `each` as [`Inbound`]s of
    /// its producer, each copied out and decoded before it is looked at; the arrival stamp is
    /// the client's, clamped to `[attached, now_raw]`. Then frees their slots (one release
    /// store). A head behind the engine's tail, or more than the capacity ahead, is
    /// [`Drained::Broken`]: nothing is taken.
    #[inline]
    pub fn drain(&mut self, slot: usize, max: usize, now_raw: u64, mut each: impl FnMut(Inbound)) -> Drained {
        let producer = self.first + slot as u16;
        let s = &mut self.slots[slot];
        let Some(ring) = &s.ring else { return Drained::Taken(0) };
        let head = ring.head();
        let ahead = head.wrapping_sub(s.tail);
        if ahead == 0 {
            return Drained::Taken(0);
        }
        if ahead > u64::from(ring.capacity()) {
            return Drained::Broken;
        }
        let n = (ahead as usize).min(max);
        for i in 0..n as u64 {
            let words = ring.read_slot(s.tail + i);
            let (order, request, stamp) = decode(&words);
            let arrival_raw = stamp.clamp(s.attached_raw, now_raw.max(s.attached_raw));
            each(Inbound { order, request, arrival_raw, producer });
        }
        s.tail += n as u64;
        ring.publish_tail(s.tail);
        Drained::Taken(n)
    }

    /// Sets (before the doorbell's fence) or clears every attached ring's `sleeping` flag.
    #[inline]
    pub fn set_sleeping(&self, sleeping: bool) {
        if self.attached == 0 {
            return;
        }
        for s in self.slots.iter() {
            if let Some(ring) = &s.ring {
                ring.set_sleeping(sleeping);
            }
        }
    }

    /// Whether nothing waits: no control message, every ring's head at the engine's tail.
    pub fn idle(&self) -> bool {
        !self.control_waits() && self.slots.iter().all(|s| s.ring.as_ref().is_none_or(|r| r.head() == s.tail))
    }
}
