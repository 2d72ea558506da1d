"""Authentication outcomes recorded in the audit trail."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .services import audit_record


@receiver(user_logged_in, dispatch_uid="audit.login")
def login_recorded(sender, request, user, **kwargs):
    audit_record(action="auth.login", actor=user, object_type="user", object_id=user.pk)


@receiver(user_logged_out, dispatch_uid="audit.logout")
def logout_recorded(sender, request, user, **kwargs):
    if user is not None:
        audit_record(action="auth.logout", actor=user, object_type="user", object_id=user.pk)


@receiver(user_login_failed, dispatch_uid="audit.login_failed")
def login_failure_recorded(sender, credentials, request=None, **kwargs):
    # Django has already masked secrets in `credentials`; only the name tried is kept.
    username = str(credentials.get("username", ""))[:150]
    audit_record(action="auth.login_failed", actor=None, object_type="user", payload={"username": username})
