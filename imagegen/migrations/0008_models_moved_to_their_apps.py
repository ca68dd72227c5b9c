"""API tokens, sessions and the audit log moved to accounts, quotas to generation (issue 17): the tables stay,
Django forgets the models here."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
        ("generation", "0013_quotas_and_image_tags_moved_here"),
        ('imagegen', '0007_token_default_webhook'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='apitoken',
                    name='user',
                ),
                migrations.RemoveIndex(
                    model_name='auditevent',
                    name='audit_user_at',
                ),
                migrations.RemoveField(
                    model_name='quota',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='usersession',
                    name='user',
                ),
                migrations.DeleteModel(
                    name='ApiToken',
                ),
                migrations.RemoveField(
                    model_name='auditevent',
                    name='user',
                ),
                migrations.DeleteModel(
                    name='Quota',
                ),
                migrations.DeleteModel(
                    name='UserSession',
                ),
                migrations.DeleteModel(
                    name='AuditEvent',
                ),
            ],
            database_operations=[],
        ),
    ]
