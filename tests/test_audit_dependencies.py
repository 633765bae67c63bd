"""The dependency audit's policy (scripts/audit_dependencies.py), fed pip-audit's JSON report.

Only the decision is tested here: whether pip-audit reaches a vulnerability service depends on
the network (on this machine it reaches none, which `make lint` shows as the warning).
"""

import importlib.util
import json
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "audit_dependencies.py"
spec = importlib.util.spec_from_file_location("audit_dependencies", SCRIPT)
assert spec and spec.loader
audit = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = audit  # dataclasses look their module up
spec.loader.exec_module(audit)

VULNERABLE = json.loads("""{
  "dependencies": [
    {"name": "django", "version": "5.2.1", "vulns": [
      {"id": "PYSEC-2025-47", "fix_versions": ["4.2.22", "5.1.10", "5.2.2"],
       "aliases": ["CVE-2025-48432"], "description": "Log injection."}]},
    {"name": "requests", "version": "2.34.0", "vulns": []}
  ],
  "fixes": []
}""")
CLEAN = {
    "dependencies": [
        {"name": "django", "version": "5.2.9", "vulns": []},
        {"name": "requests", "version": "2.34.0", "vulns": []},
    ],
    "fixes": [],
}
ALL_SKIPPED = {
    "dependencies": [
        {
            "name": name,
            "skip_reason": f"Dependency not found on PyPI and could not be audited: {name} (1.0)",
        }
        for name in ("django", "requests")
    ],
    "fixes": [],
}
SOME_SKIPPED = {
    "dependencies": [
        {"name": "django", "version": "5.2.9", "vulns": []},
        ALL_SKIPPED["dependencies"][1],
    ],
    "fixes": [],
}


def test_a_reported_vulnerability_fails_the_audit():
    verdict = audit.decide(VULNERABLE)
    assert verdict.exit_code == 1
    assert "django 5.2.1: PYSEC-2025-47 (fixed in: 4.2.22, 5.1.10, 5.2.2)" in "\n".join(
        verdict.lines
    )


def test_a_reported_vulnerability_fails_even_when_other_packages_were_skipped():
    report = {"dependencies": [*VULNERABLE["dependencies"], *ALL_SKIPPED["dependencies"]]}
    assert audit.decide(report).exit_code == 1


def test_no_vulnerability_in_audited_packages_passes_quietly():
    verdict = audit.decide(CLEAN, strict=True)
    assert verdict.exit_code == 0
    assert verdict.lines == ["Dependency audit: no known vulnerabilities in 2 packages."]


def test_every_package_skipped_warns_that_the_audit_could_not_run_and_passes():
    verdict = audit.decide(ALL_SKIPPED)
    assert verdict.exit_code == 0
    text = "\n".join(verdict.lines)
    assert "could not run" in text
    assert "not found on PyPI" in text  # pip-audit's own reason is shown
    assert "AUDIT_STRICT=1" in text


def test_every_package_skipped_fails_when_strict():
    assert audit.decide(ALL_SKIPPED, strict=True).exit_code == 1


def test_no_report_at_all_warns_with_pip_audits_error_and_fails_only_when_strict():
    failure = "requests.exceptions.ConnectionError: Failed to resolve 'api.osv.dev'"
    verdict = audit.decide(None, failure=failure)
    assert verdict.exit_code == 0
    assert "could not run" in verdict.lines[0]
    assert failure in "\n".join(verdict.lines)
    assert audit.decide(None, failure=failure, strict=True).exit_code == 1


def test_some_packages_skipped_are_named_and_fail_only_when_strict():
    verdict = audit.decide(SOME_SKIPPED)
    assert verdict.exit_code == 0
    assert any(line.startswith("  requests: ") for line in verdict.lines)
    assert audit.decide(SOME_SKIPPED, strict=True).exit_code == 1
