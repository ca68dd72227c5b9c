"""Joins the three 0013s made side by side: models moved here, the prompt search index, narrow count indexes."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('generation', '0013_narrow_count_indexes'),
        ('generation', '0013_prompt_search'),
        ('generation', '0013_quotas_and_image_tags_moved_here'),
    ]

    operations = [
    ]
