"""Statistics under abuse: one server, one expensive request, a cheap query beside it.

Usage: python3 bench/stats_abuse.py MATI_BIN DATABASE_URL LABEL [ROUNDS]

Starts MATI_BIN on DATABASE_URL (already seeded) on a free port, with the per-address
rate limits raised so that every request does its work, and then, ROUNDS times (3):

  attack     the issue's request: 20 aliases of
             responseStats { received byCategory{received} byMonth{received} byGender{received} }
  heaviest   the most expensive statistics request that the complexity limit lets
             through: 11 aliases of responseStats { received } over 11 different periods
             (all computed, none shared)
  dashboard  responseStats with its three breakdowns, responseStatsByChild and a
             ranking, for the whole country

While each runs, a second client asks `{ categories { code } }` every 20 ms and times
every answer, and the server's resident memory is sampled every 20 ms. Prints one JSON
line per request: its HTTP status, the error codes, its time, the cheap query's
latencies (median, max, failures) and the server's peak memory (VmHWM) and largest
sample (VmRSS). Standard library only.
"""
import json, os, socket, statistics, subprocess, sys, tempfile, threading, time, urllib.error, urllib.request

binary, database, label = sys.argv[1], sys.argv[2], sys.argv[3]
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3

ALIAS = "a{n}: responseStats {{ received byCategory {{ received }} byMonth {{ received }} byGender {{ received }} }}"
ATTACK = "{ " + " ".join(ALIAS.format(n=n) for n in range(20)) + " }"
HEAVIEST = "{ " + " ".join(
    f'p{n}: responseStats(from: "2025-{n + 1:02}-01T00:00:00+07:00") {{ received responseRate medianHoursToFirstResponse }}'
    for n in range(11)
) + " }"
DASHBOARD = """{ responseStats { received responded responseRate overdue medianHoursToFirstResponse
  byCategory { received responseRate } byMonth { month received } byGender { gender received } }
  responseStatsByChild { unit { code } received responseRate overdue }
  responseRanking(level: DISTRICT, first: 10) { unit { code } responseRate } }"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(base, query, timeout=300):
    request = urllib.request.Request(
        base + "/graphql", data=json.dumps({"query": query}).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)
    except Exception as error:  # refused, reset, timed out
        return 0, {"errors": [{"extensions": {"code": type(error).__name__}}]}


def memory(pid, field):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def run(base, pid, name, query):
    done = threading.Event()
    cheap, failures, samples = [], [0], []

    def ask_cheap():
        while not done.is_set():
            started = time.perf_counter()
            status, body = post(base, "{ categories { code } }", timeout=30)
            if status == 200 and "errors" not in body:
                cheap.append((time.perf_counter() - started) * 1000)
            else:
                failures[0] += 1
            time.sleep(0.02)

    def sample():
        while not done.is_set():
            samples.append(memory(pid, "VmRSS"))
            time.sleep(0.02)

    threads = [threading.Thread(target=ask_cheap), threading.Thread(target=sample)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    started = time.perf_counter()
    status, body = post(base, query)
    took = (time.perf_counter() - started) * 1000
    time.sleep(0.2)
    done.set()
    for thread in threads:
        thread.join()
    codes = sorted({e.get("extensions", {}).get("code", "?") for e in body.get("errors", [])})
    return {
        "label": label,
        "request": name,
        "status": status,
        "errors": codes,
        "ms": round(took),
        "cheap_median_ms": round(statistics.median(cheap), 1) if cheap else None,
        "cheap_max_ms": round(max(cheap), 1) if cheap else None,
        "cheap_answers": len(cheap),
        "cheap_failures": failures[0],
        "rss_max_mb": max(samples) if samples else None,
        "hwm_mb": memory(pid, "VmHWM"),
    }


def main():
    port = free_port()
    limits = {
        key: "1000000/1s"
        for key in ["MATI_RATE_LIMIT_STATS_PER_ADDRESS", "MATI_RATE_LIMIT_TRACK_PER_ADDRESS"]
    }
    env = dict(os.environ, MATI_DATABASE_URL=database, MATI_LISTEN=f"127.0.0.1:{port}", MATI_LOG="warn")
    log = tempfile.TemporaryFile()
    # A baseline that lacks a setting refuses to start with it: offer only known ones.
    for key, value in limits.items():
        probe = subprocess.run([binary, "schema"], capture_output=True, env=dict(env, **{key: value}))
        if probe.returncode == 0:
            env[key] = value
    server = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        line = server.stdout.readline()
        if not line.startswith("listening on "):
            log.seek(0)
            sys.exit(f"{binary} did not start: {log.read().decode()}")
        base = line.split("listening on ", 1)[1].strip()
        for _ in range(rounds):
            for name, query in [("attack", ATTACK), ("heaviest", HEAVIEST), ("dashboard", DASHBOARD)]:
                print(json.dumps(run(base, server.pid, name, query)), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)


main()
