#!/usr/bin/env bash
# Runs a real single-node Apache Kafka broker (KRaft) from the Maven jars, without Docker.
#
# Usage: infra/kafka/kafka.sh up|down|status|logs|probe|jars
#
#   up      fetch the jars if needed, format the storage once, start the broker in the
#           background and wait until a client metadata request succeeds (idempotent)
#   down    stop the broker: SIGTERM (controlled shutdown), SIGKILL after 30 s
#   status  say whether the broker is running (exit 0) or not (exit 3), with pid and port
#   logs    tail -n 200 -f the broker log (plain tail with KAFKA_LOGS_FOLLOW=0)
#   probe   run the readiness probe once against 127.0.0.1:$KAFKA_PORT
#   jars    fetch the broker jars with Maven, unless they are already there
#
# Environment (defaults in brackets):
#   KAFKA_PORT             client (PLAINTEXT) port on 127.0.0.1 [9092]
#   KAFKA_CONTROLLER_PORT  KRaft controller port on 127.0.0.1 [9093]
#   KAFKA_INTERNAL_PORT    the broker's own listener, for a template that has one [none]
#   KAFKA_NODE_ID          replaces @NODE_ID@: this node's id in a cluster [1]
#   KAFKA_QUORUM_VOTERS    replaces @QUORUM_VOTERS@: the static controller voters of a
#                          cluster [1@127.0.0.1:$KAFKA_CONTROLLER_PORT]
#   KAFKA_CLUSTER_ID       the cluster id to format with, shared by a cluster's nodes
#                          [a new random one, kept in the state dir]
#   KAFKA_WAIT             0: start and return without the readiness probe, for a
#                          cluster node that cannot answer before a quorum of its peers
#                          runs (infra/kafka/cluster.sh probes them together) [1]
#   KAFKA_TEMPLATE         the config template [infra/kafka/server.properties.template];
#                          infra/kafka/secure.sh passes the secure one
#   KAFKA_SECURE_DIR       replaces @SECURE_DIR@ in the template (CA, broker key) [none]
#   KAFKA_FORMAT_ARGFILE   a file of extra StorageTool format arguments, one a line, read
#                          by the java launcher so that no secret shows in ps [none]
#   KAFKA_STATE_DIR        data dir, generated server.properties, pid file, broker.log,
#                          cluster id [<repo>/.work/kafka/broker]
#   KAFKA_LIB_DIR          the broker's jars [<repo>/.work/kafka/lib]
#   KAFKA_HEAP             JVM heap options [-Xmx768m -Xms256m]; any extra JVM flag can go
#                          here too, e.g. -XX:TieredStopAtLevel=1 starts a second or so
#                          faster on a small machine (at some cost in peak throughput)
#   KAFKA_START_TIMEOUT    seconds to wait for readiness [90]
#   KAFKA_PROBE_TIMEOUT    seconds for `probe` [5]
#   KAFKA_LOGS_FOLLOW      0 to print the log tail without following [1]
#   PYTHON                 python with kafka-python, for the probe [<repo>/.venv/bin/python]
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)

KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_INTERNAL_PORT=${KAFKA_INTERNAL_PORT:-}
KAFKA_NODE_ID=${KAFKA_NODE_ID:-1}
KAFKA_QUORUM_VOTERS=${KAFKA_QUORUM_VOTERS:-1@127.0.0.1:$KAFKA_CONTROLLER_PORT}
KAFKA_CLUSTER_ID=${KAFKA_CLUSTER_ID:-}
KAFKA_WAIT=${KAFKA_WAIT:-1}
KAFKA_SECURE_DIR=${KAFKA_SECURE_DIR:-}
KAFKA_FORMAT_ARGFILE=${KAFKA_FORMAT_ARGFILE:-}
KAFKA_STATE_DIR=${KAFKA_STATE_DIR:-$REPO_ROOT/.work/kafka/broker}
KAFKA_LIB_DIR=${KAFKA_LIB_DIR:-$REPO_ROOT/.work/kafka/lib}
KAFKA_HEAP=${KAFKA_HEAP:--Xmx768m -Xms256m}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
KAFKA_PROBE_TIMEOUT=${KAFKA_PROBE_TIMEOUT:-5}
KAFKA_LOGS_FOLLOW=${KAFKA_LOGS_FOLLOW:-1}
PYTHON=${PYTHON:-$REPO_ROOT/.venv/bin/python}

DATA_DIR=$KAFKA_STATE_DIR/data
CONFIG=$KAFKA_STATE_DIR/server.properties
PID_FILE=$KAFKA_STATE_DIR/broker.pid
LOG_FILE=$KAFKA_STATE_DIR/broker.log
CLUSTER_ID_FILE=$KAFKA_STATE_DIR/cluster.id
TEMPLATE=${KAFKA_TEMPLATE:-$SCRIPT_DIR/server.properties.template}
LOG4J_CONFIG=$SCRIPT_DIR/log4j2.properties
PROBE=$SCRIPT_DIR/probe.py

STOP_TIMEOUT=30 # seconds of controlled shutdown before SIGKILL

die() {
  echo "kafka.sh: $*" >&2
  exit 1
}

now() { # seconds since the epoch, with a fraction
  if [[ -n ${EPOCHREALTIME:-} ]]; then echo "${EPOCHREALTIME/,/.}"; else date +%s.%N; fi
}

elapsed_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

check_port_value() { # name value
  [[ $2 =~ ^[0-9]+$ ]] && ((10#$2 >= 1 && 10#$2 <= 65535)) || die "$1=$2 is not a TCP port number."
}

is_alive() { # pid: running and not a zombie
  kill -0 "$1" 2>/dev/null && [[ $(ps -o stat= -p "$1" 2>/dev/null | cut -c1) != Z ]]
}

# Prints the pid of the broker started by this script from this state dir, if it runs.
# The command line must name this state dir's server.properties, so a stale pid file
# never leads us to signal an unrelated process that reused the pid.
broker_pid() {
  [[ -f $PID_FILE ]] || return 1
  local pid
  pid=$(tr -dc '0-9' <"$PID_FILE")
  [[ -n $pid ]] && is_alive "$pid" || return 1
  local args
  args=$(ps -o args= -p "$pid" 2>/dev/null) || return 1
  [[ $args == *kafka.Kafka* && $args == *"$CONFIG"* ]] || return 1
  echo "$pid"
}

configured_port() { # the client port of the rendered config (the running broker's)
  sed -n 's|^listeners=[A-Z_]*://[^:]*:\([0-9]*\),.*|\1|p' "$CONFIG" 2>/dev/null | head -n 1
}

port_open() { # port: something accepts connections on 127.0.0.1:port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

port_holder() { # port: " (held by NAME, pid N)" when ss or lsof can tell
  local line=""
  if command -v ss >/dev/null 2>&1; then
    line=$(ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1, pid \2/p' | head -n 1)
  fi
  if [[ -z $line ]] && command -v lsof >/dev/null 2>&1; then
    line=$(lsof -nP -iTCP:"$1" -sTCP:LISTEN -Fpc 2>/dev/null | awk '/^p/ { p = substr($0, 2) } /^c/ { print substr($0, 2) ", pid " p; exit }')
  fi
  if [[ -n $line ]]; then echo " (held by $line)"; fi
}

kafka_version() { # from the jar name: kafka_2.13-4.1.1.jar -> 4.1.1
  local jar
  jar=$(find "$KAFKA_LIB_DIR" -maxdepth 1 -name 'kafka_2.13-*.jar' 2>/dev/null | sort | tail -n 1)
  jar=${jar##*/kafka_2.13-}
  echo "${jar%.jar}"
}

have_jars() {
  compgen -G "$KAFKA_LIB_DIR/kafka_2.13-*.jar" >/dev/null &&
    compgen -G "$KAFKA_LIB_DIR/log4j-core-*.jar" >/dev/null &&
    compgen -G "$KAFKA_LIB_DIR/log4j-slf4j-impl-*.jar" >/dev/null
}

require_java() {
  command -v java >/dev/null 2>&1 ||
    die "Java 17 is required to run the broker: install openjdk-17-jre-headless (apt-get install openjdk-17-jre-headless)."
  local major
  major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[^"]*".*/\1/p' | head -n 1)
  if [[ $major == 1 ]]; then major=8; fi # "1.8.0_x" is Java 8
  [[ -z $major ]] || ((major >= 17)) ||
    die "Kafka 4 needs Java 17 or newer but 'java' is Java $major: install openjdk-17-jre-headless and select it (update-alternatives --config java)."
}

require_python() {
  [[ -x $PYTHON ]] ||
    die "The readiness probe needs the project virtualenv at $PYTHON: run 'uv sync --frozen' (or set PYTHON to a python that has kafka-python)."
}

ensure_jars() {
  have_jars && return 0
  command -v mvn >/dev/null 2>&1 ||
    die "Maven is required to fetch the Kafka jars into $KAFKA_LIB_DIR: install maven (apt-get install maven)."
  echo "Fetching the Kafka jars with Maven into $KAFKA_LIB_DIR ..."
  mvn -q -B -Dstyle.color=never -f "$SCRIPT_DIR/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA_LIB_DIR" ||
    die "Maven could not fetch the Kafka jars (see its output above); check the network or ~/.m2/settings.xml."
  have_jars || die "Maven ran but $KAFKA_LIB_DIR still lacks the Kafka and log4j2 jars; check infra/kafka/pom.xml."
}

render_config() {
  local esc_dir esc_secure
  esc_dir=$(printf '%s' "$DATA_DIR" | sed 's/[|&\\]/\\&/g')
  esc_secure=$(printf '%s' "$KAFKA_SECURE_DIR" | sed 's/[|&\\]/\\&/g')
  sed -e "s|@PORT@|$KAFKA_PORT|g" \
    -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@INTERNAL_PORT@|$KAFKA_INTERNAL_PORT|g" \
    -e "s|@NODE_ID@|$KAFKA_NODE_ID|g" \
    -e "s|@QUORUM_VOTERS@|$KAFKA_QUORUM_VOTERS|g" \
    -e "s|@SECURE_DIR@|$esc_secure|g" \
    -e "s|@LOG_DIR@|$esc_dir|g" \
    "$TEMPLATE" >"$CONFIG.tmp"
  mv "$CONFIG.tmp" "$CONFIG"
}

# Formats the storage once: skipped when the data dir already has meta.properties,
# so `down` then `up` keeps every topic and offset.
format_storage() {
  if [[ -f $DATA_DIR/meta.properties ]]; then
    echo "Reusing the formatted storage in $DATA_DIR"
    return 0
  fi
  local cluster_id=$KAFKA_CLUSTER_ID
  if [[ -n $cluster_id ]]; then
    echo "$cluster_id" >"$CLUSTER_ID_FILE"
  elif [[ -s $CLUSTER_ID_FILE ]]; then
    cluster_id=$(tr -d '[:space:]' <"$CLUSTER_ID_FILE")
  else
    # The tool may print log lines too: keep the line that looks like a cluster id.
    cluster_id=$(java -Dlog4j2.configurationFile="$LOG4J_CONFIG" -cp "$KAFKA_LIB_DIR/*" \
      kafka.tools.StorageTool random-uuid 2>>"$LOG_FILE" | grep -E '^[A-Za-z0-9_-]{22}$' | tail -n 1) || true
    [[ -n $cluster_id ]] || die "kafka.tools.StorageTool random-uuid printed no cluster id; see $LOG_FILE."
    echo "$cluster_id" >"$CLUSTER_ID_FILE"
  fi
  # Static controller.quorum.voters: no --standalone. Extra arguments (such as the first
  # SCRAM user, a secret) go through a java @argfile, never on the command line.
  local args_file=$KAFKA_STATE_DIR/format.args
  (umask 077 && printf '%s\n' kafka.tools.StorageTool format -t "$cluster_id" -c "$CONFIG" >"$args_file")
  if [[ -n $KAFKA_FORMAT_ARGFILE ]]; then cat "$KAFKA_FORMAT_ARGFILE" >>"$args_file"; fi
  if ! java -Dlog4j2.configurationFile="$LOG4J_CONFIG" -cp "$KAFKA_LIB_DIR/*" \
    "@$args_file" >>"$LOG_FILE" 2>&1; then
    rm -f "$args_file"
    tail -n 40 "$LOG_FILE" >&2
    die "formatting the storage in $DATA_DIR failed (log above)."
  fi
  rm -f "$args_file"
  echo "Formatted the storage in $DATA_DIR (cluster id $cluster_id)"
}

fail_start() { # reason [pid]
  echo "kafka.sh: $1; last 40 lines of $LOG_FILE:" >&2
  tail -n 40 "$LOG_FILE" >&2 || true
  if [[ -n ${2:-} ]] && is_alive "$2"; then # a hung start: do not leave it behind
    kill -KILL "$2" 2>/dev/null || true
    wait "$2" 2>/dev/null || true
  fi
  rm -f "$PID_FILE"
  exit 1
}

cmd_up() {
  check_port_value KAFKA_PORT "$KAFKA_PORT"
  check_port_value KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
  [[ $KAFKA_PORT != "$KAFKA_CONTROLLER_PORT" ]] ||
    die "KAFKA_PORT and KAFKA_CONTROLLER_PORT are both $KAFKA_PORT: give them different values."
  require_java
  require_python

  local pid port
  if pid=$(broker_pid); then
    port=$(configured_port)
    [[ $port == "$KAFKA_PORT" ]] ||
      die "the broker from $KAFKA_STATE_DIR (pid $pid) already runs on port $port, not $KAFKA_PORT: run 'kafka.sh down' first to change ports."
    if [[ $KAFKA_WAIT == 0 ]]; then
      echo "Kafka node $KAFKA_NODE_ID is already running on 127.0.0.1:$port (pid $pid)"
      return 0
    fi
    if "$PYTHON" "$PROBE" --bootstrap "127.0.0.1:$port" --timeout "$KAFKA_START_TIMEOUT" >/dev/null; then
      echo "Kafka is already running on 127.0.0.1:$port (pid $pid)"
      return 0
    fi
    die "the broker from $KAFKA_STATE_DIR (pid $pid) runs but does not answer on 127.0.0.1:$port: see $LOG_FILE, or run 'kafka.sh down' and 'kafka.sh up' again."
  fi
  rm -f "$PID_FILE"

  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" $KAFKA_INTERNAL_PORT; do
    if port_open "$port"; then
      local name=KAFKA_PORT
      [[ $port != "$KAFKA_CONTROLLER_PORT" ]] || name=KAFKA_CONTROLLER_PORT
      [[ $port != "$KAFKA_INTERNAL_PORT" ]] || name=KAFKA_INTERNAL_PORT
      die "port $port on 127.0.0.1 is already in use$(port_holder "$port"): stop that process or set $name to a free port."
    fi
  done

  ensure_jars
  mkdir -p "$KAFKA_STATE_DIR" "$DATA_DIR"
  if [[ -f $LOG_FILE ]]; then mv -f "$LOG_FILE" "$LOG_FILE.1"; fi # keep the previous run's log
  render_config
  format_storage

  local heap_opts
  read -r -a heap_opts <<<"$KAFKA_HEAP"
  local started
  started=$(now)
  # nohup and </dev/null: the broker outlives this script and its terminal; all of its
  # output goes to the log, so callers that capture our output do not wait for it.
  nohup java "${heap_opts[@]}" -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J_CONFIG" \
    -cp "$KAFKA_LIB_DIR/*" kafka.Kafka "$CONFIG" </dev/null >>"$LOG_FILE" 2>&1 &
  pid=$!
  echo "$pid" >"$PID_FILE"
  if [[ $KAFKA_WAIT == 0 ]]; then
    echo "Started the broker (pid $pid, node $KAFKA_NODE_ID) on 127.0.0.1:$KAFKA_PORT; not waiting for it (log $LOG_FILE)"
    return 0
  fi
  echo "Started the broker (pid $pid); waiting up to ${KAFKA_START_TIMEOUT} s for 127.0.0.1:$KAFKA_PORT ..."

  # The probe retries by itself; meanwhile watch the JVM so that a crash fails fast.
  local probe_out=$KAFKA_STATE_DIR/probe.out
  "$PYTHON" "$PROBE" --bootstrap "127.0.0.1:$KAFKA_PORT" --timeout "$KAFKA_START_TIMEOUT" >"$probe_out" 2>&1 &
  local probe_pid=$!
  while is_alive "$probe_pid"; do
    if ! is_alive "$pid"; then
      kill "$probe_pid" 2>/dev/null || true
      wait "$probe_pid" 2>/dev/null || true
      fail_start "the broker process (pid $pid) exited during start-up"
    fi
    sleep 0.2
  done
  if ! wait "$probe_pid"; then
    cat "$probe_out" >&2
    fail_start "the broker did not answer on 127.0.0.1:$KAFKA_PORT within ${KAFKA_START_TIMEOUT} s" "$pid"
  fi
  echo "Kafka $(kafka_version) ready on 127.0.0.1:$KAFKA_PORT in $(elapsed_since "$started") s (pid $pid, log $LOG_FILE)"
  sed 's/^/  /' "$probe_out"
  rm -f "$probe_out"
}

cmd_down() {
  local pid
  if ! pid=$(broker_pid); then
    rm -f "$PID_FILE"
    echo "Kafka is not running (state dir $KAFKA_STATE_DIR)"
    return 0
  fi
  local started
  started=$(now)
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
    is_alive "$pid" || break
    sleep 0.2
  done
  if is_alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    echo "Kafka (pid $pid) did not stop within ${STOP_TIMEOUT} s: killed it"
  else
    echo "Stopped Kafka (pid $pid) in $(elapsed_since "$started") s"
  fi
  rm -f "$PID_FILE"
}

cmd_status() {
  local pid
  if pid=$(broker_pid); then
    local port
    port=$(configured_port)
    echo "Kafka is running: pid $pid, 127.0.0.1:${port:-?}, state dir $KAFKA_STATE_DIR"
    return 0
  fi
  echo "Kafka is not running (state dir $KAFKA_STATE_DIR, port $KAFKA_PORT)"
  return 3
}

cmd_logs() {
  [[ -f $LOG_FILE ]] || die "no broker log yet at $LOG_FILE: run 'kafka.sh up' first."
  if [[ $KAFKA_LOGS_FOLLOW == 0 ]]; then
    tail -n 200 "$LOG_FILE"
  else
    tail -n 200 -f "$LOG_FILE"
  fi
}

cmd_probe() {
  require_python
  "$PYTHON" "$PROBE" --bootstrap "127.0.0.1:$KAFKA_PORT" --timeout "$KAFKA_PROBE_TIMEOUT"
}

usage() {
  echo "usage: $0 up|down|status|logs|probe|jars" >&2
  exit 2
}

[[ $# -eq 1 ]] || usage
case $1 in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  logs) cmd_logs ;;
  probe) cmd_probe ;;
  jars) ensure_jars ;;
  *) usage ;;
esac
