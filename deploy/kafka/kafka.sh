#!/usr/bin/env bash
# A KRaft Kafka node (broker and controller in one) assembled from Maven Central (no Docker
# needed): a single-node cluster by default, or one node of several.
#
#   kafka.sh fetch
#       Download the broker classpath into $KUNDONLINE_CACHE_DIR/kafka/lib
#       (default <repo>/.cache/kafka/lib) unless already complete, and print
#       that folder's path.
#   kafka.sh start --data-dir DIR --port P --controller-port C [--lock-wait S]
#       Fetch if needed, write DIR/server.properties, format storage once and
#       exec the broker in the foreground (SIGTERM shuts it down cleanly).
#       One broker per DIR: waits up to S seconds (default 0) for another
#       broker to let go of it, else exits with code 3 naming that broker.
#
#   One node of a cluster (combined broker and controller nodes, a static quorum of voters):
#       --node-id N              this node's id (default 1)
#       --voters LIST            every voter, e.g. '1@127.0.0.1:C1,2@127.0.0.1:C2,3@127.0.0.1:C3'
#                                (default: this node alone)
#       --cluster-id ID          the same for every node; used when DIR is first formatted
#                                (default: a random one)
#       --replication-factor R   copies of the internal topics and of topics made without
#                                one (default 1)
#       --min-insync-replicas M  their min.insync.replicas (default 1)
#
#   An extra SASL_SSL listener on 127.0.0.1, as production Kafka is reached (the controller
#   and inter-broker listeners stay PLAINTEXT on loopback):
#       --sasl-ssl-port P        its port (SCRAM-SHA-512 over TLS)
#       --ssl-keystore FILE      PEM: the broker's unencrypted PKCS#8 key and certificate chain
#       --ssl-truststore FILE    PEM: the CA certificates trusted for client certificates
#       --ssl-client-auth MODE   none (default), requested or required
#       --add-scram SPEC         a SCRAM credential, e.g. 'SCRAM-SHA-512=[name=u,password=p]';
#                                repeatable; stored when DIR is first formatted, only then
#
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
CACHE_DIR="${KUNDONLINE_CACHE_DIR:-$REPO_ROOT/.cache}"
KAFKA_CACHE="$CACHE_DIR/kafka"
LIB_DIR="$KAFKA_CACHE/lib"
MARKER="$KAFKA_CACHE/lib.complete"
POM="$SCRIPT_DIR/pom.xml"
LOG4J_CONFIG="$SCRIPT_DIR/log4j2.properties"

die() {
    echo "kafka.sh: $*" >&2
    exit 1
}

usage() {
    cat >&2 <<'EOF'
usage: kafka.sh fetch
       kafka.sh start --data-dir DIR --port PORT --controller-port PORT [--lock-wait SECONDS]
                      [--node-id N --voters LIST --cluster-id ID]
                      [--replication-factor R --min-insync-replicas M]
                      [--sasl-ssl-port PORT --ssl-keystore PEM --ssl-truststore PEM
                       [--ssl-client-auth none|requested|required] [--add-scram SPEC]...]
EOF
    exit 2
}

# The marker records the pom's hash, so bumping a version in pom.xml re-fetches.
pom_hash() {
    sha256sum "$POM" | cut -d' ' -f1
}

lib_is_complete() {
    [[ -f "$MARKER" && -d "$LIB_DIR" ]] && [[ "$(cat "$MARKER")" == "$(pom_hash)" ]]
}

fetch() {
    lib_is_complete && return 0
    command -v mvn >/dev/null || die "mvn not found (needed once to download Kafka)"
    mkdir -p "$KAFKA_CACHE"
    # Parallel test runs may all call fetch; only one should download. Whoever
    # downloads is itself bounded by its caller, so waiting for it is bounded too.
    exec 9>"$KAFKA_CACHE/fetch.lock"
    flock -w 900 9 || die "another download of Kafka is still running"
    if ! lib_is_complete; then
        echo "kafka.sh: downloading Kafka classpath into $LIB_DIR" >&2
        local staging="$KAFKA_CACHE/lib.partial"
        rm -rf "$staging" "$MARKER"
        mvn -q -B -f "$POM" dependency:copy-dependencies \
            -DincludeScope=runtime -DoutputDirectory="$staging" >&2
        # Swap in only a finished download, then mark it complete.
        rm -rf "$LIB_DIR"
        mv "$staging" "$LIB_DIR"
        pom_hash >"$MARKER"
    fi
    flock -u 9
    exec 9>&-
}

# 16 random bytes, base64url without padding, as Kafka's Uuid.randomUuid();
# a leading '-' would be parsed as a command-line option.
random_cluster_id() {
    local id
    while :; do
        id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
        [[ "$id" != -* ]] && break
    done
    printf '%s\n' "$id"
}

JAVA_BIN="java"
if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    JAVA_BIN="$JAVA_HOME/bin/java"
fi

start() {
    local data_dir="" port="" controller_port="" lock_wait=0
    local node_id=1 voters="" cluster_id="" replication=1 min_isr=1
    local sasl_ssl_port="" keystore="" truststore="" client_auth="none"
    local -a scram=()
    while (($#)); do
        case "$1" in
            --data-dir) data_dir="${2:?--data-dir needs a value}"; shift 2 ;;
            --port) port="${2:?--port needs a value}"; shift 2 ;;
            --controller-port) controller_port="${2:?--controller-port needs a value}"; shift 2 ;;
            --lock-wait) lock_wait="${2:?--lock-wait needs a value}"; shift 2 ;;
            --node-id) node_id="${2:?--node-id needs a value}"; shift 2 ;;
            --voters) voters="${2:?--voters needs a value}"; shift 2 ;;
            --cluster-id) cluster_id="${2:?--cluster-id needs a value}"; shift 2 ;;
            --replication-factor) replication="${2:?--replication-factor needs a value}"; shift 2 ;;
            --min-insync-replicas) min_isr="${2:?--min-insync-replicas needs a value}"; shift 2 ;;
            --sasl-ssl-port) sasl_ssl_port="${2:?--sasl-ssl-port needs a value}"; shift 2 ;;
            --ssl-keystore) keystore="${2:?--ssl-keystore needs a value}"; shift 2 ;;
            --ssl-truststore) truststore="${2:?--ssl-truststore needs a value}"; shift 2 ;;
            --ssl-client-auth) client_auth="${2:?--ssl-client-auth needs a value}"; shift 2 ;;
            --add-scram) scram+=(--add-scram "${2:?--add-scram needs a value}"); shift 2 ;;
            *) usage ;;
        esac
    done
    [[ -n "$data_dir" && -n "$port" && -n "$controller_port" ]] || usage
    [[ "$port" != "$controller_port" ]] || die "--port and --controller-port must differ"
    [[ "$node_id$replication$min_isr" =~ ^[0-9]+$ ]] ||
        die "--node-id, --replication-factor and --min-insync-replicas take numbers"
    ((min_isr <= replication)) || die "--min-insync-replicas must not exceed --replication-factor"
    voters="${voters:-$node_id@127.0.0.1:$controller_port}"
    [[ ",$voters," == *",$node_id@127.0.0.1:$controller_port,"* ]] ||
        die "--voters must name this node as $node_id@127.0.0.1:$controller_port"
    if [[ -n "$sasl_ssl_port" ]]; then
        [[ -f "$keystore" && -f "$truststore" ]] ||
            die "--sasl-ssl-port needs --ssl-keystore and --ssl-truststore (PEM files)"
        [[ "$sasl_ssl_port" != "$port" && "$sasl_ssl_port" != "$controller_port" ]] ||
            die "--sasl-ssl-port must differ from --port and --controller-port"
        case "$client_auth" in none | requested | required) ;; *) usage ;; esac
        keystore="$(cd "$(dirname "$keystore")" && pwd)/$(basename "$keystore")"
        truststore="$(cd "$(dirname "$truststore")" && pwd)/$(basename "$truststore")"
    elif [[ -n "$keystore$truststore" ]] || ((${#scram[@]})); then
        die "--ssl-keystore, --ssl-truststore and --add-scram need --sasl-ssl-port"
    fi

    fetch

    mkdir -p "$data_dir"
    data_dir="$(cd "$data_dir" && pwd)"
    # A second broker on the same directory writes into the first one's metadata log before
    # Kafka's own lock stops it (seen: the first one then died of a corrupt record). The lock
    # is on fd 8, which the broker inherits through exec: it lasts exactly as long as the
    # broker, and a killed broker releases it. "<>" opens without emptying the holder's pid.
    local lock="$data_dir/broker.lock"
    exec 8<>"$lock"
    if ! flock -w "$lock_wait" 8; then
        local holder
        holder="$(head -c 20 "$lock" | tr -dc 0-9)"
        echo "kafka.sh: another Kafka broker${holder:+ (pid $holder)} is using $data_dir; stop it first" >&2
        exit 3
    fi
    echo "$$" >"$lock" # this shell's pid is the broker's after exec
    # Kafka's data lives in a subfolder so server.properties, the cluster id and
    # the wrapper's kafka.log never sit among the partition directories.
    local log_dirs="$data_dir/kraft"
    local props="$data_dir/server.properties"
    local listeners="PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port"
    local advertised="PLAINTEXT://127.0.0.1:$port"
    local protocols="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    if [[ -n "$sasl_ssl_port" ]]; then
        listeners+=",SASL_SSL://127.0.0.1:$sasl_ssl_port"
        advertised+=",SASL_SSL://127.0.0.1:$sasl_ssl_port"
        protocols+=",SASL_SSL:SASL_SSL"
    fi

    # Rewritten on every start so a restart may use other ports; the data
    # stays valid because node id and cluster id do not change.
    cat >"$props" <<EOF
process.roles=broker,controller
node.id=$node_id
controller.quorum.voters=$voters
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$log_dirs

num.partitions=1
default.replication.factor=$replication
min.insync.replicas=$min_isr
auto.create.topics.enable=false

offsets.topic.replication.factor=$replication
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=$replication
transaction.state.log.min.isr=$min_isr
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=$replication
share.coordinator.state.topic.min.isr=$min_isr

# The 3 s default delays every consumer group's first join.
group.initial.rebalance.delay.ms=0
# After a crash (kill -9) the restarted broker cannot register until the old
# registration's session expires: 9 s by default, every time.
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=500
# The controller appends a no-op record to the metadata log every 500 ms by default, even
# when nothing changes: an idle broker took 21-26 ms of CPU a second with it (the raft I/O
# thread 3.7 ms of it), 16-18 ms with one every 5 s (that thread 0.7 ms).
metadata.max.idle.interval.ms=5000

# A dev/test broker: keep a day, at most 256 MiB per partition.
log.retention.hours=24
log.retention.bytes=268435456
log.segment.bytes=67108864
log.retention.check.interval.ms=300000
EOF
    if [[ -n "$sasl_ssl_port" ]]; then
        # SCRAM credentials live in the cluster metadata (added at format), yet the listener
        # still needs its login module. Kafka reads the PEM files as they are. On a SASL_SSL
        # listener only the listener's own ssl.client.auth counts (KIP-684).
        cat >>"$props" <<EOF

sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=$keystore
ssl.truststore.type=PEM
ssl.truststore.location=$truststore
listener.name.sasl_ssl.ssl.client.auth=$client_auth
EOF
    fi

    local cp="$LIB_DIR/*"
    local cluster_id_file="$data_dir/cluster.id"
    if [[ ! -s "$cluster_id_file" ]]; then
        if [[ -n "$cluster_id" ]]; then
            printf '%s\n' "$cluster_id" >"$cluster_id_file.tmp"
        else
            random_cluster_id >"$cluster_id_file.tmp"
        fi
        mv "$cluster_id_file.tmp" "$cluster_id_file"
    elif [[ -n "$cluster_id" && "$(cat "$cluster_id_file")" != "$cluster_id" ]]; then
        die "$data_dir belongs to cluster $(cat "$cluster_id_file"), not $cluster_id"
    fi
    # Formatting costs a JVM start, so only do it while meta.properties is missing.
    if [[ ! -f "$log_dirs/meta.properties" ]]; then
        "$JAVA_BIN" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
            -Dlog4j2.configurationFile="$LOG4J_CONFIG" \
            -cp "$cp" kafka.tools.StorageTool format \
            -t "$(cat "$cluster_id_file")" -c "$props" --ignore-formatted "${scram[@]}"
    elif ((${#scram[@]})); then
        echo "kafka.sh: $data_dir was formatted before; --add-scram has no effect" >&2
    fi

    exec "$JAVA_BIN" -Xms256m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$LOG4J_CONFIG" \
        -cp "$cp" kafka.Kafka "$props"
}

case "${1:-}" in
    # Prints the classpath folder so callers need not duplicate the cache layout.
    fetch) shift; (($# == 0)) || usage; fetch; printf '%s\n' "$LIB_DIR" ;;
    start) shift; start "$@" ;;
    *) usage ;;
esac
