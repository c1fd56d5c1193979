//! The control-socket server: a thread per runtime that accepts connections on the
//! Unix socket and answers each request line with a snapshot taken under the
//! stack's lock.
//!
//! Clients are served one at a time, each connection with a 2 s read and write
//! timeout and at most [`MAX_REQUESTS`] requests, so a stuck client delays others
//! by seconds at most and never blocks the runtime thread (the lock is held only
//! while a snapshot is built, not while it is written).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::proto::{
    Counter, Origin, Request, Response, SocketRow, TcpInfoRow, MAX_REQUEST, VERSION,
};
use crate::runtime::Shared;

/// The most requests answered on one connection.
pub(crate) const MAX_REQUESTS: usize = 64;

const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);

/// A running control socket; dropping it stops the thread and removes the file.
#[derive(Debug)]
pub(crate) struct ControlServer {
    path: PathBuf,
    stop_fd: Arc<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

impl ControlServer {
    /// Binds `path` (creating its directory; replacing a stale socket file nobody
    /// answers on) and starts serving `shared`'s stack.
    pub(crate) fn start(
        path: PathBuf,
        shared: Arc<Shared>,
        runtime: u32,
    ) -> io::Result<ControlServer> {
        let ctx = |what: &str, e: io::Error| {
            io::Error::new(
                e.kind(),
                format!("control socket {}: {what}: {e}", path.display()),
            )
        };
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| ctx("create directory", e))?;
            }
        }
        remove_if_stale(&path).map_err(|e| ctx("existing file", e))?;
        let listener = UnixListener::bind(&path).map_err(|e| ctx("bind", e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| ctx("set_nonblocking", e))?;
        // SAFETY: eventfd(2) takes no pointers; the result is checked before use.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            let e = io::Error::last_os_error();
            let _ = std::fs::remove_file(&path);
            return Err(ctx("eventfd", e));
        }
        // SAFETY: `fd` was just returned by eventfd(2) and is owned by nobody else.
        let stop_fd = Arc::new(unsafe { OwnedFd::from_raw_fd(fd) });
        let origin = Origin {
            pid: std::process::id(),
            process: std::fs::read_to_string("/proc/self/comm")
                .map(|s| s.trim_end().to_string())
                .unwrap_or_default(),
            runtime,
            addresses: shared
                .lock()
                .stack
                .config()
                .addresses
                .iter()
                .map(|a| a.to_string())
                .collect(),
        };
        let stop = stop_fd.clone();
        let thread = std::thread::Builder::new()
            .name("layer4-control".into())
            .spawn(move || serve(&listener, &stop, &shared, &origin))
            .map_err(|e| {
                let _ = std::fs::remove_file(&path);
                ctx("spawn thread", e)
            })?;
        Ok(ControlServer {
            path,
            stop_fd,
            thread: Some(thread),
        })
    }

    /// The socket's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to the eventfd we own.
        unsafe {
            libc::write(
                self.stop_fd.as_raw_fd(),
                (&one as *const u64).cast(),
                std::mem::size_of::<u64>(),
            );
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Removes `path` if it is a socket no process answers on (left by a dead
/// process); fails with `AddrInUse` if someone answers.
fn remove_if_stale(path: &Path) -> io::Result<()> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "another runtime answers there",
        )),
        Err(_) => std::fs::remove_file(path),
    }
}

/// The server thread: waits for a client or the stop signal.
fn serve(listener: &UnixListener, stop: &OwnedFd, shared: &Shared, origin: &Origin) {
    loop {
        let mut fds = [
            libc::pollfd {
                fd: listener.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: stop.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: `fds` is a live array of two pollfds; no timeout.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if r < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        if fds[1].revents != 0 {
            return;
        }
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    // A client that misbehaves only ends its own connection.
                    let _ = serve_client(stream, shared, origin);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // ECONNABORTED, EMFILE, ...: wait for the next readiness.
                Err(_) => break,
            }
        }
    }
}

fn serve_client(stream: UnixStream, shared: &Shared, origin: &Origin) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    for _ in 0..MAX_REQUESTS {
        let mut line = Vec::new();
        let n = (&mut reader)
            .take(MAX_REQUEST as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        let response = if line.len() > MAX_REQUEST {
            error(origin, format!("request longer than {MAX_REQUEST} bytes"))
        } else {
            match serde_json::from_slice::<Request>(&line) {
                Ok(req) => answer(req, shared, origin),
                Err(e) => error(origin, format!("bad request: {e}")),
            }
        };
        if line.len() > MAX_REQUEST && line.last() != Some(&b'\n') {
            skip_line(&mut reader)?;
        }
        let mut out = serde_json::to_vec(&response).map_err(io::Error::other)?;
        out.push(b'\n');
        writer.write_all(&out)?;
    }
    Ok(())
}

/// Discards the rest of an over-long line (at most [`MAX_SKIP`] bytes, else the
/// connection ends), so the client reads the error answer and can go on.
fn skip_line(reader: &mut BufReader<UnixStream>) -> io::Result<()> {
    let mut sink = Vec::new();
    let n = reader.take(MAX_SKIP).read_until(b'\n', &mut sink)?;
    if sink.last() == Some(&b'\n') || n == 0 {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "request line too long",
        ))
    }
}

/// The most bytes of an over-long request line skipped.
const MAX_SKIP: u64 = 1 << 20;

fn error(origin: &Origin, why: String) -> Response {
    Response {
        version: VERSION,
        origin: origin.clone(),
        sockets: None,
        counters: None,
        error: Some(why),
    }
}

/// Builds the answer to `req` from a snapshot of the stack.
pub(crate) fn answer(req: Request, shared: &Shared, origin: &Origin) -> Response {
    let mut r = error(origin, String::new());
    r.error = None;
    let g = shared.lock();
    if let Some(why) = g.stopped() {
        return error(origin, format!("the runtime stopped: {why}"));
    }
    let now = shared.now();
    match req {
        Request::Sockets => {
            let rows = g
                .stack
                .socket_table(now)
                .into_iter()
                .map(|e| SocketRow {
                    protocol: match e.protocol {
                        layer4::SocketProtocol::Tcp => "tcp".into(),
                        layer4::SocketProtocol::Udp => "udp".into(),
                    },
                    state: e.state.to_string(),
                    recv_q: e.recv_q as u64,
                    send_q: e.send_q as u64,
                    local: e.local,
                    remote: e.remote,
                    timer: e.timer.map(|(name, left)| {
                        (
                            name.to_string(),
                            u64::try_from(left.as_millis()).unwrap_or(u64::MAX),
                        )
                    }),
                    tcp_info: match (e.protocol, e.remote) {
                        (layer4::SocketProtocol::Tcp, Some(_)) => g
                            .stack
                            .tcp_info(now, e.handle)
                            .ok()
                            .map(|i| TcpInfoRow::from(&i)),
                        _ => None,
                    },
                })
                .collect();
            r.sockets = Some(rows);
        }
        Request::Counters => {
            let mut counters: Vec<Counter> = g
                .stack
                .stats()
                .nstat_lines()
                .into_iter()
                .map(|(name, value)| Counter { name, value })
                .collect();
            counters.push(Counter {
                name: "RuntimeTxErrors".into(),
                value: g.tx_errors(),
            });
            r.counters = Some(counters);
        }
    }
    r
}
