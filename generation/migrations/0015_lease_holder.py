"""A lease's holder is `lease_holder` (it was `lease_owner`, beside the `owner` that is the user a task belongs
to): the columns are renamed, their data and indexes kept."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("generation", "0014_merge_moves_search_and_count_indexes"),
    ]

    operations = [
        migrations.RenameField(model_name="generationtask", old_name="lease_owner", new_name="lease_holder"),
        migrations.RenameField(model_name="webhookdelivery", old_name="lease_owner", new_name="lease_holder"),
    ]
