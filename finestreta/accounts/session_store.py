"""Django's database sessions, with the staff session record kept in step with the key.

Django cycles the key at login, and `update_session_auth_hash` cycles it again after a password
change; the second factor cycles it too (ASVS 3.2.1). The record of the signed-in session
(`StaffSession`, what the sessions page lists and what revoking deletes) follows the new key,
or the session would count as ended on the next request. Flushing a session (every logout)
deletes its record with it.
"""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    def cycle_key(self) -> None:
        from finestreta.accounts.models import StaffSession

        old = self.session_key
        super().cycle_key()
        if old and old != self.session_key:
            StaffSession.objects.filter(session_key=old).update(session_key=self.session_key)

    def flush(self) -> None:
        from finestreta.accounts.models import StaffSession

        if self.session_key:
            StaffSession.objects.filter(session_key=self.session_key).delete()
        super().flush()
