#!/usr/bin/env bash
# Regenerate the golden packet captures in this directory from the real Linux kernel.
#
# Run as root:   sudo ./capture.sh
# Needs: iproute2, tcpdump, ethtool, iputils-ping, python3, nftables (for tcp4_sack only).
#
# Topology (three network namespaces joined by veth pairs; no traffic leaves them):
#
#   l4cap-a                  l4cap-r (router)                   l4cap-b
#   a0 10.77.1.2/24  <---->  r0 10.77.1.1/24    r1 10.77.2.1/24  <---->  b0 10.77.2.2/24
#      fd00:77:1::2/64          fd00:77:1::1/64    fd00:77:2::1/64           fd00:77:2::2/64
#      MTU 1500                 MTU 1500           MTU 1400 (IPv6 mtu 1280)  MTU 1400 (IPv6 1280)
#
# Every scenario gets freshly created namespaces (so no cached path MTU or neighbour state
# leaks between scenarios) and is captured with tcpdump on a0, the endpoint "a" side, with
# checksum offloads turned off on every veth so the captured checksums are the real ones.
# ARP and IPv6 neighbour discovery / MLD are filtered out of the captures.
set -euo pipefail

OUT=$(cd "$(dirname "$0")" && pwd)
NS_A=l4cap-a
NS_R=l4cap-r
NS_B=l4cap-b
TMP=$(mktemp -d /tmp/l4cap.XXXXXX)
CAP_PID=
BG_PIDS=()

A4=10.77.1.2 R4A=10.77.1.1 R4B=10.77.2.1 B4=10.77.2.2
A6=fd00:77:1::2 R6A=fd00:77:1::1 R6B=fd00:77:2::1 B6=fd00:77:2::2

# Capture filters: IPv4 only (no ARP); IPv6 without hop-by-hop (MLD) and without ICMPv6 types
# 130..143 (MLD, router/neighbour discovery, redirects).
F4='ip'
F6='ip6 and ip6[6] != 0 and not (icmp6 and ip6[40] >= 130 and ip6[40] <= 143)'

log() { echo "capture.sh: $*" >&2; }

teardown() {
    local ns
    for ns in "$NS_A" "$NS_R" "$NS_B"; do
        ip netns del "$ns" 2>/dev/null || true
    done
}

cleanup() {
    local p
    if [[ -n "$CAP_PID" ]]; then kill -TERM "$CAP_PID" 2>/dev/null || true; fi
    for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    teardown
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ $EUID -eq 0 ]] || { echo "capture.sh: must run as root" >&2; exit 1; }
for tool in ip tcpdump ethtool ping python3 timeout; do
    command -v "$tool" >/dev/null || { echo "capture.sh: missing $tool" >&2; exit 1; }
done

nsa() { ip netns exec "$NS_A" "$@"; }
nsr() { ip netns exec "$NS_R" "$@"; }
nsb() { ip netns exec "$NS_B" "$@"; }

setup() {
    teardown
    local ns
    for ns in "$NS_A" "$NS_R" "$NS_B"; do
        ip netns add "$ns"
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
            net.ipv6.conf.default.accept_dad=0 \
            net.ipv6.conf.default.router_solicitations=0 \
            net.ipv6.conf.all.router_solicitations=0
        ip -n "$ns" link set lo up
    done
    ip link add a0 netns "$NS_A" address 02:00:00:77:01:02 type veth \
        peer name r0 netns "$NS_R" address 02:00:00:77:01:01
    ip link add r1 netns "$NS_R" address 02:00:00:77:02:01 type veth \
        peer name b0 netns "$NS_B" address 02:00:00:77:02:02

    # Narrow link between router and b: 1400 for IPv4.
    ip -n "$NS_R" link set r1 mtu 1400
    ip -n "$NS_B" link set b0 mtu 1400

    nsr sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

    ip -n "$NS_A" addr add "$A4/24" dev a0
    ip -n "$NS_A" addr add "$A6/64" dev a0 nodad
    ip -n "$NS_R" addr add "$R4A/24" dev r0
    ip -n "$NS_R" addr add "$R6A/64" dev r0 nodad
    ip -n "$NS_R" addr add "$R4B/24" dev r1
    ip -n "$NS_R" addr add "$R6B/64" dev r1 nodad
    ip -n "$NS_B" addr add "$B4/24" dev b0
    ip -n "$NS_B" addr add "$B6/64" dev b0 nodad

    local pair
    for pair in "$NS_A a0" "$NS_R r0" "$NS_R r1" "$NS_B b0"; do
        set -- $pair
        # Checksums computed in software, no segmentation/coalescing offloads: what tcpdump
        # sees is exactly what is on the (virtual) wire.
        ip netns exec "$1" ethtool -K "$2" tx off rx off sg off tso off gso off gro off \
            >/dev/null 2>&1 || true
        ip -n "$1" link set "$2" up
    done
    # ... and 1280 (the IPv6 minimum) for IPv6; set after link up, which resets it.
    nsr sysctl -qw net.ipv6.conf.r1.mtu=1280
    nsb sysctl -qw net.ipv6.conf.b0.mtu=1280

    ip -n "$NS_A" route add default via "$R4A"
    ip -n "$NS_A" -6 route add default via "$R6A"
    ip -n "$NS_B" route add default via "$R4B"
    ip -n "$NS_B" -6 route add default via "$R6B"

    # Warm neighbour caches so captures start with the traffic of interest.
    nsa timeout 5 ping -q -c 1 -W 2 "$B4" >/dev/null
    nsa timeout 5 ping -q -6 -c 1 -W 2 "$B6" >/dev/null
}

# start_cap NAME FILTER: capture on a0 into NAME.pcap
start_cap() {
    local name=$1 filter=$2
    rm -f "$OUT/$name.pcap"
    # Started directly (not through a shell function) so $! is the timeout process, which
    # forwards SIGTERM to tcpdump; background jobs of a script ignore SIGINT.
    ip netns exec "$NS_A" timeout 60 tcpdump -i a0 -s 0 -U --immediate-mode -n -Z root --time-stamp-precision=nano \
        -w "$OUT/$name.pcap" "$filter" 2>"$TMP/$name.err" &
    CAP_PID=$!
    local i
    for i in $(seq 50); do
        grep -q 'listening on' "$TMP/$name.err" 2>/dev/null && return 0
        sleep 0.1
    done
    cat "$TMP/$name.err" >&2
    log "tcpdump did not start for $name"
    exit 1
}

stop_cap() {
    sleep 0.5
    kill -TERM "$CAP_PID" 2>/dev/null || true
    wait "$CAP_PID" || true
    CAP_PID=
}

# run_bg NS CMD...: start a background process in a namespace, remember its pid
run_bg() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@" &
    BG_PIDS+=($!)
}

wait_ready() { # FILE
    local i
    for i in $(seq 50); do
        grep -q ready "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    log "server did not become ready ($1)"
    exit 1
}

wait_bg() {
    local p
    for p in "${BG_PIDS[@]}"; do wait "$p" || true; done
    BG_PIDS=()
}

# ---------------------------------------------------------------------------------------------
# Traffic generators (python3, standard library only)

TCP_SERVER='
import socket, sys
addr, port, reply = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
data = b""
while not data.endswith(b"\n"):
    chunk = c.recv(4096)
    if not chunk:
        break
    data += chunk
body = bytes((0x61 + i % 26) for i in range(reply))
c.sendall(b"got %d bytes\n" % len(data) + body + b"\n")
while c.recv(4096):
    pass
c.close()
s.close()
'

TCP_CLIENT='
import socket, sys
addr, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((addr, port), timeout=5)
s.sendall(b"hello from a, layer4 golden capture\n")
got = b""
while got.count(b"\n") < 2:
    chunk = s.recv(4096)
    if not chunk:
        break
    got += chunk
s.close()
'

TCP_REFUSED='
import socket, sys
addr, port = sys.argv[1], int(sys.argv[2])
try:
    socket.create_connection((addr, port), timeout=5)
except ConnectionRefusedError:
    pass
else:
    sys.exit("connect unexpectedly succeeded")
'

# SACK: six 500-byte segments AAAA.. to FFFF.. sent back to back; the router drops the BBBB..
# and DDDD.. segments once each, so b acknowledges with one and then two SACK blocks.
SACK_SERVER='
import socket, sys
addr, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
n = 0
while n < 3000:
    chunk = c.recv(4096)
    if not chunk:
        break
    n += len(chunk)
c.sendall(b"ok %d\n" % n)
while c.recv(4096):
    pass
c.close()
s.close()
'

SACK_CLIENT='
import socket, sys
addr, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(5)
# MSS 512 minus 12 bytes of timestamp option: exactly 500 payload bytes per segment.
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 512)
s.connect((addr, port))
# One write: all six segments leave back to back, before any ACK is processed.
s.sendall(b"".join(bytes([letter]) * 500 for letter in b"ABCDEF"))
s.recv(100)
s.close()
'

UDP_SERVER='
import socket, sys
addr, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((addr, port))
s.settimeout(5)
print("ready", flush=True)
for _ in range(count):
    data, peer = s.recvfrom(65535)
    s.sendto(data[::-1], peer)
'

UDP_CLIENT='
import socket, sys, time
addr, port, closed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", 40000))
s.settimeout(5)
for size in (0, 1, 7, 100, 513):
    s.sendto(bytes((0x30 + i % 10) for i in range(size)), (addr, port))
    s.recvfrom(65535)
s.sendto(b"nobody listens here", (addr, closed))
time.sleep(0.3)
'

# ---------------------------------------------------------------------------------------------
# Scenarios

tcp_session() { # NAME DST FILTER
    local name=$1 dst=$2 filter=$3
    setup
    nsa sysctl -qw net.ipv4.tcp_ecn=1 # client requests ECN: SYN carries ECE+CWR
    start_cap "$name" "$filter"
    run_bg "$NS_B" timeout 20 python3 -c "$TCP_SERVER" "$dst" 5000 400 >"$TMP/$name.srv"
    wait_ready "$TMP/$name.srv"
    nsa timeout 20 python3 -c "$TCP_CLIENT" "$dst" 5000
    wait_bg
    stop_cap
}

tcp4_rst() {
    setup
    start_cap tcp4_rst "$F4"
    nsa timeout 20 python3 -c "$TCP_REFUSED" "$B4" 5001
    stop_cap
}

tcp4_sack() {
    command -v nft >/dev/null || { log "nft missing; skipping tcp4_sack"; return 0; }
    setup
    nsa sysctl -qw net.ipv4.tcp_autocorking=0
    # Drop the first segment whose payload starts with BBBB (and DDDD); each quota lets the
    # retransmission (the second matching packet, 552 more bytes) through.
    nsr nft -f - <<'EOF'
table inet l4cap {
    chain drop_once {
        type filter hook forward priority filter; policy accept;
        tcp dport 5002 @ih,0,32 0x42424242 quota until 600 bytes drop
        tcp dport 5002 @ih,0,32 0x44444444 quota until 600 bytes drop
    }
}
EOF
    start_cap tcp4_sack "$F4"
    run_bg "$NS_B" timeout 20 python3 -c "$SACK_SERVER" "$B4" 5002 >"$TMP/sack.srv"
    wait_ready "$TMP/sack.srv"
    nsa timeout 20 python3 -c "$SACK_CLIENT" "$B4" 5002
    wait_bg
    stop_cap
}

udp() { # NAME DST FILTER
    local name=$1 dst=$2 filter=$3
    setup
    start_cap "$name" "$filter"
    run_bg "$NS_B" timeout 20 python3 -c "$UDP_SERVER" "$dst" 7777 5 >"$TMP/$name.srv"
    wait_ready "$TMP/$name.srv"
    nsa timeout 20 python3 -c "$UDP_CLIENT" "$dst" 7777 7778
    wait_bg
    stop_cap
}

ping_scenario() { # NAME FILTER PING-ARGS...
    local name=$1 filter=$2
    shift 2
    setup
    start_cap "$name" "$filter"
    nsa timeout 20 ping -n "$@" >"$TMP/$name.ping" 2>&1 || true
    stop_cap
}

tcp_session tcp4_session "$B4" "$F4"
tcp4_rst
tcp_session tcp6_session "$B6" "$F6"
udp udp4 "$B4" "$F4"
udp udp6 "$B6" "$F6"
ping_scenario icmp4_echo "$F4" -c 2 -i 0.2 -W 2 "$B4"
ping_scenario icmp6_echo "$F6" -6 -c 2 -i 0.2 -W 2 "$B6"
# 1450 + 8 + 20 = 1478 bytes with DF > 1400: the router answers fragmentation needed, mtu 1400.
ping_scenario icmp4_frag_needed "$F4" -c 1 -W 1 -M do -s 1450 "$B4"
# 1400 + 8 + 40 = 1448 bytes > 1280: the router answers packet too big, mtu 1280.
ping_scenario icmp6_packet_too_big "$F6" -6 -c 1 -W 1 -s 1400 "$B6"
ping_scenario icmp4_time_exceeded "$F4" -c 1 -W 1 -t 1 "$B4"
ping_scenario icmp6_time_exceeded "$F6" -6 -c 1 -W 1 -t 1 "$B6"
# 3000 + 8 = 3008 bytes of ICMP to the router's near address over the 1500 link: both the
# request and the reply travel as three fragments.
ping_scenario ipv4_fragments "$F4" -c 1 -W 2 -M dont -s 3000 "$R4A"
ping_scenario ipv6_fragments "$F6" -6 -c 1 -W 2 -s 3000 "$R6A"
tcp4_sack
teardown

# Text renderings the Display implementations are compared against.
for f in "$OUT"/*.pcap; do
    base=${f%.pcap}
    tcpdump -n -S -t -r "$f" >"$base.tcpdump.txt" 2>/dev/null
    tcpdump -n -S -t -v -r "$f" >"$base.tcpdump-v.txt" 2>/dev/null
done
log "done: $(ls "$OUT"/*.pcap | wc -l) captures in $OUT"
