//! SIGINT and SIGTERM ask `oms run` to stop: the handler only sets a flag (the one thing a
//! signal handler may safely do); the main loop checks it and shuts the engine down cleanly.
//! SIGUSR1 asks it to halt trading (the kill switch), SIGUSR2 to resume: the last one wins, and
//! the main loop hands it to the engine's switch.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);
/// 0: nothing asked; 1: halt; 2: resume.
static SWITCH: AtomicU8 = AtomicU8::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    match signal {
        libc::SIGUSR1 => SWITCH.store(1, Ordering::Relaxed),
        libc::SIGUSR2 => SWITCH.store(2, Ordering::Relaxed),
        _ => STOP.store(true, Ordering::Relaxed),
    }
}

/// Installs the handler for SIGINT, SIGTERM, SIGUSR1 and SIGUSR2.
pub(in crate::cli) fn install() -> std::io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGUSR1, libc::SIGUSR2] {
        // SAFETY: `sigaction` is plain data; all-zero is a valid value (no flags, empty mask,
        // no handler) that is filled in below before use.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        // SAFETY: `action.sa_mask` is a valid, writable `sigset_t`.
        unsafe { libc::sigemptyset(&mut action.sa_mask) };
        // SAFETY: `action` is initialized and lives across the call; the handler is
        // async-signal-safe (one relaxed atomic store); the old action is not asked for.
        let rc = unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether SIGINT or SIGTERM has arrived.
pub(in crate::cli) fn received() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// What SIGUSR1 (halt: `Some(true)`) or SIGUSR2 (resume: `Some(false)`) asked since the last
/// call, the last one winning.
pub(super) fn switch_asked() -> Option<bool> {
    match SWITCH.swap(0, Ordering::Relaxed) {
        1 => Some(true),
        2 => Some(false),
        _ => None,
    }
}
