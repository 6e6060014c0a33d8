#!/usr/bin/env bash
# Events per second through  send → listen --publish → RabbitMQ → relay → listen,
# next to a direct `replay` of the same events into the same kind of listen; and, in the same
# run, the same two broker measurements through Kafka (listen --publish kafka:// → relay
# kafka:// --group) when HOOKCTL_TEST_KAFKA_URL is set.
#
#   bench/broker.sh [EVENTS] [CONCURRENCY]        (defaults: 5000 events, concurrency 16)
#
# Needs a release build (cargo build --release, with --features kafka for the Kafka half; set
# HOOKCTL to use another binary) and a broker: HOOKCTL_TEST_AMQP_URL, or one started with
# `eval "$(.ci/rabbitmq.sh start)"`; Kafka from `eval "$(.ci/kafka.sh start)"`. Everything runs
# on 127.0.0.1; every process started here is stopped by its PID; every step is bounded by
# `timeout`.
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS="${1:-5000}"
CONCURRENCY="${2:-16}"
HOOKCTL="${HOOKCTL:-$PWD/target/release/hookctl}"
KAFKA="${HOOKCTL_TEST_KAFKA_URL:-}"
URL="${HOOKCTL_TEST_AMQP_URL:?set HOOKCTL_TEST_AMQP_URL, e.g. eval \"\$(.ci/rabbitmq.sh start)\"}"
LIMIT=300
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

[ -x "$HOOKCTL" ] || { echo "build first: cargo build --release" >&2; exit 1; }

now() { date +%s.%N; }
rate() { echo "$1 $2 $3" | awk '{ printf "%.0f", $1 / ($3 - $2) }'; }

# Starts `hookctl listen --port 0 ARGS` in the background; sets LISTEN_URL and LISTEN_PID.
start_listen() {
    local ready="$WORK/ready.$RANDOM"
    "$HOOKCTL" listen --port 0 -q --ready-file "$ready" "$@" > /dev/null 2>> "$WORK/listen.err" &
    LISTEN_PID=$!
    PIDS+=("$LISTEN_PID")
    for _ in $(seq 200); do
        [ -s "$ready" ] && break
        kill -0 "$LISTEN_PID" 2>/dev/null || { cat "$WORK/listen.err" >&2; exit 1; }
        sleep 0.05
    done
    LISTEN_URL="$(cat "$ready")"
}

"$HOOKCTL" send payment_success --count "$EVENTS" --dry-run > "$WORK/events.jsonl"

# 1. Direct: replay → listen.
start_listen --count "$EVENTS" --timeout "${LIMIT}s"
sink=$LISTEN_PID
t0=$(now)
timeout "$LIMIT" "$HOOKCTL" replay "$WORK/events.jsonl" --to "$LISTEN_URL" -c "$CONCURRENCY" -q
wait "$sink"
direct=$(rate "$EVENTS" "$t0" "$(now)")

# 2. Through the broker, pipelined: the relay runs while events come in.
exchange="bench-$$-$RANDOM"
queue="$exchange-q"
start_listen --count "$EVENTS" --timeout "${LIMIT}s"
sink=$LISTEN_PID
sink_url=$LISTEN_URL
start_listen --publish "$URL" --exchange "$exchange" --queue "$queue"
source_url=$LISTEN_URL
timeout "$LIMIT" "$HOOKCTL" relay "$URL" --queue "$queue" --exchange "$exchange" \
    --to "$sink_url" -c "$CONCURRENCY" --count "$EVENTS" -q 2> "$WORK/relay.err" &
relay=$!
PIDS+=("$relay")
for _ in $(seq 200); do grep -q "^consuming queue" "$WORK/relay.err" && break; sleep 0.05; done
t0=$(now)
timeout "$LIMIT" "$HOOKCTL" replay "$WORK/events.jsonl" --to "$source_url" -c "$CONCURRENCY" -q
t1=$(now)
wait "$sink"
t2=$(now)
wait "$relay"
ingest=$(rate "$EVENTS" "$t0" "$t1")
through=$(rate "$EVENTS" "$t0" "$t2")

# 3. The relay alone, draining a queue that is already full.
exchange2="$exchange-2"
queue2="$exchange2-q"
start_listen --count "$EVENTS" --timeout "${LIMIT}s"
sink=$LISTEN_PID
sink_url=$LISTEN_URL
timeout "$LIMIT" "$HOOKCTL" send payment_success --count "$EVENTS" --publish "$URL" \
    --exchange "$exchange2" --queue "$queue2" -q
t0=$(now)
timeout "$LIMIT" "$HOOKCTL" relay "$URL" --queue "$queue2" --exchange "$exchange2" \
    --to "$sink_url" -c "$CONCURRENCY" --count "$EVENTS" -q 2> /dev/null
wait "$sink"
drain=$(rate "$EVENTS" "$t0" "$(now)")

# 4. The same two measurements through Kafka (one partition; the relay in its own group).
if [ -n "$KAFKA" ]; then
    topic="bench-$$-$RANDOM"
    start_listen --count "$EVENTS" --timeout "${LIMIT}s"
    sink=$LISTEN_PID
    sink_url=$LISTEN_URL
    start_listen --publish "$KAFKA/$topic"
    source_url=$LISTEN_URL
    timeout "$LIMIT" "$HOOKCTL" relay "$KAFKA/$topic" --group "$topic-g" \
        --to "$sink_url" -c "$CONCURRENCY" --count "$EVENTS" -q 2> "$WORK/krelay.err" &
    relay=$!
    PIDS+=("$relay")
    for _ in $(seq 400); do grep -q "assigned partitions.*: 0" "$WORK/krelay.err" && break; sleep 0.05; done
    t0=$(now)
    timeout "$LIMIT" "$HOOKCTL" replay "$WORK/events.jsonl" --to "$source_url" -c "$CONCURRENCY" -q
    t1=$(now)
    wait "$sink"
    t2=$(now)
    wait "$relay"
    kingest=$(rate "$EVENTS" "$t0" "$t1")
    kthrough=$(rate "$EVENTS" "$t0" "$t2")

    topic2="$topic-2"
    start_listen --count "$EVENTS" --timeout "${LIMIT}s"
    sink=$LISTEN_PID
    sink_url=$LISTEN_URL
    timeout "$LIMIT" "$HOOKCTL" send payment_success --count "$EVENTS" --publish "$KAFKA/$topic2" -q
    # Joining the consumer group takes seconds (the broker waits for other members before it
    # assigns partitions): timed from the start, and from the assignment.
    t0=$(now)
    timeout "$LIMIT" "$HOOKCTL" relay "$KAFKA/$topic2" --group "$topic2-g" \
        --to "$sink_url" -c "$CONCURRENCY" --count "$EVENTS" -q 2> "$WORK/kdrain.err" &
    relay=$!
    PIDS+=("$relay")
    for _ in $(seq 3000); do grep -q "assigned partitions" "$WORK/kdrain.err" && break; sleep 0.01; done
    t1=$(now)
    wait "$sink"
    t2=$(now)
    wait "$relay"
    kdrain=$(rate "$EVENTS" "$t0" "$t2")
    kdrain_assigned=$(rate "$EVENTS" "$t1" "$t2")
    kjoin=$(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }')
fi

echo "events: $EVENTS, concurrency: $CONCURRENCY, $(nproc) cores"
echo "direct replay → listen:                         $direct events/s"
echo "listen --publish ingest (2xx after confirm):    $ingest events/s"
echo "send → listen → RabbitMQ → relay → listen:      $through events/s"
echo "relay alone, draining a full queue → listen:    $drain events/s"
if [ -n "$KAFKA" ]; then
    echo "listen --publish kafka:// ingest (2xx after ack): $kingest events/s"
    echo "send → listen → Kafka (tansu) → relay → listen:  $kthrough events/s"
    echo "Kafka relay alone, draining a full topic:        $kdrain events/s (joining the group: ${kjoin}s)"
    echo "  the same, timed from the partition assignment: $kdrain_assigned events/s"
fi
