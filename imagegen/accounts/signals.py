"""Every user gets a quota row when created, so staff find each one in the admin's quota list."""

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def give_new_users_a_quota(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        from .models import Quota

        Quota.objects.get_or_create(user=instance)
