//! Network namespaces: [`unshare_thread`] moves the calling thread into a fresh,
//! empty network namespace; [`enter`] moves it into an existing one (named as
//! `ip netns` names them, or by path), and [`run_in`] runs a closure there on a
//! thread of its own.
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

/// The file that names network namespace `name`: `name` itself when it contains a
/// `/` (`/proc/1234/ns/net`, `/run/netns/lab`), else `/run/netns/<name>`, where
/// `ip netns add NAME` puts it.
pub fn path_of(name: &str) -> std::path::PathBuf {
    if name.contains('/') {
        std::path::PathBuf::from(name)
    } else {
        std::path::Path::new("/run/netns").join(name)
    }
}

/// Moves the calling thread into the network namespace named by `name` (see
/// [`path_of`]; `setns(2)`, needs `CAP_SYS_ADMIN`). Sockets and TUN devices the
/// thread opens afterwards live there, and keep living there when the thread moves
/// on or exits.
pub fn enter(name: &str) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let path = path_of(name);
    let file = std::fs::File::open(&path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("network namespace {name:?} ({}): {e}", path.display()),
        )
    })?;
    // SAFETY: setns(2) takes a descriptor we own for the duration of the call and a
    // flag; CLONE_NEWNET changes only the calling thread's namespace.
    let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("setns({}): {e}", path.display()),
        ));
    }
    Ok(())
}

/// Runs `f` on a new thread that has entered network namespace `name` first, and
/// returns what it returns: a way to open a TUN (or a socket) inside another
/// namespace without moving the calling thread.
pub fn run_in<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let name = name.to_string();
    std::thread::spawn(move || {
        enter(&name)?;
        f()
    })
    .join()
    .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")))
}
