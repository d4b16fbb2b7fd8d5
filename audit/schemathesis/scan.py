"""Runs schemathesis (GraphQL mode) against a real Mati server on PostgreSQL.

Usage: python scan.py MATI_BIN POSTGRES_URL SECONDS_PER_CALLER

POSTGRES_URL names a server where a scratch database may be created and dropped. The
server gets that database, synthetic comments (`mati seed`), and four callers: nobody, a
citizen, an official of the unit with the most comments, and an administrator. For each
caller schemathesis generates requests over every operation (but `logout`, which would
end the caller's own session) for SECONDS_PER_CALLER, with dictionaries of real ids,
codes and tracking codes so that requests reach past validation.

Fails (exit 1) on any failure of the checks in `mati_checks.py` or of schemathesis'
GraphQL response checks, and on anything the server logged at ERROR.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SEED_COMMENTS = 2000
PASSWORD = "schemathesis scan password"
# Every rate limit, as documented in the README, raised so that the scan reaches what
# lies behind them.
with open(os.path.join(HERE, "..", "..", "README.md")) as readme:
    RATE_LIMITS = sorted(set(re.findall(r"MATI_RATE_LIMIT_[A-Z][A-Z_]+", readme.read())))
# Checks of schemathesis that judge a GraphQL error as a failure of the server; the
# custom check replaces them (see mati_checks.py).
EXCLUDED_CHECKS = "not_a_server_error,positive_data_acceptance"


def log(message):
    print(f"schemathesis scan: {message}", file=sys.stderr, flush=True)


def psql(url, sql):
    out = subprocess.run(
        ["psql", "-X", "-w", "-v", "ON_ERROR_STOP=1", "-qtA", url, "-c", sql],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"},
    )
    return [line for line in out.stdout.splitlines() if line]


def with_database(url, name):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def graphql(base, query, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"{base}/graphql", data=json.dumps({"query": query}).encode(), headers=headers
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def start_server(mati, env, workdir):
    out = open(os.path.join(workdir, "server.out"), "w")
    err_path = os.path.join(workdir, "server.log")
    server = subprocess.Popen([mati], env=env, stdout=out, stderr=open(err_path, "w"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(os.path.join(workdir, "server.out")) as printed:
            match = re.search(r"^listening on (\S+)", printed.read(), re.M)
        if match:
            return server, match.group(1), err_path
        if server.poll() is not None:
            break
        time.sleep(0.2)
    server.kill()
    with open(err_path) as logged:
        raise SystemExit(f"mati did not start:\n{logged.read()[-2000:]}")


def staff(mati, env, role, username, unit=None):
    command = [mati, "staff", "add", "--role", role, "--username", username]
    if unit:
        command += ["--unit", unit]
    subprocess.run(command, env=env, input=PASSWORD + "\n", text=True, check=True, capture_output=True)


def login(base, username):
    query = f'mutation {{ login(username: "{username}", password: "{PASSWORD}") {{ token }} }}'
    return graphql(base, query)["data"]["login"]["token"]


def config(path, db_url, unit):
    """A schemathesis config with dictionaries of real values, bound to the arguments."""
    ids = psql(db_url, f"select id from comments where assigned_unit = '{unit}' order by id limit 40")
    ids += psql(db_url, "select id from comments order by id limit 20")
    codes = psql(db_url, "select tracking_code from comments order by id limit 20")
    communes = psql(db_url, "select code from admin_units where level = 'COMMUNE' order by code limit 30")
    units = psql(db_url, "select code from admin_units where level <> 'VILLAGE' order by random() limit 30")
    categories = psql(db_url, "select code from categories order by code")
    dictionaries = {
        "comment_ids": ids,
        "tracking_codes": codes,
        "communes": communes,
        "units": units + [unit],
        "categories": categories,
    }
    bindings = {
        "*.*.id": "comment_ids",
        "*.*.trackingCode": "tracking_codes",
        "*.*.unitCode": "units",
        "*.*.toUnitCode": "units",
        "*.*.parentCode": "units",
        "*.*.code": "units",
        "*.*.categoryCode": "categories",
        "Mutation.submitComment.input.communeCode": "communes",
        "Mutation.submitComment.input.categoryCode": "categories",
    }
    with open(path, "w") as toml:
        for name, values in dictionaries.items():
            toml.write(f"[dictionaries.{name}]\nvalues = {json.dumps(values)}\n\n")
        toml.write("[parameters]\n")
        for key, name in bindings.items():
            toml.write(f'"{key}" = {{ dictionary = "{name}", probability = 0.8 }}\n')


def scan(base, caller, token, config_path, seconds, workdir):
    command = [
        os.path.join(os.path.dirname(sys.executable), "st"),
        "--config-file",
        config_path,
        "run",
        f"{base}/graphql",
        "--max-time",
        str(seconds),
        "--workers",
        "1",
        "--checks",
        "all",
        "--exclude-checks",
        EXCLUDED_CHECKS,
        "--exclude-name",
        "Mutation.logout",
        "--suppress-health-check",
        "all",
    ]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "mati_checks", "PYTHONPATH": HERE}
    log(f"{caller}: {seconds} s")
    result = subprocess.run(command, env=env, cwd=workdir, capture_output=True, text=True)
    summary = [line for line in result.stdout.splitlines() if re.search(r"generated|Failures|❌|⚠|ST\d", line)]
    for line in summary:
        log(f"{caller}: {line.strip()}")
    if result.returncode != 0:
        print(result.stdout[-20000:], file=sys.stderr)
    return result.returncode == 0


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    mati, pg_url, seconds = os.path.abspath(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    name = f"mati_schemathesis_{os.getpid()}"
    db_url = with_database(pg_url, name)
    workdir = tempfile.mkdtemp(prefix="mati-schemathesis-")
    psql(pg_url, f"drop database if exists {name}")
    psql(pg_url, f"create database {name}")
    env = {
        **os.environ,
        "MATI_DATABASE_URL": db_url,
        "MATI_LISTEN": "127.0.0.1:0",
        "MATI_LOG": "warn",
        **{setting: "1000000/1s" for setting in RATE_LIMITS},
    }
    server = None
    try:
        server, base, server_log = start_server(mati, env, workdir)
        subprocess.run([mati, "seed", "--comments", str(SEED_COMMENTS)], env=env, check=True, capture_output=True)
        unit = psql(db_url, "select assigned_unit from comments group by 1 order by count(*) desc, 1 limit 1")[0]
        staff(mati, env, "admin", "scan-admin")
        staff(mati, env, "official", "scan-official", unit)
        citizen = graphql(base, "mutation { startCitizenSession { token } }")["data"]["startCitizenSession"]["token"]
        callers = [
            ("nobody", None),
            ("citizen", citizen),
            (f"official of {unit}", login(base, "scan-official")),
            ("admin", login(base, "scan-admin")),
        ]
        config_path = os.path.join(workdir, "schemathesis.toml")
        config(config_path, db_url, unit)
        passed = [scan(base, caller, token, config_path, seconds, workdir) for caller, token in callers]
        with open(server_log) as logged:
            errors = [line for line in logged if " ERROR " in line or '"level":"ERROR"' in line]
        for line in errors[:20]:
            log(f"server logged: {line.rstrip()}")
        if not all(passed) or errors:
            log("FAILED")
            return 1
        log(f"passed: {len(callers)} callers, no 5xx, no internal error or text, nothing logged at ERROR")
        return 0
    finally:
        if server is not None:
            server.kill()
            server.wait()
        psql(pg_url, f"drop database if exists {name} with (force)")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
