"""The attention's outcome and notes, and walk-ins (attention now).

On SQLite, adding a foreign key rebuilds the table, and the rebuild drops its triggers: the
double-booking guard of 0002 is made again at the end (nothing to do on PostgreSQL, whose
exclusion constraint survives ALTER TABLE)."""

import django.db.models.deletion
from django.db import migrations, models

from finestreta.appointments.migrations import _guard as guard


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0005_availability_indexes"),
        ("catalogue", "0005_outcomecode"),
    ]

    operations = [
        migrations.AddField(
            model_name="appointment",
            name="outcome",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="catalogue.outcomecode",
                verbose_name="outcome",
            ),
        ),
        migrations.AddField(
            model_name="appointment",
            name="staff_notes",
            field=models.TextField(
                blank=True, max_length=4000, verbose_name="notes of the attention"
            ),
        ),
        migrations.AddField(
            model_name="appointment",
            name="walk_in",
            field=models.BooleanField(
                default=False, verbose_name="attention now, without an appointment"
            ),
        ),
        guard.restore_sqlite_guard(),
    ]
