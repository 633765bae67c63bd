"""Audit the pinned dependencies (requirements/constraints.txt) for known vulnerabilities.

Runs pip-audit over the pins exactly as written (`--no-deps --disable-pip`: nothing is
resolved or installed) and decides:

- a reported vulnerability fails the audit (exit 1);
- when the vulnerability service cannot be reached, or answers for none of the pins (pip-audit
  then calls every package "skipped"), the audit did not run: a warning says so and why, and
  the exit status is 0, unless AUDIT_STRICT=1, which makes it 1. Packages skipped while others
  were audited are warned about the same way.

AUDIT_SERVICE picks pip-audit's service: `pypi` (the default) or `osv`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"


@dataclass
class Verdict:
    exit_code: int
    lines: list[str] = field(default_factory=list)


def decide(report: dict[str, Any] | None, *, failure: str = "", strict: bool = False) -> Verdict:
    """What pip-audit's JSON report (None when it gave none: `failure` says why) means for the
    build. Pure, so that the policy is tested without the network."""
    not_run = 1 if strict else 0
    if report is None:
        return Verdict(
            not_run,
            [
                "WARNING: the dependency audit could not run: pip-audit gave no report.",
                f"  Why: {failure or 'unknown'}",
                _strict_hint(strict),
            ],
        )
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if "skip_reason" in d]
    audited = len(dependencies) - len(skipped)
    if vulnerable:
        lines = [f"FAILED: known vulnerabilities in {len(vulnerable)} pinned package(s):"]
        for dependency in vulnerable:
            for vuln in dependency["vulns"]:
                fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
                lines.append(
                    f"  {dependency['name']} {dependency.get('version', '')}: {vuln.get('id')}"
                    f" (fixed in: {fixed})"
                )
        if skipped:
            lines.append(f"  ({len(skipped)} package(s) could not be audited.)")
        return Verdict(1, lines)
    if skipped and not audited:
        return Verdict(
            not_run,
            [
                f"WARNING: the dependency audit could not run: none of the {len(skipped)} pinned"
                " packages could be audited. pip-audit skips every package when its"
                " vulnerability service cannot be reached or answers none of them (a service"
                " that answers 404 is reported as 'not found on PyPI').",
                f"  Why (pip-audit): {skipped[0]['skip_reason']}",
                _strict_hint(strict),
            ],
        )
    if skipped:
        lines = [f"WARNING: {len(skipped)} pinned package(s) could not be audited:"]
        lines += [f"  {d['name']}: {d['skip_reason']}" for d in skipped]
        lines.append(_strict_hint(strict))
        return Verdict(not_run, lines)
    return Verdict(0, [f"Dependency audit: no known vulnerabilities in {audited} packages."])


def _strict_hint(strict: bool) -> str:
    if strict:
        return "  AUDIT_STRICT=1: failing."
    return "  Not failing the build; set AUDIT_STRICT=1 where the network allows the audit."


def run_pip_audit(constraints: Path, service: str) -> tuple[dict[str, Any] | None, str]:
    """pip-audit's JSON report, or None and the reason it gave none."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "audit.json"
        try:
            completed = subprocess.run(  # fixed argument list of our own venv's pip-audit
                [
                    sys.executable,
                    "-m",
                    "pip_audit",
                    "--requirement",
                    str(constraints),
                    "--no-deps",
                    "--disable-pip",
                    "--vulnerability-service",
                    service,
                    "--progress-spinner",
                    "off",
                    "--format",
                    "json",
                    "--output",
                    str(output),
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None, "pip-audit did not finish within ten minutes"
        if output.exists() and output.stat().st_size:
            try:
                return json.loads(output.read_text()), ""
            except json.JSONDecodeError as error:
                return None, f"unreadable report: {error}"
    errors = [line for line in completed.stderr.splitlines() if line.strip()]
    return None, errors[-1] if errors else f"pip-audit exited with {completed.returncode}"


def main() -> int:
    strict = os.environ.get("AUDIT_STRICT", "") == "1"
    service = os.environ.get("AUDIT_SERVICE", "pypi")
    report, failure = run_pip_audit(CONSTRAINTS, service)
    verdict = decide(report, failure=failure, strict=strict)
    print("\n".join(verdict.lines))
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main())
