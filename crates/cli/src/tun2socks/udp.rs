//! UDP: one flow per (client, destination), each an OS socket connected to the
//! destination; answers go back from the destination's address.
//!
//! [`serve`] reads the transparent socket; a datagram of a new pair opens a
//! flow ([`Flows`], bounded: the least recently used is evicted) and a task
//! that sends the destination's answers back with `send_from_to(answer,
//! destination, client)` until the flow has been idle `--udp-timeout` either
//! way. A datagram the upstream cannot take at once is dropped, as a full
//! router queue drops it. The table is one for both families, so the bound is
//! the relay's.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use layer4_net::tokio::UdpSocket;
use tokio::task::AbortHandle;

use super::{Counters, Relay};

/// The largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;

/// A flow's key: (client, destination).
type Key = (SocketAddr, SocketAddr);

/// One live flow.
#[derive(Debug)]
struct Flow {
    /// Tells this flow from a later one of the same pair.
    id: u64,
    /// The upstream socket, for sending: std's, non-blocking, so that a send
    /// fails only when the socket's buffer is full (tokio's `try_send` also
    /// fails on a new socket until its reactor has seen it writable).
    upstream: Arc<std::net::UdpSocket>,
    /// When a datagram last went either way ([`Relay::now_ms`]).
    last: Arc<AtomicU64>,
    answers: AbortHandle,
}

/// The live flows, at most `max`.
#[derive(Debug)]
pub struct Flows {
    map: HashMap<Key, Flow>,
    max: usize,
    next_id: u64,
}

impl Flows {
    pub fn new(max: usize) -> Flows {
        Flows {
            map: HashMap::new(),
            max,
            next_id: 0,
        }
    }

    /// Removes the least recently used flow (its task aborted): its key. A
    /// linear scan, done only when a new flow finds the table full.
    fn evict_oldest(&mut self) -> Option<Key> {
        let key = *self
            .map
            .iter()
            .min_by_key(|(_, f)| f.last.load(Ordering::Relaxed))?
            .0;
        if let Some(f) = self.map.remove(&key) {
            f.answers.abort();
        }
        Some(key)
    }

    /// Removes `key`'s flow if it is still flow `id`.
    fn remove(&mut self, key: &Key, id: u64) {
        if self.map.get(key).is_some_and(|f| f.id == id) {
            self.map.remove(key);
        }
    }
}

/// The flows of both families' sockets.
pub type Shared = Arc<Mutex<Flows>>;

fn lock(f: &Shared) -> std::sync::MutexGuard<'_, Flows> {
    f.lock().unwrap_or_else(|e| e.into_inner())
}

/// An OS UDP socket connected to `dest`: its sending and receiving handles.
fn connect_upstream(dest: SocketAddr) -> io::Result<(std::net::UdpSocket, tokio::net::UdpSocket)> {
    let any = match dest.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    // Binding and connecting a UDP socket do not block.
    let s = std::net::UdpSocket::bind(SocketAddr::new(any, 0))?;
    s.connect(dest)?;
    s.set_nonblocking(true)?;
    let recv = tokio::net::UdpSocket::from_std(s.try_clone()?)?;
    Ok((s, recv))
}

/// Relays the datagrams of every flow `sock` receives; ends only when it
/// fails.
pub async fn serve(sock: UdpSocket, flows: Shared, relay: Arc<Relay>) -> io::Result<()> {
    let sock = Arc::new(sock);
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, client, dest) = sock.recv_from_to(&mut buf).await?;
        if relay.is_own(dest.ip()) {
            Counters::add(&relay.counters.udp_dropped);
            continue;
        }
        let key = (client, dest);
        let existing = lock(&flows).map.get(&key).map(|f| {
            f.last.store(relay.now_ms(), Ordering::Relaxed);
            f.upstream.clone()
        });
        let upstream = match existing {
            Some(u) => u,
            None => match open(&sock, &flows, key, &relay) {
                Ok(u) => u,
                Err(e) => {
                    Counters::add(&relay.counters.udp_dropped);
                    if relay.verbose {
                        eprintln!("l4: tun2socks: UDP {client} -> {dest}: {e}");
                    }
                    continue;
                }
            },
        };
        if upstream.send(&buf[..n]).is_err() {
            Counters::add(&relay.counters.udp_dropped);
        }
    }
}

/// Opens the flow of `key`, evicting the least recently used one if the table
/// is full: its upstream socket.
fn open(
    sock: &Arc<UdpSocket>,
    flows: &Shared,
    key: Key,
    relay: &Arc<Relay>,
) -> io::Result<Arc<std::net::UdpSocket>> {
    let (upstream, answers_from) = connect_upstream(key.1)?;
    let upstream = Arc::new(upstream);
    let last = Arc::new(AtomicU64::new(relay.now_ms()));
    let mut f = lock(flows);
    if f.map.len() >= f.max && f.evict_oldest().is_some() {
        Counters::add(&relay.counters.udp_evicted);
    }
    f.next_id += 1;
    let id = f.next_id;
    let answers = tokio::spawn(answer(
        sock.clone(),
        answers_from,
        key,
        id,
        last.clone(),
        flows.clone(),
        relay.clone(),
    ))
    .abort_handle();
    f.map.insert(
        key,
        Flow {
            id,
            upstream: upstream.clone(),
            last,
            answers,
        },
    );
    Counters::add(&relay.counters.udp_flows);
    Ok(upstream)
}

/// Sends the destination's datagrams back to the client from the destination's
/// address until the flow is idle for `--udp-timeout`; then removes it.
async fn answer(
    sock: Arc<UdpSocket>,
    upstream: tokio::net::UdpSocket,
    (client, dest): Key,
    id: u64,
    last: Arc<AtomicU64>,
    flows: Shared,
    relay: Arc<Relay>,
) {
    let idle_ms = u64::try_from(relay.udp_timeout.as_millis()).unwrap_or(u64::MAX);
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let idle = relay.now_ms().saturating_sub(last.load(Ordering::Relaxed));
        let Some(left) = idle_ms.checked_sub(idle).filter(|l| *l > 0) else {
            break;
        };
        match tokio::time::timeout(Duration::from_millis(left), upstream.recv(&mut buf)).await {
            // Not idle yet if the client sent meanwhile: the loop looks again.
            Err(_) => continue,
            Ok(Ok(n)) => {
                last.store(relay.now_ms(), Ordering::Relaxed);
                if sock.send_from_to(&buf[..n], dest, client).await.is_err() {
                    Counters::add(&relay.counters.udp_dropped);
                }
            }
            // An ICMP port unreachable for an earlier datagram: the flow
            // goes on, as the client's own connected socket would.
            Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
            Ok(Err(_)) => break,
        }
    }
    lock(&flows).remove(&(client, dest), id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_flow_is_evicted() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut flows = Flows::new(3);
            for (i, last) in [30u64, 10, 20].into_iter().enumerate() {
                let port = 1000 + i as u16;
                let key: Key = (
                    SocketAddr::from(([10, 0, 0, 1], port)),
                    SocketAddr::from(([198, 51, 100, 5], 53)),
                );
                let upstream = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                let task = tokio::spawn(std::future::pending::<()>());
                flows.map.insert(
                    key,
                    Flow {
                        id: i as u64,
                        upstream: Arc::new(upstream),
                        last: Arc::new(AtomicU64::new(last)),
                        answers: task.abort_handle(),
                    },
                );
            }
            let evicted = flows.evict_oldest().unwrap();
            assert_eq!(evicted.0.port(), 1001, "the flow last used at 10");
            assert_eq!(flows.map.len(), 2);
            // A stale id leaves the newer flow of a key alone.
            let k = *flows.map.keys().next().unwrap();
            let id = flows.map[&k].id;
            flows.remove(&k, id + 100);
            assert_eq!(flows.map.len(), 2);
            flows.remove(&k, id);
            assert_eq!(flows.map.len(), 1);
        });
    }
}
