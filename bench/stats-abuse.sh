#!/usr/bin/env bash
# Benchmark: statistics under abuse (issue "Abuse-proof statistics"), through the real
# release binary over HTTP. Seeds a fresh database with N routed comments, then runs
# bench/stats_abuse.py: the issue's 20-alias request, the heaviest statistics request
# the limits let through, and a dashboard, each with a cheap query timed beside it and
# the server's memory sampled. With BASELINE=path/to/an/older/mati, that binary runs the
# same rounds on the same database, alternating with this one.
#
# Usage: bench/stats-abuse.sh sqlite|postgres [COMMENTS] [ROUNDS]
#        (defaults: 200000 on SQLite, 1000000 on PostgreSQL; 3 rounds)
# Needs python3; for PostgreSQL, a server at 127.0.0.1:5432 (trust auth) and psql.
set -euo pipefail
cd "$(dirname "$0")/.."

backend=${1:?sqlite or postgres}
rounds=${3:-3}
work=$(mktemp -d)
db=mati_bench_$$
cleanup() {
    [[ $backend == postgres ]] && psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

case $backend in
sqlite)
    comments=${2:-200000}
    url="sqlite://$work/mati.db?mode=rwc"
    ;;
postgres)
    comments=${2:-1000000}
    url="postgres://postgres@127.0.0.1:5432/$db"
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
    ;;
*)
    echo "usage: $0 sqlite|postgres [COMMENTS] [ROUNDS]" >&2
    exit 2
    ;;
esac

cargo build --release -q -p mati-api
MATI_LOG=warn MATI_DATABASE_URL=$url target/release/mati seed --comments "$comments" | tail -n 1
[[ $backend == postgres ]] && psql -h 127.0.0.1 -U postgres -d "$db" -qc "VACUUM ANALYZE"

# The baseline gets a copy of the same rows, without this version's migrations in its
# records (their columns and tables do not disturb an older binary).
base_url=""
if [[ -n ${BASELINE:-} ]]; then
    forget="DELETE FROM seaql_migrations WHERE version LIKE 'm20261129%'"
    if [[ $backend == sqlite ]]; then
        python3 - "$work/mati.db" "$work/base.db" "$forget" <<'PY'
import sqlite3, sys
source, copy = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
source.backup(copy)
copy.execute(sys.argv[3])
copy.commit()
PY
        base_url="sqlite://$work/base.db?mode=rwc"
    else
        psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE ${db}_base TEMPLATE $db"
        psql -h 127.0.0.1 -U postgres -d "${db}_base" -qc "$forget"
        base_url="postgres://postgres@127.0.0.1:5432/${db}_base"
        trap 'psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS ${db}_base WITH (FORCE)" >/dev/null 2>&1; cleanup' EXIT
    fi
fi

for _ in $(seq "$rounds"); do
    python3 bench/stats_abuse.py target/release/mati "$url" current 1
    if [[ -n $base_url ]]; then
        python3 bench/stats_abuse.py "$BASELINE" "$base_url" baseline 1
    fi
done
