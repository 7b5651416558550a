//! `[ipc]`: producers in other processes ([`crate::ipc`]), checked into [`IpcSettings`].
//!
//! ```toml
//! [ipc]
//! dir = "/run/oms"              # optional: listen there (oms run --listen DIR says the same)
//! max_clients = 8               # 1 to 64 at once; a producer number reserved for each
//! ring_capacity = 4096          # messages per client ring, a power of two
//! on_client_exit = "cancel"     # or "keep": what happens to a client's orders when it goes
//! group = "traders"             # optional: its members may attach too (DIR 0750, socket 0660,
//!                                #   the journal's new segments 0640: they read their outcomes)
//! ```

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Problems;
use crate::ipc::{ExitPolicy, IpcSettings, MAX_CLIENTS, shm::MAX_CAPACITY};

/// `[ipc]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IpcConfig {
    /// The directory to listen in; none: only `oms run --listen DIR` makes the run listen.
    pub dir: Option<PathBuf>,
    /// Most clients at once.
    pub max_clients: u32,
    /// Messages per client ring.
    pub ring_capacity: u32,
    /// `"cancel"` or `"keep"` ([`ExitPolicy`]).
    pub on_client_exit: String,
    /// A group whose members may attach too, and read the journal's segments the run creates
    /// (0640, given to the group); none: the run's user only.
    pub group: Option<String>,
}

impl Default for IpcConfig {
    fn default() -> Self {
        let d = IpcSettings::default();
        IpcConfig {
            dir: None,
            max_clients: u32::from(d.max_clients),
            ring_capacity: d.ring_capacity,
            on_client_exit: d.on_client_exit.name().into(),
            group: None,
        }
    }
}

impl IpcConfig {
    pub(super) fn validate(&self, p: &mut Problems) -> Option<IpcSettings> {
        let policy = ExitPolicy::from_name(&self.on_client_exit);
        if policy.is_none() {
            p.push(
                "ipc.on_client_exit",
                format!("{:?} is not a policy (\"cancel\" or \"keep\")", self.on_client_exit),
            );
        }
        let max_clients = u16::try_from(self.max_clients).ok().filter(|n| (1..=MAX_CLIENTS).contains(n));
        if max_clients.is_none() {
            p.push("ipc.max_clients", format!("{} is not 1 to {MAX_CLIENTS}", self.max_clients));
        }
        let capacity_ok = self.ring_capacity.is_power_of_two() && self.ring_capacity <= MAX_CAPACITY;
        if !capacity_ok {
            p.push(
                "ipc.ring_capacity",
                format!("{} is not a power of two up to {MAX_CAPACITY}", self.ring_capacity),
            );
        }
        if self.dir.as_ref().is_some_and(|d| d.as_os_str().is_empty()) {
            p.push("ipc.dir", "is empty");
        }
        if self.group.as_ref().is_some_and(|g| g.is_empty() || g.contains('\0')) {
            p.push("ipc.group", "is not a group name");
        }
        Some(IpcSettings {
            dir: self.dir.clone(),
            max_clients: max_clients?,
            ring_capacity: capacity_ok.then_some(self.ring_capacity)?,
            on_client_exit: policy?,
            group: self.group.clone(),
        })
    }
}
