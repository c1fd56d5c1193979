#!/usr/bin/env python3
"""Seed the fuzz corpora from the golden captures in crates/wire/tests/data/*.pcap.

Run from anywhere: python3 fuzz/seed_corpus.py [--clean]

Every capture is a classic pcap file of real Linux packets on Ethernet (the IP packet
starts at byte 14 of each frame). The script writes, under fuzz/corpus/<target>/:

  ip_packet  each IP packet (trimmed to its IP length)
  ipv4/ipv6  the same packets, by version
  tcp, udp   byte 0 = family (0 IPv4, 1 IPv6), source and destination address, then
             the TCP segment / UDP datagram (unfragmented packets and first fragments)
  icmpv4     the ICMP message
  icmpv6     source and destination address (32 bytes), then the ICMPv6 message
  pcap       the capture files themselves, plus each one rewritten as a raw-IP
             (LINKTYPE_RAW) big-endian microsecond file, so the reader's other paths
             start from a valid file too
  stack      per capture, four inputs: a mode byte (checksums not verified, then
             verified with the segments batched) and its TCP segments over IPv4,
             then over IPv6, as `stack` records (op 1 or 3, +4 when batched,
             length, segment with the destination port set to the listener's 80),
             one 100 ms time step after each, and its IP packets as op-0 records
  live       step programs of the shape live_fuzz.rs's second property draws
             (writes, deliveries one by one and in batches, reads, forgeries, time),
             from a fixed random seed, each twice: behind a leading family byte 0
             (IPv4) and 1 (IPv6)

The input layouts are the ones the targets in fuzz/fuzz_targets/ read. Files are named
by the SHA-1 of their contents, as libFuzzer names the inputs it adds, so running the
script twice adds nothing. fuzz/corpus is gitignored: this script is the way to get it
back.
"""

import hashlib
import os
import random
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "crates", "wire", "tests", "data")
CORPUS = os.path.join(HERE, "corpus")

TARGETS = ["ip_packet", "ipv4", "ipv6", "tcp", "udp", "icmpv4", "icmpv6", "pcap", "stack", "live", "app"]

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
IPV6_EXT = {0, 43, 60}  # hop-by-hop, routing, destination options
IPV6_FRAG = 44


def read_pcap(blob):
    """Yield (header fields, link type, records) of a classic pcap file."""
    magic = blob[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError("not a classic pcap file")
    nanos = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    _, _, _, _, snaplen, link = struct.unpack(endian + "HHiIII", blob[4:24])
    records = []
    at = 24
    while at + 16 <= len(blob):
        secs, frac, incl, orig = struct.unpack(endian + "IIII", blob[at : at + 16])
        data = blob[at + 16 : at + 16 + incl]
        records.append((secs, frac if nanos else frac * 1000, orig, data))
        at += 16 + incl
    return snaplen, link & 0xFFFF, records


def write_pcap_raw_be_micro(snaplen, records):
    """The records' IP packets as a big-endian, microsecond, LINKTYPE_RAW file."""
    out = [struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 101)]
    for secs, nanos, orig, data in records:
        ip = ip_of_frame(data)
        if ip is None:
            continue
        out.append(struct.pack(">IIII", secs, nanos // 1000, len(ip), len(ip)))
        out.append(ip)
    return b"".join(out)


def ip_of_frame(frame):
    """The IP packet of an Ethernet frame (no VLAN tags in these captures)."""
    if len(frame) < 14:
        return None
    (ethertype,) = struct.unpack(">H", frame[12:14])
    if ethertype not in (ETHERTYPE_IPV4, ETHERTYPE_IPV6):
        return None
    return frame[14:]


def transport_of(ip):
    """(family byte, addresses, protocol, upper-layer bytes) of an IP packet, or None
    for a non-first fragment or a malformed packet."""
    version = ip[0] >> 4
    if version == 4 and len(ip) >= 20:
        ihl = (ip[0] & 0x0F) * 4
        (total,) = struct.unpack(">H", ip[2:4])
        (flags_off,) = struct.unpack(">H", ip[6:8])
        if flags_off & 0x1FFF:
            return None
        return 0, ip[12:20], ip[9], ip[ihl:total]
    if version == 6 and len(ip) >= 40:
        (plen,) = struct.unpack(">H", ip[4:6])
        payload = ip[40 : 40 + plen]
        nxt, at = ip[6], 0
        for _ in range(8):
            if nxt in IPV6_EXT and at + 2 <= len(payload):
                nxt, at = payload[at], at + (payload[at + 1] + 1) * 8
            elif nxt == IPV6_FRAG and at + 8 <= len(payload):
                (off,) = struct.unpack(">H", payload[at + 2 : at + 4])
                if off >> 3:
                    return None
                nxt, at = payload[at], at + 8
            else:
                break
        return 1, ip[8:40], nxt, payload[at:]
    return None


def trim_ip(ip):
    """Drop link-layer padding after the IP packet."""
    if ip[0] >> 4 == 4 and len(ip) >= 4:
        return ip[: struct.unpack(">H", ip[2:4])[0]]
    if ip[0] >> 4 == 6 and len(ip) >= 6:
        return ip[: 40 + struct.unpack(">H", ip[4:6])[0]]
    return ip


def save(target, blob, counts):
    name = hashlib.sha1(blob).hexdigest()
    path = os.path.join(CORPUS, target, name)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(blob)
        counts[target] += 1


def stack_records(packets, segments, family_op=1, batched=False):
    """A `stack` input's records: each TCP segment (to port 80) as an op-`family_op`
    record (1: wrapped in IPv4, 3: in IPv6; with bit 2 set when `batched`, so that
    the segments between time steps arrive as one `handle_packets` batch) and a
    100 ms time step, then each IP packet as an op-0 record."""
    out = bytearray()
    op = family_op | (4 if batched else 0)
    for seg in segments:
        if len(seg) >= 4 and len(seg) <= 0xFFFF:
            seg = seg[:2] + b"\x00\x50" + seg[4:]
            out += bytes([op]) + struct.pack(">H", len(seg)) + seg + b"\x02\x0a"
    for ip in packets:
        if len(ip) <= 0xFFFF:
            out += b"\x00" + struct.pack(">H", len(ip)) + ip
    return bytes(out)


def live_programs(counts):
    """`live` step programs: 13-byte steps (op, 12 argument bytes), the ops those
    of live_fuzz.rs's `transfers_under_forged_segments_stay_consistent`, each behind
    the family byte `run_ops` reads first (0: IPv4, 1: IPv6)."""
    rng = random.Random(10)
    ops = [6, 0, 1, 8, 10, 5, 0x10, 0x11, 0x1A, 7, 9, 2, 3, 4]
    for n in range(60):
        out = bytearray()
        for _ in range(rng.randrange(5, 60)):
            out.append(rng.choice(ops[: 9 if n % 2 else len(ops)]))
            out += bytes(rng.randrange(256) for _ in range(12))
        for family in (0, 1):
            save("live", bytes([family]) + bytes(out), counts)


def app_programs(counts):
    """`app` programs (`layer4_sim::app_model::decode`): a head byte (bit 0 the
    family, bits 1-3 the configuration variant), then steps: send (0, client with
    0x10) and recv (2) with a 2-byte length, shutdowns (4, 5), close (6), accept
    (8), deliveries (9) with a count, losses (11), duplicates (12), swaps (13) and
    clock moves (14, 15) with a byte. Transfers both ways with a close, under
    some loss, for every family and variant."""
    rng = random.Random(11)
    def send(side, n):
        return bytes([0x10 * side]) + struct.pack(">H", n - 1)
    def recv(side):
        return bytes([2 | 0x10 * side]) + struct.pack(">H", 0xFFFF)
    for head in range(16):
        out = bytearray()
        out += bytes([0x19, 8, 9, 8, 0x19, 8, 8])
        for _ in range(rng.randrange(4, 30)):
            step = rng.randrange(8)
            if step < 2:
                out += send(rng.randrange(2), rng.randrange(1, 12000))
            elif step < 4:
                out += recv(rng.randrange(2))
            elif step == 4:
                out += bytes([0x09 | 0x10 * rng.randrange(2), 7])
            elif step == 5:
                out += bytes([0x0B | 0x10 * rng.randrange(2)])
            elif step == 6:
                out += bytes([0x0E, rng.randrange(256)])
            else:
                out += bytes([0x0D | 0x10 * rng.randrange(2)])
        out += bytes([0x14, 0x04, 0x06, 0x16])
        save("app", bytes([head]) + bytes(out), counts)


def main():
    if "--clean" in sys.argv[1:]:
        for target in TARGETS:
            shutil.rmtree(os.path.join(CORPUS, target), ignore_errors=True)
    for target in TARGETS:
        os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    counts = {t: 0 for t in TARGETS}

    captures = sorted(f for f in os.listdir(DATA) if f.endswith(".pcap"))
    for capture in captures:
        with open(os.path.join(DATA, capture), "rb") as f:
            blob = f.read()
        save("pcap", blob, counts)
        snaplen, link, records = read_pcap(blob)
        assert link == 1, f"{capture}: expected Ethernet, got link type {link}"
        save("pcap", write_pcap_raw_be_micro(snaplen, records), counts)

        packets, segments = [], []
        for _, _, _, frame in records:
            ip = ip_of_frame(frame)
            if ip is None:
                continue
            ip = trim_ip(ip)
            packets.append(ip)
            save("ip_packet", ip, counts)
            save("ipv4" if ip[0] >> 4 == 4 else "ipv6", ip, counts)
            t = transport_of(ip)
            if t is None:
                continue
            family, addrs, proto, upper = t
            if proto == TCP:
                save("tcp", bytes([family]) + addrs + upper, counts)
                if family == 0:
                    segments.append(upper)
            elif proto == UDP:
                save("udp", bytes([family]) + addrs + upper, counts)
            elif proto == ICMP and family == 0:
                save("icmpv4", upper, counts)
            elif proto == ICMPV6 and family == 1:
                save("icmpv6", addrs + upper, counts)
        for family_op in (1, 3):
            # Checksums not verified, one packet at a time; verified, in batches.
            save("stack", b"\x00" + stack_records(packets, segments, family_op), counts)
            save("stack", b"\x01" + stack_records(packets, segments, family_op, True), counts)

    live_programs(counts)
    app_programs(counts)

    for target in TARGETS:
        total = len(os.listdir(os.path.join(CORPUS, target)))
        print(f"{target:10} +{counts[target]:3} new, {total:4} in corpus/{target}")


if __name__ == "__main__":
    main()
