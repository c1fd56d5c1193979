//! The control socket: every [`Runtime`](crate::Runtime) answers questions about
//! its stack on a Unix stream socket, by default `/run/layer4/<pid>-<n>.sock`
//! (`n` counts the runtimes of the process from 0), which `l4 ss` and `l4 stat`
//! read. The protocol (one JSON request per line, one JSON answer per line) is in
//! [`proto`] and `docs/control-socket.md`.
//!
//! - [`proto`]: the requests and answers (serde types shared by server and client).
//! - `server`: the thread that serves a runtime's socket.
//! - [`client`]: finding the sockets and asking them.
//!
//! The directory is `$LAYER4_CONTROL_DIR` when set, else [`DEFAULT_DIR`]; it is
//! created if missing. The socket file is removed when the runtime is dropped; a
//! process that dies leaves its file behind, which `l4 ss` skips (with a note) and
//! the next runtime of the same pid and number replaces.

pub mod client;
pub mod proto;
pub(crate) mod server;

use std::path::PathBuf;

/// Where control sockets live unless `$LAYER4_CONTROL_DIR` says otherwise.
pub const DEFAULT_DIR: &str = "/run/layer4";

/// The environment variable that moves the control-socket directory.
pub const DIR_ENV: &str = "LAYER4_CONTROL_DIR";

/// The control-socket directory: `$LAYER4_CONTROL_DIR`, else [`DEFAULT_DIR`].
pub fn dir() -> PathBuf {
    match std::env::var_os(DIR_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(DEFAULT_DIR),
    }
}

/// Whether and where a runtime opens its control socket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ControlSocket {
    /// `<dir()>/<pid>-<n>.sock`; if it cannot be made (no permission, say), the
    /// runtime runs without one ([`Runtime::control_path`](crate::Runtime::control_path)
    /// is `None`).
    #[default]
    Default,
    /// Exactly this path (tests, several tools side by side); failing to bind it
    /// fails the runtime's creation.
    At(PathBuf),
    /// No control socket.
    Off,
}
