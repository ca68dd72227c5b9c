"""Joins reference images and group generation (0014_reference_images) with the rest, made side by side."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("generation", "0014_reference_images"),
        ("generation", "0016_merge_lease_holder_and_prices"),
    ]

    operations = []
