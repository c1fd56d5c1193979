//! TCP: held SYNs decided by the upstream's answer, then the two streams
//! copied both ways.
//!
//! One transparent listener per family holds every SYN. [`serve`] takes each
//! held SYN (once a `--max-tcp` slot is free) and starts [`relay`], which
//! dials the destination; only when the upstream connection stands is the
//! client's handshake completed (`complete_syn`), otherwise the SYN is refused
//! as the upstream refused ([`refusal`]). The accepted stream is matched to its
//! relay by its (local, remote) addresses, the SYN's tuple.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use layer4::SynRefusal;
use layer4_net::tokio::{TcpListener, TcpStream};
use layer4_net::SynRequest;
use tokio::sync::{oneshot, OwnedSemaphorePermit};

use super::{socks5, Counters, Relay, Via};
use crate::tun_setup::describe;

/// How long a completed SYN's client has to send the handshake's last ACK:
/// beyond what layer4 keeps a SYN-RECEIVED connection (63 s by default).
const HANDSHAKE: Duration = Duration::from_secs(64);

/// The relays waiting for their client's connection, by the SYN's tuple.
type Pending = Arc<Mutex<HashMap<SynRequest, oneshot::Sender<TcpStream>>>>;

/// Why dialling the destination failed.
#[derive(Debug)]
enum DialError {
    Io(io::Error),
    Socks5(socks5::Error),
    TimedOut,
}

/// How the client's SYN is refused when dialling failed: as the real host (or
/// the path to it) would have answered.
fn refusal(e: &DialError) -> SynRefusal {
    match e {
        DialError::Io(e) | DialError::Socks5(socks5::Error::Io(e)) => match e.kind() {
            io::ErrorKind::ConnectionRefused => SynRefusal::Reset,
            io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::TimedOut => SynRefusal::HostUnreachable,
            _ => SynRefusal::Reset,
        },
        DialError::Socks5(socks5::Error::Reply(socks5::REPLY_REFUSED)) => SynRefusal::Reset,
        DialError::Socks5(socks5::Error::Reply(r)) if socks5::REPLY_UNREACHABLE.contains(r) => {
            SynRefusal::HostUnreachable
        }
        DialError::Socks5(_) => SynRefusal::Reset,
        DialError::TimedOut => SynRefusal::HostUnreachable,
    }
}

impl std::fmt::Display for DialError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DialError::Io(e) => f.write_str(&describe(e)),
            DialError::Socks5(e) => write!(f, "{e}"),
            DialError::TimedOut => f.write_str("connect timed out"),
        }
    }
}

/// Dials `target` the way the relay goes.
async fn dial(via: Via, target: SocketAddr) -> Result<tokio::net::TcpStream, DialError> {
    match via {
        Via::Direct => tokio::net::TcpStream::connect(target)
            .await
            .map_err(DialError::Io),
        Via::Socks5(proxy) => {
            let mut s = tokio::net::TcpStream::connect(proxy)
                .await
                .map_err(|e| DialError::Socks5(socks5::Error::Io(e)))?;
            socks5::connect(&mut s, target)
                .await
                .map_err(DialError::Socks5)?;
            Ok(s)
        }
    }
}

/// Takes the held SYNs of `listener` and relays each, and hands the accepted
/// connections to their relays; ends only when the listener fails.
pub async fn serve(listener: TcpListener, relay: Arc<Relay>) -> io::Result<()> {
    let listener = Arc::new(listener);
    let pending: Pending = Arc::default();
    tokio::select! {
        r = take_syns(listener.clone(), pending.clone(), relay) => r,
        r = accept(&listener, &pending) => r,
    }
}

async fn take_syns(
    listener: Arc<TcpListener>,
    pending: Pending,
    relay: Arc<Relay>,
) -> io::Result<()> {
    loop {
        // A slot first: meanwhile new SYNs wait, held, in the SYN queue.
        let slot = relay
            .tcp_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(io::Error::other)?;
        let syn = listener.next_syn().await?;
        if relay.is_own(syn.local.ip()) {
            refuse(
                &listener,
                syn,
                SynRefusal::Reset,
                &relay,
                "layer4's own address",
            );
            continue;
        }
        tokio::spawn(self::relay(
            listener.clone(),
            syn,
            pending.clone(),
            relay.clone(),
            slot,
        ));
    }
}

/// Gives each accepted connection to the relay that completed its SYN.
async fn accept(listener: &TcpListener, pending: &Pending) -> io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(a) => a,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
                ) =>
            {
                continue
            }
            Err(e) => return Err(e),
        };
        let Ok(local) = stream.local_addr() else {
            continue;
        };
        let waiting = lock(pending).remove(&SynRequest {
            local,
            remote: peer,
        });
        // A connection no relay waits for (its relay gave up) is dropped.
        if let Some(tx) = waiting {
            let _ = tx.send(stream);
        }
    }
}

fn lock(p: &Pending) -> std::sync::MutexGuard<'_, HashMap<SynRequest, oneshot::Sender<TcpStream>>> {
    // A panicked relay leaves a usable map: entries are inserted and removed whole.
    p.lock().unwrap_or_else(|e| e.into_inner())
}

/// Refuses `syn` as `how` says, counted, and said with `-v`.
fn refuse(listener: &TcpListener, syn: SynRequest, how: SynRefusal, relay: &Relay, why: &str) {
    Counters::add(&relay.counters.tcp_refused);
    let sent = match listener.refuse_syn(syn, how) {
        Ok(()) => match how {
            SynRefusal::Reset => "RST",
            SynRefusal::HostUnreachable => "ICMP host unreachable",
            SynRefusal::Silent => "nothing",
        },
        Err(_) => "nothing: the SYN expired",
    };
    if relay.verbose {
        eprintln!(
            "l4: tun2socks: refused {} -> {}: {why} ({sent})",
            syn.remote, syn.local
        );
    }
}

/// Dials the upstream for `syn`, then completes or refuses it, and copies.
async fn relay(
    listener: Arc<TcpListener>,
    syn: SynRequest,
    pending: Pending,
    relay: Arc<Relay>,
    _slot: OwnedSemaphorePermit,
) {
    let dialled =
        match tokio::time::timeout(relay.connect_timeout, dial(relay.via, syn.local)).await {
            Ok(r) => r,
            Err(_) => Err(DialError::TimedOut),
        };
    let mut upstream = match dialled {
        Ok(s) => s,
        Err(e) => {
            refuse(&listener, syn, refusal(&e), &relay, &e.to_string());
            return;
        }
    };
    let (tx, rx) = oneshot::channel();
    lock(&pending).insert(syn, tx);
    if listener.complete_syn(syn).is_err() {
        // Expired while we dialled (the client gave up), or the tuple is taken.
        lock(&pending).remove(&syn);
        return;
    }
    let mut client = match tokio::time::timeout(HANDSHAKE, rx).await {
        Ok(Ok(c)) => c,
        _ => {
            lock(&pending).remove(&syn);
            return;
        }
    };
    Counters::add(&relay.counters.tcp_relayed);
    // A relay: what arrives goes on at once.
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    // Each end-of-stream becomes a shutdown of the other side's writing (a FIN),
    // and the other direction goes on until its own end.
    if tokio::io::copy_bidirectional(&mut client, &mut upstream)
        .await
        .is_err()
    {
        // One side failed (a reset, mostly): the other is reset too, as an
        // end-to-end connection would have been.
        let _ = client.set_zero_linger();
        let _ = upstream.set_zero_linger();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(kind: io::ErrorKind) -> DialError {
        DialError::Io(io::Error::from(kind))
    }

    #[test]
    fn the_client_is_refused_as_the_upstream_refused() {
        use io::ErrorKind::*;
        assert_eq!(refusal(&io(ConnectionRefused)), SynRefusal::Reset);
        assert_eq!(refusal(&io(HostUnreachable)), SynRefusal::HostUnreachable);
        assert_eq!(
            refusal(&io(NetworkUnreachable)),
            SynRefusal::HostUnreachable
        );
        assert_eq!(refusal(&DialError::TimedOut), SynRefusal::HostUnreachable);
        assert_eq!(refusal(&io(PermissionDenied)), SynRefusal::Reset);
        let reply = |r| DialError::Socks5(socks5::Error::Reply(r));
        assert_eq!(refusal(&reply(5)), SynRefusal::Reset);
        assert_eq!(refusal(&reply(3)), SynRefusal::HostUnreachable);
        assert_eq!(refusal(&reply(4)), SynRefusal::HostUnreachable);
        assert_eq!(refusal(&reply(1)), SynRefusal::Reset);
        assert_eq!(
            refusal(&DialError::Socks5(socks5::Error::Version(4))),
            SynRefusal::Reset
        );
    }
}
