from django.db import models


class AuditEvent(models.Model):
    """One entry of the append-only, hash-chained audit trail.

    A row is written in the transaction of the change it records (`audit.services.audit_record`), with
    a `seal`: an HMAC under the audit key over its content. No lock is taken to write it. The sequencer
    (`audit.sequencer.audit_link`, the only holder of the chain lock) then links committed rows into
    the chain within AUDIT_LINK_MAX_SECONDS: it gives each its `sequence`, `prev_hash`, `hash` and
    `linked_at`, and checks the seal first, so a row altered before it was linked is reported.
    `hash` is SHA-256 over `prev_hash` and a canonical serialisation of the row's own content, so
    altering a linked row, or removing one from the middle, breaks the chain at that row.
    The database refuses DELETE and TRUNCATE, and refuses every UPDATE but the one that links an
    unlinked row with its content unchanged (triggers from migrations 0002, 0005 and 0006).
    The actor is kept by id and name, not by foreign key: deleting a user must not touch the trail.
    """

    # Position in the chain, given when the sequencer links the row; NULL until then.
    sequence = models.PositiveBigIntegerField(unique=True, null=True, editable=False)
    created_at = models.DateTimeField(editable=False)
    actor_id = models.BigIntegerField(null=True, blank=True, editable=False)
    actor = models.CharField(max_length=150, blank=True, editable=False, help_text="Username, or the system part.")
    action = models.CharField(max_length=64, editable=False)
    object_type = models.CharField(max_length=64, blank=True, editable=False)
    object_id = models.CharField(max_length=64, blank=True, editable=False)
    request_id = models.CharField(max_length=64, blank=True, editable=False)
    client_ip = models.CharField(max_length=45, blank=True, editable=False)
    payload = models.JSONField(default=dict, editable=False)
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    # NULL, not "", until linked: the hash is unique, and every unlinked row has none yet.
    hash = models.CharField(max_length=64, unique=True, null=True, editable=False)  # noqa: DJ001
    seal = models.CharField(max_length=64, blank=True, editable=False)
    linked_at = models.DateTimeField(null=True, editable=False)

    class Meta:
        ordering = ["-sequence"]
        indexes = [
            models.Index(fields=["created_at"]),
            models.Index(fields=["action", "created_at"]),
            models.Index(fields=["actor_id", "created_at"]),
            models.Index(fields=["object_type", "object_id"]),
            # What the sequencer reads on every pass: the rows not yet linked, oldest first.
            models.Index(fields=["id"], condition=models.Q(sequence__isnull=True), name="audit_event_unlinked"),
        ]
        # Only reading and exporting are permissions; nobody is granted add, change or delete.
        default_permissions = ("view",)
        permissions = [("export_auditevent", "Can export the audit trail")]

    def __str__(self):
        position = f"#{self.sequence}" if self.sequence is not None else f"(unlinked, id {self.pk})"
        return f"{position} {self.action} by {self.actor or 'system'}"


class AuditCheckpoint(models.Model):
    """A signed note of the chain's head at a moment, written on a schedule (audit.tasks).

    The chain alone cannot show that its newest rows were removed: what is left is still a valid
    chain. A checkpoint can: the row it names must still exist with the hash it recorded. The HMAC
    is made with a key the database does not hold, so a checkpoint cannot be forged to match a
    shortened chain. Append-only like the trail (migration 0004).
    """

    created_at = models.DateTimeField(editable=False)
    sequence = models.PositiveBigIntegerField(editable=False)
    hash = models.CharField(max_length=64, editable=False)
    signature = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at"])]
        default_permissions = ("view",)

    def __str__(self):
        return f"checkpoint at #{self.sequence} ({self.created_at:%Y-%m-%d %H:%M})"

    def document(self) -> dict:
        from audit.hashing import canonical_timestamp

        return {
            "created_at": canonical_timestamp(self.created_at),
            "sequence": self.sequence,
            "hash": self.hash,
            "signature": self.signature,
        }
