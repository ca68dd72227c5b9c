"""Image tags moved to generation (generation/migrations/0013): the table stays, Django forgets it here."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("generation", "0013_quotas_and_image_tags_moved_here"),
        ('gallery', '0004_share_links'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(
                    model_name='imagetag',
                    name='idx_tag_name',
                ),
                migrations.RemoveIndex(
                    model_name='imagetag',
                    name='idx_tag_owner_name',
                ),
                migrations.RemoveConstraint(
                    model_name='imagetag',
                    name='uniq_tag_per_image',
                ),
                migrations.DeleteModel(
                    name='ImageTag',
                ),
            ],
            database_operations=[],
        ),
    ]
