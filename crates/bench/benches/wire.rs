//! Wire-format benchmarks: the internet checksum against memcpy of the same size, the
//! per-segment payload copy+sum, and TCP header parse / emit.
//!
//! Run: `cargo bench -p layer4-bench --bench wire`. Results: docs/benchmarks.md.
use std::hint::black_box;

use core::net::Ipv4Addr;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use layer4_wire::{
    checksum, AddrPair, ChecksumMode, SeqNumber, TcpFlags, TcpOptions, TcpPacket, TcpRepr,
    TcpTimestamp,
};

const SIZES: [usize; 2] = [1500, 64 * 1024];

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + 7) as u8).collect()
}

/// The checksum over 1500 B and 64 KiB, and memcpy over the same sizes as the yardstick
/// (both read the same bytes once; memcpy also writes them).
fn checksum_vs_memcpy(c: &mut Criterion) {
    let mut group = c.benchmark_group("checksum_vs_memcpy");
    for size in SIZES {
        let src = payload(size);
        let mut dst = vec![0u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("checksum", size), &src, |b, src| {
            b.iter(|| checksum::data(black_box(src)))
        });
        group.bench_with_input(BenchmarkId::new("memcpy", size), &src, |b, src| {
            b.iter(|| {
                dst.copy_from_slice(black_box(src));
                black_box(&mut dst);
            })
        });
    }
    group.finish();
}

/// A data segment as Linux sends it mid-transfer: ACK|PSH, timestamps, 1448 bytes.
/// The per-segment payload work of a bulk transfer at MTU 1500: copy 1448 bytes and
/// sum them on the way (`checksum::copy`, once on send and once on receive), and the
/// sum alone (`checksum::data`, a payload verified without being stored). The odd
/// start is a payload that begins at an odd address (a ring position).
fn payload_copy_sum(c: &mut Criterion) {
    const MSS: usize = 1448;
    let mut group = c.benchmark_group("payload_copy_sum");
    group.throughput(Throughput::Bytes(MSS as u64));
    let src = payload(MSS + 1);
    let mut dst = vec![0u8; MSS + 1];
    for start in [0usize, 1] {
        group.bench_function(BenchmarkId::new("copy", format!("{MSS}@{start}")), |b| {
            b.iter(|| {
                checksum::copy(
                    black_box(&mut dst[start..start + MSS]),
                    black_box(&src[start..start + MSS]),
                )
            })
        });
        group.bench_function(BenchmarkId::new("sum", format!("{MSS}@{start}")), |b| {
            b.iter(|| checksum::data(black_box(&src[start..start + MSS])))
        });
    }
    group.finish();
}

fn data_segment(payload: &[u8]) -> TcpRepr<'_> {
    TcpRepr {
        src_port: 49152,
        dst_port: 5201,
        seq_number: SeqNumber(0x1234_5678),
        ack_number: SeqNumber(0x9abc_def0),
        flags: TcpFlags::ACK | TcpFlags::PSH,
        window_len: 502,
        urgent_pointer: 0,
        options: TcpOptions {
            timestamp: Some(TcpTimestamp {
                tsval: 1_000_000,
                tsecr: 999_000,
            }),
            ..TcpOptions::default()
        },
        payload,
    }
}

/// TCP header parse and emit, with the checksum (over 1448 bytes of payload) and without
/// it (`Offloaded`: the header work alone).
fn tcp_header(c: &mut Criterion) {
    let addrs = AddrPair::V4 {
        src: Ipv4Addr::new(10, 0, 0, 1),
        dst: Ipv4Addr::new(10, 0, 0, 2),
    };
    let payload = payload(1448);
    let repr = data_segment(&payload);
    let mut bytes = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut bytes[..]),
        &addrs,
        ChecksumMode::Enabled,
    );

    let mut group = c.benchmark_group("tcp_header");
    for (name, mode) in [
        ("checksum", ChecksumMode::Enabled),
        ("offloaded", ChecksumMode::Offloaded),
    ] {
        group.bench_function(BenchmarkId::new("parse", name), |b| {
            b.iter(|| {
                let packet = TcpPacket::new_checked(black_box(&bytes[..])).expect("valid");
                black_box(TcpRepr::parse(&packet, &addrs, mode).expect("valid"));
            })
        });
        let mut out = vec![0u8; repr.buffer_len()];
        group.bench_function(BenchmarkId::new("emit", name), |b| {
            b.iter(|| {
                let mut packet = TcpPacket::new_unchecked(&mut out[..]);
                black_box(&repr).emit(&mut packet, &addrs, mode);
                black_box(&mut out);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, checksum_vs_memcpy, payload_copy_sum, tcp_header);
criterion_main!(benches);
