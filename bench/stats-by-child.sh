#!/usr/bin/env bash
# Benchmark: country-wide responseStatsByChild over N seeded comments on PostgreSQL,
# through the real release binary over HTTP, side by side with a baseline run in the
# same loop: the same aggregate asked directly of the `comments` table through psql
# (what Mati did before `comment_facts`).
#
# Usage: bench/stats-by-child.sh [COMMENTS] [RUNS]   (defaults 1000000 and 15)
# Needs PostgreSQL at 127.0.0.1:5432 (trust auth) and psql, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

comments=${1:-1000000}
runs=${2:-15}
db=mati_bench_$$
url="postgres://postgres@127.0.0.1:5432/$db"

cleanup() {
    [[ -n ${server:-} ]] && kill "$server" 2>/dev/null || true
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

cargo build --release -q -p mati-api
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
MATI_LOG=warn MATI_DATABASE_URL=$url target/release/mati seed --comments "$comments"
psql -h 127.0.0.1 -U postgres -d "$db" -qc "VACUUM ANALYZE comments"

out=$(mktemp)
MATI_LOG=warn MATI_LISTEN=127.0.0.1:0 MATI_DATABASE_URL=$url target/release/mati >"$out" &
server=$!
until grep -q '^listening on ' "$out"; do sleep 0.2; done
base=$(sed -n 's/^listening on //p' "$out")

query='{"query":"{ responseStatsByChild { unit { code } received responded responseRate resolved overdue acknowledged escalatedAway satisfactionRate medianHoursToFirstResponse p90HoursToFirstResponse medianHoursToResolution p90HoursToResolution } }"}'
sql="SELECT left(commune_code, 2)::int, count(*), count(first_response_at),
  count(*) FILTER (WHERE status = 'RESOLVED'), count(*) FILTER (WHERE first_response_at IS NULL AND due_at < now()),
  count(acknowledged_at), count(*) FILTER (WHERE (escalated_levels & 1) <> 0), count(satisfied), count(*) FILTER (WHERE satisfied),
  percentile_disc(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (first_response_at - routed_at))::float8 / 3600.0),
  percentile_disc(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (first_response_at - routed_at))::float8 / 3600.0),
  percentile_disc(0.5) WITHIN GROUP (ORDER BY CASE WHEN status = 'RESOLVED' THEN EXTRACT(EPOCH FROM (resolved_at - routed_at))::float8 / 3600.0 END),
  percentile_disc(0.9) WITHIN GROUP (ORDER BY CASE WHEN status = 'RESOLVED' THEN EXTRACT(EPOCH FROM (resolved_at - routed_at))::float8 / 3600.0 END)
  FROM comments WHERE routed_at IS NOT NULL GROUP BY 1 ORDER BY 1"

# Alternate the two so that both see the same machine load.
work=$(mktemp -d)
: > "$work/api.txt"
: > "$work/sql.txt"
for _ in $(seq "$runs"); do
    curl -s -o /dev/null -w '%{time_total}\n' -X POST "$base/graphql" \
        -H 'content-type: application/json' -d "$query" >> "$work/api.txt"
    start=$(date +%s%N)
    psql -h 127.0.0.1 -U postgres -d "$db" -qAt -c "$sql" >/dev/null
    end=$(date +%s%N)
    echo "$(( (end - start) / 1000 ))e-6" >> "$work/sql.txt"
done

python3 - "$comments" "$work" <<'PY'
import statistics, sys
def load(path):
    return sorted(float(x) * 1000 for x in open(path) if x.strip())
api, sql = load(sys.argv[2] + "/api.txt"), load(sys.argv[2] + "/sql.txt")
med = lambda xs: statistics.median(xs)
print(f"comments: {int(sys.argv[1]):,}")
print(f"responseStatsByChild over HTTP: median {med(api):.0f} ms, min {api[0]:.0f}, max {api[-1]:.0f} (n={len(api)})")
print(f"bare SQL through psql:          median {med(sql):.0f} ms, min {sql[0]:.0f}, max {sql[-1]:.0f} (n={len(sql)})")
print(f"ratio API / SQL: {med(api) / med(sql):.2f}")
PY
