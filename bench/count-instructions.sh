#!/usr/bin/env bash
# Deterministic receiver cost: user-space instructions per request under valgrind's callgrind,
# for hookctl and the baseline receiver, in one run. Repeatable to about 1% whatever else the
# machine does; wall-clock ratios on a shared 2-core machine are not.
#
#   bench/count-instructions.sh PATH/TO/hookctl [VARIANT...]
#
# Per request = (Ir after N2 requests - Ir after N1 requests) / (N2 - N1): start-up cancels out.
# Variants: baseline-plain baseline-capture baseline-pretty hookctl-quiet hookctl-capture hookctl-pretty
# Needs valgrind and oha (cargo install oha). Prints one JSON line per variant.
# env: N1=500 N2=3500 PORT=18091 BASELINE_TARGET=<dir for the baseline's cargo target>
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HK=$(realpath "${1:?usage: count-instructions.sh PATH/TO/hookctl [VARIANT...]}"); shift
N1=${N1:-500}; N2=${N2:-3500}; PORT=${PORT:-18091}
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
BT=${BASELINE_TARGET:-$WORK/baseline-target}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install -y valgrind)" >&2; exit 1; }
command -v oha >/dev/null || { echo "needs oha (cargo install oha)" >&2; exit 1; }
cargo build --quiet --release --manifest-path "$HERE/baseline-server/Cargo.toml" --target-dir "$BT"
BASE=$BT/release/baseline-server
declare -A V=(
  [baseline-plain]="$BASE --addr 127.0.0.1:$PORT --rt current"
  [baseline-capture]="$BASE --addr 127.0.0.1:$PORT --rt current --capture $WORK/cap.jsonl --flush line"
  [baseline-pretty]="$BASE --addr 127.0.0.1:$PORT --rt current --print pretty"
  [hookctl-quiet]="$HK listen --port $PORT --quiet"
  [hookctl-capture]="$HK listen --port $PORT --quiet --capture $WORK/cap.jsonl"
  [hookctl-pretty]="$HK listen --port $PORT --color never"
)
ir_after() {  # ir_after N CMD... -> instructions for start-up plus N requests
  local n=$1; shift
  rm -f "$WORK/cap.jsonl"
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" >/dev/null 2>"$WORK/err" &
  local pid=$! i
  for i in $(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
  oha -n "$n" -c 8 -m POST -T application/json -D "$HERE/payload.json" --no-tui --output-format json \
    "http://127.0.0.1:$PORT/webhook" >/dev/null
  kill -INT "$pid"; wait "$pid" || true
  awk '/Collected :/{print $NF}' "$WORK/err"
}
for v in "${@:-baseline-capture hookctl-capture baseline-pretty hookctl-pretty}"; do
  for one in $v; do
    # shellcheck disable=SC2086
    a=$(ir_after "$N1" ${V[$one]}); b=$(ir_after "$N2" ${V[$one]})
    awk -v v="$one" -v a="$a" -v b="$b" -v n=$((N2 - N1)) \
      'BEGIN{printf "{\"variant\":\"%s\",\"requests\":%d,\"instructions_per_request\":%.0f}\n", v, n, (b-a)/n}'
  done
done
