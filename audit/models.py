from django.db import models

GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    """One entry of the append-only, hash-chained audit trail.

    The database refuses UPDATE, DELETE and TRUNCATE on this table (triggers from migration 0002).
    `hash` is SHA-256 over `prev_hash` and a canonical serialisation of the row's own content, so
    altering any row, or removing one from the middle, breaks the chain at that row. Rows are
    written only by `audit.services.audit_record`, which serialises writers so the chain never forks.
    The actor is kept by id and name, not by foreign key: deleting a user must not touch the trail.
    """

    sequence = models.PositiveBigIntegerField(unique=True, editable=False)
    created_at = models.DateTimeField(editable=False)
    actor_id = models.BigIntegerField(null=True, blank=True, editable=False)
    actor = models.CharField(max_length=150, blank=True, editable=False, help_text="Username, or the system part.")
    action = models.CharField(max_length=64, editable=False)
    object_type = models.CharField(max_length=64, blank=True, editable=False)
    object_id = models.CharField(max_length=64, blank=True, editable=False)
    request_id = models.CharField(max_length=64, blank=True, editable=False)
    client_ip = models.CharField(max_length=45, blank=True, editable=False)
    payload = models.JSONField(default=dict, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    class Meta:
        ordering = ["-sequence"]
        indexes = [
            models.Index(fields=["created_at"]),
            models.Index(fields=["action", "created_at"]),
            models.Index(fields=["actor_id", "created_at"]),
            models.Index(fields=["object_type", "object_id"]),
        ]
        # Only reading is a permission; nobody is granted add, change or delete.
        default_permissions = ("view",)

    def __str__(self):
        return f"#{self.sequence} {self.action} by {self.actor or 'system'}"
