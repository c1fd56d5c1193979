//! TCP send and receive buffer benchmarks: one 1448-byte segment (MSS with timestamps
//! at MTU 1500) through a 256 KiB buffer kept near full, as in a bulk transfer, with two
//! plain `memcpy`s of the same size as the yardstick.
//!
//! - `send`: `write` a segment at the tail, `read_at` it into a packet buffer (its
//!   first transmission), `consume` a segment at the front (an ACK). `send_front`
//!   reads the oldest segment instead (a retransmission), which is colder in cache.
//! - `recv`: `write_at(0)` a segment, `commit` it, `read` a segment at the front into
//!   the application's buffer, 128 KiB behind. `recv_drained`: the application keeps
//!   up, so it reads the segment just committed.
//! - `memcpy_x2`: copy the segment into a 256 KiB array and out again, at the same
//!   rotating position, with no ring bookkeeping.
//!
//! Throughput is the segment's payload per iteration (each iteration copies it twice).
//! The segment size does not divide 256 KiB, so positions rotate through the ring and
//! every path meets the wrap.
//!
//! Run: `cargo bench -p layer4-bench --bench buffers`. Results: docs/benchmarks.md.
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use layer4::tcp::recv_buffer::RecvBuffer;
use layer4::tcp::send_buffer::SendBuffer;

const SEGMENT: usize = 1448;
const LIMIT: usize = 256 * 1024;

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + 7) as u8).collect()
}

fn segments(c: &mut Criterion) {
    let seg = payload(SEGMENT);
    let mut packet = vec![0u8; SEGMENT];
    let mut group = c.benchmark_group("buffers_1448_in_256k");
    group.throughput(Throughput::Bytes(SEGMENT as u64));

    // `read_at` the segment just written (a first transmission: the bytes are hot in
    // L1), or the oldest one (a retransmission of the front: written 180 segments ago).
    for (name, newest) in [("send", true), ("send_front", false)] {
        group.bench_function(name, |b| {
            let mut buf = SendBuffer::new(LIMIT);
            // Full but for at least one segment: everything in flight.
            while buf.free() >= 2 * SEGMENT {
                buf.write(&seg);
            }
            b.iter(|| {
                let n = buf.write(black_box(&seg));
                assert_eq!(n, SEGMENT);
                let off = if newest { buf.len() - n } else { 0 };
                buf.read_at(off, black_box(&mut packet[..]));
                buf.consume(n);
            });
            assert_eq!(buf.allocated(), LIMIT);
        });
    }

    // The application reads what arrived 128 KiB ago (`recv`, a backlog of half the
    // buffer), or keeps up and reads each segment as it is committed (`recv_drained`).
    for (name, backlog) in [("recv", LIMIT / 2), ("recv_drained", 0)] {
        group.bench_function(name, |b| {
            let mut buf = RecvBuffer::new(LIMIT);
            while buf.len() < backlog {
                let n = buf.write_at(0, &seg);
                buf.commit(n);
            }
            b.iter(|| {
                let n = buf.write_at(0, black_box(&seg));
                assert_eq!(n, SEGMENT);
                buf.commit(n);
                buf.read(black_box(&mut packet[..]));
            });
        });
    }

    group.bench_function("memcpy_x2", |b| {
        let mut ring = vec![0u8; LIMIT];
        let mut pos = 0;
        b.iter(|| {
            if pos + SEGMENT > LIMIT {
                pos = 0;
            }
            ring[pos..pos + SEGMENT].copy_from_slice(black_box(&seg));
            packet.copy_from_slice(black_box(&ring[pos..pos + SEGMENT]));
            black_box(&mut packet);
            pos += SEGMENT;
        });
    });
    group.finish();
}

criterion_group!(benches, segments);
criterion_main!(benches);
