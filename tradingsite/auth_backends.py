"""Django's model permissions, with each user's permission set kept in the cache between requests.

Every API call checks a permission; loading the set costs two queries. The cached set is dropped
whenever it could change: the user saved (active, superuser), their groups or permissions changed,
or a group's permissions changed (for each of its members). A short TTL bounds anything missed.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from tradingsite.login_limits import LOCKED_MESSAGE, login_locked

PERMISSIONS_CACHE_SECONDS = 300


def permissions_key(user_id: int) -> str:
    return f"perms:{user_id}"


def permissions_forget(user_ids) -> None:
    try:
        cache.delete_many([permissions_key(user_id) for user_id in user_ids])
    except Exception:  # noqa: S110 - without Redis nothing is cached, so nothing is stale
        pass


class CachedPermissionsBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        # Local password sign-in: off in production, and refused for an account past its failure limit
        # (PermissionDenied stops Django trying other backends and is recorded as a failure).
        if username is None or password is None:
            return None
        if not settings.LOCAL_LOGIN_ENABLED:
            return None
        if login_locked(username):
            raise PermissionDenied(LOCKED_MESSAGE)
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            try:
                cached = cache.get(permissions_key(user_obj.pk))
            except Exception:  # Redis down: read the database, as Django would
                cached = None
            if cached is None:
                cached = super().get_all_permissions(user_obj)
                try:
                    cache.set(permissions_key(user_obj.pk), cached, PERMISSIONS_CACHE_SECONDS)
                except Exception:  # noqa: S110
                    pass
            user_obj._perm_cache = set(cached)
        return user_obj._perm_cache


User = get_user_model()


@receiver(post_save, sender=User, dispatch_uid="perms.user_saved")
def user_saved(sender, instance, **kwargs):
    permissions_forget([instance.pk])


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="perms.user_groups")
@receiver(m2m_changed, sender=User.user_permissions.through, dispatch_uid="perms.user_permissions")
def user_relations_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if not action.startswith("post_"):
        return
    if reverse:  # changed from the group or permission side: every user on the other end
        permissions_forget(pk_set or User.objects.filter(groups=instance).values_list("pk", flat=True))
    else:
        permissions_forget([instance.pk])


@receiver(m2m_changed, sender=Group.permissions.through, dispatch_uid="perms.group_permissions")
def group_permissions_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if not action.startswith("post_"):
        return
    groups = [instance] if not reverse else Group.objects.filter(permissions=instance)
    permissions_forget(User.objects.filter(groups__in=groups).values_list("pk", flat=True).distinct())
