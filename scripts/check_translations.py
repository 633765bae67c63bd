"""Fail when messages are not extracted, or when a catalogue has untranslated or fuzzy entries.

Runs `makemessages` on a scratch copy of the catalogues and compares the message ids with the
committed ones; then checks that ca, es, oc and en are complete.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"
LANGUAGES = ["ca", "es", "oc", "en"]
DOMAINS = ["django"]


def keys(po: polib.POFile) -> set[tuple[str, str, str]]:
    return {(e.msgctxt or "", e.msgid, e.msgid_plural or "") for e in po if not e.obsolete}


def main() -> int:
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        backup = Path(scratch) / "locale"
        shutil.copytree(LOCALE, backup)
        try:
            subprocess.run(  # noqa: S603
                [
                    sys.executable,
                    "manage.py",
                    "makemessages",
                    "--all",
                    "--ignore=.venv",
                    "--ignore=var",
                    "--ignore=node_modules",
                    "--no-obsolete",
                    "--no-location",
                    "-v",
                    "0",
                ],
                cwd=ROOT,
                check=True,
                env={**os.environ, "DJANGO_SETTINGS_MODULE": "finestreta.settings"},
            )
            fresh = {
                (lang, domain): keys(
                    polib.pofile(str(LOCALE / lang / "LC_MESSAGES" / f"{domain}.po"))
                )
                for lang in LANGUAGES
                for domain in DOMAINS
            }
        finally:
            shutil.rmtree(LOCALE)
            shutil.copytree(backup, LOCALE)
    for lang in LANGUAGES:
        for domain in DOMAINS:
            path = LOCALE / lang / "LC_MESSAGES" / f"{domain}.po"
            if not path.exists():
                problems.append(f"{path.relative_to(ROOT)} is missing")
                continue
            po = polib.pofile(str(path))
            if po.metadata_is_fuzzy:
                problems.append(f"{lang}: the header is marked fuzzy (msgfmt would ignore it)")
            if "nplurals=INTEGER" in po.metadata.get("Plural-Forms", "nplurals=INTEGER"):
                problems.append(f"{lang}: the header has no Plural-Forms")
            committed = keys(po)
            missing = fresh[(lang, domain)] - committed
            stale = committed - fresh[(lang, domain)]
            for _ctxt, msgid, _plural in sorted(missing)[:10]:
                problems.append(f"{lang}: not extracted: {msgid[:70]!r}")
            for _ctxt, msgid, _plural in sorted(stale)[:10]:
                problems.append(f"{lang}: no longer in the code: {msgid[:70]!r}")
            for entry in po.untranslated_entries():
                problems.append(f"{lang}: untranslated: {entry.msgid[:70]!r}")
            for entry in po.fuzzy_entries():
                problems.append(f"{lang}: fuzzy (needs review): {entry.msgid[:70]!r}")
    if problems:
        print("Translation catalogues are not complete:", file=sys.stderr)
        for problem in problems:
            print("  - " + problem, file=sys.stderr)
        print("Run `make messages`, translate, and commit the .po files.", file=sys.stderr)
        return 1
    print(f"Translations complete: {', '.join(LANGUAGES)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
