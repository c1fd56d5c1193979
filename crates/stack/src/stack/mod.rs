//! [`Stack`]: the host stack as one sans-IO state machine.
//!
//! # Driving a stack
//!
//! Everything comes in through calls that carry `now`, everything goes out through
//! polls. After any input (a packet, a timeout, a socket call), a driver:
//!
//! 1. calls [`Stack::poll_transmit`] until it returns `None`, sending each packet;
//! 2. calls [`Stack::poll_event`] until it returns `None`, waking whoever waits on
//!    those sockets;
//! 3. calls [`Stack::poll_timeout`] and arranges to call [`Stack::handle_timeout`] at
//!    that instant (or earlier, with the next packet).
//!
//! `poll_timeout` assumes step 1 ran: a stack with packets waiting reports only its
//! timers.
//!
//! `now` should come from a monotonic clock. A `now` earlier than one the stack
//! was already given is taken as that later one ([`clock`]): for the stack, time
//! stands still until the caller's clock catches up; it never goes back.
//!
//! Packets that arrived together (a `recvmmsg`, a TUN device read until it would
//! block, a link's queue) can go in as one input with [`Stack::handle_packets`]:
//! the same result as [`Stack::handle_packet`] for each in turn, cheaper for a
//! bulk transfer's runs of in-order segments; the polls follow once, after the
//! batch.
//!
//! The pieces, one file each:
//! - [`demux`]: 4-tuple and listener keys, and the keyed hasher of the maps;
//! - [`conn_table`]: 4-tuple → connection, handles only (tuples compared through the slab);
//! - [`ingress`]: `handle_packet`: IP validation, reassembly, dispatch, and the
//!   fixed-layout paths for the common IPv4 and IPv6 TCP segments; `handle_packets`:
//!   a batch, runs of one connection's predicted segments (of either family) taken
//!   together;
//! - [`egress`]: `poll_transmit`: stack-made packets first, then sockets in turn;
//! - [`clock`]: the stack's own clock, which a caller's `now` cannot move back;
//! - [`burst`]: the send burst cursor: the next full segments of a flight at the
//!   same `now` without the general pass, dropped by any other entry point;
//! - [`tcp_api`]: TCP socket calls (listen, connect, accept, send, recv, close);
//! - [`tcp_input`]: segments to connections and listeners, RSTs for no connection;
//! - [`syn_cookie`]: SYN cookies when a listener's SYN queue is full (RFC 4987);
//! - [`held_syn`]: listeners that hold each new SYN until the application
//!   completes or refuses it (the SYN-level decision of a tun2socks proxy);
//! - [`udp_api`]: UDP socket calls and datagram input;
//! - [`transparent`]: transparent ("any address") TCP listeners and UDP sockets
//!   (`IP_TRANSPARENT`, for tun2socks), and what ingress takes for them (the
//!   ICMP errors about what they sent too);
//! - [`icmp`]: echo replies, ICMP errors to the sockets they concern, errors sent;
//! - [`pmtu_raise`]: open connections back to a higher path MTU when a lowered
//!   estimate expires;
//! - [`timers`]: the deadline heap over all sockets;
//! - [`ended_tuples`]: the tuples of connections that failed (a RST, an abort,
//!   a timeout), for a TIME-WAIT length: a new incarnation opens past them;
//! - [`time_wait`]: TIME-WAIT connections as compact records, bounded;
//! - [`table`]: the socket table `ss` prints;
//! - [`invariants`]: a connection's consistency checks, for fuzzing;
//! - [`ooo_budget`]: the stack-wide bound on out-of-order data;
//! - [`memory`]: gauges of the memory that input can grow, beside their bounds;
//! - `rx_path_tests` (tests only): the receive shortcuts against the general path;
//! - `rx_batch_tests` (tests only): [`Stack::handle_packets`] against
//!   [`Stack::handle_packet`] one packet at a time.

mod burst;
mod clock;
mod conn_table;
mod demux;
mod egress;
mod ended_tuples;
mod held_syn;
mod icmp;
mod ingress;
mod invariants;
mod memory;
mod ooo_budget;
mod pmtu_raise;
mod syn_cookie;
mod table;
mod tcp_api;
mod tcp_input;
mod time_wait;
mod timers;
mod transparent;
mod udp_api;

#[cfg(test)]
mod egress_tests;
#[cfg(test)]
mod icmp_tests;
#[cfg(test)]
mod pmtu_tests;
#[cfg(test)]
mod reincarnation_tests;
#[cfg(test)]
mod rx_batch_tests;
#[cfg(test)]
mod rx_path_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod transparent_connect_tests;
#[cfg(test)]
mod transparent_icmp_tests;
#[cfg(test)]
mod transparent_tests;
#[cfg(test)]
mod tx_path_tests;
#[cfg(test)]
mod udp_tests;

use core::net::{IpAddr, SocketAddr};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use crate::config::{Config, ConfigError};
use crate::event::{Event, EventKind};
use crate::ip::pmtu::PathMtuCache;
use crate::ip::ratelimit::TokenBucket;
use crate::ip::reassembly::Reassembler;
use crate::ip::route::{Route, RouteTable};
use crate::ports::EphemeralPorts;
use crate::rand::StackRng;
use crate::socket::{Slab, SocketHandle};
use crate::stats::Stats;
use crate::tcp::isn::IsnGenerator;
use crate::tcp::syncookie::SynCookies;
use crate::tcp::{Connection, SocketOptions, TcpConfig};
use crate::time::Instant;
use crate::udp::UdpSocket;
use crate::wire::SeqNumber;

pub use demux::FourTuple;
pub use held_syn::SynRefusal;
pub use ingress::RxOffload;
pub use table::{SocketEntry, SocketProtocol};
pub use tcp_api::{ListenOptions, Shutdown};
pub(crate) use time_wait::TimeWaitState;

use demux::{KeyedState, ListenKey, LocalKeyState};

/// A TCP listener: its address, backlog and accept queue.
#[derive(Debug)]
pub(crate) struct Listener {
    pub(crate) local: SocketAddr,
    pub(crate) backlog: usize,
    pub(crate) accept_queue: VecDeque<SocketHandle>,
    /// Connections in SYN-RECEIVED that came through this listener.
    pub(crate) syn_pending: usize,
    /// When this listener last answered a SYN with a cookie: ACKs that match no
    /// connection are checked as cookies for two cookie steps after.
    pub(crate) cookie_sent_at: Option<Instant>,
    pub(crate) options: SocketOptions,
    /// The congestion controller of the connections it accepts.
    pub(crate) cc: crate::cc::CcAlgorithm,
    /// Made by [`Stack::tcp_listen_transparent`]: in the transparent table,
    /// not `Stack::listeners`.
    pub(crate) transparent: bool,
    /// The SYNs it holds for the application's decision, when it holds them
    /// ([`Stack::tcp_hold_syns`]).
    pub(crate) held: Option<Box<held_syn::HeldSyns>>,
}

impl Listener {
    /// A listener on `local` with `options`' backlog (at least 1), the
    /// stack's default socket options and controller, no connection yet;
    /// `transparent` for [`Stack::tcp_listen_transparent`]'s.
    pub(crate) fn new(
        local: SocketAddr,
        options: &ListenOptions,
        tcp: &TcpConfig,
        transparent: bool,
    ) -> Listener {
        Listener {
            local,
            backlog: options.backlog.max(1),
            accept_queue: VecDeque::new(),
            syn_pending: 0,
            cookie_sent_at: None,
            options: SocketOptions::from_config(tcp),
            cc: tcp.default_congestion_algorithm(),
            transparent,
            held: None,
        }
    }
}

/// A TCP connection and what the stack knows about it.
///
/// `#[repr(C)]`: its own fields first, the connection after them, whose field
/// order counts from the slot's start (see `Connection`'s docs). Not aligned
/// to a cache line, though that would fix which fields share a line and save
/// the 15th line an 888-byte slot spans when `malloc`'s 16-byte alignment
/// starts it mid-line (`connect --window 64`: 7.91 -> 7.44 M D1 misses): the
/// size would round up to 896 and `Box` would allocate through
/// `posix_memalign`, whose leftover fragments cost ~64 bytes of memory per
/// connection (idle benchmark, docs/benchmarks.md, session 12, data12).
#[derive(Debug)]
#[repr(C)]
pub(crate) struct TcpSlot {
    /// Its tuple's hash under the key of the connection and TIME-WAIT tables
    /// (`demux::TupleHash`), kept so that taking it out of those tables, or
    /// growing them, hashes nothing again.
    pub(crate) tuple_hash: u64,
    /// The listener a passive connection came through, until accepted.
    pub(crate) parent: Option<SocketHandle>,
    /// In the 4-tuple map.
    pub(crate) in_demux: bool,
    /// At offset 24.
    pub(crate) conn: Connection,
}

#[derive(Debug)]
pub(crate) enum Socket {
    Listener(Box<Listener>),
    Tcp(Box<TcpSlot>),
    Udp(Box<UdpSocket>),
}

/// A socket and its place in the stack's queues.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) socket: Socket,
    /// The deadline this socket has in the timer heap.
    pub(crate) scheduled: Option<Instant>,
    /// In the transmit queue.
    pub(crate) tx_queued: bool,
    /// Pending event bits ([`EventKind::bit`]).
    pub(crate) events: u8,
    /// In the event queue.
    pub(crate) event_queued: bool,
}

impl Entry {
    fn new(socket: Socket) -> Entry {
        Entry {
            socket,
            scheduled: None,
            tx_queued: false,
            events: 0,
            event_queued: false,
        }
    }

    /// Adds event `bits` to this socket (at `handle`), queueing it in `events` the
    /// first time. On the entry, not the stack, so that a pass that already holds
    /// the entry needs no second slab look-up.
    #[inline]
    pub(crate) fn raise_bits(
        &mut self,
        events: &mut VecDeque<SocketHandle>,
        handle: SocketHandle,
        bits: u8,
    ) {
        self.events |= bits;
        if !self.event_queued {
            self.event_queued = true;
            events.push_back(handle);
        }
    }

    /// Puts this socket (at `handle`) in `tx_queue` unless it is there already.
    #[inline]
    pub(crate) fn enqueue_tx(
        &mut self,
        tx_queue: &mut VecDeque<SocketHandle>,
        handle: SocketHandle,
    ) {
        if !self.tx_queued {
            self.tx_queued = true;
            tx_queue.push_back(handle);
        }
    }
}

/// The host stack. See the [module docs](self) for the order of the polls.
#[derive(Debug)]
pub struct Stack {
    pub(crate) config: Config,
    /// The latest `now` passed in: what every entry point takes as `now`
    /// when it is given an earlier one.
    pub(crate) clock: clock::StackClock,
    pub(crate) tcp_config: Arc<TcpConfig>,
    pub(crate) routes: RouteTable,
    pub(crate) sockets: Slab<Entry>,
    pub(crate) conns: conn_table::ConnTable,
    /// Connections in TIME-WAIT that no handle refers to, as compact records.
    pub(crate) time_wait: time_wait::TimeWaitTable,
    pub(crate) listeners: HashMap<ListenKey, SocketHandle, LocalKeyState>,
    pub(crate) udp_bound: HashMap<ListenKey, SocketHandle, LocalKeyState>,
    /// Transparent listeners and UDP sockets (`transparent`).
    pub(crate) transparent: transparent::TransparentSockets,
    /// The listener last found for a segment's local (address, port): a
    /// server's SYNs all go to one listener. Cleared whenever `listeners`
    /// changes, so it answers what the map answers.
    pub(crate) last_listener: core::cell::Cell<Option<(ListenKey, SocketHandle)>>,
    /// What `tcp_connect` gives a new connection, resolved from `tcp_config`.
    pub(crate) connect_defaults: Option<tcp_api::ConnectDefaults>,
    pub(crate) tcp_conn_count: usize,
    /// Receive-buffer bytes pinned by out-of-order data, all connections together.
    pub(crate) ooo_bytes: usize,
    /// What each connection holding out-of-order data counts in `ooo_bytes` (only
    /// those: a connection without holes costs nothing here).
    pub(crate) ooo_charged: BTreeMap<SocketHandle, u32>,
    /// Initial sequence numbers (RFC 6528) and, from the same hash, the
    /// per-connection timestamp offsets (`IsnGenerator::isn_and_ts_offset`).
    pub(crate) isn: IsnGenerator,
    /// The ISS for the connection of a SYN that just ended TIME-WAIT, from
    /// the moment it did until the listener takes the SYN (`tcp_input`).
    pub(crate) recycled_iss: Option<SeqNumber>,
    /// The tuples of connections that failed, for a while: a new incarnation
    /// opens past their sequence numbers (`ended_tuples`).
    pub(crate) ended: ended_tuples::EndedTuples,
    /// The SYN cookie key (RFC 4987 section 3.6).
    pub(crate) syn_cookies: SynCookies,
    pub(crate) tcp_ports: EphemeralPorts,
    pub(crate) udp_ports: EphemeralPorts,
    pub(crate) rng: StackRng,
    pub(crate) reassembler: Reassembler,
    pub(crate) pmtu: PathMtuCache,
    /// Connections that took a lowered path MTU, to raise when it expires.
    pub(crate) pmtu_raises: pmtu_raise::PmtuRaises,
    pub(crate) icmp_limit: TokenBucket,
    pub(crate) rst_limit: TokenBucket,
    pub(crate) timers: timers::TimerHeap,
    pub(crate) tx_queue: VecDeque<SocketHandle>,
    /// The send burst in progress, if any (`burst`).
    pub(crate) burst: Option<burst::BurstCursor>,
    /// Stack-made packets (RSTs, ICMP), whole IP packets, bounded.
    pub(crate) control: VecDeque<Vec<u8>>,
    pub(crate) events: VecDeque<SocketHandle>,
    pub(crate) stats: Stats,
    pub(crate) ipv4_ident: u16,
    /// The last (source, destination) pair of an IPv4 TCP segment that took the
    /// fixed-layout path (`ingress`) and passed its address checks: the checks
    /// depend only on the pair and the configured addresses, which never change.
    pub(crate) rx_v4_peers: Option<(core::net::Ipv4Addr, core::net::Ipv4Addr)>,
    /// Which receive shortcuts run (tests turn them off to compare).
    #[cfg(test)]
    pub(crate) rx_paths: ingress::RxPaths,
}

impl Stack {
    /// A stack for `config`, or why the configuration is unusable.
    pub fn new(config: Config) -> Result<Stack, ConfigError> {
        config.validate()?;
        let root = StackRng::from_seed(config.seed);
        let mut routes = RouteTable::new();
        for addr in &config.addresses {
            routes.add(Route::new(addr.network(), None));
        }
        for route in &config.routes {
            routes.add(*route);
        }
        let tcp_ports = EphemeralPorts::new(config.ports.clone(), root.fork("tcp-ports"))
            .map_err(ConfigError::Ports)?;
        let udp_ports = EphemeralPorts::new(config.ports.clone(), root.fork("udp-ports"))
            .map_err(ConfigError::Ports)?;
        let keys = root.fork("demux-hash");
        // One key for the two tables of 4-tuples, so that a tuple's hash serves both
        // (`demux::TupleHash`).
        let tuples = KeyedState::new(keys.fork("conns"));
        Ok(Stack {
            clock: clock::StackClock::default(),
            tcp_config: Arc::new(config.tcp.clone()),
            routes,
            sockets: Slab::default(),
            conns: conn_table::ConnTable::new(tuples.clone(), config.tcp.spare_slots),
            time_wait: time_wait::TimeWaitTable::new(tuples),
            listeners: HashMap::with_hasher(LocalKeyState::new(keys.fork("listeners"))),
            udp_bound: HashMap::with_hasher(LocalKeyState::new(keys.fork("udp"))),
            transparent: transparent::TransparentSockets::default(),
            last_listener: core::cell::Cell::new(None),
            connect_defaults: None,
            tcp_conn_count: 0,
            isn: IsnGenerator::new(&mut root.fork("isn")),
            recycled_iss: None,
            ended: ended_tuples::EndedTuples::default(),
            syn_cookies: SynCookies::new(&mut root.fork("syn-cookies")),
            tcp_ports,
            udp_ports,
            rng: root.fork("misc"),
            reassembler: Reassembler::new(config.reassembly),
            ooo_bytes: 0,
            ooo_charged: BTreeMap::new(),
            pmtu: PathMtuCache::new(config.pmtu),
            pmtu_raises: pmtu_raise::PmtuRaises::default(),
            icmp_limit: TokenBucket::new(config.icmp_errors_per_sec, config.icmp_errors_burst),
            rst_limit: TokenBucket::new(config.tcp.rsts_per_sec, config.tcp.rsts_per_sec / 10 + 1),
            timers: timers::TimerHeap::new(),
            tx_queue: VecDeque::new(),
            burst: None,
            control: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            ipv4_ident: root.fork("ipv4-ident").u32() as u16,
            rx_v4_peers: None,
            #[cfg(test)]
            rx_paths: ingress::RxPaths::default(),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Sets the TCP send and receive buffer limits (`TcpConfig::send_buffer`,
    /// `TcpConfig::recv_buffer`) of the connections opened from now on; existing
    /// ones keep theirs. For a driver that learns what its device can carry after
    /// the stack was built (a TUN with offloads moves ~10 Gbit/s, which 256 KiB
    /// windows starve). A zero leaves that limit as it is.
    pub fn set_tcp_buffers(&mut self, send: usize, recv: usize) {
        if send > 0 {
            self.config.tcp.send_buffer = send;
        }
        if recv > 0 {
            self.config.tcp.recv_buffer = recv;
        }
        // Connections share the TCP configuration they were opened with.
        self.tcp_config = Arc::new(self.config.tcp.clone());
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Connections in TIME-WAIT held as compact records (at most
    /// `TcpConfig::time_wait_limit`); a TIME-WAIT connection whose handle the
    /// application still holds is not among them.
    pub fn time_wait_count(&self) -> usize {
        self.time_wait.len()
    }

    /// Whether `addr` is one of the stack's addresses.
    pub fn is_local(&self, addr: IpAddr) -> bool {
        self.config.addresses.iter().any(|a| a.addr() == addr)
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        loop {
            let handle = *self.events.front()?;
            let Some(entry) = self.sockets.get_mut(handle) else {
                self.events.pop_front();
                continue;
            };
            // `EventKind::ALL[i].bit()` is `1 << i`: the lowest bit set is the first
            // kind pending in that order.
            let Some(&kind) = EventKind::ALL.get(entry.events.trailing_zeros() as usize) else {
                entry.event_queued = false;
                self.events.pop_front();
                continue;
            };
            entry.events &= !kind.bit();
            if entry.events == 0 {
                entry.event_queued = false;
                self.events.pop_front();
            }
            return Some(Event { handle, kind });
        }
    }

    /// Raises `kind` on `handle`.
    pub(crate) fn raise(&mut self, handle: SocketHandle, kind: EventKind) {
        if let Some(entry) = self.sockets.get_mut(handle) {
            entry.raise_bits(&mut self.events, handle, kind.bit());
        }
    }

    /// Puts `handle` in the transmit queue.
    pub(crate) fn queue_tx(&mut self, handle: SocketHandle) {
        if let Some(entry) = self.sockets.get_mut(handle) {
            entry.enqueue_tx(&mut self.tx_queue, handle);
        }
    }

    /// Queues a stack-made packet, counting a drop when the queue is full.
    pub(crate) fn queue_control(&mut self, packet: Vec<u8>) -> bool {
        if self.control.len() >= self.config.max_control_queue {
            if packet.first().is_some_and(|b| b >> 4 == 6) {
                self.stats.ip6.out_discards += 1;
            } else {
                self.stats.ip.out_discards += 1;
            }
            return false;
        }
        self.control.push_back(packet);
        true
    }

    /// The path MTU toward `dst` now.
    pub(crate) fn path_mtu(&self, now: Instant, dst: IpAddr) -> u16 {
        let route_mtu = self.routes.lookup(dst).and_then(|r| r.mtu);
        self.path_mtu_via(now, dst, route_mtu)
    }

    /// [`path_mtu`](Self::path_mtu) when the route toward `dst` was already looked
    /// up: `route_mtu` is its MTU, if it has one.
    pub(crate) fn path_mtu_via(&self, now: Instant, dst: IpAddr, route_mtu: Option<u16>) -> u16 {
        let link = route_mtu.unwrap_or(self.config.mtu).min(self.config.mtu);
        self.pmtu.mtu(now, dst, link)
    }

    /// The source address for `dst`, or `None` without a route.
    pub(crate) fn source_for(&self, dst: IpAddr) -> Option<IpAddr> {
        self.routes.lookup(dst)?;
        self.routes.select_source(dst, &self.config.addresses)
    }
}
#[cfg(test)]
mod size_tests {
    use core::mem::size_of;

    /// An idle connection costs its boxed slot, a slab entry and ~19 bytes of
    /// connection table; the idle benchmark's ≤ 1 KiB per connection depends on these
    /// staying small (docs/benchmarks.md). 872 bytes (the slot's tuple hash took it
    /// from 864) was one 880-byte glibc chunk; 880 (the congestion state's box became
    /// a wide pointer when the controller moved into it, saving a whole allocation
    /// per active connection) is one 896-byte chunk: idle measured 945 B/conn.
    /// 888 (the thin pointer to the box through which a kept congestion state
    /// is handed to a connection about to send) is still one 896-byte chunk
    /// (888 + 8 bytes of chunk header), the largest slot that is: idle measured
    /// 953 B/conn.
    #[test]
    fn per_connection_state_stays_compact() {
        assert!(
            size_of::<super::TcpSlot>() <= 888,
            "{}",
            size_of::<super::TcpSlot>()
        );
        assert!(
            size_of::<super::Entry>() <= 32,
            "{}",
            size_of::<super::Entry>()
        );
        assert_eq!(size_of::<crate::socket::SocketHandle>(), 8);
    }

    /// `poll_event` finds the first pending kind by the lowest bit set.
    #[test]
    fn event_bits_follow_the_order_of_all_kinds() {
        for (i, kind) in crate::event::EventKind::ALL.into_iter().enumerate() {
            assert_eq!(kind.bit(), 1 << i, "{kind:?}");
        }
    }
}
