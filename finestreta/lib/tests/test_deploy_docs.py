"""The deployment guide's environment reference (docs/deploy/environment.md) names every variable
settings.py reads, says which are secrets (with a `_FILE` form), and names nothing else."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SETTINGS = ROOT / "finestreta" / "settings.py"
REFERENCE = ROOT / "docs" / "deploy" / "environment.md"
# The last section lists what the servers read (uvicorn, gunicorn, manage.py serve), not settings.py.
NOT_SETTINGS = "## Read by the servers, not by settings.py"
ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]*)` \| ([a-z]+) \|", re.MULTILINE)


def read_by_settings() -> dict[str, str]:
    """Each variable settings.py reads, with the helper that reads it (env_str, env_secret …)."""
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(SETTINGS.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = ast.unparse(node.func)
        first = node.args[0]
        helper = isinstance(node.func, ast.Name) and name.startswith("env_")
        reads = helper or name in {"os.environ.get", "os.getenv"}
        if reads and isinstance(first, ast.Constant) and isinstance(first.value, str):
            found[first.value] = name
    return found


def documented() -> dict[str, str]:
    """Each variable in the reference's tables, with its kind (boolean, secret …)."""
    text = REFERENCE.read_text(encoding="utf-8").split(NOT_SETTINGS)[0]
    return dict(ROW.findall(text))


def test_settings_reads_the_variables_the_parser_expects() -> None:
    read = read_by_settings()
    assert read["SECRET_KEY"] == "env_secret"
    assert read["DEBUG"] == "env_bool"
    assert len(read) > 50


def test_every_variable_settings_reads_is_in_the_reference() -> None:
    missing = sorted(set(read_by_settings()) - set(documented()))
    assert not missing, f"add these to docs/deploy/environment.md: {missing}"


def test_the_reference_names_no_variable_settings_does_not_read() -> None:
    unknown = sorted(set(documented()) - set(read_by_settings()))
    assert not unknown, f"settings.py does not read these: {unknown}"


def test_the_reference_marks_exactly_the_secrets_as_secrets() -> None:
    read, docs = read_by_settings(), documented()
    secrets = {name for name, helper in read.items() if helper.startswith("env_secret")}
    marked = {name for name, kind in docs.items() if kind == "secret"}
    assert marked == secrets


def test_the_reference_gives_each_variable_its_kind() -> None:
    kinds = {
        "env_str": "string",
        "env_int": "integer",
        "env_bool": "boolean",
        "env_list": "list",
        "env_secret": "secret",
    }
    docs = documented()
    wrong = {
        name: (docs[name], kinds[helper])
        for name, helper in read_by_settings().items()
        if helper in kinds and name in docs and docs[name] != kinds[helper]
    }
    assert not wrong, f"documented kind, actual kind: {wrong}"


def uvicorn_options(command: str) -> list[str]:
    """The options after `-m uvicorn finestreta.asgi:application`, without the address."""
    words = command.replace("\\\n", " ").split()
    words = words[words.index("finestreta.asgi:application") + 1 :]
    options: list[str] = []
    while words:
        word = words.pop(0)
        if word in {"--host", "--port"}:
            words.pop(0)
        elif word.startswith('"$@"') or word == ";;":
            break
        else:
            options.append(word)
    return options


def test_the_deployed_asgi_servers_use_the_platforms_options() -> None:
    from finestreta.lib import webserver

    expected = uvicorn_options(" ".join(webserver.command("127.0.0.1", 8000)))
    unit = (ROOT / "docs" / "deploy" / "systemd" / "finestreta-web@.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    entrypoint = (ROOT / "docs" / "deploy" / "entrypoint.sh").read_text()
    web = entrypoint.split("  web)")[1]
    assert uvicorn_options(exec_start) == expected
    assert uvicorn_options(web) == expected
