"""`manage.py verify_audit_log`: a report per chain, and a failing exit status on a problem."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from finestreta.privacy.models import AuditEvent
from finestreta.privacy.services import record_event
from finestreta.privacy.tests.tampering import tamper
from tests.personas import Personas
from tests.processes import child_env


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    """The assertions read the English texts (the catalogues translate them)."""
    with translation.override("en"):
        yield


ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[int, str, str]:
    """The command's exit status (Django exits with a CommandError's `returncode`), what it
    printed and its error."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit_log", *args, stdout=out, stderr=err, no_color=True)
    except CommandError as error:
        return error.returncode, out.getvalue(), str(error)
    return 0, out.getvalue(), err.getvalue()


def events(personas: Personas) -> list[AuditEvent]:
    made = [
        record_event(action=AuditEvent.Action.LOGOUT, organisation=personas.org_a) for _ in range(3)
    ]
    record_event(action=AuditEvent.Action.LOGOUT, organisation=personas.org_b)
    record_event(action=AuditEvent.Action.LOGIN_FAILED)
    return made


def test_an_intact_log_is_reported_chain_by_chain_and_the_command_succeeds(
    personas: Personas,
) -> None:
    made = events(personas)
    status, out, err = run()
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("platform: The log is intact (1 event checked).")
    assert lines[1].startswith("org-a: The log is intact (3 events checked).")
    assert f"Last event: number 3, seal {made[-1].chain_hash}." in lines[1]
    assert lines[2].startswith("org-b: The log is intact (1 event checked).")
    assert err == ""


def test_a_problem_makes_the_command_fail_and_names_the_event(personas: Personas) -> None:
    made = events(personas)
    tamper("UPDATE privacy_auditevent SET target_label = 'x' WHERE id = %s", [made[1].pk])
    status, out, err = run()
    assert status == 1
    assert f"org-a: Event {made[1].pk} (number 2 in the chain) is not as it was sealed" in out
    assert "org-b: The log is intact" in out
    assert "The audit log is not intact: 1 chain has a problem." in err


def test_the_command_checks_only_the_organisation_asked_for(personas: Personas) -> None:
    made = events(personas)
    tamper("UPDATE privacy_auditevent SET target_label = 'x' WHERE id = %s", [made[1].pk])
    status, out, _ = run("--organisation", "org-b")
    assert status == 0
    assert out.splitlines() == [out.splitlines()[0]]
    assert out.startswith("org-b: The log is intact (1 event checked).")
    assert run("--organisation", "org-a")[0] == 1


def test_an_unknown_organisation_is_an_error(personas: Personas) -> None:
    status, _, err = run("--organisation", "nowhere")
    assert status == 1
    assert "There is no organisation nowhere." in err


def test_the_report_says_where_a_purged_chain_starts(personas: Personas) -> None:
    from finestreta.privacy.services import purge_events_before

    made = events(personas)
    purge_events_before(personas.org_a, made[1].occurred_at)
    status, out, _ = run("--organisation", "org-a")
    assert status == 0
    assert "(2 events checked)" in out
    assert "Checked from the checkpoint after number 1." in out


@pytest.mark.django_db(transaction=True)
def test_from_a_shell_the_exit_status_is_0_when_intact_and_1_on_a_problem(
    personas: Personas,
) -> None:
    made = events(personas)

    def shell() -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - the child speaks the default language, Catalan
            [sys.executable, "manage.py", "verify_audit_log"],
            cwd=ROOT,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    intact = shell()
    assert intact.returncode == 0, intact.stderr
    assert "org-a: El registre és íntegre (3 esdeveniments comprovats)." in intact.stdout
    tamper(
        "UPDATE privacy_auditevent SET target_label = 'forged' WHERE id = %s",
        [made[0].pk],
    )
    broken = shell()
    assert broken.returncode == 1
    assert f"L'esdeveniment {made[0].pk} (número 1 de la cadena)" in broken.stdout
    assert "El registre d'auditoria no és íntegre: 1 cadena té un problema." in broken.stderr
