"""A live agentnet server for the suite: the repository's built command (`npm run build` first), embedded store, on a
free port, restartable on the same port. Or AGENTNET_TEST_URL + AGENTNET_TEST_ADMIN_PASSWORD for a running one.
Suites that need a gateway of their own use `own_server` (settings of their choice) or `voice_server` (talking to the
fake Agora process, whose exit status is checked)."""
from __future__ import annotations

import json
import os
import select
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
FAKE_AGORA = ROOT / "dist" / "test" / "voice" / "fake-agora-main.js"
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
        node = node_path()
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


def node_path() -> str:
    path = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    return shutil.which("node", path=path) or "node"


class FakeAgora:
    """The fake Agora server as a process (dist/test/voice/fake-agora-main.js): `env` holds the settings a gateway
    needs to talk to it. `stop()` ends it; it exits 1 (listing them on stderr) when agentnet sent it anything Agora
    would reject."""

    def __init__(self) -> None:
        if not FAKE_AGORA.exists():
            pytest.exit(f"{FAKE_AGORA} is missing: run `npm run build` in {ROOT} first", returncode=2)
        # stdin stays open: the fake also stops when its stdin ends.
        self.proc = subprocess.Popen([node_path(), str(FAKE_AGORA)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=ROOT, start_new_session=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            self.proc.kill()
            raise RuntimeError(f"the fake Agora printed no settings: {self.proc.communicate()[1].decode()[-2000:]}")
        self.env: dict[str, str] = json.loads(line)["env"]

    def stop(self) -> tuple[int, str]:
        """SIGTERM, then its exit status and stderr (the violations it saw)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err.decode()


async def new_user_token(server: "Server", name: str) -> str:
    """Creates a user on `server` through its admin and returns an access token for it."""
    async with grpc.aio.insecure_channel(server.url.split("://", 1)[1]) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        admin = (await auth.Login(auth_pb2.LoginRequest(username="admin", password=server.admin_password))).access_token
        password = f"{name}-password"
        await auth.CreateUser(auth_pb2.CreateUserRequest(username=name, password=password),
                              metadata=(("authorization", f"Bearer {admin}"),))
        return (await auth.Login(auth_pb2.LoginRequest(username=name, password=password))).access_token


@pytest.fixture(scope="module")
def own_server():
    """Starts gateways of the test module's own (`own_server(env)`), stopped after the module."""
    started: list[Server] = []

    def start(env: dict[str, str] | None = None) -> Server:
        s = Server(env, own=True)
        started.append(s)
        s.start()
        return s

    yield start
    for s in started:
        s.stop()
        shutil.rmtree(s.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def voice_server():
    """A gateway whose voice features talk to the fake Agora process; after the module the fake must exit 0 (no
    request agentnet sent it breaks Agora's rules)."""
    fake = FakeAgora()
    s = Server(fake.env, own=True)
    try:
        s.start()
        yield s
    finally:
        s.stop()
        code, err = fake.stop()
        shutil.rmtree(s.data_dir, ignore_errors=True)
    assert code == 0, f"the fake Agora exited {code}: {err}"


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
