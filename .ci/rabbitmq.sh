#!/usr/bin/env bash
# A throwaway RabbitMQ for the broker tests (tests/cli/broker.rs), on 127.0.0.1 only.
#
#   eval "$(.ci/rabbitmq.sh start)"   # installs rabbitmq-server if missing, starts it, waits
#                                     # until it is ready, creates a vhost and a user, and
#                                     # prints `export HOOKCTL_TEST_AMQP_URL=...`
#   .ci/rabbitmq.sh stop              # stops it (its data lives in $HOOKCTL_RABBITMQ_DIR)
#   .ci/rabbitmq.sh url               # prints the URL again
#
# AMQP listens on 127.0.0.1:$HOOKCTL_RABBITMQ_PORT (5673, not the default 5672, so a system
# broker is left alone); Erlang distribution and epmd are bound to 127.0.0.1 too.
# Everything but the final `export` line goes to stderr, so `eval` sees only that.
set -euo pipefail

PORT="${HOOKCTL_RABBITMQ_PORT:-5673}"
DIST_PORT="${HOOKCTL_RABBITMQ_DIST_PORT:-25673}"
BASE="${HOOKCTL_RABBITMQ_DIR:-/tmp/hookctl-rabbitmq}"
VHOST="hookctl-test"
USER_NAME="hookctl"
PASSWORD="hookctl-test-password"
BIN="/usr/lib/rabbitmq/bin"

export RABBITMQ_NODENAME="hookctl-test@localhost"
export RABBITMQ_NODE_IP_ADDRESS="127.0.0.1"
export RABBITMQ_NODE_PORT="$PORT"
export RABBITMQ_DIST_PORT="$DIST_PORT"
export RABBITMQ_MNESIA_BASE="$BASE/mnesia"
export RABBITMQ_LOG_BASE="$BASE/log"
export RABBITMQ_PID_FILE="$BASE/rabbitmq.pid"
export RABBITMQ_ENABLED_PLUGINS_FILE="$BASE/enabled_plugins"
export RABBITMQ_CONFIG_FILE="$BASE/rabbitmq"
export RABBITMQ_ADVANCED_CONFIG_FILE="$BASE/advanced.config"
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export ERL_EPMD_ADDRESS="127.0.0.1"
# The Erlang cookie is read from $HOME: keep it with the broker's data, not in the user's home.
export HOME="$BASE"

log() { echo "rabbitmq.sh: $*" >&2; }

url() {
    echo "export HOOKCTL_TEST_AMQP_URL=amqp://$USER_NAME:$PASSWORD@127.0.0.1:$PORT/$VHOST"
}

ctl() { "$BIN/rabbitmqctl" -n "$RABBITMQ_NODENAME" "$@"; }

install() {
    if [ -x "$BIN/rabbitmq-server" ]; then
        return
    fi
    log "installing rabbitmq-server from the Debian packages"
    # policy-rc.d keeps the package from starting the system-wide service.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' RETURN
    fi
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >&2
}

running() { ctl status >/dev/null 2>&1; }

start() {
    install
    mkdir -p "$BASE/mnesia" "$BASE/log"
    echo '[].' > "$RABBITMQ_ENABLED_PLUGINS_FILE"
    echo '[].' > "$RABBITMQ_ADVANCED_CONFIG_FILE"
    cat > "$RABBITMQ_CONFIG_FILE.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$PORT
loopback_users = none
disk_free_limit.absolute = 10MB
EOF
    fresh=0
    if running; then
        log "already running on 127.0.0.1:$PORT"
    else
        fresh=1
        log "starting on 127.0.0.1:$PORT (data and logs in $BASE)"
        nohup "$BIN/rabbitmq-server" > "$BASE/server.out" 2>&1 < /dev/null &
        echo $! > "$BASE/launcher.pid"
        # `wait` blocks until the pid file appears and the broker has booted, up to --timeout.
        if ! ctl wait --timeout 120 "$RABBITMQ_PID_FILE" >&2; then
            log "RabbitMQ did not start; its output:"
            tail -n 40 "$BASE/server.out" >&2 || true
            exit 1
        fi
    fi
    ctl await_startup --timeout 60 >&2
    "$BIN/rabbitmq-diagnostics" -n "$RABBITMQ_NODENAME" -q check_port_connectivity >&2
    if [ "$fresh" = 1 ]; then
        # Queues that earlier runs left behind go with the vhost.
        ctl -q delete_vhost "$VHOST" >/dev/null 2>&1 || true
    fi
    ctl -q add_vhost "$VHOST" >/dev/null 2>&1 || true
    ctl -q add_user "$USER_NAME" "$PASSWORD" >/dev/null 2>&1 ||
        ctl -q change_password "$USER_NAME" "$PASSWORD" >&2
    ctl -q set_permissions -p "$VHOST" "$USER_NAME" ".*" ".*" ".*" >&2
    log "ready: amqp://$USER_NAME:***@127.0.0.1:$PORT/$VHOST"
    url
}

stop() {
    if running; then
        log "stopping"
        ctl -q stop "$RABBITMQ_PID_FILE" >&2 || ctl -q stop >&2 || true
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
