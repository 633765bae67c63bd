"""Run in a child process against the disposable database of the PostgreSQL fault test
(test_faults.py), whose DATABASE_URL the test process's own Django connection does not use:

    python -m tests.production.faultdb seed     # personas, an agent open all week: JSON out
    python -m tests.production.faultdb inspect  # appointments, outbox, audit chain: JSON out
"""

from __future__ import annotations

import datetime as dt
import json
import sys

import django


def seed() -> dict[str, str]:
    from finestreta.accounts.models import Membership
    from tests.factories import WorkingPatternFactory
    from tests.personas import make_personas

    personas = make_personas()
    agent = Membership.objects.get(user=personas.agent_a)
    agent.services.add(personas.service_a)
    for weekday in range(7):
        WorkingPatternFactory(
            membership=agent,
            office=personas.office_a,
            weekday=weekday,
            starts=dt.time(0),
            ends=dt.time(23, 59),
        )
    return {"org": personas.org_a.slug, "service": personas.service_a.slug}


def inspect() -> dict[str, object]:
    from django.db import connection

    from finestreta.appointments.models import Appointment
    from finestreta.notifications.models import Message
    from finestreta.privacy.verification import verify_audit_log

    appointments = [
        {
            "code": a.code,
            "status": a.status,
            "start": a.starts_at.isoformat(),
            "key": a.idempotency_key,
            "hold_expires_at": a.hold_expires_at.isoformat() if a.hold_expires_at else None,
            "confirmations": Message.objects.filter(
                appointment=a, kind="booking_confirmed"
            ).count(),
        }
        for a in Appointment.objects.order_by("pk")
    ]
    with connection.cursor() as cursor:
        # Two active appointments of one agent whose times overlap: a double booking.
        cursor.execute(
            "SELECT count(*) FROM appointments_appointment a JOIN appointments_appointment b"
            " ON a.agent_id = b.agent_id AND a.id < b.id"
            " AND a.occupied_from < b.occupied_until AND b.occupied_from < a.occupied_until"
            " WHERE a.status = ANY(%s) AND b.status = ANY(%s)",
            [list(Appointment.ACTIVE), list(Appointment.ACTIVE)],
        )
        (overlaps,) = cursor.fetchone()
    audit = verify_audit_log()
    return {
        "appointments": appointments,
        "overlaps": overlaps,
        "audit_ok": audit.ok,
        "audit_checked": audit.checked,
    }


if __name__ == "__main__":
    django.setup()
    print(json.dumps({"seed": seed, "inspect": inspect}[sys.argv[1]]()))
