"""A live agentnet server for the suite: the repository's built command (`npm run build` first), embedded store, on a
free port, restartable on the same port. Or AGENTNET_TEST_URL + AGENTNET_TEST_ADMIN_PASSWORD for a running one."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import grpc
import pytest

import agentnet
from agentnet.v1 import auth_pb2, auth_pb2_grpc

ROOT = Path(__file__).resolve().parents[3]
MAIN = ROOT / "dist" / "src" / "main.js"
ADMIN_PASSWORD = "admin-password-for-python-tests"


class Server:
    def __init__(self, env: dict[str, str] | None = None, *, own: bool = False) -> None:
        """`env`: settings added to the gateway's environment; `own`: always start one (ignore AGENTNET_TEST_URL)."""
        self.extra_env = dict(env or {})
        self.external = None if own else os.environ.get("AGENTNET_TEST_URL")
        self.admin_password = ADMIN_PASSWORD if own else os.environ.get("AGENTNET_TEST_ADMIN_PASSWORD", ADMIN_PASSWORD)
        self.proc: subprocess.Popen | None = None
        self.data_dir = tempfile.mkdtemp(prefix="agentnet-py-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = self.external or f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.external:
            return
        if not MAIN.exists():
            pytest.exit(f"{MAIN} is missing: run `npm run build` in {ROOT} first", returncode=2)
        env = {
            "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOST": "127.0.0.1", "PORT": str(self.port), "AGENTNET_DATA_DIR": self.data_dir,
            "AGENTNET_ADMIN_PASSWORD": ADMIN_PASSWORD, "LOG_LEVEL": "warn", "AGENTNET_SWEEP_INTERVAL_MS": "100",
            **self.extra_env,
        }
        node = shutil.which("node", path=env["PATH"]) or "node"
        self.log = open(os.path.join(self.data_dir, "server.log"), "ab")
        self.proc = subprocess.Popen([node, str(MAIN), "serve"], env=env, cwd=self.data_dir,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"agentnet exited: {Path(self.data_dir, 'server.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("agentnet did not start in 60 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self, down_seconds: float = 0.4) -> None:
        if self.external:
            pytest.skip("cannot restart an external server")
        self.stop()
        time.sleep(down_seconds)
        self.start()


@pytest.fixture(scope="session")
def server():
    s = Server()
    s.start()
    yield s
    s.stop()
    if os.environ.get("AGENTNET_TEST_KEEP"):
        print(f"server data and log kept in {s.data_dir}")
    else:
        shutil.rmtree(s.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:6]


@pytest.fixture(scope="session")
async def admin_token(server) -> str:
    async with grpc.aio.insecure_channel(server.url.split("://", 1)[1]) as channel:
        res = await auth_pb2_grpc.AuthServiceStub(channel).Login(auth_pb2.LoginRequest(username="admin", password=server.admin_password))
        return res.access_token


@pytest.fixture(scope="session")
async def make_token(server, admin_token):
    """Creates a user through the admin and returns an access token for it."""

    async def make(name: str) -> str:
        password = f"{name}-password"
        async with grpc.aio.insecure_channel(server.url.split("://", 1)[1]) as channel:
            auth = auth_pb2_grpc.AuthServiceStub(channel)
            await auth.CreateUser(auth_pb2.CreateUserRequest(username=name, password=password),
                                  metadata=(("authorization", f"Bearer {admin_token}"),))
            return (await auth.Login(auth_pb2.LoginRequest(username=name, password=password))).access_token

    return make


@pytest.fixture(scope="session")
async def make_user(server, make_token):
    """Creates a user through the admin and returns a connected agentnet.Client for it."""
    clients: list[agentnet.Client] = []

    async def make(name: str) -> agentnet.Client:
        token = await make_token(name)
        client = agentnet.connect(server.url, token=token)
        clients.append(client)
        return client

    yield make
    for c in clients:
        await c.close()
