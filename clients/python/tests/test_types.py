"""The type hints a user's checker sees: the package passes mypy with every definition annotated (the settings in
pyproject.toml), the README's agent passes `mypy --strict` as a user's code, and a misuse of the API is caught."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
MYPY_TIMEOUT = 600


def mypy(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # MYPYPATH: the editable install is an import hook mypy does not follow; the installed copy's py.typed is
    # checked by test_install.py.
    env = {**os.environ, "MYPYPATH": str(PACKAGE)}
    return subprocess.run([sys.executable, "-m", "mypy", "--no-color-output", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=MYPY_TIMEOUT)


def test_the_package_type_checks():
    result = mypy(cwd=PACKAGE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_a_users_agent_type_checks_strictly_and_a_misuse_is_caught(tmp_path):
    readme = (PACKAGE / "README.md").read_text()
    agent = re.search(r"```python\n(.*?)```", readme, re.S)
    assert agent is not None, "the README opens with a Python agent"
    (tmp_path / "agent.py").write_text(agent.group(1))
    # As for an installed package: agentnet's own code is read for its types, its errors are not the user's.
    (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\n[mypy-agentnet.*]\nfollow_imports = silent\nignore_errors = True\n")
    result = mypy("--cache-dir", str(tmp_path / ".mypy_cache"), "agent.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    # The same agent replying with a number where the API takes text.
    (tmp_path / "wrong.py").write_text(agent.group(1).replace('msg.reply_text(f"sunny in {msg.text}")',
                                                               "msg.reply_text(42)"))
    assert "reply_text(42)" in (tmp_path / "wrong.py").read_text()
    result = mypy("--cache-dir", str(tmp_path / ".mypy_cache"), "wrong.py", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r'wrong\.py:\d+: error: Argument 1 to "reply_text" of "Message" has incompatible type "int"',
                     result.stdout), result.stdout
