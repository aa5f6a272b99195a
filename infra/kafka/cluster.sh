#!/usr/bin/env bash
# A local 3-node Apache Kafka cluster (KRaft, each node a broker and a controller) from
# the same Maven jars as kafka.sh, for failover runs: replication factor 3,
# min.insync.replicas 2 (docs/adr/0026-three-broker-cluster.md).
#
# Usage: infra/kafka/cluster.sh up|down|status|bootstrap|kill N|start N|stop N|logs N
#
#   up         start the three nodes (formatting each once with one shared cluster id),
#              then wait until every node answers a metadata request; idempotent
#   down       stop every node (SIGTERM, SIGKILL after 30 s); the data stays
#   status     each node's state; exit 0 when all three run, 3 otherwise
#   bootstrap  print the bootstrap servers (for KAFKA_BOOTSTRAP_SERVERS)
#   kill N     SIGKILL node N (1-3): a broker lost without warning
#   start N    start node N again and wait until it answers
#   stop N     stop node N gracefully
#   logs N     the tail of node N's log (kafka.sh logs)
#
# Environment (defaults in brackets), besides kafka.sh's own:
#   KAFKA_CLUSTER_DIR               one state dir per node, node-1..node-3, and the
#                                   cluster id [<repo>/.work/kafka/cluster]
#   KAFKA_CLUSTER_PORTS             the nodes' client ports [19092 19093 19094]
#   KAFKA_CLUSTER_CONTROLLER_PORTS  the nodes' controller ports [19192 19193 19194]
#   KAFKA_HEAP                      per node [-Xmx512m -Xms128m]
#
# Clients then use KAFKA_BOOTSTRAP_SERVERS=$(infra/kafka/cluster.sh bootstrap) and
# RETURNS_REPLICATION_FACTOR=3 (`make kafka-cluster-up` prints both).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
KAFKA_SH=$SCRIPT_DIR/kafka.sh
PROBE=$SCRIPT_DIR/probe.py

KAFKA_CLUSTER_DIR=${KAFKA_CLUSTER_DIR:-$REPO_ROOT/.work/kafka/cluster}
read -r -a PORTS <<<"${KAFKA_CLUSTER_PORTS:-19092 19093 19094}"
read -r -a CONTROLLER_PORTS <<<"${KAFKA_CLUSTER_CONTROLLER_PORTS:-19192 19193 19194}"
export KAFKA_HEAP=${KAFKA_HEAP:--Xmx512m -Xms128m}
export KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
export PYTHON=${PYTHON:-$REPO_ROOT/.venv/bin/python}
export KAFKA_TEMPLATE=$SCRIPT_DIR/server-cluster.properties.template
NODES=(1 2 3)

die() {
  echo "cluster.sh: $*" >&2
  exit 1
}

((${#PORTS[@]} == 3 && ${#CONTROLLER_PORTS[@]} == 3)) ||
  die "KAFKA_CLUSTER_PORTS and KAFKA_CLUSTER_CONTROLLER_PORTS must each name three ports."

voters() { # 1@127.0.0.1:19192,2@127.0.0.1:19193,3@127.0.0.1:19194
  local n out=""
  for n in "${NODES[@]}"; do out+="${out:+,}$n@127.0.0.1:${CONTROLLER_PORTS[n - 1]}"; done
  echo "$out"
}

bootstrap() {
  local n out=""
  for n in "${NODES[@]}"; do out+="${out:+,}127.0.0.1:${PORTS[n - 1]}"; done
  echo "$out"
}

check_node() { # N
  [[ ${1:-} =~ ^[1-3]$ ]] || die "name a node: 1, 2 or 3 (got '${1:-}')."
}

node() { # N command...: kafka.sh for node N
  local n=$1
  shift
  KAFKA_NODE_ID=$n \
    KAFKA_PORT=${PORTS[n - 1]} \
    KAFKA_CONTROLLER_PORT=${CONTROLLER_PORTS[n - 1]} \
    KAFKA_QUORUM_VOTERS=$(voters) \
    KAFKA_STATE_DIR=$KAFKA_CLUSTER_DIR/node-$n \
    KAFKA_CLUSTER_ID=${CLUSTER_ID:-} \
    bash "$KAFKA_SH" "$@"
}

cluster_id() { # one id for all three nodes, made once
  local file=$KAFKA_CLUSTER_DIR/cluster.id
  if [[ ! -s $file ]]; then
    bash "$KAFKA_SH" jars >/dev/null
    local lib=${KAFKA_LIB_DIR:-$REPO_ROOT/.work/kafka/lib} id
    id=$(java -Dlog4j2.configurationFile="$SCRIPT_DIR/log4j2.properties" -cp "$lib/*" \
      kafka.tools.StorageTool random-uuid 2>/dev/null | grep -E '^[A-Za-z0-9_-]{22}$' | tail -n 1) || true
    [[ -n $id ]] || die "kafka.tools.StorageTool random-uuid printed no cluster id."
    echo "$id" >"$file"
  fi
  tr -d '[:space:]' <"$file"
}

wait_node() { # N: its own metadata probe
  "$PYTHON" "$PROBE" --bootstrap "127.0.0.1:${PORTS[$1 - 1]}" --timeout "$KAFKA_START_TIMEOUT" >/dev/null ||
    die "node $1 did not answer on 127.0.0.1:${PORTS[$1 - 1]} within ${KAFKA_START_TIMEOUT} s; see '$0 logs $1'."
}

cmd_up() {
  mkdir -p "$KAFKA_CLUSTER_DIR"
  CLUSTER_ID=$(cluster_id)
  local n started=$SECONDS
  # No node can answer before two of the three controllers run: start all, then wait.
  for n in "${NODES[@]}"; do KAFKA_WAIT=0 node "$n" up; done
  for n in "${NODES[@]}"; do wait_node "$n"; done
  echo "Kafka cluster ready in $((SECONDS - started)) s: $(bootstrap)"
  echo "  export KAFKA_BOOTSTRAP_SERVERS=$(bootstrap) RETURNS_REPLICATION_FACTOR=3"
}

cmd_down() {
  # All at once: a node stopped last, alone, would wait for a controller quorum that
  # is gone, and be killed after 30 s.
  local n
  for n in "${NODES[@]}"; do node "$n" down | sed "s/^/node $n: /" & done
  wait
}

cmd_status() {
  local n down=0
  for n in "${NODES[@]}"; do
    node "$n" status | sed "s/^/node $n: /" || down=1
  done
  ((down == 0)) || return 3
}

cmd_kill() { # N
  local pid_file=$KAFKA_CLUSTER_DIR/node-$1/broker.pid pid
  pid=$(tr -dc '0-9' <"$pid_file" 2>/dev/null) || true
  [[ -n $pid ]] && node "$1" status >/dev/null || die "node $1 is not running."
  kill -KILL "$pid"
  echo "Killed node $1 (pid $pid) with SIGKILL"
}

cmd_start() { # N
  CLUSTER_ID=$(cluster_id)
  KAFKA_WAIT=0 node "$1" up
  wait_node "$1"
  echo "Node $1 answers on 127.0.0.1:${PORTS[$1 - 1]}"
}

usage() {
  echo "usage: $0 up|down|status|bootstrap|kill N|start N|stop N|logs N" >&2
  exit 2
}

case ${1:-} in
  up | down | status | bootstrap) [[ $# -eq 1 ]] || usage ;;
  kill | start | stop | logs) [[ $# -eq 2 ]] || usage && check_node "$2" ;;
  *) usage ;;
esac
case $1 in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  bootstrap) bootstrap ;;
  kill) cmd_kill "$2" ;;
  start) cmd_start "$2" ;;
  stop) node "$2" down ;;
  logs) KAFKA_LOGS_FOLLOW=0 node "$2" logs ;;
esac
