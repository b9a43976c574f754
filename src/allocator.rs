//! Settings of mimalloc, the global allocator of the binary and of the collection benchmark.

use std::os::raw::{c_int, c_long};

extern "C" {
    // Part of mimalloc's C API (`include/mimalloc.h`); libmimalloc-sys links it into every binary
    // that depends on this crate, but its Rust bindings do not name the option used here.
    fn mi_option_set(option: c_int, value: c_long);
}

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (the same position in its v2 and v3).
const MI_OPTION_PURGE_DELAY: c_int = 15;

/// Keeps freed memory in the process instead of handing it back to the OS ("purging"), which
/// mimalloc does by default a while after it is freed. A collection or a scan frees and allocates
/// millions of JSON nodes in waves: each purged range that is touched again faults back in, and
/// with transparent huge pages every such fault zeroes 2 MiB (`clear_page_erms` was about 45% of
/// the collection benchmark's CPU samples in `perf`). A run is short and exits when done, so the
/// memory it keeps is never more than its peak. Call it first thing in `main`.
pub fn keep_freed_memory() {
    // SAFETY: a plain C call that sets one integer option; mimalloc's options may be set at any
    // time, from any thread.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}
