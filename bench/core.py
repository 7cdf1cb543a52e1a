"""The benchmark framework: what a benchmark is, how it measures (baseline and
candidate alternated in the same run, median of the rounds), and what it reports
(ratios against the baseline, each with its target).

A benchmark is a module of this package defining `BENCHMARK = Benchmark(...)`,
listed in bench/registry.py. Its `run(context, params)` builds its own data,
measures, and returns a `Result`. `params` are the benchmark's `full` or `small`
parameters (the small ones are what tests/bench runs, in seconds).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PORTS = range(8061, 8070)


@dataclass
class Comparison:
    """One ratio: candidate against baseline, each a list of per-round figures."""

    name: str
    baseline_label: str
    candidate_label: str
    unit: str
    baseline: list[float]
    candidate: list[float]
    # Throughput: the candidate should reach a share of the baseline (ratio >= target).
    # Time or memory: it should stay within a multiple of it (ratio <= target).
    higher_is_better: bool = False
    target: float | None = None

    @property
    def baseline_median(self) -> float:
        return statistics.median(self.baseline)

    @property
    def candidate_median(self) -> float:
        return statistics.median(self.candidate)

    @property
    def ratio(self) -> float:
        if self.baseline_median == 0:
            return float("inf")
        return self.candidate_median / self.baseline_median

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "(for information)"
        return f"{'>=' if self.higher_is_better else '<='} {self.target:g}"

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "baseline": {"label": self.baseline_label, "rounds": self.baseline},
            "candidate": {"label": self.candidate_label, "rounds": self.candidate},
            "unit": self.unit,
            "baseline_median": self.baseline_median,
            "candidate_median": self.candidate_median,
            "ratio": self.ratio,
            "target": self.target_text,
            "met": self.met,
        }


@dataclass
class Check:
    """A yes/no requirement measured alongside (constant query count, one effect)."""

    name: str
    passed: bool
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


@dataclass
class Result:
    id: str
    title: str
    scale: str
    comparisons: list[Comparison] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def met(self) -> bool:
        return all(c.met is not False for c in self.comparisons) and all(
            c.passed for c in self.checks
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "scale": self.scale,
            "met": self.met,
            "seconds": round(self.seconds, 1),
            "comparisons": [c.as_dict() for c in self.comparisons],
            "checks": [c.as_dict() for c in self.checks],
            "notes": self.notes,
        }


@dataclass
class Context:
    """Where and how a run happens. The database is whatever Django is connected
    to (the benchmark database from the command line, the test database under
    pytest); servers and workers started by a benchmark connect to the same one."""

    scale: str = "full"
    rounds: int | None = None  # None: the benchmark's own default for the scale
    verbose: bool = True
    workdir: Path = field(default_factory=lambda: ROOT / "var" / "bench")

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)

    def log(self, message: str) -> None:
        if self.verbose:
            print(f"  {message}", file=sys.stderr, flush=True)

    @property
    def database_url(self) -> str:
        from django.db import connection

        db = connection.settings_dict
        user = db.get("USER") or "postgres"
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"

    @property
    def broker_url(self) -> str:
        from django.conf import settings

        url = settings.CELERY_BROKER_URL
        if not url.startswith("redis://"):
            raise RuntimeError(f"benchmarks need the Redis broker, not {url!r}")
        return url

    def subprocess_env(self, **extra: str) -> dict[str, str]:
        """Environment for a server or worker process: the benchmark settings on the
        database and broker of this run."""
        from django.conf import settings

        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": self.broker_url,
            "CACHE_URL": self.broker_url,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "LOG_LEVEL": "WARNING",
            **extra,
        }


@dataclass(frozen=True)
class Benchmark:
    id: str
    title: str
    target: str  # as the issue states it
    run: Callable[[Context, dict[str, Any]], Result]
    full: dict[str, Any]
    small: dict[str, Any]

    def params(self, context: Context) -> dict[str, Any]:
        params = dict(self.small if context.scale == "small" else self.full)
        if context.rounds is not None:
            params["rounds"] = context.rounds
        return params

    def execute(self, context: Context) -> Result:
        started = time.perf_counter()
        result = self.run(context, self.params(context))
        result.seconds = time.perf_counter() - started
        return result


def alternate(
    rounds: int,
    baseline: Callable[[], float],
    candidate: Callable[[], float],
    *,
    warmup: bool = True,
) -> tuple[list[float], list[float]]:
    """Run baseline and candidate `rounds` times each, interleaved (B C, C B, B C, ...)
    so that both see the same machine load; one unrecorded warm-up of each first."""
    if warmup:
        baseline()
        candidate()
    baseline_figures: list[float] = []
    candidate_figures: list[float] = []
    for index in range(rounds):
        order = [(baseline_figures, baseline), (candidate_figures, candidate)]
        if index % 2:
            order.reverse()
        for sink, measure in order:
            sink.append(measure())
    return baseline_figures, candidate_figures


def interleave(
    rounds: int, measures: dict[str, Callable[[], float]], *, warmup: bool = True
) -> dict[str, list[float]]:
    """Like `alternate`, for several variants: each round runs every variant once,
    starting one further along each round."""
    names = list(measures)
    if warmup:
        for name in names:
            measures[name]()
    figures: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            figures[name].append(measures[name]())
    return figures


def timed(function: Callable[[], Any], repeat: int = 1) -> float:
    """Seconds for `repeat` calls of `function` (per call)."""
    started = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - started) / repeat


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    import platform

    from django.db import connection

    memory = ""
    try:
        with open("/proc/meminfo") as meminfo:
            total_kb = int(meminfo.readline().split()[1])
        memory = f"{total_kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            postgres = cursor.fetchone()[0]
    except Exception:
        postgres = "?"
    cpu = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "postgres": postgres,
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
