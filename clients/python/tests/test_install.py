"""The package as a user gets it: `pip install <this directory>` (not editable) into a fresh virtualenv, and a wheel
built with `pip wheel` installed into a second fresh one. In each, `agentnet` must import from the virtualenv (run
outside the source tree), ship its `py.typed` marker and stubs, and run examples/echo.py against the live test
server to an answered request; the README's opening agent runs from the wheel's virtualenv too. pip may download
grpcio and protobuf (it uses its cache)."""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import grpc
import pytest

import agentnet
from agentnet.v1 import auth_pb2, auth_pb2_grpc

from conftest import Server, new_user_token

PACKAGE = Path(__file__).resolve().parents[1]
PIP_TIMEOUT = 600

try:
    import ensurepip  # noqa: F401 - `python -m venv` needs it to put pip in the new environment
    import venv  # noqa: F401
except ImportError:  # pragma: no cover - some distributions split venv out of the standard library
    pytest.skip("python -m venv is not available", allow_module_level=True)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without this suite's virtualenv or source tree on the import path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return {**env, **extra}


def run(cmd: list[str], cwd: Path, timeout: float = PIP_TIMEOUT) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def make_venv(path: Path) -> Path:
    """A fresh virtualenv (with pip); its python."""
    run([sys.executable, "-m", "venv", str(path)], cwd=path.parent, timeout=300)
    return path / "bin" / "python"


def installed(python: Path, cwd: Path) -> dict:
    """Where `agentnet` imports from in that environment, and what ships beside it."""
    probe = textwrap.dedent("""
        import json, pathlib, importlib.metadata, agentnet
        root = pathlib.Path(agentnet.__file__).parent
        print(json.dumps({"file": str(root), "py_typed": (root / "py.typed").is_file(),
                          "stubs": sorted(p.name for p in (root / "v1").glob("*.pyi")),
                          "files": sorted(str(p.relative_to(root)) for p in root.rglob("*")
                                          if p.is_file() and "__pycache__" not in p.parts),
                          "version": importlib.metadata.version("agentnet-client"),
                          "verbs": [v for v in ("stream", "watch_presence", "create_chat_session", "voice_config")
                                    if hasattr(agentnet.Client, v)]}))
    """)
    return json.loads(run([str(python), "-c", probe], cwd=cwd, timeout=60))


def check_installed(python: Path, venv_dir: Path, cwd: Path) -> None:
    info = installed(python, cwd)
    assert Path(info["file"]).resolve().is_relative_to(venv_dir.resolve()), info["file"]
    assert not Path(info["file"]).resolve().is_relative_to(PACKAGE), info["file"]
    assert info["py_typed"] is True
    assert "messaging_pb2.pyi" in info["stubs"] and "session_pb2.pyi" in info["stubs"]
    assert info["version"] == "0.1.0"
    assert info["verbs"] == ["stream", "watch_presence", "create_chat_session", "voice_config"]
    # Exactly the source's files: a module left in a stale build/ directory of the source tree would show up here
    # (setuptools builds in-tree; remove clients/python/build then).
    source = sorted(str(p.relative_to(PACKAGE / "agentnet")) for p in (PACKAGE / "agentnet").rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts)
    assert info["files"] == source


async def api_key_for(server: Server, name: str) -> str:
    """A new user's API key (what an agent in production runs with)."""
    token = await new_user_token(server, name)
    async with grpc.aio.insecure_channel(server.url.split("://", 1)[1]) as channel:
        res = await auth_pb2_grpc.AuthServiceStub(channel).CreateApiKey(
            auth_pb2.CreateApiKeyRequest(name=f"{name} install test"), metadata=(("authorization", f"Bearer {token}"),))
        return res.secret


async def ask_until_answered(client: agentnet.Client, asker: str, to: str, text: str, timeout: float = 90.0) -> str:
    """Asks `to` until it is online and answers (NoResponders while the process is still starting)."""
    agent = await client.register(asker)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                return (await agent.ask_text(to, text, timeout=20)).text or ""
            except (agentnet.NoRespondersError, agentnet.NotFoundError):
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await agent.close()


class Process:
    """An agent process started from an installed environment, ended with SIGTERM."""

    def __init__(self, cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.log = cwd / f"agent-{os.getpid()}-{id(self)}.log"
        self._out = open(self.log, "wb")
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()
        return self.proc.returncode


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    # Outside the repository: nothing there may import the source tree by accident.
    return tmp_path_factory.mktemp("agentnet-install")


@pytest.fixture(scope="module")
def source_venv(work: Path) -> Iterator[tuple[Path, Path]]:
    venv_dir = work / "from-source"
    python = make_venv(venv_dir)
    run([str(python), "-m", "pip", "install", str(PACKAGE)], cwd=work)
    yield venv_dir, python


@pytest.fixture(scope="module")
def wheel_venv(work: Path, source_venv: tuple[Path, Path]) -> Iterator[tuple[Path, Path, Path]]:
    wheels = work / "wheels"
    run([str(source_venv[1]), "-m", "pip", "wheel", "--no-deps", "-w", str(wheels), str(PACKAGE)], cwd=work)
    (wheel,) = wheels.glob("agentnet_client-*.whl")
    venv_dir = work / "from-wheel"
    python = make_venv(venv_dir)
    run([str(python), "-m", "pip", "install", str(wheel)], cwd=work)
    yield venv_dir, python, wheel


async def run_echo_example(python: Path, cwd: Path, server: Server, make_user, name: str) -> str:
    key = await api_key_for(server, f"{name}_owner")
    agent = Process([str(python), str(PACKAGE / "examples" / "echo.py")], cwd,
                    clean_env(AGENTNET_URL=server.url, AGENTNET_API_KEY=key, AGENTNET_USERNAME=name))
    try:
        client = await make_user(f"{name}_asker")
        answer = await ask_until_answered(client, f"{name}_q", f"@{name}", "are you installed?")
    finally:
        code = agent.stop()
    assert answer == "echo: are you installed?", agent.output()
    assert "ready acct_" in agent.output()
    assert code == 0, agent.output()  # echo.py ends cleanly on SIGTERM
    return answer


async def test_pip_install_from_the_source_directory(source_venv, work, server, make_user, run_id):
    venv_dir, python = source_venv
    check_installed(python, venv_dir, work)
    await run_echo_example(python, work, server, make_user, f"py{run_id}_inst_src")


async def test_wheel_installs_into_a_fresh_virtualenv(wheel_venv, work, server, make_user, run_id):
    venv_dir, python, wheel = wheel_venv
    assert re.fullmatch(r"agentnet_client-0\.1\.0-py3-none-any\.whl", wheel.name), wheel.name
    check_installed(python, venv_dir, work)
    await run_echo_example(python, work, server, make_user, f"py{run_id}_inst_whl")


async def test_the_readme_agent_runs_as_written(wheel_venv, work, own_server, run_id):
    # On a gateway of its own: the README's agent has a fixed name (weather_bot).
    _, python, _ = wheel_venv
    readme = (PACKAGE / "README.md").read_text()
    script = work / "readme_agent.py"
    script.write_text(re.search(r"```python\n(.*?)```", readme, re.S).group(1))
    gateway = own_server()
    agent = Process([str(python), str(script)], work,
                    clean_env(AGENTNET_URL=gateway.url, AGENTNET_API_KEY=await api_key_for(gateway, f"py{run_id}_readme")))
    client = agentnet.connect(gateway.url, token=await new_user_token(gateway, f"py{run_id}_readme_asker"))
    try:
        answer = await ask_until_answered(client, f"py{run_id}_readme_q", "@weather_bot", "Paris")
    finally:
        agent.stop()
        await client.close()
    assert answer == "sunny in Paris", agent.output()
