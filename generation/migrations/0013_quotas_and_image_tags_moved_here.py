"""Quotas (from imagegen) and image tags (from gallery) moved here (issue 17): their tables exist already and
keep their names, so only Django's idea of them moves."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


# (from app, model) -> to app: the content types keep their ids, so permissions given to staff groups and
# the admin's log entries follow the models to their new app.
MOVED = {('imagegen', 'quota'): 'generation', ('gallery', 'imagetag'): 'generation'}


def _rename(apps, moves):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for (old_app, model), new_app in moves:
        if not ContentType.objects.filter(app_label=new_app, model=model).exists():
            ContentType.objects.filter(app_label=old_app, model=model).update(app_label=new_app)


def _content_types_forward(apps, schema_editor):
    _rename(apps, MOVED.items())


def _content_types_backward(apps, schema_editor):
    _rename(apps, [((new_app, model), old_app) for (old_app, model), new_app in MOVED.items()])



class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("imagegen", "0007_token_default_webhook"),
        ("gallery", "0004_share_links"),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('generation', '0012_merge_trash_and_webhooks'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(_content_types_forward, _content_types_backward),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Quota',
                    fields=[
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='quota', serialize=False, to=settings.AUTH_USER_MODEL, verbose_name='user')),
                        ('daily_images', models.PositiveIntegerField(blank=True, help_text='Images this user may request per UTC day. Empty: the site default.', null=True, verbose_name='images per day')),
                        ('max_concurrent_tasks', models.PositiveIntegerField(blank=True, help_text='Tasks of this user that may run at once (more wait in the queue). Empty: the site default.', null=True, verbose_name='concurrent tasks')),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        'verbose_name': 'quota',
                        'verbose_name_plural': 'quotas',
                        'db_table': 'user_quotas',
                    },
                ),
                migrations.CreateModel(
                    name='ImageTag',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('tag_name', models.CharField(max_length=50)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('image', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tags', to='generation.image')),
                        ('owner', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='image_tags', to=settings.AUTH_USER_MODEL, verbose_name='owner')),
                    ],
                    options={
                        'verbose_name': 'image tag',
                        'verbose_name_plural': 'image tags',
                        'db_table': 'user_tags',
                        'ordering': ['tag_name'],
                        'indexes': [models.Index(fields=['tag_name'], name='idx_tag_name'), models.Index(fields=['owner', 'tag_name'], name='idx_tag_owner_name')],
                        'constraints': [models.UniqueConstraint(fields=('image', 'tag_name'), name='uniq_tag_per_image')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
