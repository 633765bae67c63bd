"""Re-encrypt every recording kept under the first of RECORDING_KEYS, so that older keys can be
retired (removed from the list) afterwards."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from finestreta.recordings import storage
from finestreta.recordings.models import Recording


class Command(BaseCommand):
    help = "Re-encrypt every call recording under the first key of RECORDING_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        fernet = storage.keys()
        recordings = chunks = 0
        for recording in Recording.objects.exclude(state=Recording.State.DELETED).iterator():
            chunks += storage.rotate(recording, fernet)
            recordings += 1
        self.stdout.write(
            f"Re-encrypted {chunks} chunks of {recordings} recording(s) under the first key."
        )
