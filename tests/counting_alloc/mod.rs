//! The counting global allocator of the allocation tests: every `alloc`, `alloc_zeroed` and
//! `realloc` is counted, process-wide ([`all_threads`]) and for the calling thread
//! ([`this_thread`]); memory comes from `System`. A test binary installs it with
//! `#[global_allocator] static GLOBAL: counting_alloc::CountingAllocator = counting_alloc::CountingAllocator;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

static ALL_THREADS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static THIS_THREAD: Cell<u64> = const { Cell::new(0) };
}

/// Forwards to `System`, counting.
pub struct CountingAllocator;

fn count() {
    ALL_THREADS.fetch_add(1, Ordering::SeqCst);
    // `try_with`: the thread-local may be gone while a thread shuts down.
    let _ = THIS_THREAD.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is exactly `System`'s; the counters are a side effect.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocations by every thread of the process so far.
#[allow(dead_code, reason = "each test binary uses one of the two counters")]
pub fn all_threads() -> u64 {
    ALL_THREADS.load(Ordering::SeqCst)
}

/// Allocations by the calling thread so far.
#[allow(dead_code, reason = "each test binary uses one of the two counters")]
pub fn this_thread() -> u64 {
    THIS_THREAD.with(Cell::get)
}
