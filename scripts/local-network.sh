#!/usr/bin/env bash
# Start a local Gravity network on loopback: validators Alice and Bob, and three full nodes in
# provider mode (Charlie, Dave, Eve: registered providers in the local genesis).
#   scripts/local-network.sh            start, run the demo render job, keep running until Ctrl-C
#   scripts/local-network.sh --no-demo  start and keep running until Ctrl-C
#   scripts/local-network.sh --check    exit 0 once GRANDPA finalizes on all five nodes
# Ports: p2p 30333-30337, RPC 9944-9948, data RPC 9955-9959, Prometheus 9615-9619 (bases:
# GRAVITY_P2P_BASE, GRAVITY_RPC_BASE, GRAVITY_DATA_RPC_BASE, GRAVITY_PROM_BASE), the explorer
# http://127.0.0.1:8080 (GRAVITY_EXPLORER_PORT; not started with --check). The chain RPC
# answers browsers (polkadot.js apps) with safe methods only; the data RPC is loopback-only and
# refuses web pages. Logs and databases: $GRAVITY_NET_DIR (default
# /tmp/gravity-local), wiped at start. Ctrl-C stops every node it started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

MODE=run
case "${1:-}" in
	--check) MODE=check ;;
	--no-demo) MODE=nodemo ;;
	"") ;;
	*) echo "local-network: unknown option '$1' (use --check or --no-demo)" >&2; exit 2 ;;
esac
NAMES=(alice bob charlie dave eve)
NET_DIR="${GRAVITY_NET_DIR:-/tmp/gravity-local}"
P2P=${GRAVITY_P2P_BASE:-30333}
RPC=${GRAVITY_RPC_BASE:-9944}
PROM=${GRAVITY_PROM_BASE:-9615}
DATA=${GRAVITY_DATA_RPC_BASE:-9955}
TIMEOUT=${GRAVITY_NET_TIMEOUT:-120}
# Fixed node key for Alice so the others can find her.
ALICE_KEY=0000000000000000000000000000000000000000000000000000000000000001
ALICE_PEER=12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp

die() { echo "local-network: $*" >&2; exit 1; }
[ -x "$GRAVITY_NODE" ] || die "no gravity-node at $GRAVITY_NODE: run scripts/build.sh first"
command -v curl >/dev/null || die "curl missing: run scripts/setup.sh first"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && { exec 3>&- 3<&-; return 0; }; return 1; }
for i in 0 1 2 3 4; do
	for p in $((P2P+i)) $((RPC+i)) $((PROM+i)) $((DATA+i)); do
		port_busy "$p" && die "port $p is already in use (another gravity-node running?): stop it, or set GRAVITY_P2P_BASE / GRAVITY_RPC_BASE / GRAVITY_PROM_BASE / GRAVITY_DATA_RPC_BASE"
	done
done

rm -rf "$NET_DIR"; mkdir -p "$NET_DIR"
PIDS=()
cleanup() {
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	echo "local-network: stopped (logs in $NET_DIR)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_node() { # name index extra-args...
	local name=$1 i=$2; shift 2
	"$GRAVITY_NODE" --chain local --base-path "$NET_DIR/$name" --name "$name" \
		--rpc-port $((RPC+i)) --prometheus-port $((PROM+i)) --data-rpc-port $((DATA+i)) \
		--rpc-cors all --rpc-methods safe --no-mdns --no-telemetry "$@" >"$NET_DIR/$name.log" 2>&1 &
	PIDS+=($!)
}
BOOT="/ip4/127.0.0.1/tcp/$P2P/p2p/$ALICE_PEER"
start_node alice 0 --port "$P2P" --alice --validator --node-key "$ALICE_KEY"
start_node bob 1 --port $((P2P+1)) --bob --validator --node-key 0000000000000000000000000000000000000000000000000000000000000002 --bootnodes "$BOOT"
# Provider nodes serve job data (inputs they fetched, outputs they computed) to each other and to
# requesters: they listen on plain TCP, as validators do (a non-validator listens on WebSocket
# by default).
provider_node() { # name index suri
	start_node "$1" "$2" --bootnodes "$BOOT" --provider-dev-key "$3" --listen-addr "/ip4/127.0.0.1/tcp/$((P2P+$2))"
}
provider_node charlie 2 //Charlie
provider_node dave 3 //Dave
provider_node eve 4 //Eve

rpc() { curl -s -m 2 -H 'Content-Type: application/json' \
	-d "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"$2\",\"params\":${3:-[]}}" "http://127.0.0.1:$1"; }
finalized() { # port -> finalized block number (or empty)
	local h; h=$(rpc "$1" chain_getFinalizedHead | sed -n 's/.*"result":"\(0x[0-9a-f]*\)".*/\1/p')
	[ -n "$h" ] || return 0
	rpc "$1" chain_getHeader "[\"$h\"]" | sed -n 's/.*"number":"\(0x[0-9a-f]*\)".*/\1/p' | xargs -r printf '%d\n'
}

echo "local-network: starting alice, bob (validators), charlie, dave, eve (providers); waiting for finality (≤ ${TIMEOUT}s)"
deadline=$(( $(date +%s) + TIMEOUT ))
while :; do
	for k in "${!PIDS[@]}"; do
		kill -0 "${PIDS[$k]}" 2>/dev/null || { tail -n 5 "$NET_DIR"/*.log >&2; die "a node exited early; logs above"; }
	done
	all=1; status=""
	for i in 0 1 2 3 4; do
		f=$(finalized $((RPC+i))); status="$status ${NAMES[$i]}=#${f:-?}"
		[ "${f:-0}" -ge 2 ] || all=0
	done
	[ "$all" = 1 ] && break
	[ "$(date +%s)" -lt "$deadline" ] || die "no finality on all nodes within ${TIMEOUT}s ($status); logs in $NET_DIR"
	sleep 1
done
echo "local-network: finalized:$status — GRANDPA works and the full nodes follow"
for i in 0 1 2 3 4; do
	echo "  ${NAMES[$i]}: ws://127.0.0.1:$((RPC+i))  https://polkadot.js.org/apps/?rpc=ws://127.0.0.1:$((RPC+i))#/explorer  metrics http://127.0.0.1:$((PROM+i))/metrics  data RPC ws://127.0.0.1:$((DATA+i))"
done
[ "$MODE" = check ] && exit 0
EXPLORER_PORT=${GRAVITY_EXPLORER_PORT:-8080}
if port_busy "$EXPLORER_PORT"; then
	echo "local-network: port $EXPLORER_PORT is in use: the explorer is not started (set GRAVITY_EXPLORER_PORT)"
else
	bash "$GRAVITY_ROOT/scripts/explorer.sh" --port "$EXPLORER_PORT" --rpc "ws://127.0.0.1:$RPC" --data-rpc "ws://127.0.0.1:$DATA" --reverify \
		--genesis "$(curl -s -H 'Content-Type: application/json' -d '{"id":1,"jsonrpc":"2.0","method":"chain_getBlockHash","params":[0]}' "http://127.0.0.1:$RPC" | sed -n 's/.*"result":"\(0x[0-9a-f]*\)".*/\1/p')" \
		> "$NET_DIR/explorer.log" 2>&1 &
	PIDS+=($!)
	echo "  explorer: http://127.0.0.1:$EXPLORER_PORT  (this network's jobs, blocks, providers; log $NET_DIR/explorer.log)"
fi
if [ "$MODE" = run ]; then
	node "$GRAVITY_ROOT/clients/js/demo-render.mjs" --rpc "ws://127.0.0.1:$RPC" --data-rpc "ws://127.0.0.1:$DATA" --out "${GRAVITY_DEMO_OUT:-$GRAVITY_ROOT/gravity-render.png}" \
		|| echo "local-network: the demo job failed (logs in $NET_DIR); the network keeps running"
fi
echo "local-network: running; Ctrl-C stops all nodes"
wait -n "${PIDS[@]}" || true
die "a node stopped unexpectedly; see $NET_DIR/*.log"
