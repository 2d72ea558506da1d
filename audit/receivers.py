"""Authentication outcomes and admin changes recorded in the audit trail."""

from django.contrib.admin.models import LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from audit.services import audit_record


@receiver(user_logged_in, dispatch_uid="audit.login")
def login_recorded(sender, request, user, **kwargs):
    audit_record(action="auth.login", actor=user, object_type="user", object_id=user.pk)


@receiver(user_logged_out, dispatch_uid="audit.logout")
def logout_recorded(sender, request, user, **kwargs):
    if user is not None:
        audit_record(action="auth.logout", actor=user, object_type="user", object_id=user.pk)


@receiver(user_login_failed, dispatch_uid="audit.login_failed")
def login_failure_recorded(sender, credentials, request=None, **kwargs):
    if "username" not in credentials:
        return  # an OIDC sign-in: tradingsite.oidc records it with the reason
    # Django has already masked secrets in `credentials`; only the name tried is kept.
    username = str(credentials.get("username", ""))[:150]
    audit_record(
        action="auth.login_failed", actor=None, object_type="user", payload={"username": username, "via": "password"}
    )


ADMIN_ACTIONS = {1: "add", 2: "change", 3: "delete"}


@receiver(post_save, sender=LogEntry, dispatch_uid="audit.admin_change")
def admin_change_recorded(sender, instance, created, **kwargs):
    """Every add, change and delete made in the Django admin (the admin writes a LogEntry for each)."""
    if not created:
        return
    audit_record(
        action=f"admin.{ADMIN_ACTIONS.get(instance.action_flag, 'action')}",
        actor=instance.user,
        object_type=instance.content_type.model if instance.content_type_id else "",
        object_id=instance.object_id or "",
        payload={"object": instance.object_repr, "change": instance.get_change_message()},
    )
