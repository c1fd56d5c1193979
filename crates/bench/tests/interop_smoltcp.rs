//! layer4 against smoltcp 0.14, in memory: a layer4 client with a smoltcp server and a
//! smoltcp client with a layer4 server, over a [`Link`] of raw IPv4 packets (smoltcp
//! `Medium::Ip`, checksums computed and verified on both sides).
//!
//! Each test moves about 1 MB each way at once (the pattern of `layer4_bench::pattern`,
//! checked byte for byte), then closes cleanly: the client shuts down writing once it
//! has sent and received everything, the server shuts down when it sees the client's
//! end of stream. Both must see the other's end of stream, the client must end in
//! TIME-WAIT and the server in CLOSED, with no RST and no bad segment on either side.
//! Time is virtual: 50 µs per round while packets move, 1 ms per round when the link
//! is quiet, so the timers of both stacks run without the test sleeping.
//!
//! (This test lives in `crates/bench` because smoltcp 0.14 needs Rust 1.91, above the
//! `layer4` crate's `rust-version`.)

use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use layer4::{Error, ListenOptions, Shutdown, SocketHandle, Stack, State};
use layer4_bench::layer4_stack::{deliver, drain, service};
use layer4_bench::link::Link;
use layer4_bench::pattern::{PatternSink, PatternSource};
use layer4_bench::smoltcp_stack::device::LinkEnd;
use smoltcp::iface::{Config as SmConfig, Interface, SocketHandle as SmHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};

/// layer4's address; layer4 is always side A of the link.
const L4_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// smoltcp's address; smoltcp is always side B.
const SM_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const PORT: u16 = 7000;
/// Bytes each way.
const BYTES: u64 = 1_000_003;
/// smoltcp's socket buffers (window scaling on both sides above 64 KiB).
const SM_BUF: usize = 128 * 1024;

/// Virtual time, in microseconds.
#[derive(Clone, Copy)]
struct Time(i64);

impl Time {
    fn l4(self) -> layer4::Instant {
        layer4::Instant::from_nanos(1_000_000_000 + self.0 as u64 * 1000)
    }

    fn sm(self) -> smoltcp::time::Instant {
        smoltcp::time::Instant::from_micros(self.0)
    }
}

/// What a test needs from either stack's socket.
trait End {
    /// Whether the connection is open for data (for a server: accepted and open).
    fn ready(&mut self, t: Time) -> bool;
    /// Queues bytes; returns how many were taken (0 when the buffer is full).
    fn send(&mut self, t: Time, data: &[u8]) -> usize;
    /// `None` when nothing is readable now, `Some(0)` at the end of the stream.
    fn recv(&mut self, t: Time, buf: &mut [u8]) -> Option<usize>;
    fn shutdown(&mut self, t: Time);
    fn state(&self) -> String;
}

struct L4End {
    stack: Stack,
    listener: Option<SocketHandle>,
    conn: Option<SocketHandle>,
}

impl L4End {
    fn new() -> L4End {
        let config = layer4::Config::with_address("198.18.0.1/24".parse().unwrap()).seed(7);
        L4End {
            stack: Stack::new(config).unwrap(),
            listener: None,
            conn: None,
        }
    }

    fn conn(&self) -> SocketHandle {
        self.conn.expect("connection")
    }
}

impl End for L4End {
    fn ready(&mut self, _t: Time) -> bool {
        if self.conn.is_none() {
            if let Some(l) = self.listener {
                match self.stack.tcp_accept(l) {
                    Ok((h, peer)) => {
                        assert_eq!(peer.ip(), IpAddr::V4(SM_ADDR));
                        self.conn = Some(h);
                    }
                    Err(Error::WouldBlock) => return false,
                    Err(e) => panic!("layer4 accept: {e}"),
                }
            }
        }
        match self.stack.tcp_state(self.conn()).unwrap() {
            State::SynSent | State::SynReceived => false,
            State::Closed => panic!("layer4 connection closed early"),
            _ => true,
        }
    }

    fn send(&mut self, t: Time, data: &[u8]) -> usize {
        match self.stack.tcp_send(t.l4(), self.conn(), data) {
            Ok(n) => n,
            Err(Error::WouldBlock) => 0,
            Err(e) => panic!("layer4 send: {e}"),
        }
    }

    fn recv(&mut self, t: Time, buf: &mut [u8]) -> Option<usize> {
        match self.stack.tcp_recv(t.l4(), self.conn(), buf) {
            Ok(n) => Some(n),
            Err(Error::WouldBlock) => None,
            Err(e) => panic!("layer4 recv: {e}"),
        }
    }

    fn shutdown(&mut self, t: Time) {
        self.stack
            .tcp_shutdown(t.l4(), self.conn(), Shutdown::Write)
            .unwrap();
    }

    fn state(&self) -> String {
        format!("{:?}", self.stack.tcp_state(self.conn()).unwrap())
    }
}

struct SmEnd {
    iface: Interface,
    sockets: SocketSet<'static>,
    handle: SmHandle,
}

impl SmEnd {
    fn new(link: &mut Link) -> SmEnd {
        let mut config = SmConfig::new(HardwareAddress::Ip);
        config.random_seed = 11;
        let mut iface = Interface::new(config, &mut LinkEnd::b(link), Time(0).sm());
        iface.update_ip_addrs(|a| {
            a.push(IpCidr::new(IpAddress::Ipv4(SM_ADDR), 24)).unwrap();
        });
        let mut sockets = SocketSet::new(Vec::new());
        let handle = sockets.add(tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0u8; SM_BUF]),
            tcp::SocketBuffer::new(vec![0u8; SM_BUF]),
        ));
        SmEnd {
            iface,
            sockets,
            handle,
        }
    }

    fn socket(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket<'static>>(self.handle)
    }

    fn poll(&mut self, t: Time, link: &mut Link) {
        self.iface
            .poll(t.sm(), &mut LinkEnd::b(link), &mut self.sockets);
    }
}

impl End for SmEnd {
    fn ready(&mut self, _t: Time) -> bool {
        use tcp::State as S;
        match self.socket().state() {
            S::Listen | S::SynSent | S::SynReceived => false,
            S::Closed => panic!("smoltcp connection closed early"),
            _ => true,
        }
    }

    fn send(&mut self, _t: Time, data: &[u8]) -> usize {
        self.socket().send_slice(data).expect("smoltcp send")
    }

    fn recv(&mut self, _t: Time, buf: &mut [u8]) -> Option<usize> {
        match self.socket().recv_slice(buf) {
            Ok(0) => None,
            Ok(n) => Some(n),
            Err(tcp::RecvError::Finished) => Some(0),
            Err(e) => panic!("smoltcp recv: {e} in {}", self.state()),
        }
    }

    fn shutdown(&mut self, _t: Time) {
        self.socket().close();
    }

    fn state(&self) -> String {
        format!(
            "{:?}",
            self.sockets
                .get::<tcp::Socket<'static>>(self.handle)
                .state()
        )
    }
}

/// One side's application: sends `BYTES`, reads and checks `BYTES`, shuts down.
struct App {
    source: PatternSource,
    sink: PatternSink,
    eof: bool,
    shut: bool,
    /// The client shuts down once it has everything; the server on end of stream.
    client: bool,
}

impl App {
    fn new(client: bool) -> App {
        App {
            source: PatternSource::new(BYTES),
            sink: PatternSink::new(true),
            eof: false,
            shut: false,
            client,
        }
    }

    /// Returns whether anything moved.
    fn step(&mut self, t: Time, end: &mut dyn End) -> bool {
        if (self.shut && self.eof) || !end.ready(t) {
            return false;
        }
        let mut moved = false;
        while !self.source.is_done() {
            let n = end.send(t, self.source.next_chunk());
            if n == 0 {
                break;
            }
            self.source.advance(n);
            moved = true;
        }
        while !self.eof {
            match end.recv(t, self.sink.buf_mut()) {
                None => break,
                Some(0) => {
                    assert_eq!(self.sink.received(), BYTES, "end of stream too early");
                    self.eof = true;
                    moved = true;
                }
                Some(n) => {
                    self.sink.accept(n).expect("data differs from the pattern");
                    assert!(self.sink.received() <= BYTES, "more data than sent");
                    moved = true;
                }
            }
        }
        let finished = self.source.is_done() && self.sink.received() == BYTES;
        if !self.shut && finished && (self.client || self.eof) {
            end.shutdown(t);
            self.shut = true;
            moved = true;
        }
        moved
    }
}

/// Which question [`run`] asks its closure.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ask {
    /// Run both applications; did anything move?
    Apps,
    /// Is the test finished?
    Done,
}

/// Drives both stacks until `round(Ask::Done, ..)` says so, or panics after 60 s of
/// virtual time.
fn run(
    l4: &mut L4End,
    sm: &mut SmEnd,
    link: &mut Link,
    mut round: impl FnMut(Ask, Time, &mut L4End, &mut SmEnd) -> bool,
) {
    let mut t = Time(0);
    while t.0 < 60_000_000 {
        let mut moved = round(Ask::Apps, t, l4, sm);
        let before = link.a_to_b.packets() + link.b_to_a.packets();
        drain(t.l4(), &mut l4.stack, &mut link.a_to_b);
        sm.poll(t, link);
        deliver(t.l4(), &mut link.b_to_a, &mut l4.stack);
        drain(t.l4(), &mut l4.stack, &mut link.a_to_b);
        sm.poll(t, link);
        service(t.l4(), &mut l4.stack);
        moved |= link.a_to_b.packets() + link.b_to_a.packets() != before;
        if round(Ask::Done, t, l4, sm) {
            return;
        }
        t.0 += if moved { 50 } else { 1000 };
    }
    panic!(
        "no clean finish in 60 s: layer4 {}, smoltcp {}",
        l4.state(),
        sm.state()
    );
}

fn assert_clean(l4: &L4End) {
    let s = &l4.stack.stats().tcp;
    assert_eq!(s.out_rsts, 0, "layer4 sent a RST");
    assert_eq!(s.estab_resets, 0, "layer4 saw a reset");
    assert_eq!(s.in_csum_errors, 0, "layer4 saw a bad checksum");
    assert_eq!(s.in_errs, 0, "layer4 saw a bad segment");
}

#[test]
fn layer4_client_smoltcp_server_transfer_both_ways_and_close() {
    let mut link = Link::new(1500);
    let mut l4 = L4End::new();
    let mut sm = SmEnd::new(&mut link);
    sm.socket().listen(PORT).unwrap();
    let h = l4
        .stack
        .tcp_connect(
            Time(0).l4(),
            SocketAddr::new(IpAddr::V4(SM_ADDR), PORT),
            None,
        )
        .unwrap();
    l4.conn = Some(h);
    let mut client = App::new(true);
    let mut server = App::new(false);
    run(&mut l4, &mut sm, &mut link, |ask, t, l4, sm| match ask {
        Ask::Apps => client.step(t, l4) | server.step(t, sm),
        Ask::Done => {
            client.eof
                && server.shut
                && l4.stack.tcp_state(h) == Ok(State::TimeWait)
                && sm.socket().state() == tcp::State::Closed
        }
    });
    assert_eq!(server.sink.received(), BYTES);
    assert_clean(&l4);
    l4.stack.close(Time(0).l4(), h).unwrap();
}

#[test]
fn smoltcp_client_layer4_server_transfer_both_ways_and_close() {
    let mut link = Link::new(1500);
    let mut l4 = L4End::new();
    let mut sm = SmEnd::new(&mut link);
    l4.listener = Some(
        l4.stack
            .tcp_listen(
                SocketAddr::new(IpAddr::V4(L4_ADDR), PORT),
                ListenOptions::default(),
            )
            .unwrap(),
    );
    let cx = sm.iface.context();
    sm.sockets
        .get_mut::<tcp::Socket<'static>>(sm.handle)
        .connect(cx, (IpAddress::Ipv4(L4_ADDR), PORT), 40_000)
        .unwrap();
    let mut client = App::new(true);
    let mut server = App::new(false);
    run(&mut l4, &mut sm, &mut link, |ask, t, l4, sm| match ask {
        Ask::Apps => client.step(t, sm) | server.step(t, l4),
        Ask::Done => {
            client.eof
                && server.shut
                && l4.conn.and_then(|h| l4.stack.tcp_state(h).ok()) == Some(State::Closed)
                && sm.socket().state() == tcp::State::TimeWait
        }
    });
    assert_eq!(server.sink.received(), BYTES);
    assert_clean(&l4);
    let h = l4.conn.unwrap();
    l4.stack.close(Time(0).l4(), h).unwrap();
}
