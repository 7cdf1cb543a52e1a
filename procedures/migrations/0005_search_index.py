from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models


def fill_search_index(apps, schema_editor):
    from procedures.search import search_index_refresh

    Procedure = apps.get_model("procedures", "Procedure")
    for procedure in Procedure.objects.select_related("owning_organization"):
        procedure.save(update_fields=search_index_refresh(procedure))


class Migration(migrations.Migration):
    dependencies = [
        ("procedures", "0004_search_keywords_and_window"),
    ]

    operations = [
        # Trigram similarity suggests the closest titles when a search finds
        # nothing; the operation does nothing on SQLite.
        TrigramExtension(),
        migrations.AddField(
            model_name="procedure",
            name="search_title",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="procedure",
            name="search_keywords",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.RunPython(fill_search_index, migrations.RunPython.noop),
    ]
