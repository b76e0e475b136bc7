"""``vetbot bench-api``: latency and throughput of ``/v1/search`` and ``/v1/ask`` over HTTP.

The server runs in a subprocess (``vetbot serve`` on 127.0.0.1, a free port) against the
configured knowledge base but a throw-away SQLite database, so benchmark questions never
reach the real question log. This process is the client: ``concurrency`` workers on one
``httpx.AsyncClient`` send requests until ``duration`` seconds or ``max_requests`` requests,
per endpoint. Loopback only. The server is started once per entry of ``processes``
(``vetbot serve --workers N``) under the configured thread policy (``VETBOT_EMBED_THREADS``),
so one run compares one process with several.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import numpy as np

from api.users import UserService
from ingest.bootstrap import needs_default_kb
from vetbot.db import Base, create_db_engine, import_all_models, make_session_factory
from vetbot.errors import ConfigurationError
from vetbot.settings import Settings

HOST = "127.0.0.1"
READY_TIMEOUT_S = 300.0

SEARCH_QUERIES = [
    "优待证 补办",
    "退役军人 乘坐火车",
    "景区 门票 优待",
    "子女 入学 教育优待",
    "抚恤金 发放",
    "就业 创业 扶持",
    "医疗 优先 就诊",
    "退役军人服务站",
    "公交 免费",
    "住房 保障",
]
ASK_QUESTIONS = [
    "优待证丢了怎么补办？",
    "退役军人坐火车有什么优待？",
    "退役军人去景区门票有优惠吗？",
    "退役军人子女上学有什么照顾？",
    "退役军人看病有优先吗？",
    "退役军人创业有什么扶持政策？",
    "优待证去哪里办理？",
    "烈士遗属有哪些优待？",
    "今天天气怎么样？",
    "退役军人可以免费坐公交吗？",
]


@dataclass(frozen=True)
class BenchConfig:
    """Load shape: bounded in concurrency, time and count."""

    concurrency: int = 8
    duration: float = 20.0
    max_requests: int = 5000
    port: int = 0
    processes: tuple[int, ...] = (1, 2)


@dataclass
class EndpointResult:
    """Figures of one endpoint."""

    endpoint: str
    requests: int
    errors: int
    duration_s: float
    throughput_rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    statuses: dict[str, int] = field(default_factory=dict)
    processes: int = 1  # server processes (vetbot serve --workers)


def free_port() -> int:
    """An unused TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (``q`` in 0–100) of ``values``, nearest-rank; 0 for none.

    Nearest-rank (numpy's ``inverted_cdf``) reports a latency that was actually observed.
    """
    if not values:
        return 0.0
    return float(np.percentile(values, q, method="inverted_cdf"))


def summarize(
    endpoint: str, latencies_ms: list[float], statuses: dict[str, int], elapsed: float
) -> EndpointResult:
    """Percentiles and throughput of one endpoint's run."""
    ok = list(latencies_ms)
    errors = sum(n for code, n in statuses.items() if not code.startswith("2"))
    return EndpointResult(
        endpoint=endpoint,
        requests=len(latencies_ms),
        errors=errors,
        duration_s=round(elapsed, 2),
        throughput_rps=round(len(latencies_ms) / elapsed, 2) if elapsed > 0 else 0.0,
        p50_ms=round(percentile(ok, 50), 1),
        p95_ms=round(percentile(ok, 95), 1),
        p99_ms=round(percentile(ok, 99), 1),
        mean_ms=round(statistics.fmean(ok), 1) if ok else 0.0,
        max_ms=round(max(ok), 1) if ok else 0.0,
        statuses=dict(sorted(statuses.items())),
    )


def _prepare_database(workdir: Path) -> tuple[str, str]:
    """A fresh SQLite database with the schema and a staff API key; returns (url, key)."""
    url = f"sqlite:///{(workdir / 'bench.db').resolve()}"
    engine = create_db_engine(url)
    import_all_models()
    Base.metadata.create_all(engine)
    _row, key = UserService(make_session_factory(engine)).create_api_key("bench", "staff", actor="bench")
    engine.dispose()
    return url, key


def _start_server(
    settings: Settings, workdir: Path, db_url: str, port: int, workers: int = 1
) -> subprocess.Popen[bytes]:
    kb_dir = settings.default_kb_dir.resolve()
    env = dict(os.environ)
    env.update(
        {
            "VETBOT_DATABASE_URL": db_url,
            "VETBOT_KB_DIR": str(kb_dir),
            # The server's own database is a scratch one; the KB catalogue stays the real one.
            "VETBOT_KB_DATABASE_URL": settings.kb_database_url or settings.sqlalchemy_url,
            "VETBOT_DATA_DIR": str(workdir),
            "VETBOT_TELEGRAM_TOKEN": "",
            "VETBOT_ANONYMOUS_ASK": "false",
            "VETBOT_LOG_LEVEL": "WARNING",
            "VETBOT_EMBED_THREADS": str(settings.embed_threads),
        }
    )
    cmd = [
        sys.executable,
        "-m",
        "vetbot.cli",
        "serve",
        "--no-bot",
        "--skip-migrations",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    log = (workdir / "server.log").open("wb")
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


async def _wait_ready(base: str, proc: subprocess.Popen[bytes], workers: int = 1) -> float:
    """Seconds until ``/readyz`` said ready ``3 * workers`` times in a row on fresh connections
    and ``workers`` different worker processes (its ``instance``) have said so: each loads its
    own models, and the kernel may send many connections in a row to the same one."""
    started = time.perf_counter()
    streak = 0
    instances: set[str] = set()
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=5.0, limits=limits) as client:
        while time.perf_counter() - started < READY_TIMEOUT_S:
            if proc.poll() is not None:
                raise ConfigurationError("bench server exited", user_message="压测服务进程启动失败。")
            try:
                r = await client.get("/readyz")
                if r.status_code == 200:
                    streak += 1
                    instances.add(str(r.json().get("instance", "")))
                    if streak >= 3 * workers and len(instances) >= workers:
                        return time.perf_counter() - started
                    continue
                streak = 0
                reason = r.json().get("reason", "")
                if "为空" in reason or "失败" in reason:
                    raise ConfigurationError(
                        f"server not ready: {reason}", user_message=f"服务未就绪：{reason}"
                    )
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
    raise ConfigurationError("bench server not ready", user_message="压测服务在限定时间内未就绪。")


async def _load(base: str, key: str, endpoint: str, config: BenchConfig) -> EndpointResult:
    """Run one endpoint with ``config.concurrency`` workers; bounded by time and count."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    counter = {"sent": 0}
    headers = {"X-API-Key": key}
    limits = httpx.Limits(max_connections=config.concurrency, max_keepalive_connections=config.concurrency)

    async def one(client: httpx.AsyncClient, i: int) -> None:
        t0 = time.perf_counter()
        try:
            if endpoint == "search":
                query = SEARCH_QUERIES[i % len(SEARCH_QUERIES)]
                r = await client.get("/v1/search", params={"q": query, "k": 10})
            else:
                r = await client.post("/v1/ask", json={"question": ASK_QUESTIONS[i % len(ASK_QUESTIONS)]})
            code = str(r.status_code)
        except httpx.HTTPError as exc:
            code = type(exc).__name__
        latencies.append((time.perf_counter() - t0) * 1000.0)
        statuses[code] = statuses.get(code, 0) + 1

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60.0, limits=limits) as client:
        for i in range(min(4, config.max_requests)):  # warm-up, not counted
            await one(client, i)
        latencies.clear()
        statuses.clear()
        deadline = time.perf_counter() + config.duration
        started = time.perf_counter()

        async def worker() -> None:
            while time.perf_counter() < deadline and counter["sent"] < config.max_requests:
                i = counter["sent"]
                counter["sent"] += 1
                await one(client, i)

        await asyncio.gather(*(worker() for _ in range(config.concurrency)))
        elapsed = time.perf_counter() - started
    return summarize(endpoint, latencies, statuses, elapsed)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def run_bench(settings: Settings, config: BenchConfig, *, as_json: bool = False) -> int:
    """Start the server, load both endpoints, print the figures; returns an exit code."""
    kb_dir = settings.default_kb_dir
    if needs_default_kb(settings):
        raise ConfigurationError(
            f"no knowledge base at {kb_dir}",
            user_message=f"知识库 {kb_dir} 不存在，请先运行 vetbot ingest knowledge/policies。",
        )
    results: list[EndpointResult] = []
    ready: dict[int, float] = {}
    for workers in config.processes:
        ready[workers], figures = _bench_processes(settings, config, workers)
        results.extend(figures)
    if as_json:
        print(
            json.dumps(
                {
                    "config": asdict(config),
                    "embed_threads": settings.embed_threads,
                    "ready_s": round(next(iter(ready.values())), 1),
                    "ready_s_by_processes": {str(k): round(v, 1) for k, v in ready.items()},
                    "results": [asdict(r) for r in results],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        _print_table(config, settings, ready, results)
    return 0 if all(r.errors == 0 for r in results) else 1


def _bench_processes(
    settings: Settings, config: BenchConfig, workers: int
) -> tuple[float, list[EndpointResult]]:
    """One server with ``workers`` processes: (seconds to ready, figures of both endpoints)."""
    port = config.port or free_port()
    base = f"http://{HOST}:{port}"
    with tempfile.TemporaryDirectory(prefix="vetbot-bench-") as tmp:
        workdir = Path(tmp)
        db_url, key = _prepare_database(workdir)
        proc = _start_server(settings, workdir, db_url, port, workers)
        try:
            ready_s = asyncio.run(_wait_ready(base, proc, workers))
            results = [asyncio.run(_load(base, key, name, config)) for name in ("search", "ask")]
        except BaseException:
            log = (workdir / "server.log").read_text(encoding="utf-8", errors="replace")[-2000:]
            if log.strip():
                print(f"服务器日志（末尾）：\n{log}", file=sys.stderr)
            raise
        finally:
            _stop(proc)
    for r in results:
        r.processes = workers
    return ready_s, results


def _print_table(
    config: BenchConfig, settings: Settings, ready: dict[int, float], results: list[EndpointResult]
) -> None:
    readiness = "，".join(f"{k} 个进程 {v:.1f} 秒" for k, v in ready.items())
    print(
        f"服务就绪用时：{readiness}；并发 {config.concurrency}，每个接口 {config.duration:g} 秒"
        f"（最多 {config.max_requests} 个请求）；每进程向量线程 {settings.embed_threads or '默认'}"
    )
    widths = (12, 6, 8, 6, 13, 10, 10, 10)
    header = ("接口", "进程", "请求数", "错误", "吞吐(次/秒)", "p50(ms)", "p95(ms)", "p99(ms)")
    print(_row(header, widths))
    for r in results:
        cells = (
            f"/v1/{r.endpoint}", r.processes, r.requests, r.errors, r.throughput_rps,
            r.p50_ms, r.p95_ms, r.p99_ms,
        )
        print(_row(cells, widths))
    for workers in ready:
        by = {r.endpoint: r for r in results if r.processes == workers}
        if by.get("search") and by["search"].p50_ms:
            print(f"{workers} 个进程：问答 p50 / 检索 p50 = {by['ask'].p50_ms / by['search'].p50_ms:.2f}")


def _row(cells: tuple[object, ...], widths: tuple[int, ...]) -> str:
    """Cells padded to display width (CJK characters take two columns); first left-aligned."""
    out = []
    for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
        text = str(cell)
        shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
        pad = " " * max(0, width - shown)
        out.append(text + pad if i == 0 else pad + text)
    return "".join(out)
