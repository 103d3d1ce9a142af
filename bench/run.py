"""Side-by-side benchmark of the hot paths: ``python bench/run.py`` (see the README for the table).

Starts, on this machine: an embedded Postgres and a redis-server, the ceiling app (bench/ceiling.py) and the
real service (``tenant-service serve``, auth on, Redis cache), seeds tenants, drives both with wrk (installed
with apt-get if missing) and prints requests/s, p50 and p99 per scenario with the ratio to the ceiling.
Everything is compared within one run on one machine; nothing here is a pass/fail timer.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tenant_adapters.jwt import JwtTokens  # noqa: E402
from tenant_adapters.postgres import apply_migrations, start_embedded_postgres  # noqa: E402
from tenant_core import Principal, Role  # noqa: E402
from tests.support.servers import RedisServer, free_port  # noqa: E402

SECRET = "bench-secret-" + "b" * 32
HOT_KEYS = 1_000


def ensure_wrk() -> str:
    if path := shutil.which("wrk"):
        return path
    print("installing wrk (apt-get)…", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or sys.exit("wrk could not be installed")


def wait_for(port: int, path: str = "/", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}{path}", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port}")


async def seed(dsn: str, start: int, count: int) -> None:
    """Tenants ``start..start+count`` with phone 1555<i>, integration intg-<i>, org org-<i>."""
    connection = await asyncpg.connect(dsn)
    now = datetime.now(UTC)
    columns = [
        "id",
        "name",
        "email",
        "status",
        "plan",
        "rate_limit",
        "phone_number_id",
        "genesys_integration_id",
        "genesys_org_id",
        "created_at",
        "updated_at",
    ]
    batch = 50_000
    for first in range(start, start + count, batch):
        rows = [
            (
                f"t_{i:016x}",
                f"Tenant {i}",
                f"admin{i}@example{i % 97}.com",
                "active",
                "standard",
                1_000_000 // 10,
                f"1555{i:07d}",
                f"intg-{i}",
                f"org-{i}",
                now,
                now,
            )
            for i in range(first, min(first + batch, start + count))
        ]
        await connection.copy_records_to_table("tenants", records=rows, columns=columns)
    await connection.execute("ANALYZE tenants")
    await connection.close()


LUA_HEADERS = 'wrk.headers["Authorization"] = "Bearer {token}"\n'
# wrk's --latency table stops at p99; every script also reports p99.9 (microseconds).
LUA_P999 = """
done = function(summary, latency, requests)
  io.write(string.format("P95 %d\\n", latency:percentile(95)))
  io.write(string.format("P999 %d\\n", latency:percentile(99.9)))
end
"""
LUA_RANDOM_PATH = """
math.randomseed(os.time())
request = function()
  local i = math.random(0, {upper})
  return wrk.format("GET", string.format("{template}", i))
end
"""
LUA_CREATE = """
counter = 0
math.randomseed(os.time())
request = function()
  counter = counter + 1
  local tag = string.format("%d-%d", math.random(1, 1e9), counter)
  local body = '{{"name": "Bench ' .. tag .. '", "email": "bench' .. tag .. '@example.com"}}'
  local headers = {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer {token}"}}
  return wrk.format("POST", "/tenants", headers, body)
end
"""


def run_wrk(wrk: str, port: int, script: str, path: str = "/", seconds: int = 10, connections: int = 32) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script + LUA_P999)
    result = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            file.name,
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    os.unlink(file.name)
    return parse_wrk(result.stdout)


def parse_wrk(output: str) -> dict:
    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", output, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    p999 = re.search(r"^P999 (\d+)$", output, re.M)
    p95 = re.search(r"^P95 (\d+)$", output, re.M)
    return {
        "rps": rps,
        "p50": latency("50"),
        "p90": latency("90"),
        "p95": int(p95.group(1)) / 1000 if p95 else float("nan"),
        "p99": latency("99"),
        "p999": int(p999.group(1)) / 1000 if p999 else float("nan"),
        "errors": errors,
    }


async def cursor_before(dsn: str, offset: int) -> str:
    """The ``next`` cursor a client holds after reading ``offset`` tenants (the list's order)."""
    from tenant_core.paging import encode_cursor

    connection = await asyncpg.connect(dsn)
    row = await connection.fetchrow(
        "SELECT created_at, id FROM tenants WHERE status <> 'deleted' ORDER BY created_at DESC, id DESC "
        "OFFSET $1 LIMIT 1",
        offset - 1,
    )
    await connection.close()
    return encode_cursor(row["created_at"], row["id"])


def flush_redis(url: str) -> None:
    import redis as redis_client

    redis_client.Redis.from_url(url).flushall()


def worker_rss_mb(server: subprocess.Popen) -> list[float]:
    children = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
    sizes = []
    for pid in children:
        status = Path(f"/proc/{pid}/status")
        if status.exists() and (match := re.search(r"VmRSS:\s+(\d+) kB", status.read_text())):
            sizes.append(int(match.group(1)) / 1024)
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--cold-tenants", type=int, default=1_000_000, help="tenants for the cache-cold runs")
    parser.add_argument("--soak-requests", type=int, default=1_000_000, help="hot-path requests before measuring RSS")
    parser.add_argument("--hot-only", action="store_true", help="only the cache-hot runs (quick iterations)")
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternating ceiling/service rounds of the cache-hot by-phone comparison"
    )
    args = parser.parse_args()
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="tenant-bench-"))
    os.chmod(workdir, 0o755)
    dsn, pg = start_embedded_postgres(workdir)
    apply_migrations(dsn)
    redis = RedisServer().start()
    processes: list[subprocess.Popen] = []
    rows: list[tuple[str, str, dict, float | None]] = []
    try:
        asyncio.run(seed(dsn, 0, 100_000))
        ceiling_port, service_port = free_port(), free_port()
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "granian",
                    "--interface",
                    "asgi",
                    "--workers",
                    "1",
                    "--port",
                    str(ceiling_port),
                    "--no-ws",
                    "--log-level",
                    "warning",
                    "bench.ceiling:app",
                ],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "REDIS_URL": redis.url,
            "JWT_SECRET": SECRET,
            "TENANT_SERVICE_DATA_DIR": str(workdir / "data"),
            "LOG_LEVEL": "INFO",
        }
        log = open(workdir / "service.log", "w")  # noqa: SIM115  (kept open for the server's life)
        service = subprocess.Popen(
            [sys.executable, "-m", "tenant_entrypoints.cli", "serve", "--port", str(service_port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        processes.append(service)
        wait_for(ceiling_port, "/tenants/by-phone/15550000000")
        wait_for(service_port, "/health/live")
        token = JwtTokens(SECRET).issue(Principal(subject="bench", role=Role.SERVICE), ttl_seconds=24 * 3600)
        admin = JwtTokens(SECRET).issue(Principal(subject="bench", role=Role.ADMIN), ttl_seconds=24 * 3600)
        auth = LUA_HEADERS.format(token=token)

        def hot(template: str) -> str:
            return auth + LUA_RANDOM_PATH.format(upper=HOT_KEYS - 1, template=template)

        ceiling = run_wrk(
            wrk,
            ceiling_port,
            LUA_RANDOM_PATH.format(upper=HOT_KEYS - 1, template="/tenants/by-phone/1555%07d"),
            seconds=args.seconds,
        )
        rows.append(("ceiling app", "GET /tenants/by-phone (dict)", ceiling, None))
        hot_routes = [
            ("by-phone", "/tenants/by-phone/1555%07d"),
            ("by-integration", "/tenants/by-integration/intg-%d"),
            ("by-genesys-org", "/tenants/by-genesys-org/org-%d"),
        ]
        for name, template in hot_routes:
            run_wrk(wrk, service_port, hot(template), seconds=2)  # warm the caches
            result = run_wrk(wrk, service_port, hot(template), seconds=args.seconds)
            rows.append(("service", f"GET {name}, cache-hot, auth on", result, result["rps"] / ceiling["rps"]))

        rounds = alternate_rounds(wrk, ceiling_port, service_port, LUA_RANDOM_PATH, hot, args)
        if args.hot_only:
            return print_table(rows, [], 0, rounds)
        list_auth = LUA_HEADERS.format(token=admin)
        for label, path in (
            ("GET /tenants?limit=50 @100k", "/tenants?limit=50"),
            ("GET /tenants?limit=50&q=example4 @100k", "/tenants?limit=50&q=example4"),
        ):
            for connections in (1, 4):  # one client's latency, then four clients sharing the two cores
                result = run_wrk(wrk, service_port, list_auth, path=path, seconds=args.seconds, connections=connections)
                rows.append(("service", f"{label}, -c{connections}", result, None))
        # q search (pg_trgm): selective matches ~0.1% of 100,000 rows, broad ~10%; exact total included.
        for label, q in (("selective q (~0.1%)", "tenant%201234"), ("broad q (~10%)", "example1")):
            path = f"/tenants?limit=50&q={q}"
            result = run_wrk(wrk, service_port, list_auth, path=path, seconds=args.seconds, connections=4)
            rows.append(("service", f"GET /tenants {label} @100k, -c4", result, None))
        # Page 1,000 (limit 50) by offset, then by cursor: keyset pages cost what the first page does.
        cursor = asyncio.run(cursor_before(dsn, 999 * 50))
        for label, path in (
            ("page 1", "/tenants?limit=50"),
            ("page 1,000 by offset", f"/tenants?limit=50&offset={999 * 50}"),
            ("page 1,000 by cursor", f"/tenants?limit=50&after={cursor}"),
        ):
            result = run_wrk(wrk, service_port, list_auth, path=path, seconds=args.seconds, connections=1)
            rows.append(("service", f"GET {label} @100k, -c1", result, None))
        created = run_wrk(wrk, service_port, LUA_CREATE.format(token=admin), seconds=args.seconds, connections=4)
        rows.append(("service", "POST /tenants (create), -c4", created, None))

        if args.cold_tenants > 100_000:
            asyncio.run(seed(dsn, 100_000, args.cold_tenants - 100_000))
        flush_redis(redis.url)
        for name, template in hot_routes:
            script = auth + LUA_RANDOM_PATH.format(upper=args.cold_tenants - 1, template=template)
            for connections in (32, 4):  # throughput when saturated; latency of a database hit at low load
                result = run_wrk(wrk, service_port, script, seconds=args.seconds, connections=connections)
                label = f"GET {name}, cache-cold @{args.cold_tenants // 1000}k, -c{connections}"
                rows.append(("service", label, result, result["rps"] / ceiling["rps"]))

        soak_seconds = max(1, int(args.soak_requests / max(rows[1][2]["rps"], 1)))
        run_wrk(wrk, service_port, hot(hot_routes[0][1]), seconds=soak_seconds)
        rss = worker_rss_mb(service)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
        redis.close()
        pg._cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(rows, rss, args.soak_requests, rounds)


def alternate_rounds(wrk, ceiling_port, service_port, random_path, hot, args) -> list[tuple[dict, dict]]:
    """Ceiling and service by turns, so that a noisy moment of the machine hits both rather than one."""
    template = "/tenants/by-phone/1555%07d"
    ceiling_script = random_path.format(upper=HOT_KEYS - 1, template=template)
    rounds = []
    for _ in range(args.rounds):
        ceiling = run_wrk(wrk, ceiling_port, ceiling_script, seconds=args.seconds)
        service = run_wrk(wrk, service_port, hot(template), seconds=args.seconds)
        rounds.append((ceiling, service))
    return rounds


def rounds_table(rounds: list[tuple[dict, dict]]) -> list[str]:
    """The median round and the worst round (by the service's p99), as ratios and percentiles."""
    if not rounds:
        return []
    by_ratio = sorted(rounds, key=lambda r: r[1]["rps"] / r[0]["rps"])
    median, worst = by_ratio[len(by_ratio) // 2], max(rounds, key=lambda r: r[1]["p99"])
    lines = [
        "",
        f"Cache-hot by-phone, {len(rounds)} alternating rounds (ceiling, then service):",
        "",
        "| round | ceiling req/s | service req/s | ratio | ceiling p99 | service p99 | p99 ratio | ceiling p99.9 "
        "| service p99.9 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, (ceiling, service) in (("median (by throughput ratio)", median), ("worst (by service p99)", worst)):
        lines.append(
            f"| {label} | {ceiling['rps']:,.0f} | {service['rps']:,.0f} | {service['rps'] / ceiling['rps']:.2f} | "
            f"{ceiling['p99']:.2f} | {service['p99']:.2f} | {service['p99'] / ceiling['p99']:.2f} | "
            f"{ceiling['p999']:.2f} | {service['p999']:.2f} |"
        )
    return lines


def print_table(rows, rss: list[float], soak: int, rounds: list[tuple[dict, dict]] = ()) -> None:
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d}; 1 worker, wrk -t1 -c32 unless the row says otherwise",
        "",
        "| target | scenario | requests/s | p50 ms | p90 ms | p95 ms | p99 ms | non-2xx | vs ceiling |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for target, scenario, result, ratio in rows:
        ratio_text = f"{ratio:.0%}" if ratio is not None else ""
        lines.append(
            f"| {target} | {scenario} | {result['rps']:,.0f} | {result['p50']:.2f} | {result['p90']:.2f} | "
            f"{result['p95']:.2f} | {result['p99']:.2f} | {result['errors']} | {ratio_text} |"
        )
    lines.append("")
    if rss:
        lines.append(f"RSS per worker after ~{soak:,} hot-path requests: " + ", ".join(f"{mb:.0f} MB" for mb in rss))
    lines += rounds_table(list(rounds))
    text = "\n".join(lines)
    print(text)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
