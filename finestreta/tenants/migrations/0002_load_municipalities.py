import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "catalan_municipalities.csv"


def load(apps, schema_editor):
    Municipality = apps.get_model("tenants", "Municipality")
    with DATA.open(encoding="utf-8", newline="") as handle:
        rows = [
            Municipality(
                ine_code=row["ine_code"],
                name=row["name"],
                latitude=float(row["lat"]),
                longitude=float(row["lon"]),
            )
            for row in csv.DictReader(handle)
        ]
    Municipality.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)


def unload(apps, schema_editor):
    apps.get_model("tenants", "Municipality").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
