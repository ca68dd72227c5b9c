"""API tokens, user sessions and the audit log, moved here from the imagegen app (issue 17): their tables
exist already (imagegen's migrations made them) and keep their names, so only Django's idea of them moves."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


# (from app, model) -> to app: the content types keep their ids, so permissions given to staff groups and
# the admin's log entries follow the models to their new app.
MOVED = {('imagegen', 'apitoken'): 'accounts', ('imagegen', 'usersession'): 'accounts', ('imagegen', 'auditevent'): 'accounts'}


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

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("imagegen", "0007_token_default_webhook"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(_content_types_forward, _content_types_backward),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ApiToken',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100, verbose_name='name')),
                        ('prefix', models.CharField(max_length=16, verbose_name='prefix')),
                        ('digest', models.CharField(editable=False, max_length=64, unique=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created')),
                        ('last_used_at', models.DateTimeField(blank=True, null=True, verbose_name='last used')),
                        ('revoked_at', models.DateTimeField(blank=True, null=True, verbose_name='revoked')),
                        ('scopes', models.CharField(default='read generate manage', max_length=40, verbose_name='scopes')),
                        ('expires_at', models.DateTimeField(blank=True, null=True, verbose_name='expires')),
                        ('signing', models.BooleanField(default=False, verbose_name='signing token')),
                        ('signature_required', models.BooleanField(default=False, verbose_name='signature required')),
                        ('webhook_url', models.CharField(blank=True, default='', max_length=2000, verbose_name='default webhook')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL, verbose_name='user')),
                    ],
                    options={
                        'verbose_name': 'API token',
                        'verbose_name_plural': 'API tokens',
                        'db_table': 'api_tokens',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='UserSession',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('session_key', models.CharField(max_length=40, unique=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'user_sessions',
                    },
                ),
                migrations.CreateModel(
                    name='AuditEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='when')),
                        ('kind', models.CharField(choices=[('request', 'state-changing request'), ('sign_in', 'sign-in'), ('sign_in_failed', 'failed sign-in'), ('sign_out', 'sign-out'), ('token_created', 'token created'), ('token_used', 'token used'), ('token_revoked', 'token revoked'), ('staff', 'staff action'), ('refused', 'refused by the network allowlist'), ('two_factor', 'two-factor sign-in changed'), ('password_reset', 'password reset'), ('data_exported', 'data exported'), ('account_erased', 'account erased')], max_length=20, verbose_name='kind')),
                        ('username', models.CharField(blank=True, max_length=150, verbose_name='user name')),
                        ('token_prefix', models.CharField(blank=True, max_length=16, verbose_name='token prefix')),
                        ('client_id', models.CharField(blank=True, max_length=100, verbose_name='client id')),
                        ('ip', models.GenericIPAddressField(blank=True, null=True, verbose_name='client address')),
                        ('method', models.CharField(blank=True, max_length=10, verbose_name='method')),
                        ('route', models.CharField(blank=True, max_length=200, verbose_name='route')),
                        ('path', models.CharField(blank=True, max_length=300, verbose_name='path')),
                        ('object_id', models.CharField(blank=True, max_length=100, verbose_name='object id')),
                        ('status', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='status')),
                        ('user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='user')),
                    ],
                    options={
                        'verbose_name': 'audit event',
                        'verbose_name_plural': 'audit log',
                        'db_table': 'audit_events',
                        'ordering': ['-at', '-id'],
                        'indexes': [models.Index(fields=['user', 'at'], name='audit_user_at')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
