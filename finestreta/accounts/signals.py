"""Session bookkeeping at login, and ending sessions as soon as someone is deactivated or their
password changes."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import user_logged_in as allauth_user_logged_in
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from finestreta.accounts import sessions
from finestreta.accounts.models import Membership, User


@receiver(user_logged_in)
def record_login(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        sessions.start_session(request, user=user, method="password")


@receiver(allauth_user_logged_in)
def record_sso_login(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    sociallogin = kwargs.get("sociallogin")
    if sociallogin is None:
        return
    from finestreta.accounts.services import complete_sso_login

    complete_sso_login(request=request, user=user, sociallogin=sociallogin)


@receiver(pre_save, sender=User)
@receiver(pre_save, sender=Membership)
def remember_whether_it_was_active(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.pk is None:
        instance._was_active = False
        return
    instance._was_active = (
        sender.objects.filter(pk=instance.pk).values_list("is_active", flat=True).first() is True
    )


@receiver(post_save, sender=User)
@receiver(post_save, sender=Membership)
def end_sessions_on_deactivation(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Deactivating a user (or their membership) ends all their sessions at once."""
    if getattr(instance, "_was_active", False) and not instance.is_active:
        user = instance if isinstance(instance, User) else instance.user
        sessions.end_sessions(user=user)
        from finestreta.privacy.services import record_event

        record_event(
            action="user.deactivated",
            actor=None,
            organisation=getattr(instance, "organisation", None),
            target=user,
        )


@receiver(pre_save, sender=User)
def remember_the_password_hash(sender: Any, instance: Any, **kwargs: Any) -> None:
    instance._old_password = (
        None
        if instance.pk is None
        else sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    )


@receiver(post_save, sender=User)
def end_other_sessions_on_password_change(sender: Any, instance: User, **kwargs: Any) -> None:
    """A changed password ends the user's other sessions at once (ASVS 3.3.3)."""
    old = getattr(instance, "_old_password", None)
    if old is not None and old != instance.password:
        sessions.end_sessions_after_password_change(user=instance)
