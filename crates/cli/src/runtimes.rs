//! The layer4 runtimes of this machine, found through their control sockets
//! (`layer4_net::control`), for `l4 ss` and `l4 stat`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use layer4_net::control::client::{query, sockets_in};
use layer4_net::control::proto::{Request, Response};

/// How long a runtime has to answer.
const TIMEOUT: Duration = Duration::from_secs(3);

/// `--dir`, else `$LAYER4_CONTROL_DIR`, else `/run/layer4`.
pub fn dir(arg: Option<&Path>) -> PathBuf {
    arg.map_or_else(layer4_net::control::dir, Path::to_path_buf)
}

/// Asks every runtime in `dir`; a socket nobody answers on (its process exited) is
/// skipped with a note on stderr, as is one that answers with an error.
pub fn ask_all(dir: &Path, request: Request) -> Result<Vec<Response>, String> {
    let paths = sockets_in(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for p in paths {
        match query(&p, request, TIMEOUT) {
            Ok(r) => out.push(r),
            Err(e) => {
                let why = match e.kind() {
                    std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound => {
                        "stale: nobody answers (its process has exited)".to_string()
                    }
                    _ => e.to_string(),
                };
                eprintln!("l4: skipping {}: {why}", p.display());
            }
        }
    }
    Ok(out)
}
