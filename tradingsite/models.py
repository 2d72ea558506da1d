from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A personal API token: named, scoped, expiring, revocable. Only its SHA-256 is stored; the token
    itself is shown once, when it is made. Tokens are 256 random bits, so a plain hash is enough to make
    a stolen table useless (no password stretching needed)."""

    class Scope(models.TextChoices):
        READ = "read", "Read"
        TRADE = "trade", "Trade"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=64)
    # The first characters of the token, shown in lists so a user can tell tokens apart.
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=8, choices=Scope.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"], condition=models.Q(revoked_at__isnull=True), name="api_token_name_unique"
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…, {self.scope})"


class BackupRecord(models.Model):
    """A backup taken (manage.py backup): where it went and its manifest (the audit chain's head, row
    counts, the dump's hash). The newest one's time is the `tradingsite_backup_last_success_timestamp_seconds`
    metric, which the BackupTooOld alert watches."""

    location = models.CharField(max_length=1000)
    taken_at = models.DateTimeField(help_text="The snapshot the dump holds.")
    manifest = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-taken_at"]

    def __str__(self):
        return f"backup of {self.taken_at:%Y-%m-%d %H:%M} UTC at {self.location}"
