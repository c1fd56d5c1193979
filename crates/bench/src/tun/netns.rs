//! Network namespaces for the TUN benchmarks.
//!
//! Anonymous ones ([`in_fresh_netns`]: a thread `unshare`s and everything it makes
//! vanishes with it) for the TUN pairings; named ones ([`NamedNetns`], made and
//! deleted with `ip netns`) for veth, whose two ends must be placed by name.

use std::process::Command;

use crate::BenchError;

/// `None` when the process is root (effective uid 0, read from
/// `/proc/self/status`), else why the TUN benchmarks cannot run.
pub fn why_not_root() -> Option<String> {
    let status = match std::fs::read_to_string("/proc/self/status") {
        Ok(s) => s,
        Err(e) => return Some(format!("cannot read /proc/self/status: {e}")),
    };
    match effective_uid(&status) {
        Some(0) => {
            if std::path::Path::new("/dev/net/tun").exists() {
                None
            } else {
                Some("/dev/net/tun does not exist".to_string())
            }
        }
        Some(uid) => Some(format!(
            "needs root (network namespaces, TUN and veth devices); running as uid {uid}"
        )),
        None => Some("cannot tell the effective uid from /proc/self/status".to_string()),
    }
}

/// The effective uid in the text of `/proc/<pid>/status` (the second field of its
/// `Uid:` line).
fn effective_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|u| u.parse::<u32>().ok())
}

/// Runs `f` on a new thread in a fresh, empty network namespace and returns its
/// result; the namespace (with any TUN made in it) goes when the thread and the
/// descriptors it made are gone.
pub fn in_fresh_netns<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BenchError> + Send + 'static,
) -> Result<T, BenchError> {
    spawn_in(None, f)
}

/// Runs `f` on a new thread in namespace `ns` (`None`: a fresh one).
pub fn spawn_in<T: Send + 'static>(
    ns: Option<String>,
    f: impl FnOnce() -> Result<T, BenchError> + Send + 'static,
) -> Result<T, BenchError> {
    join(spawn_thread(ns, f))
}

/// Starts `f` on a new thread in namespace `ns` (`None`: a fresh one).
pub fn spawn_thread<T: Send + 'static>(
    ns: Option<String>,
    f: impl FnOnce() -> Result<T, BenchError> + Send + 'static,
) -> std::thread::JoinHandle<Result<T, BenchError>> {
    std::thread::spawn(move || {
        match &ns {
            None => layer4_net::netns::unshare_thread(),
            Some(name) => layer4_net::netns::enter(name),
        }
        .map_err(|e| BenchError::Setup(format!("network namespace: {e}")))?;
        f()
    })
}

/// The result of a namespace thread; a panic becomes a setup error.
pub fn join<T>(h: std::thread::JoinHandle<Result<T, BenchError>>) -> Result<T, BenchError> {
    h.join()
        .unwrap_or_else(|_| Err(BenchError::Setup("a benchmark thread panicked".to_string())))
}

/// Named namespaces made with `ip netns add`, deleted (`ip netns del`) on drop, so
/// an error or a panic during the run leaves none behind.
#[derive(Debug)]
pub struct NamedNetns {
    names: Vec<String>,
}

/// Runs `ip ARGS`, its stderr in the error.
pub fn ip(args: &[&str]) -> Result<(), BenchError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| BenchError::Setup(format!("cannot run `ip`: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BenchError::Setup(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

impl NamedNetns {
    /// Makes namespaces `l4bench-<pid>-<suffix>` for each suffix.
    pub fn create(suffixes: &[&str]) -> Result<NamedNetns, BenchError> {
        let mut made = NamedNetns { names: Vec::new() };
        for s in suffixes {
            let name = format!("l4bench-{}-{s}", std::process::id());
            ip(&["netns", "add", &name])?;
            made.names.push(name);
        }
        Ok(made)
    }

    /// The name of the `i`th namespace.
    pub fn name(&self, i: usize) -> &str {
        self.names.get(i).map_or("", String::as_str)
    }
}

impl Drop for NamedNetns {
    fn drop(&mut self) {
        for name in &self.names {
            if let Err(e) = ip(&["netns", "del", name]) {
                eprintln!("layer4-bench: could not delete namespace {name}: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_uid_is_the_second_field_of_the_uid_line() {
        let status = "Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        assert_eq!(effective_uid(status), Some(0));
        assert_eq!(effective_uid("Uid:\t0\t1000\t0\t0\n"), Some(1000));
        assert_eq!(effective_uid("Name:\tx\n"), None);
        assert_eq!(effective_uid("Uid:\tzero\n"), None);
    }
}
