#!/bin/sh
# Instructions the server spends on verification requests, for two builds of the server binary
# (issue 11: "the benchmarks must not get slower", where verify_load's times move by ±12% on a
# shared machine). For each binary the verify_load bench drives the server under callgrind with
# N and then 2N requests on one keep-alive mutual-TLS connection; the difference of the two
# totals (Ir, all threads) is the cost of N requests, start-up and shutdown cancelled out.
#
# usage: .ci/verify_callgrind.sh SERVER_A SERVER_B [N]
#   build the driver first: cargo bench --bench verify_load --no-run
# Output files go to a temporary folder and are removed; only the totals are printed.
set -eu
a=$1; b=$2; n=${3:-200}
bench=$(ls -t "${CARGO_TARGET_DIR:-target}"/release/deps/verify_load-* | grep -v '\.d$' | head -1)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
total() { # binary requests -> Ir of the server process
    VERIFY_LOAD_SERIALS=${VERIFY_LOAD_SERIALS:-100000} VERIFY_LOAD_CONNECTIONS=1 \
    VERIFY_LOAD_WORKERS=1 VERIFY_LOAD_POOL=4 VERIFY_LOAD_SERVER_LOG=warn \
    VERIFY_LOAD_REQUESTS=$2 VERIFY_LOAD_SERVER=$1 \
    VERIFY_LOAD_WRAPPER="valgrind --tool=callgrind --callgrind-out-file=$out/cg.$2" \
        "$bench" --bench >"$out/log.$2" 2>&1
    grep -q "^  $2 verified answers, 0 errors" "$out/log.$2" || { cat "$out/log.$2" >&2; exit 1; }
    sed -n 's/^summary: //p' "$out/cg.$2"
}
for bin in "$a" "$b"; do
    one=$(total "$bin" "$n"); two=$(total "$bin" $((2 * n)))
    echo "$bin: Ir with $n requests $one, with $((2 * n)) $two; per request $(( (two - one) / n ))"
done
