#!/usr/bin/env bash
# The environment `make test` runs the suite in (see README.md, "Tests").
#
#   scripts/test-env.sh install           install what the tests need when it is missing
#   scripts/test-env.sh run CMD [ARG...]  install, start a throwaway PostgreSQL cluster, run CMD
#
# "What the tests need" is Debian's postgresql (initdb, pg_ctl), chromium (/usr/bin/chromium,
# driven by Playwright) and fonts-noto-cjk (the browser tests render Chinese). As root they are
# installed with apt-get; otherwise the script prints the one command to run and fails.
#
# `run` starts a cluster that lives for one run only: initdb in a fresh temporary directory (as
# an unprivileged user when run as root: PostgreSQL refuses to run as root), listening on a free
# 127.0.0.1 port with password authentication, no Unix socket and no durability (fsync off: it
# is thrown away). CMD sees it as VETBOT_TEST_POSTGRES_URL. The cluster and its directory are
# removed when CMD ends, fails, or the run is interrupted (INT, TERM, HUP). The Chroma server
# test starts its own server (tests/knowledge/test_chroma_server.py).
set -euo pipefail

readonly PACKAGES_HINT="apt-get update && apt-get install -y --no-install-recommends"
PYTHON=${PYTHON:-python3}

die() {
  echo "test-env: $*" >&2
  exit 1
}

# Newest PostgreSQL server binaries: Debian's /usr/lib/postgresql/N/bin, else initdb on PATH.
pg_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
    if [[ -x $dir/initdb && -x $dir/pg_ctl ]]; then
      echo "$dir"
      return 0
    fi
  done
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    dirname "$(command -v initdb)"
    return 0
  fi
  return 1
}

has_cjk_font() {
  if command -v fc-list >/dev/null && [[ -n $(fc-list :lang=zh-cn family 2>/dev/null) ]]; then
    return 0
  fi
  [[ -n $(find /usr/share/fonts -iname '*cjk*' -print -quit 2>/dev/null) ]]
}

# Debian package names of what is missing, space-separated (empty when nothing is).
missing_packages() {
  local missing=()
  pg_bindir >/dev/null || missing+=(postgresql)
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  has_cjk_font || missing+=(fonts-noto-cjk)
  echo "${missing[*]}"
}

install_packages() {
  local missing
  missing=$(missing_packages)
  [[ -z $missing ]] && return 0
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    if command -v apt-get >/dev/null; then
      die "the tests need $missing; install them first: sudo sh -c '$PACKAGES_HINT $missing' (or run make test as root)"
    fi
    die "the tests need $missing: install PostgreSQL (initdb, pg_ctl), Chromium at /usr/bin/chromium and a CJK font"
  fi
  echo "test-env: installing $missing (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086  # one word per package
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
  missing=$(missing_packages)
  [[ -z $missing ]] || die "still missing after apt-get install: $missing"
}

free_port() {
  "$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

workdir=""
child=""
as_pg=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [[ -n $child ]] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    { wait "$child"; } 2>/dev/null || true
  fi
  if [[ -n $workdir ]]; then
    if [[ -f $workdir/data/postmaster.pid ]]; then
      "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$workdir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$workdir"
  fi
  exit "$rc"
}

# Hands the signal on to CMD (it runs in its own process group, see run_with_cluster), waits
# for it to finish, then exits; the EXIT trap removes the cluster.
on_signal() {
  local sig=$1 code=$2
  if [[ -n $child ]] && kill -0 "$child" 2>/dev/null; then
    kill "-$sig" "$child" 2>/dev/null || true
    { wait "$child"; } 2>/dev/null || true
  fi
  exit "$code"
}

start_cluster() {
  PG_BIN=$(pg_bindir) || die "no PostgreSQL server binaries (initdb, pg_ctl) found"
  local user password port attempt
  if [[ $(id -u) -eq 0 ]]; then
    # PostgreSQL will not run as root: the cluster belongs to the Debian package's postgres
    # user (or nobody), in a /tmp directory that user can reach.
    user=postgres
    id -u "$user" >/dev/null 2>&1 || user=nobody
    command -v runuser >/dev/null || die "runuser (util-linux) is needed to run PostgreSQL as $user"
    as_pg=(runuser -u "$user" --)
    workdir=$(mktemp -d /tmp/vetbot-test-pg.XXXXXX)
    chown "$user" "$workdir"
  else
    as_pg=(env)
    workdir=$(mktemp -d "${TMPDIR:-/tmp}/vetbot-test-pg.XXXXXX")
  fi
  password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  (umask 077 && printf '%s\n' "$password" >"$workdir/pwfile")
  [[ $(id -u) -eq 0 ]] && chown "$user" "$workdir/pwfile"
  "${as_pg[@]}" "$PG_BIN/initdb" -D "$workdir/data" -U vetbot --pwfile="$workdir/pwfile" \
    --auth=scram-sha-256 --encoding=UTF8 --no-locale --no-sync >"$workdir/initdb.log" 2>&1 \
    || { cat "$workdir/initdb.log" >&2; die "initdb failed"; }
  rm -f "$workdir/pwfile"
  cat >>"$workdir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  # The port is free when chosen but could be taken before the server binds it: retry.
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$workdir/data" -l "$workdir/server.log" -o "-p $port" \
      -w -t 60 start >/dev/null 2>&1; then
      export VETBOT_TEST_POSTGRES_URL="postgresql+psycopg://vetbot:$password@127.0.0.1:$port/postgres"
      echo "test-env: throwaway PostgreSQL $("$PG_BIN/pg_ctl" --version | awk '{print $3}')" \
        "on 127.0.0.1:$port in $workdir" >&2
      return 0
    fi
    grep -q "could not bind" "$workdir/server.log" 2>/dev/null || break
  done
  cat "$workdir/server.log" >&2 2>/dev/null || true
  die "PostgreSQL did not start (attempt $attempt)"
}

run_with_cluster() {
  [[ $# -gt 0 ]] || die "usage: $0 run CMD [ARG...]"
  trap cleanup EXIT
  trap 'on_signal INT 130' INT
  trap 'on_signal TERM 143' TERM
  trap 'on_signal HUP 129' HUP
  install_packages
  start_cluster
  # CMD runs in the background in its own process group so that a signal reaches this shell at
  # once (a foreground child would delay the traps until it ends) and CMD exactly once.
  set -m
  "$@" </dev/null &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=""
  exit "$rc"
}

case ${1:-} in
  install) install_packages ;;
  run) shift; run_with_cluster "$@" ;;
  *) die "usage: $0 install | run CMD [ARG...]" ;;
esac
