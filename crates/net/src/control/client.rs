//! The client side of the control socket: [`sockets_in`] lists the sockets of a
//! directory, [`query`] asks one.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::proto::{Request, Response};

/// The most bytes of an answer a client reads (a snapshot of ~100,000 sockets).
pub const MAX_RESPONSE: u64 = 256 * 1024 * 1024;

/// The `*.sock` files in `dir`, sorted by name; an absent directory has none.
pub fn sockets_in(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let p = entry?.path();
        if p.extension().is_some_and(|x| x == "sock") {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// Asks the runtime at `path` one question, waiting at most `timeout` for each
/// step. A socket no one answers on (a dead process's) fails with
/// `ConnectionRefused`; an answer carrying an error fails with `Other`.
pub fn query(path: &Path, request: Request, timeout: Duration) -> io::Result<Response> {
    let mut stream = UnixStream::connect(path)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut line = serde_json::to_vec(&request).map_err(io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let mut reader = BufReader::new(stream).take(MAX_RESPONSE);
    let mut answer = Vec::new();
    reader.read_until(b'\n', &mut answer)?;
    if answer.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the runtime closed the connection without answering",
        ));
    }
    let response: Response = serde_json::from_slice(&answer)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("bad answer: {e}")))?;
    if let Some(e) = &response.error {
        return Err(io::Error::other(e.clone()));
    }
    Ok(response)
}
