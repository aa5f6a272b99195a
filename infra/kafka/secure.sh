#!/usr/bin/env bash
# The secure single-node broker: TLS, SASL/SCRAM-SHA-512, the StandardAuthorizer and the
# project's ACLs (docs/adr/0020-least-privilege-on-the-broker.md, docs/SECURITY.md).
#
# Usage: infra/kafka/secure.sh certs|up|acls|rotate PRINCIPAL|env PRINCIPAL|down|status|logs
#
#   certs   make the local CA and the broker's key and certificate, unless they exist and
#           the certificate is valid for another day
#   up      certs, the admin password, then start the broker (kafka.sh with the secure
#           template; the admin SCRAM user is written when the storage is formatted) and
#           apply the users and ACLs; idempotent
#   acls    create every principal's password (once) and SCRAM user, and make the ACLs
#           match services/runtime/acls.py (python -m services.runtime.acl_admin apply)
#   rotate  give PRINCIPAL a new password, on the broker and in its file
#   env     print the `export` lines that make a client connect as PRINCIPAL
#   down, status, logs   as kafka.sh, for the secure broker's state dir
#
# Environment (defaults in brackets), besides kafka.sh's own:
#   KAFKA_SECURE_DIR       CA, broker key, users/<principal>.password [<repo>/.work/secure]
#   KAFKA_STATE_DIR        [<repo>/.work/kafka/secure-broker]
#   KAFKA_PORT             client port, SASL_SSL [9192]
#   KAFKA_CONTROLLER_PORT  controller port, mutual TLS [9193]
#   KAFKA_INTERNAL_PORT    inter-broker port, mutual TLS [9194]
#   RETURNS_TOPIC_PREFIX   the topic prefix the ACLs are for [none]
#   CERT_DAYS              validity of the broker certificate [365]
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)

export KAFKA_SECURE_DIR=${KAFKA_SECURE_DIR:-$REPO_ROOT/.work/secure}
export KAFKA_STATE_DIR=${KAFKA_STATE_DIR:-$REPO_ROOT/.work/kafka/secure-broker}
export KAFKA_PORT=${KAFKA_PORT:-9192}
export KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9193}
export KAFKA_INTERNAL_PORT=${KAFKA_INTERNAL_PORT:-9194}
export KAFKA_TEMPLATE=$SCRIPT_DIR/server-secure.properties.template
CERT_DAYS=${CERT_DAYS:-365}
PYTHON=${PYTHON:-$REPO_ROOT/.venv/bin/python}
KAFKA_SH=$SCRIPT_DIR/kafka.sh
SECURE=$KAFKA_SECURE_DIR

die() {
  echo "secure.sh: $*" >&2
  exit 1
}

cmd_certs() {
  command -v openssl >/dev/null 2>&1 || die "openssl is required to make the local CA (apt-get install openssl)."
  mkdir -p "$SECURE" "$SECURE/users"
  chmod 700 "$SECURE" "$SECURE/users"
  if [[ -f $SECURE/broker.pem ]] && openssl x509 -checkend 86400 -noout -in "$SECURE/broker.crt" >/dev/null 2>&1; then
    echo "Reusing the CA and broker certificate in $SECURE"
    return 0
  fi
  (
    umask 077
    cd "$SECURE"
    if [[ ! -f ca.key ]] || ! openssl x509 -checkend 86400 -noout -in ca.crt >/dev/null 2>&1; then
      openssl req -x509 -newkey rsa:3072 -sha256 -days 825 -nodes -keyout ca.key -out ca.crt \
        -subj "/O=returns/CN=returns local CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    fi
    # The broker is both server (CLIENT, INTERNAL, CONTROLLER) and client (to itself).
    openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr \
      -subj "/O=returns/CN=broker" 2>/dev/null
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      "extendedKeyUsage=serverAuth,clientAuth" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "basicConstraints=CA:FALSE" >broker.ext
    openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -days "$CERT_DAYS" -sha256 -extfile broker.ext -out broker.crt 2>/dev/null
    # Kafka's PEM key store: the unencrypted PKCS#8 key, then the chain.
    openssl pkcs8 -topk8 -nocrypt -in broker.key -out broker.p8
    cat broker.p8 broker.crt ca.crt >broker.pem
    rm -f broker.csr broker.ext broker.p8 broker.key
    chmod 644 ca.crt
  )
  echo "Made the local CA and the broker certificate in $SECURE"
}

admin_password() {
  local file=$SECURE/users/admin.password
  if [[ ! -s $file ]]; then
    (umask 077 && openssl rand -hex 32 >"$file")
  fi
  tr -d '[:space:]' <"$file"
}

export_principal() { # principal: the KAFKA_* variables of services/runtime/security.py
  export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT
  export KAFKA_SECURITY_PROTOCOL=SASL_SSL
  export KAFKA_SASL_MECHANISM=SCRAM-SHA-512
  export KAFKA_SASL_USERNAME=$1
  export KAFKA_SASL_PASSWORD_FILE=$SECURE/users/$1.password
  export KAFKA_SSL_CAFILE=$SECURE/ca.crt
}

cmd_acls() {
  export_principal admin
  (cd "$REPO_ROOT" && "$PYTHON" -m services.runtime.acl_admin apply --secure-dir "$SECURE")
}

cmd_up() {
  cmd_certs
  local args_file=$SECURE/format.args
  (umask 077 && printf '%s\n' --add-scram "SCRAM-SHA-512=[name=admin,password=$(admin_password)]" >"$args_file")
  export_principal admin # the readiness probe connects as admin
  KAFKA_FORMAT_ARGFILE=$args_file bash "$KAFKA_SH" up || {
    rm -f "$args_file"
    exit 1
  }
  rm -f "$args_file"
  cmd_acls
}

cmd_env() {
  [[ -f $SECURE/users/$1.password ]] || die "no password file for $1 in $SECURE/users: run '$0 up' (or '$0 acls') first."
  echo "export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT"
  echo "export KAFKA_SECURITY_PROTOCOL=SASL_SSL KAFKA_SASL_MECHANISM=SCRAM-SHA-512"
  echo "export KAFKA_SASL_USERNAME=$1 KAFKA_SASL_PASSWORD_FILE=$SECURE/users/$1.password"
  echo "export KAFKA_SSL_CAFILE=$SECURE/ca.crt"
}

usage() {
  echo "usage: $0 certs|up|acls|rotate PRINCIPAL|env PRINCIPAL|down|status|logs" >&2
  exit 2
}

[[ $# -ge 1 ]] || usage
case $1 in
  certs) cmd_certs ;;
  up) cmd_up ;;
  acls) cmd_acls ;;
  rotate)
    [[ $# -eq 2 ]] || usage
    export_principal admin
    (cd "$REPO_ROOT" && "$PYTHON" -m services.runtime.acl_admin rotate "$2" --secure-dir "$SECURE")
    ;;
  env)
    [[ $# -eq 2 ]] || usage
    cmd_env "$2"
    ;;
  down | status | logs) exec bash "$KAFKA_SH" "$1" ;;
  *) usage ;;
esac
