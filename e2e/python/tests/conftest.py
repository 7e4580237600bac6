"""Fixtures for the real-SDK end-to-end suite.

A session starts two real processes on free ports: `luthien-mock-upstream` (the fake Anthropic +
OpenAI provider) and `luthien serve` pointed at it. Tests drive the official `anthropic` and
`openai` SDKs against the gateway, and compare with the same SDK call made directly against the
mock. Binaries come from `LUTHIEN_BIN_DIR` (default `<repo>/target/debug`); nothing is built here.
When a test fails, the part of both processes' logs written during that test is attached to its
report.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
BIN_DIR = Path(os.environ.get("LUTHIEN_BIN_DIR") or REPO_ROOT / "target" / "debug")
STARTUP_DEADLINE_S = 30.0
SHUTDOWN_GRACE_S = 5.0

# The SDKs honour proxy variables; the gateway and the mock are local.
for _name in ("NO_PROXY", "no_proxy"):
    os.environ[_name] = ",".join(filter(None, [os.environ.get(_name), "127.0.0.1", "localhost"]))
# Keys in the environment must not leak into clients that are meant to use only "test-key".
for _name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL",
              "OPENAI_BASE_URL"):
    os.environ.pop(_name, None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Proc:
    """A started binary with its log file."""

    name: str
    popen: subprocess.Popen
    log_path: Path
    _log: object = field(repr=False, default=None)

    def log_text(self, start: int = 0) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(start)
            return f.read().decode("utf-8", "replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(SHUTDOWN_GRACE_S)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        if self._log is not None:
            self._log.close()


def start(name: str, argv: list[str], env: dict[str, str], workdir: Path) -> Proc:
    exe = Path(argv[0])
    if not exe.is_file():
        pytest.exit(f"{exe} not found: build the binaries first (cargo build --bins) "
                    f"or set LUTHIEN_BIN_DIR", returncode=2)
    log_path = workdir / f"{name}.log"
    log = open(log_path, "wb")
    popen = subprocess.Popen(argv, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
    return Proc(name, popen, log_path, log)


def wait_until_ready(proc: Proc, url: str) -> None:
    """Polls `url` until it answers 200, the process dies, or the deadline passes."""
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode} before it was "
                               f"ready:\n{proc.log_text()}")
        try:
            r = httpx.get(url, timeout=1.0)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except httpx.TransportError as e:
            last = repr(e)
        time.sleep(0.05)
    raise RuntimeError(f"{proc.name} not ready at {url} within {STARTUP_DEADLINE_S}s ({last}):\n"
                       f"{proc.log_text()}")


@dataclass
class Stack:
    mock_url: str
    gateway_url: str
    mock: Proc
    gateway: Proc

    @property
    def procs(self) -> list[Proc]:
        return [self.mock, self.gateway]


@pytest.fixture(scope="session")
def stack():
    workdir = Path(tempfile.mkdtemp(prefix="luthien-e2e-py-"))
    home = workdir / "home"
    home.mkdir()
    mock_port, gw_port = free_port(), free_port()
    mock_url = f"http://127.0.0.1:{mock_port}"
    gateway_url = f"http://127.0.0.1:{gw_port}"
    base_env = {k: v for k, v in os.environ.items()
                if k not in ("CLIENT_API_KEY", "AUTH_MODE", "ADMIN_API_KEY", "DATABASE_URL",
                             "REDIS_URL", "POLICY_CONFIG", "POLICY_SOURCE")}
    base_env.update(HOME=str(home), RUST_LOG=os.environ.get("E2E_RUST_LOG", "info"),
                    LOG_FORMAT="pretty", NO_COLOR="1")
    procs: list[Proc] = []
    try:
        mock = start("mock-upstream",
                     [str(BIN_DIR / "luthien-mock-upstream"), "--host", "127.0.0.1",
                      "--port", str(mock_port)], base_env, workdir)
        procs.append(mock)
        wait_until_ready(mock, f"{mock_url}/_mock/requests")
        gateway = start("gateway",
                        [str(BIN_DIR / "luthien"), "serve",
                         "--gateway-host", "127.0.0.1", "--gateway-port", str(gw_port),
                         "--anthropic-upstream-url", mock_url,
                         "--openai-upstream-url", f"{mock_url}/v1",
                         "--auth-mode", "passthrough"], base_env, workdir)
        procs.append(gateway)
        wait_until_ready(gateway, f"{gateway_url}/health")
        yield Stack(mock_url, gateway_url, mock, gateway)
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(workdir, ignore_errors=True)


class Mock:
    """The mock's control API: what reached the upstream."""

    def __init__(self, url: str):
        self.url = url

    def clear(self) -> None:
        r = httpx.delete(f"{self.url}/_mock/requests", timeout=5)
        assert r.status_code == 204, r.text

    def requests(self) -> list[dict]:
        r = httpx.get(f"{self.url}/_mock/requests", timeout=5)
        r.raise_for_status()
        return r.json()


@pytest.fixture
def mock(stack: Stack) -> Mock:
    """The mock upstream, with its recorded requests cleared before the test."""
    m = Mock(stack.mock_url)
    m.clear()
    return m


@pytest.fixture
def gateway_url(stack: Stack) -> str:
    return stack.gateway_url


@pytest.fixture
def mock_url(stack: Stack) -> str:
    return stack.mock_url


@pytest.fixture(autouse=True)
def _log_offsets(request, stack: Stack):
    """Remembers where each process log stood when the test began (for failure reports)."""
    request.node._log_offsets = {p.name: (p, p.log_size()) for p in stack.procs}
    yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    offsets = getattr(item, "_log_offsets", None)
    if report.failed and offsets:
        for name, (proc, start_at) in offsets.items():
            text = proc.log_text(start_at)
            alive = "running" if proc.popen.poll() is None else f"exited {proc.popen.returncode}"
            report.sections.append((f"{name} log during this test ({alive})",
                                    text[-20000:] or "(empty)"))
    return report
