#!/usr/bin/env bash
# Builds `layer4-bench` with profile-guided optimisation (PGO) and prints the binary's path.
#
# Why: `connect` is bound by the instruction cache (docs/benchmarks.md, "Session 8 ... the
# instruction cache"). With a profile, LLVM lays hot blocks out together and moves cold ones
# away, which no source attribute does as well. The same recipe applies to any program that
# embeds layer4: build it instrumented, run its own typical load, rebuild with the profile.
#
# Both stacks in the binary (layer4 and smoltcp) are trained on the same runs, so the
# comparison stays fair. Usage, from the repository root:
#
#     crates/bench/tools/pgo.sh [WORK_DIR]     # default WORK_DIR: target/pgo
#
# Needs the `llvm-tools` rustup component for `llvm-profdata`, of the same LLVM as rustc
# (`rustup component add llvm-tools`).
set -euo pipefail

work=${1:-target/pgo}
mkdir -p "$work"
work=$(cd "$work" && pwd)

sysroot=$(rustc --print sysroot)
host=$(rustc -vV | sed -n 's/^host: //p')
profdata="$sysroot/lib/rustlib/$host/bin/llvm-profdata"
if [ ! -x "$profdata" ]; then
    echo "pgo.sh: $profdata not found; install it with: rustup component add llvm-tools" >&2
    exit 2
fi

data="$work/profiles"
rm -rf "$data"
mkdir -p "$data"

echo "pgo.sh: building the instrumented bench" >&2
RUSTFLAGS="-Cprofile-generate=$data" CARGO_TARGET_DIR="$work/gen" \
    cargo build --release -p layer4-bench --quiet
gen="$work/gen/release/layer4-bench"

echo "pgo.sh: training (connect and bulk, both stacks)" >&2
for stack in layer4 smoltcp; do
    "$gen" connect --stack "$stack" --runs 1 --conns 200000 > /dev/null
    "$gen" bulk --stack "$stack" --runs 1 --bytes 256MiB > /dev/null
done
"$gen" idle --stack layer4 --conns 10000 > /dev/null

"$profdata" merge -o "$work/merged.profdata" "$data"

echo "pgo.sh: building with the profile" >&2
RUSTFLAGS="-Cprofile-use=$work/merged.profdata" CARGO_TARGET_DIR="$work/use" \
    cargo build --release -p layer4-bench --quiet
echo "$work/use/release/layer4-bench"
