# Shared shell helpers for scripts/*: make sure PostgreSQL and Redis are installed and
# running, wait for ports, start and stop background services. Safe to source repeatedly.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="$ROOT/.run"
PG_URL_BASE="${PG_URL_BASE:-postgres://postgres:postgres@127.0.0.1:5432}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
# The development operator token: the value of shared::config::dev::ADMIN_TOKEN, which
# both services use when none is configured. ADMIN_TOKEN overrides it for the scripts.
DEV_ADMIN_TOKEN="dev-admin-token"
mkdir -p "$RUN_DIR"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null || die "apt-get not found; install $* by hand"
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
}

# wait_for "what" seconds command...
wait_for() {
  local what="$1" seconds="$2"; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "$what did not come up within ${seconds}s"
    sleep 0.2
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null && ! command -v psql >/dev/null; then
    apt_install postgresql postgresql-client
  fi
  command -v psql >/dev/null || apt_install postgresql-client
  if ! port_open 5432; then
    log "starting PostgreSQL"
    local version
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)"
    [ -n "$version" ] || die "PostgreSQL is installed but has no cluster under /etc/postgresql"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
      || pg_ctlcluster "$version" main start \
      || die "could not start PostgreSQL $version"
    wait_for "PostgreSQL" 30 port_open 5432
  fi
  wait_for "PostgreSQL" 30 psql_ok
  # A fresh install uses password auth on TCP: give the postgres role the password our
  # URLs carry (with trust auth the password is simply ignored).
  if ! PGCONNECT_TIMEOUT=3 psql "$PG_URL_BASE/postgres" -Atqc 'select 1' >/dev/null 2>&1; then
    log "setting the postgres role's password for TCP connections"
    su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null \
      || die "cannot connect to PostgreSQL as postgres"
  fi
  PGCONNECT_TIMEOUT=3 psql "$PG_URL_BASE/postgres" -Atqc 'select 1' >/dev/null \
    || die "cannot connect to $PG_URL_BASE/postgres"
}

psql_ok() {
  command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432
}

# ensure_database NAME: creates it when missing.
ensure_database() {
  local name="$1"
  if [ "$(psql "$PG_URL_BASE/postgres" -Atqc "select 1 from pg_database where datname = '$name'")" != 1 ]; then
    log "creating database $name"
    psql "$PG_URL_BASE/postgres" -qc "create database \"$name\"" >/dev/null
  fi
}

ensure_redis() {
  command -v redis-server >/dev/null || apt_install redis-server
  command -v redis-cli >/dev/null || apt_install redis-tools
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /tmp --logfile "$RUN_DIR/redis.log" >/dev/null
    wait_for "Redis" 20 redis-cli -h 127.0.0.1 -p 6379 ping
  fi
}

# nginx for the load-balancer tests (`nginx -t` on deploy/nginx.conf, a sale through nginx
# in front of two gateways). nginx-light where the release still has it, else nginx.
ensure_nginx() {
  { command -v nginx || [ -x /usr/sbin/nginx ]; } >/dev/null && return 0
  # Subshells: apt_install dies on failure, and a missing nginx only skips those tests.
  (apt_install nginx-light) || (apt_install nginx) \
    || { log "nginx could not be installed: the load-balancer tests will be skipped"; return 0; }
  # Only the binary is wanted: the tests start their own nginx on a free port.
  if command -v service >/dev/null; then service nginx stop >/dev/null 2>&1 || true; fi
}

# The buyer's page tests: Debian's chromium and chromedriver, a Korean font (for the
# screenshots of the Korean page), and axe-core from npm under .run/axe.
ensure_browser() {
  local want=()
  command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || want+=(chromium)
  command -v chromedriver >/dev/null || [ -x /usr/bin/chromedriver ] || want+=(chromium-driver)
  fc-list 2>/dev/null | grep -qi nanum || want+=(fonts-nanum)
  [ ${#want[@]} -eq 0 ] || apt_install "${want[@]}"
  if [ ! -f "$RUN_DIR/axe/node_modules/axe-core/axe.min.js" ]; then
    command -v npm >/dev/null || apt_install npm
    log "npm install axe-core (into .run/axe)"
    mkdir -p "$RUN_DIR/axe"
    (cd "$RUN_DIR/axe" && npm install --no-audit --no-fund --silent axe-core@4) \
      || die "npm install axe-core failed"
  fi
}

# The port of the cluster master serving SLOT, from CLUSTER NODES (via node :7000, or
# CLUSTER_SEED_PORT).
cluster_master_of_slot() {
  redis-cli -h 127.0.0.1 -p "${CLUSTER_SEED_PORT:-7000}" cluster nodes | awk -v slot="$1" '
    $3 ~ /master/ && $3 !~ /fail/ {
      for (i = 9; i <= NF; i++) {
        split($i, r, "-"); if (r[2] == "") r[2] = r[1]
        if (slot + 0 >= r[1] + 0 && slot + 0 <= r[2] + 0) { split($2, a, "[:@]"); print a[2] }
      }
    }'
}

ensure_rust() {
  command -v cargo >/dev/null || die "cargo not found: install Rust (rustup) first"
}

# start_service NAME LOGFILE command... : runs it in the background, pid in .run/NAME.pid
start_service() {
  local name="$1"; shift
  stop_service "$name"
  nohup "$@" >"$RUN_DIR/$name.log" 2>&1 &
  echo $! >"$RUN_DIR/$name.pid"
}

stop_service() {
  local name="$1" pid
  [ -f "$RUN_DIR/$name.pid" ] || return 0
  pid="$(cat "$RUN_DIR/$name.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$RUN_DIR/$name.pid"
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }

# A random secret kept in .run/NAME across runs (created on first use): the development
# internal token and identity secret, so a restarted service keeps talking to the others.
dev_secret() {
  local file="$RUN_DIR/$1"
  if [ ! -s "$file" ]; then
    (umask 077; head -c 36 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$file")
  fi
  cat "$file"
}

# Booking answers its buyer routes only to callers with the internal token: the gateways.
export_internal_token() {
  INTERNAL_TOKEN="${INTERNAL_TOKEN:-$(dev_secret internal_token)}"
  export GATEWAY__BOOKING__INTERNAL_TOKEN="$INTERNAL_TOKEN" BOOKING__INTERNAL__TOKEN="$INTERNAL_TOKEN"
}

ensure_curl() { command -v curl >/dev/null || apt_install curl; }
