//! Network namespaces: [`unshare_thread`] moves the calling thread into a fresh,
//! empty network namespace.
//!
//! A network namespace belongs to a thread, not to the process: after
//! [`unshare_thread`], sockets and TUN devices the thread creates, threads it spawns
//! and commands it runs (`std::process::Command`) live in the new namespace, while
//! the process's other threads stay where they were. The namespace has only a
//! `lo` (down) and vanishes, with every interface in it, when its last thread has
//! exited and its last socket or device descriptor is closed — nothing to clean up.
//! The interop tests use it to get a private network per test.

use std::io;

/// Moves the calling thread into a new network namespace (`unshare(CLONE_NEWNET)`;
/// needs `CAP_SYS_ADMIN`).
pub fn unshare_thread() -> io::Result<()> {
    // SAFETY: unshare(2) takes no pointers; CLONE_NEWNET changes only the calling
    // thread's namespace and is permitted in a multi-threaded process.
    let r = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("unshare(CLONE_NEWNET): {e}"),
        ));
    }
    Ok(())
}
