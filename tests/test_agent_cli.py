"""``rackwatch agent``: help, the clear error without NVML, and bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def rackwatch(*args: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    paths = [str(pythonpath)] if pythonpath else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, str(REPO)])}
    return subprocess.run([sys.executable, "-m", "console", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=30)


def nvml_works_here() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return False
    pynvml.nvmlShutdown()
    return True


def test_agent_help_names_both_kinds() -> None:
    result = rackwatch("agent", "--help")
    assert result.returncode == 0
    assert "host" in result.stdout and "gpu" in result.stdout
    for kind in ("host", "gpu"):
        sub = rackwatch("agent", kind, "--help")
        assert sub.returncode == 0
        assert "--interval" in sub.stdout and "--keepalive" in sub.stdout and "--broker" in sub.stdout


def test_gpu_agent_without_nvml_exits_3_with_one_line() -> None:
    if nvml_works_here():
        pytest.skip("this machine has a working NVIDIA driver")
    result = rackwatch("agent", "gpu", "--broker", "mqtt://127.0.0.1:9")
    assert result.returncode == 3
    assert result.stderr.startswith("rackwatch agent gpu: NVML not available: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_gpu_agent_without_the_binding_says_what_to_install(tmp_path: Path) -> None:
    (tmp_path / "pynvml.py").write_text("raise ImportError('nvidia-ml-py is not installed')\n")
    result = rackwatch("agent", "gpu", "--broker", "mqtt://127.0.0.1:9", pythonpath=tmp_path)
    assert result.returncode == 3
    assert result.stderr == (
        "rackwatch agent gpu: NVML not available: the nvidia-ml-py package is not installed "
        "(pip install 'rackwatch[gpu]')\n"
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--broker", "ftp://127.0.0.1"], "unsupported scheme"),
        (["--broker", "mqtt://127.0.0.1:9", "--interval", "-1"], "must be above 0"),
        (["--broker", "mqtt://127.0.0.1:9", "--keepalive", "0"], "at least 1 s"),
    ],
)
def test_bad_input_is_a_usage_error(args: list[str], says: str) -> None:
    result = rackwatch("agent", "host", *args)
    assert result.returncode == 2
    assert says in result.stderr and "Traceback" not in result.stderr
