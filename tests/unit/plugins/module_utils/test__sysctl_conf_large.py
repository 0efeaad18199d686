"""Large sysctl.d files (issue 12 item 8): the benchmark's plan is right (no time is asserted here).

benchmarks/bench_sysctl_parse.py measures 1/8/50 MB against a plain read + split of the same file; this
runs its smallest case once and checks what it checks: the plan sets the three values, keeps every other
line, and each file is parsed once per content (the parse cache of plan_persist()).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from ansible_collections.tcp.keepalive.plugins.module_utils import _sysctl_conf as conf
from ansible_collections.tcp.keepalive.plugins.module_utils import _sysctl_edit as edit

BENCH = Path(__file__).resolve().parents[4] / "benchmarks" / "bench_sysctl_parse.py"


def load_bench():
    sys.path.insert(0, str(BENCH.parent))
    try:
        spec = importlib.util.spec_from_file_location("bench_sysctl_parse", BENCH)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH.parent))


def test_benchmark_case_plans_right():
    bench = load_bench()
    row = bench.run_size(0.25, 1)  # check_plan() inside raises on a wrong plan
    assert row["lines"] > 10000 and set(row["ratio_to_baseline"]) == {"boot_model", "plan_persist"}


def test_each_content_is_parsed_once_per_plan(tmp_path, monkeypatch):
    bench = load_bench()
    path = conf.host_path(str(tmp_path), bench.FILE)
    os.makedirs(os.path.dirname(path))
    Path(path).write_text(bench.make_text(0.05))
    parsed = []
    real = conf.parse_procps

    def counting(text, pattern=None):
        parsed.append(len(text))
        return real(text, pattern)

    monkeypatch.setattr(conf, "parse_procps", counting)
    plan = edit.plan_persist(str(tmp_path), "procps", bench.FILE, bench.WANT)
    assert plan.error is None and plan.boot_after == bench.WANT
    assert len(parsed) == 2  # the file as it is, and as planned; every later model reuses them
