# Starts the real servers used by integration tests (sourced by .ci/run; usable by hand).
start_postgres() {
  local ver cluster_dir
  ver=$(ls /usr/lib/postgresql | sort -V | tail -n1)
  if ! pg_lsclusters -h 2>/dev/null | grep -q " online"; then
    pg_lsclusters -h | grep -q . || pg_createcluster "$ver" main >/dev/null
    pg_ctlcluster "$ver" main start
  fi
  su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='vetbot'\"" | grep -q 1 \
    || su postgres -c "psql -qc \"CREATE ROLE vetbot LOGIN SUPERUSER PASSWORD 'vetbot'\""
  su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='vetbot_test'\"" | grep -q 1 \
    || su postgres -c "createdb -O vetbot vetbot_test"
  export VETBOT_TEST_POSTGRES_URL="postgresql+psycopg://vetbot:vetbot@127.0.0.1:5432/vetbot_test"
}
