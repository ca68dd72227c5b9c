"""Every user gets a quota row when created, so staff find each one in the admin's quota list."""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Quota, UserSession


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def give_new_users_a_quota(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        Quota.objects.get_or_create(user=instance)



@receiver(user_logged_in)
def remember_the_session(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        UserSession.objects.update_or_create(session_key=session.session_key, defaults={"user": user})


@receiver(user_logged_out)
def forget_the_session(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        UserSession.objects.filter(session_key=session.session_key).delete()
