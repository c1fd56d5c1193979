#!/usr/bin/env python3
"""Write crafted packet captures for the tcpdump-rendering golden tests.

The captures beside this script hold hand-made packets: unusual options, extension
headers, fragments, and malformed, truncated or bad-checksum packets that the kernel
captures in ../ never contain. Run it from anywhere:

    python3 crates/wire/tests/data/crafted/make_crafted.py

It writes, for each capture NAME:
  NAME.pcap             classic pcap, nanosecond timestamps, little-endian
  NAME.cases.txt        one line per packet: the case name (for test messages)
and, when tcpdump is installed:
  NAME.tcpdump.txt      `tcpdump -n -S -t -r NAME.pcap`
  NAME.tcpdump-v.txt    `tcpdump -n -S -t -v -r NAME.pcap`

Standard library only. The output is deterministic: no randomness, fixed timestamps.
"""

import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101

A4, B4 = bytes([192, 0, 2, 1]), bytes([198, 51, 100, 2])
A6 = bytes.fromhex("20010db8000000000000000000000001")
B6 = bytes.fromhex("20010db8000000000000000000000002")
LL6 = bytes.fromhex("fe800000000000000000000000000001")
MLD_ALL = bytes.fromhex("ff020000000000000000000000000016")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def pseudo4(src, dst, proto, length):
    return src + dst + struct.pack("!BBH", 0, proto, length)


def pseudo6(src, dst, proto, length):
    return src + dst + struct.pack("!IxxxB", length, proto)


def ipv4(payload, proto, src=A4, dst=B4, ident=0x1234, flags=0x4000, ttl=64, tos=0,
         options=b"", total_len=None, ihl=None, fix_sum=True, sum_value=None):
    hlen = 20 + len(options)
    if ihl is None:
        ihl = hlen // 4
    if total_len is None:
        total_len = hlen + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, total_len, ident, flags, ttl, proto,
                    0, src, dst) + options
    if sum_value is not None:
        h = h[:10] + struct.pack("!H", sum_value) + h[12:]
    elif fix_sum:
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ipv6(payload, nxt, src=A6, dst=B6, hlim=64, tc=0, flow=0, plen=None):
    if plen is None:
        plen = len(payload)
    first = (6 << 28) | (tc << 20) | flow
    return struct.pack("!IHBB16s16s", first, plen, nxt, hlim, src, dst) + payload


def tcp(sport, dport, seq, ack, flags, win, options=b"", payload=b"", urg=0, doff=None,
        src=A4, dst=B4, v6=False, fix_sum=True, ae=False):
    if doff is None:
        doff = (20 + len(options)) // 4
    off = (doff << 4) | (1 if ae else 0)
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off, flags, win, 0, urg) + options
    seg = h + payload
    if fix_sum:
        ph = pseudo6(src, dst, 6, len(seg)) if v6 else pseudo4(src, dst, 6, len(seg))
        s = csum(ph + seg)
        seg = seg[:16] + struct.pack("!H", s) + seg[18:]
    return seg


def udp(sport, dport, payload, src=A4, dst=B4, v6=False, ulen=None, fix_sum=True,
        sum_value=None):
    if ulen is None:
        ulen = 8 + len(payload)
    d = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    if sum_value is not None:
        d = d[:6] + struct.pack("!H", sum_value) + d[8:]
    elif fix_sum:
        ph = pseudo6(src, dst, 17, len(d)) if v6 else pseudo4(src, dst, 17, len(d))
        s = csum(ph + d) or 0xFFFF
        d = d[:6] + struct.pack("!H", s) + d[8:]
    return d


def icmp4(typ, code, rest, data=b"", fix_sum=True):
    m = struct.pack("!BBH", typ, code, 0) + rest + data
    if fix_sum:
        m = m[:2] + struct.pack("!H", csum(m)) + m[4:]
    return m


def icmp6(typ, code, rest, data=b"", src=A6, dst=B6, fix_sum=True):
    m = struct.pack("!BBH", typ, code, 0) + rest + data
    if fix_sum:
        s = csum(pseudo6(src, dst, 58, len(m)) + m)
        m = m[:2] + struct.pack("!H", s) + m[4:]
    return m


def ext(nxt, body):
    """A hop-by-hop / destination-options / routing header: body excludes the first two
    bytes and must make the header a multiple of 8."""
    total = 2 + len(body)
    assert total % 8 == 0, total
    return struct.pack("!BB", nxt, total // 8 - 1) + body


def frag6(nxt, offset, more, ident):
    return struct.pack("!BBHI", nxt, 0, (offset & 0xFFF8) | (1 if more else 0), ident)


def eth(ip, ethertype=None):
    if ethertype is None:
        ethertype = ETH_IPV6 if ip and (ip[0] >> 4) == 6 else ETH_IPV4
    return bytes.fromhex("020000000002020000000001") + struct.pack("!H", ethertype) + ip


def pad_eth(frame):
    return frame + b"\0" * max(0, 60 - len(frame))


SYN_OPTS = bytes.fromhex("020405b40402080a0001e2400000000001030307")
TS_OPTS = bytes.fromhex("0101080a0001e24000bc614e")


def ipv4_cases():
    c = []
    add = lambda name, ip, **kw: c.append((name, ip, kw))

    # TCP
    add("tcp syn with linux options", ipv4(tcp(40000, 80, 1000, 0, 0x02, 64240, SYN_OPTS), 6))
    add("tcp data with payload", ipv4(tcp(40000, 5001, 1001, 2000, 0x18, 502, TS_OPTS, b"x" * 10), 6))
    add("tcp all eight flags", ipv4(tcp(40000, 5001, 1, 2, 0xFF, 100, b"", urg=7), 6))
    add("tcp no flags", ipv4(tcp(40000, 5001, 1, 2, 0x00, 100), 6))
    add("tcp ae flag", ipv4(tcp(40000, 5001, 1, 2, 0x10, 100, ae=True), 6))
    add("tcp urg with data", ipv4(tcp(40000, 5001, 5, 6, 0x38, 100, b"", b"abc", urg=3), 6))
    add("tcp fin ack", ipv4(tcp(40000, 5001, 5, 6, 0x11, 100), 6))
    add("tcp rst no ack", ipv4(tcp(40000, 5001, 5, 0, 0x04, 0), 6))
    add("tcp options eol then padding", ipv4(tcp(40000, 5001, 5, 6, 0x10, 100, bytes.fromhex("020405b400000000")), 6))
    add("tcp option unknown kind", ipv4(tcp(40000, 5001, 5, 6, 0x10, 100, bytes.fromhex("fe06aabbccdd0101")), 6))
    add("tcp option unknown kind no data", ipv4(tcp(40000, 5001, 5, 6, 0x10, 100, bytes.fromhex("fd0201010101")+b"\x01\x01"), 6))
    add("tcp option sack 3 blocks", ipv4(tcp(40000, 5001, 5, 6, 0x10, 100, bytes.fromhex("0101051a") + struct.pack("!6I", 10, 20, 30, 40, 50, 60)), 6))
    add("tcp option tfo cookie request", ipv4(tcp(40000, 5001, 5, 0, 0x02, 100, bytes.fromhex("22020101")), 6))
    add("tcp option tfo cookie", ipv4(tcp(40000, 5001, 5, 0, 0x02, 100, bytes.fromhex("220a0102030405060708") + b"\x01\x01"), 6))
    add("tcp option mss bad length", ipv4(tcp(40000, 5001, 5, 6, 0x10, 100, bytes.fromhex("02050000ff010101")), 6))
    add("tcp option length zero", ipv4(tcp(40000, 5001, 5, 6, 0x10, 100, bytes.fromhex("0101080001010101")), 6))
    add("tcp option runs past header", ipv4(tcp(40000, 5001, 5, 6, 0x10, 100, bytes.fromhex("01010814")), 6))
    add("tcp option wscale then nop", ipv4(tcp(40000, 5001, 5, 6, 0x10, 100, bytes.fromhex("01030307")), 6))
    add("tcp option sackOK odd place", ipv4(tcp(40000, 5001, 5, 6, 0x10, 100, bytes.fromhex("04020101")), 6))
    add("tcp option sack bad length", ipv4(tcp(40000, 5001, 5, 6, 0x10, 100, bytes.fromhex("0101050600000001") ), 6))
    add("tcp option uto", ipv4(tcp(40000, 5001, 5, 6, 0x10, 100, bytes.fromhex("1c04812c")), 6))
    add("tcp option timestamp bad length", ipv4(tcp(40000, 5001, 5, 6, 0x10, 100, bytes.fromhex("0806000100020101")), 6))
    add("tcp data offset below 5", ipv4(tcp(40000, 5001, 5, 6, 0x10, 100, doff=4), 6))
    add("tcp data offset past segment", ipv4(tcp(40000, 5001, 5, 6, 0x10, 100, doff=15), 6))
    add("tcp header cut short by ip length", ipv4(tcp(40000, 5001, 5, 6, 0x10, 100)[:12], 6))
    add("tcp only ports", ipv4(tcp(40000, 5001, 5, 6, 0x10, 100)[:4], 6))
    add("tcp only 3 bytes", ipv4(tcp(40000, 5001, 5, 6, 0x10, 100)[:3], 6))
    add("tcp bad checksum", ipv4(tcp(40000, 5001, 5, 6, 0x10, 100, fix_sum=False), 6))
    add("tcp seq wraps", ipv4(tcp(40000, 5001, 0xFFFFFFF0, 6, 0x18, 100, b"", b"y" * 32), 6))
    add("tcp port 0", ipv4(tcp(0, 0, 5, 6, 0x10, 100), 6))
    add("tcp snaplen cut in options", ipv4(tcp(40000, 5001, 1000, 0, 0x02, 64240, SYN_OPTS), 6), snap=14 + 20 + 30)
    add("tcp snaplen cut in header", ipv4(tcp(40000, 5001, 1000, 0, 0x02, 64240, SYN_OPTS), 6), snap=14 + 20 + 10)
    add("tcp rst with data", ipv4(tcp(40000, 5001, 5, 6, 0x14, 0, b"", b"no listener"), 6))
    add("tcp rst with long binary data", ipv4(tcp(40000, 5001, 5, 6, 0x04, 0, b"", b"got 36 bytes\nabc\x7f\x80\xc1\xff" + bytes(range(20))), 6))
    add("tcp rst with data cut by snaplen", ipv4(tcp(40000, 5001, 5, 6, 0x04, 0, b"", b"reset reason text"), 6), snap=14 + 20 + 20 + 5)
    add("tcp snaplen cut in options with payload", ipv4(tcp(40000, 5001, 1001, 2000, 0x18, 502, TS_OPTS, b"z" * 100), 6), snap=14 + 20 + 24)
    add("tcp snaplen cut in payload", ipv4(tcp(40000, 5001, 1001, 2000, 0x18, 502, TS_OPTS, b"z" * 100), 6), snap=14 + 20 + 32 + 10)

    # UDP
    add("udp simple", ipv4(udp(5000, 6000, b"hello"), 17))
    add("udp zero checksum", ipv4(udp(5000, 6000, b"hello", fix_sum=False), 17))
    add("udp bad checksum", ipv4(udp(5000, 6000, b"hello", sum_value=0x1234), 17))
    add("udp length field too long", ipv4(udp(5000, 6000, b"hello", ulen=100), 17))
    add("udp length field below 8", ipv4(udp(5000, 6000, b"hello", ulen=4), 17))
    add("udp length field shorter than ip payload", ipv4(udp(5000, 6000, b"hello", ulen=10), 17))
    add("udp header cut short", ipv4(udp(5000, 6000, b"")[:6], 17))
    add("udp header only 2 bytes", ipv4(udp(5000, 6000, b"")[:2], 17))
    add("udp high ports", ipv4(udp(65535, 65534, b"q" * 20), 17))
    add("udp snaplen cut", ipv4(udp(5000, 6000, b"w" * 100), 17), snap=14 + 20 + 8 + 4)
    add("udp snaplen cut in header", ipv4(udp(5000, 6000, b"w" * 100), 17), snap=14 + 20 + 4)

    # IPv4 header problems
    add("ip with options record route", ipv4(udp(5000, 6000, b"hi"), 17, options=bytes.fromhex("07070400000000") + b"\x00"))
    add("ip with router alert", ipv4(udp(5000, 6000, b"hi"), 17, options=bytes.fromhex("94040000")))
    U = udp(1, 2, b"")
    add("ip option record route two recorded", ipv4(U, 17, options=bytes.fromhex("070b0c") + bytes([10, 0, 0, 1, 10, 0, 0, 2]) + b"\0"))
    add("ip option loose source route", ipv4(U, 17, options=bytes.fromhex("830704") + bytes([10, 0, 0, 1]) + b"\0"))
    add("ip option strict source route bad pointer", ipv4(U, 17, options=bytes.fromhex("890702") + bytes([10, 0, 0, 1]) + b"\0"))
    add("ip option record route bad length", ipv4(U, 17, options=bytes.fromhex("070604") + bytes([10, 0, 0]) + b"\0\0\0"))
    add("ip option timestamp", ipv4(U, 17, options=bytes.fromhex("440c0500") + bytes(8)))
    add("ip option timestamp with addresses", ipv4(U, 17, options=bytes.fromhex("440c0d11") + bytes([10, 0, 0, 1, 0, 0, 0, 5])))
    add("ip option security", ipv4(U, 17, options=bytes.fromhex("820b") + bytes(9) + b"\0"))
    add("ip option unknown", ipv4(U, 17, options=bytes.fromhex("1e04aabb")))
    add("ip option nops", ipv4(U, 17, options=bytes.fromhex("01010100")))
    add("ip option router alert value", ipv4(U, 17, options=bytes.fromhex("94040001")))
    add("ip option router alert short", ipv4(U, 17, options=bytes.fromhex("94030000")))
    add("ip option length 1", ipv4(U, 17, options=bytes.fromhex("1e010000")))
    add("ip option length past header", ipv4(U, 17, options=bytes.fromhex("1e090000")))
    add("ip option record route cut by snaplen", ipv4(U, 17, options=bytes.fromhex("070b0c") + bytes([10, 0, 0, 1, 10, 0, 0, 2]) + b"\0"), snap=14 + 20 + 7)
    add("ip option record route address past capture", ipv4(U, 17, options=bytes.fromhex("070604") + bytes([10, 0, 0]) + b"\0\0\0"), snap=14 + 20 + 7)
    add("ip bad header checksum", ipv4(udp(5000, 6000, b"hi"), 17, sum_value=0xBEEF))
    add("ip total length beyond frame", ipv4(udp(5000, 6000, b"hi"), 17, total_len=200))
    add("ip total length below header", ipv4(udp(5000, 6000, b"hi"), 17, total_len=12))
    add("ip total length zero", ipv4(udp(5000, 6000, b"hi"), 17, total_len=0))
    add("ip ihl below 5", ipv4(udp(5000, 6000, b"hi"), 17, ihl=4))
    add("ip ihl past total length", ipv4(udp(5000, 6000, b"hi"), 17, ihl=15))
    add("ip only 10 bytes", ipv4(udp(5000, 6000, b"hi"), 17)[:10])
    add("ip only 19 bytes", ipv4(udp(5000, 6000, b"hi"), 17)[:19])
    add("ip header only", ipv4(b"", 17))
    add("ip padded frame", ipv4(udp(5000, 6000, b""), 17), pad=True)
    add("ip reserved flag", ipv4(udp(5000, 6000, b"hi"), 17, flags=0x8000))
    add("ip ttl 0 tos ce", ipv4(udp(5000, 6000, b"hi"), 17, ttl=0, tos=0xB7))
    add("ip unknown protocol", ipv4(b"\x01\x02\x03\x04\x05\x06\x07\x08", 253))
    add("ip protocol 0 empty", ipv4(b"", 0))
    add("ip protocol ipv6-nonxt", ipv4(b"abcd", 59))
    add("ip snaplen cut in header", ipv4(udp(5000, 6000, b"hi"), 17), snap=14 + 16)

    # IPv4 fragments
    big = udp(5000, 6000, bytes(range(256)) * 4)
    add("ip frag first udp", ipv4(big[:512], 17, ident=77, flags=0x2000))
    add("ip frag middle udp", ipv4(big[512:1024], 17, ident=77, flags=0x2000 | 64))
    add("ip frag last udp", ipv4(big[1024:], 17, ident=77, flags=128))
    tbig = tcp(40000, 5001, 100, 200, 0x18, 1000, TS_OPTS, b"t" * 1000)
    add("ip frag first tcp", ipv4(tbig[:520], 6, ident=78, flags=0x2000))
    add("ip frag last tcp", ipv4(tbig[520:], 6, ident=78, flags=65))
    add("ip frag first tcp too short for header", ipv4(tbig[:8], 6, ident=79, flags=0x2000))
    add("ip frag first icmp", ipv4(icmp4(8, 0, struct.pack("!HH", 9, 1), b"p" * 600)[:304], 1, ident=80, flags=0x2000))
    add("ip frag offset nonzero unknown proto", ipv4(b"\0" * 16, 253, ident=81, flags=10))

    # ICMP
    add("icmp echo request", ipv4(icmp4(8, 0, struct.pack("!HH", 1, 2), b"ping"), 1))
    add("icmp zero checksum that should be ffff", ipv4(icmp4(0, 0, b"\0" * 4, fix_sum=False), 1))
    add("icmp echo bad checksum", ipv4(icmp4(8, 0, struct.pack("!HH", 1, 2), b"ping", fix_sum=False), 1))
    add("icmp truncated 4 bytes", ipv4(icmp4(8, 0, struct.pack("!HH", 1, 2))[:4], 1))
    add("icmp truncated 1 byte", ipv4(icmp4(8, 0, struct.pack("!HH", 1, 2))[:1], 1))
    inner = ipv4(udp(6000, 5000, b"data"), 17, src=B4, dst=A4)
    add("icmp port unreachable", ipv4(icmp4(3, 3, b"\0" * 4, inner), 1, src=B4, dst=A4))
    add("icmp host unreachable", ipv4(icmp4(3, 1, b"\0" * 4, inner[:28]), 1, src=B4, dst=A4))
    add("icmp unreachable short quote", ipv4(icmp4(3, 3, b"\0" * 4, inner[:12]), 1, src=B4, dst=A4))
    add("icmp time exceeded reassembly", ipv4(icmp4(11, 1, b"\0" * 4, inner[:28]), 1, src=B4, dst=A4))
    add("icmp param problem", ipv4(icmp4(12, 0, b"\x05\0\0\0", inner[:28]), 1, src=B4, dst=A4))
    add("icmp redirect host", ipv4(icmp4(5, 1, bytes([10, 0, 0, 9]), inner[:28]), 1, src=B4, dst=A4))
    add("icmp timestamp request", ipv4(icmp4(13, 0, struct.pack("!HH", 3, 4), b"\0" * 12), 1))
    add("icmp unknown type", ipv4(icmp4(42, 7, b"\0" * 4), 1))
    add("icmp source quench", ipv4(icmp4(4, 0, b"\0" * 4, inner[:28]), 1, src=B4, dst=A4))
    add("icmp router solicitation", ipv4(icmp4(10, 0, b"\0" * 4), 1))
    add("icmp quoting tcp", ipv4(icmp4(3, 3, b"\0" * 4, ipv4(tcp(6000, 5000, 1, 2, 0x02, 100), 6, src=B4, dst=A4)[:28]), 1, src=B4, dst=A4))
    # RFC 4884 extensions after a 128-byte quote; RFC 4950 MPLS label stack objects.
    quote128 = (inner + bytes(128))[:128]
    def ext4884(objects, version=2):
        e = bytes([version << 4, 0, 0, 0]) + objects
        return e[:2] + struct.pack("!H", csum(e)) + e[4:]
    mpls = struct.pack("!HBB", 12, 1, 1) + struct.pack("!II", (100 << 12) | (5 << 9) | 64, (200 << 12) | 0x100 | 1)
    other = struct.pack("!HBB", 8, 3, 2) + bytes.fromhex("0a000001")
    add("icmp time exceeded with mpls extension", ipv4(icmp4(11, 0, bytes([0, 32, 0, 0]), quote128 + ext4884(mpls)), 1, src=B4, dst=A4))
    add("icmp time exceeded with extension, no length attribute", ipv4(icmp4(11, 0, b"\0" * 4, quote128 + ext4884(mpls + other)), 1, src=B4, dst=A4))
    add("icmp unreachable with extension version 1", ipv4(icmp4(3, 1, bytes([0, 32, 0, 0]), quote128 + ext4884(mpls, version=1)), 1, src=B4, dst=A4))
    add("icmp unreachable with bad extension checksum", ipv4(icmp4(3, 1, bytes([0, 32, 0, 0]), quote128 + bytes.fromhex("20000000") + mpls), 1, src=B4, dst=A4))
    add("icmp long quote without extension", ipv4(icmp4(3, 1, b"\0" * 4, quote128 + bytes(40)), 1, src=B4, dst=A4))
    add("icmp extension cut by snaplen", ipv4(icmp4(11, 0, bytes([0, 32, 0, 0]), quote128 + ext4884(mpls)), 1, src=B4, dst=A4), snap=14 + 20 + 140)
    add("icmp quote with a tiny total length", ipv4(icmp4(3, 3, b"\0" * 4, inner[:2] + b"\0\x03" + inner[4:28]), 1, src=B4, dst=A4))
    add("icmp quote cut inside its udp header", ipv4(icmp4(3, 3, b"\0" * 4, inner[:24]), 1, src=B4, dst=A4))
    add("icmp echo reply snaplen cut", ipv4(icmp4(0, 0, struct.pack("!HH", 1, 2), b"x" * 56), 1), snap=14 + 20 + 6)
    return c


def ipv6_cases():
    c = []
    add = lambda name, ip, **kw: c.append((name, ip, kw))
    t6 = lambda *a, **k: tcp(*a, **{"src": A6, "dst": B6, "v6": True, **k})
    u6 = lambda *a, **k: udp(*a, **{"src": A6, "dst": B6, "v6": True, **k})

    add("ipv6 tcp syn", ipv6(t6(40000, 5001, 1000, 0, 0x02, 64800, SYN_OPTS), 6))
    add("ipv6 tcp truncated header", ipv6(t6(40000, 5001, 1000, 0, 0x02, 64800)[:10], 6))
    add("ipv6 udp", ipv6(u6(5000, 6000, b"hello"), 17))
    add("ipv6 udp zero checksum", ipv6(u6(5000, 6000, b"hello", fix_sum=False), 17))
    add("ipv6 udp length too long", ipv6(u6(5000, 6000, b"hello", ulen=50), 17))
    add("ipv6 traffic class and flow", ipv6(u6(5000, 6000, b"hi"), 17, tc=0xB9, flow=0x12345))
    add("ipv6 hop-by-hop router alert then icmpv6 mld", ipv6(
        ext(58, bytes.fromhex("05020000") + bytes.fromhex("0100")) +
        icmp6(143, 0, b"\0\0\0\x01", bytes.fromhex("04000000") + bytes.fromhex("ff0200000000000000000001ff123456"),
              src=LL6, dst=MLD_ALL), 0, src=LL6, dst=MLD_ALL, hlim=1))
    add("ipv6 dest opts then udp", ipv6(ext(17, bytes.fromhex("010400000000")) + u6(5000, 6000, b"hi"), 60))
    add("ipv6 dest opts then tcp", ipv6(ext(6, bytes.fromhex("010400000000")) + t6(40000, 5001, 1, 2, 0x10, 100), 60))
    add("ipv6 hop-by-hop jumbo-less padn then tcp", ipv6(ext(6, bytes.fromhex("0104000000000000" + "0000000000000000")[:14]) + t6(40000, 5001, 1, 2, 0x10, 100), 0))
    # Upper-layer checksums use the final destination, the routing header's last address
    # (segment routing: the first segment) (RFC 8200 section 8.1).
    add("ipv6 routing type 0", ipv6(ext(17, bytes.fromhex("0001") + b"\0\0\0\0" + A6) + u6(5000, 6000, b"hi", dst=A6), 43))
    add("ipv6 routing type 2", ipv6(ext(58, bytes.fromhex("0201") + b"\0\0\0\0" + A6) + icmp6(128, 0, struct.pack("!HH", 1, 1), dst=A6), 43))
    add("ipv6 routing type 4 srh", ipv6(ext(17, bytes.fromhex("0401") + bytes.fromhex("01000000") + A6 + B6) + u6(5000, 6000, b"hi", dst=A6), 43))
    add("ipv6 routing bad checksum uses final destination", ipv6(ext(17, bytes.fromhex("0001") + b"\0\0\0\0" + A6) + u6(5000, 6000, b"hi"), 43))
    add("ipv6 hop-by-hop router alert bad length", ipv6(ext(17, bytes.fromhex("050300000000")) + u6(5000, 6000, b"hi"), 0))
    add("ipv6 hop-by-hop router alert at the end", ipv6(ext(17, bytes.fromhex("000000000501")) + u6(5000, 6000, b"hi"), 0))
    add("ipv6 hop-by-hop jumbo option with a payload length", ipv6(ext(17, bytes.fromhex("c20400010000")) + u6(5000, 6000, b"hi"), 0))
    add("ipv6 hop-by-hop jumbo option bad length", ipv6(ext(17, bytes.fromhex("c20300010000")) + u6(5000, 6000, b"hi"), 0))
    add("ipv6 dest opts jumbo option", ipv6(ext(17, bytes.fromhex("c20400010000")) + u6(5000, 6000, b"hi"), 60))
    add("ipv6 dest opts router alert bad length", ipv6(ext(17, bytes.fromhex("050300000000")) + u6(5000, 6000, b"hi"), 60))
    add("ipv6 ipv4-compatible addresses", ipv6(u6(5000, 6000, b"hi", src=bytes(12) + A4, dst=bytes(12) + B4), 17, src=bytes(12) + A4, dst=bytes(12) + B4))
    add("ipv6 ipv4-mapped and loopback addresses", ipv6(u6(5000, 6000, b"hi", src=bytes(10) + b"\xff\xff" + A4, dst=bytes(15) + b"\x01"), 17, src=bytes(10) + b"\xff\xff" + A4, dst=bytes(15) + b"\x01"))
    add("ipv6 dest opts unknown option", ipv6(ext(17, bytes.fromhex("3e0201010100")) + u6(5000, 6000, b"hi"), 60))
    add("ipv6 dest opts option overruns header", ipv6(ext(17, bytes.fromhex("01ff00000000")) + u6(5000, 6000, b"hi"), 60))
    add("ipv6 no next header", ipv6(b"", 59))
    add("ipv6 no next header after dest opts", ipv6(ext(59, bytes.fromhex("010400000000")), 60))
    add("ipv6 unknown next header", ipv6(b"\1\2\3\4\5\6\7\x08", 253))
    add("ipv6 frag first udp", ipv6(frag6(17, 0, True, 0xABCD) + u6(5000, 6000, b"f" * 100)[:56], 44))
    add("ipv6 frag last udp", ipv6(frag6(17, 56, False, 0xABCD) + u6(5000, 6000, b"f" * 100)[56:], 44))
    add("ipv6 frag first tcp", ipv6(frag6(6, 0, True, 0x1) + t6(40000, 5001, 1, 2, 0x18, 100, b"", b"d" * 64)[:48], 44))
    add("ipv6 atomic fragment", ipv6(frag6(58, 0, False, 0x2) + icmp6(128, 0, struct.pack("!HH", 7, 8), b"atom"), 44))
    add("ipv6 frag first too short", ipv6(frag6(17, 0, True, 0x3) + b"\0\0", 44))
    add("ipv6 frag header truncated", ipv6(frag6(17, 0, True, 0x3)[:5], 44))
    add("ipv6 two fragment headers", ipv6(frag6(44, 0, True, 0x4) + frag6(17, 0, True, 0x5) + u6(1, 2, b""), 44))
    add("ipv6 ext header runs past packet", ipv6(ext(17, bytes.fromhex("010400000000"))[:6], 60))
    add("ipv6 ext header length past packet", ipv6(bytes.fromhex("1105") + b"\0" * 6, 60))
    add("ipv6 payload length beyond frame", ipv6(u6(5000, 6000, b"hi"), 17, plen=100))
    add("ipv6 payload length shorter", ipv6(u6(5000, 6000, b"hello"), 17, plen=9))
    add("ipv6 payload length zero", ipv6(u6(5000, 6000, b"hi"), 17, plen=0))
    add("ipv6 only 30 bytes", ipv6(u6(5000, 6000, b"hi"), 17)[:30])
    add("ipv6 snaplen cut in header", ipv6(u6(5000, 6000, b"hi"), 17), snap=14 + 30)
    add("ipv6 snaplen cut in tcp", ipv6(t6(40000, 5001, 1000, 0, 0x02, 64800, SYN_OPTS), 6), snap=14 + 40 + 24)
    add("ipv6 jumbo payload length zero hbh", ipv6(ext(17, bytes.fromhex("c2040001002c")) + u6(1, 2, b"j" * 28), 0, plen=0))
    # A zero payload length: tcpdump looks for a Jumbo Payload option (RFC 2675).
    jumbo = lambda n: bytes.fromhex("c204") + struct.pack("!I", n)
    add("ipv6 payload length zero, hop-by-hop without jumbo", ipv6(ext(17, bytes.fromhex("010400000000")) + u6(1, 2, b"abcd"), 0, plen=0))
    add("ipv6 payload length zero, jumbo too small", ipv6(ext(17, jumbo(100)) + u6(1, 2, b"abcd"), 0, plen=0))
    add("ipv6 payload length zero, jumbo then dest opts", ipv6(ext(60, jumbo(70000)) + ext(17, bytes(6)) + u6(1, 2, b"abcd"), 0, plen=0))
    add("ipv6 payload length zero, two jumbo options", ipv6(ext(17, jumbo(70000) + jumbo(70000) + bytes(2)) + u6(1, 2, b"abcd"), 0, plen=0))
    add("ipv6 payload length zero, dest opts", ipv6(ext(17, bytes(6)) + u6(1, 2, b"abcd"), 60, plen=0))
    add("ipv6 payload length zero, fragment", ipv6(frag6(17, 0, True, 5) + u6(1, 2, b"abcd"), 44, plen=0))
    add("ipv6 payload length zero, hop-by-hop cut short", ipv6(bytes.fromhex("1101"), 0, plen=0))
    add("ipv6 payload length zero, router alert bad length", ipv6(ext(17, bytes.fromhex("050300000000")) + u6(1, 2, b"abcd"), 0, plen=0))
    add("ipv6 jumbo option with a payload length", ipv6(ext(17, jumbo(70000)) + u6(1, 2, b"abcd"), 0))
    add("ipv6 hop-by-hop home address option", ipv6(ext(17, bytes.fromhex("c910") + A6 + bytes.fromhex("01020000")) + u6(1, 2, b"abcd"), 0))
    add("ipv6 hop-by-hop home address option with sub-options", ipv6(ext(17, bytes.fromhex("c914") + A6 + bytes.fromhex("003e0000")) + u6(1, 2, b"abcd"), 0))
    add("ipv6 hop-by-hop home address option short", ipv6(ext(17, bytes.fromhex("c90400000000")) + u6(1, 2, b"abcd"), 0))
    add("ipv6 segment routing header odd length", ipv6(ext(17, bytes.fromhex("0401") + bytes.fromhex("00000000") + A6 + bytes(8)) + u6(5000, 6000, b"hi", dst=A6), 43))
    add("ipv6 routing header not captured", ipv6(ext(17, bytes.fromhex("0001") + b"\0\0\0\0" + A6) + u6(5000, 6000, b"hi"), 43), snap=14 + 40)
    add("ipv6 hop-by-hop length byte not captured", ipv6(ext(17, bytes(6)) + u6(5000, 6000, b"hi"), 0, plen=0), snap=14 + 41)
    add("ipv6 in ipv6 empty", ipv6(b"", 41))
    add("ipv4 in ipv6 empty", ipv6(b"", 4))
    add("ipv6 segment routing header longer than its last entry", ipv6(ext(17, bytes.fromhex("0401") + bytes.fromhex("00000000") + A6 + B6) + u6(5000, 6000, b"hi", dst=A6), 43))

    # ICMPv6
    add("icmpv6 echo request", ipv6(icmp6(128, 0, struct.pack("!HH", 5, 6), b"abcd"), 58))
    add("icmpv6 echo bad checksum", ipv6(icmp6(128, 0, struct.pack("!HH", 5, 6), b"abcd", fix_sum=False), 58))
    add("icmpv6 truncated", ipv6(icmp6(128, 0, struct.pack("!HH", 5, 6))[:3], 58))
    add("icmpv6 neighbor solicitation", ipv6(icmp6(135, 0, b"\0" * 4, B6 + bytes.fromhex("0101020000000001")), 58, hlim=255))
    add("icmpv6 neighbor advertisement", ipv6(icmp6(136, 0, bytes.fromhex("60000000"), B6 + bytes.fromhex("0201020000000002")), 58, hlim=255))
    add("icmpv6 router solicitation", ipv6(icmp6(133, 0, b"\0" * 4), 58, hlim=255))
    add("icmpv6 router advertisement", ipv6(icmp6(134, 0, bytes.fromhex("40000708"), b"\0" * 8), 58, hlim=255))
    inner6 = ipv6(u6(6000, 5000, b"data"), 17, src=B6, dst=A6)
    add("icmpv6 port unreachable", ipv6(icmp6(1, 4, b"\0" * 4, inner6, src=B6, dst=A6), 58, src=B6, dst=A6))
    add("icmpv6 port unreachable quote cut in the port", ipv6(icmp6(1, 4, b"\0" * 4, inner6[:43], src=B6, dst=A6), 58, src=B6, dst=A6))
    add("icmpv6 port unreachable quote with 4 transport bytes", ipv6(icmp6(1, 4, b"\0" * 4, inner6[:44], src=B6, dst=A6), 58, src=B6, dst=A6))
    add("icmpv6 port unreachable quote not version 6", ipv6(icmp6(1, 4, b"\0" * 4, b"\x45" + inner6[1:], src=B6, dst=A6), 58, src=B6, dst=A6))
    add("icmpv6 port unreachable quoting tcp after dest opts", ipv6(icmp6(1, 4, b"\0" * 4, ipv6(ext(6, bytes(6)) + t6(6000, 5000, 1, 2, 0x02, 100), 60, src=B6, dst=A6), src=B6, dst=A6), 58, src=B6, dst=A6))
    add("icmpv6 port unreachable quoting icmpv6", ipv6(icmp6(1, 4, b"\0" * 4, ipv6(icmp6(128, 0, b"\0" * 4), 58, src=B6, dst=A6), src=B6, dst=A6), 58, src=B6, dst=A6))
    add("icmpv6 addr unreachable", ipv6(icmp6(1, 3, b"\0" * 4, inner6, src=B6, dst=A6), 58, src=B6, dst=A6))
    add("icmpv6 packet too big", ipv6(icmp6(2, 0, struct.pack("!I", 1280), inner6, src=B6, dst=A6), 58, src=B6, dst=A6))
    add("icmpv6 param problem", ipv6(icmp6(4, 1, struct.pack("!I", 40), inner6, src=B6, dst=A6), 58, src=B6, dst=A6))
    add("icmpv6 unknown type", ipv6(icmp6(200, 0, b"\0" * 4), 58))
    nd_opts = (bytes.fromhex("0101020000000001") + bytes.fromhex("0304") + bytes([64, 0xc0])
               + struct.pack("!III", 86400, 0xFFFFFFFF, 0) + A6 + bytes.fromhex("05010000000005dc")
               + bytes.fromhex("19030000") + struct.pack("!I", 600) + B6 + bytes.fromhex("6301aabbccddeeff"))
    add("icmpv6 router advertisement with options", ipv6(icmp6(134, 0, bytes([64, 0xC8, 0x07, 0x08]), struct.pack("!II", 30000, 1000) + nd_opts), 58, hlim=255))
    add("icmpv6 router solicitation with option", ipv6(icmp6(133, 0, b"\0" * 4, bytes.fromhex("0101020000000001")), 58, hlim=255))
    add("icmpv6 neighbor solicitation option length 0", ipv6(icmp6(135, 0, b"\0" * 4, B6 + bytes.fromhex("0100020000000001")), 58, hlim=255))
    add("icmpv6 mldv2 query flags", ipv6(icmp6(130, 0, bytes.fromhex("82000000"), MLD_ALL + bytes.fromhex("0a8a0001") + A6, src=LL6, dst=MLD_ALL), 58, src=LL6, dst=MLD_ALL, hlim=1))
    add("icmpv6 mldv2 report record types", ipv6(icmp6(143, 0, b"\0\0\0\x06", b"".join(bytes([t, 0, 0, 0]) + MLD_ALL for t in range(1, 7)), src=LL6, dst=MLD_ALL), 58, src=LL6, dst=MLD_ALL, hlim=1))
    add("icmpv6 mldv2 report more groups than fit", ipv6(icmp6(143, 0, b"\0\0\0\x05", (bytes([2, 0, 0, 0]) + MLD_ALL) * 2, src=LL6, dst=MLD_ALL), 58, src=LL6, dst=MLD_ALL, hlim=1))
    add("icmpv6 router advertisement cut by snaplen", ipv6(icmp6(134, 0, bytes([64, 0, 0x07, 0x08]), struct.pack("!II", 30000, 1000)), 58, hlim=255), snap=14 + 40 + 14)
    add("icmpv6 redirect cut by snaplen", ipv6(icmp6(137, 0, b"\0" * 4, A6 + B6, src=LL6), 58, src=LL6), snap=14 + 40 + 30)
    nd_more = (struct.pack("!BBHI", 7, 1, 0, 600000) + struct.pack("!BBHHH", 8, 1, 0, 5, 1800)
               + struct.pack("!BBBBI", 24, 1, 0, 0x08, 3600) + struct.pack("!BBBBI", 24, 2, 48, 0x18, 0xFFFFFFFF) + A6[:8]
               + struct.pack("!BBBBI", 24, 3, 64, 0x00, 60) + B6
               + struct.pack("!BBHI", 31, 3, 0, 1200) + b"\x07example\x03com\x00\x03lab\x00\x00\x00\x00\x00"
               + bytes.fromhex("0304") + bytes([64, 0x00]) + struct.pack("!III", 1, 2, 0) + A6 + bytes(8)
               + struct.pack("!BBHI", 5, 2, 0, 9000) + bytes(8))
    add("icmpv6 router advertisement with more options", ipv6(icmp6(134, 0, bytes([64, 0, 0x07, 0x08]), struct.pack("!II", 0, 0) + nd_more), 58, hlim=255))
    add("icmpv6 redirect with redirected header option", ipv6(icmp6(137, 0, b"\0" * 4, A6 + B6 + struct.pack("!BBHI", 4, 2, 0, 0) + bytes(8), src=LL6), 58, src=LL6, hlim=255))
    add("icmpv6 unknown option ends the list", ipv6(icmp6(133, 0, b"\0" * 4, bytes.fromhex("2001aabbccddeeff") + bytes.fromhex("0101020000000001")), 58, hlim=255))
    add("icmpv6 mld query", ipv6(icmp6(130, 0, bytes.fromhex("03e80000"), b"\0" * 16 + b"\0" * 4, src=LL6, dst=MLD_ALL), 58, src=LL6, dst=MLD_ALL, hlim=1))
    return c


def raw_cases():
    c = []
    add = lambda name, ip, **kw: c.append((name, ip, kw))
    add("raw ipv4 udp", ipv4(udp(5000, 6000, b"hi"), 17))
    add("raw ipv6 udp", ipv6(udp(5000, 6000, b"hi", src=A6, dst=B6, v6=True), 17))
    add("raw version 5", bytes([0x55]) + ipv4(b"", 17)[1:])
    add("raw version 0", bytes(40))
    add("raw one byte ipv4", b"\x45")
    return c


def write_pcap(path, link, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, link))
        for i, (frame, orig) in enumerate(frames):
            ts = 1_700_000_000 + i
            f.write(struct.pack("<IIII", ts, 1000 * i + 1, len(frame), orig))
            f.write(frame)


def build(name, cases, link):
    frames = []
    names = []
    for case_name, ip, kw in cases:
        if link == LINKTYPE_ETHERNET:
            frame = eth(ip)
            if kw.get("pad"):
                frame = pad_eth(frame)
        else:
            frame = ip
        orig = len(frame)
        snap = kw.get("snap")
        if snap is not None:
            frame = frame[:snap]
        frames.append((frame, orig))
        names.append(case_name)
    pcap = os.path.join(HERE, name + ".pcap")
    write_pcap(pcap, link, frames)
    with open(os.path.join(HERE, name + ".cases.txt"), "w") as f:
        f.write("".join(n + "\n" for n in names))
    for suffix, extra in ((".tcpdump.txt", []), (".tcpdump-v.txt", ["-v"])):
        try:
            out = subprocess.run(["tcpdump", "-n", "-S", "-t", *extra, "-r", pcap],
                                 check=True, capture_output=True).stdout
        except FileNotFoundError:
            print("make_crafted.py: tcpdump not installed; .txt files not regenerated",
                  file=sys.stderr)
            return
        with open(os.path.join(HERE, name + suffix), "wb") as f:
            f.write(out)


def main():
    build("crafted_ipv4", ipv4_cases(), LINKTYPE_ETHERNET)
    build("crafted_ipv6", ipv6_cases(), LINKTYPE_ETHERNET)
    build("crafted_raw", raw_cases(), LINKTYPE_RAW)


if __name__ == "__main__":
    main()
