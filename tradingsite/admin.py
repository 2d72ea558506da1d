from django.contrib import admin, messages

from tradingsite.models import ApiToken
from tradingsite.tokens import api_token_revoke


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that change only through the services (risk checks, audit) or never: the admin shows
    them to those allowed to view, and nobody, superusers included, adds, edits or deletes them there."""

    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Every user's API tokens (never their keys, which are not stored); admins can revoke them."""

    list_display = ("name", "user", "prefix", "scope", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("scope", "revoked_at")
    search_fields = ("name", "user__username", "prefix")
    exclude = ("key_hash",)
    actions = ["revoke"]

    def has_revoke_permission(self, request):
        return request.user.has_perm("tradingsite.change_apitoken")

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True).select_related("user"):
            api_token_revoke(user=token.user, token_id=token.pk, revoked_by=request.user)
        self.message_user(request, "The selected tokens are revoked.", messages.SUCCESS)
