"""The READMEs' notebook examples, run as a new user runs them: from the checkout's root, after
the README's main job (`cargo run -p lakeroute --example quickstart`) has filled the example
lake, one statement after another with top-level `await`, as Jupyter runs a cell."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO

# Runs the code on stdin statement by statement, as a notebook does (an awaitable statement runs
# on the one event loop), then prints what the checks need as JSON.
NOTEBOOK = r"""
import ast, asyncio, json, sys
code = sys.stdin.read()
loop = asyncio.new_event_loop()
ns = {"__name__": "__main__"}
for stmt in ast.parse(code).body:
    compiled = compile(ast.Module([stmt], []), "<readme>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(compiled, ns)
    if asyncio.iscoroutine(result):
        loop.run_until_complete(result)
rows = {name: len(ns[name]) for name in ("df", "table") if name in ns}
data = bytes(ns["data"]).decode() if "data" in ns else None
print(json.dumps({"rows": rows, "data": data}))
"""


def _python_block(readme: Path, after: str) -> str:
    text = readme.read_text()
    section = text.split(after, 1)[1] if after else text
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, f"{readme}: no python example after {after!r}"
    return str(blocks[0])


def _run_as_a_new_user(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEROUTE_")}
    # The example lake and its cache in a fresh folder instead of the checkout's target/.
    env["LAKEROUTE_LOCAL_ROOT"] = str(tmp_path / "lake")
    env["LAKEROUTE_CACHE_DIR"] = str(tmp_path / "cache")
    job = subprocess.run(
        ["cargo", "run", "-q", "-p", "lakeroute", "--example", "quickstart"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1200,
    )
    assert job.returncode == 0, f"the main job failed:\n{job.stdout}\n{job.stderr}"
    assert "done: wrote 7 rows" in job.stdout, job.stdout
    return subprocess.run(
        [sys.executable, "-c", NOTEBOOK], input=code,
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )


def test_readme_notebook_example_runs_after_the_main_job(tmp_path: Path) -> None:
    code = _python_block(REPO / "README.md", "## Python: notebooks")
    assert "await " in code and "dd.read_parquet" in code
    run = _run_as_a_new_user(tmp_path, code)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.splitlines()[-1])
    # The main job's 7 customers, read by pandas and by pyarrow: the notes written beside them
    # are not taken for parquet files.
    assert out["rows"] == {"df": 7, "table": 7}
    assert out["data"] == "hello"


def test_package_readme_example_runs_after_the_main_job(tmp_path: Path) -> None:
    code = _python_block(REPO / "bindings-python" / "README.md", "")
    run = _run_as_a_new_user(tmp_path, code)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("b'hello'\n"), (run.stdout, run.stderr)
    assert json.loads(run.stdout.splitlines()[-1])["rows"] == {"df": 7}, (run.stdout, run.stderr)
