from django.db import migrations

# Retention: the one way rows leave the trail. A DELETE passes the append-only trigger only for rows
# older than the moment the purging transaction names in `audit.purge_before` (set by
# audit.retention.audit_retention_apply, which records what it removed as a new chained event).
# UPDATE and TRUNCATE stay refused.
FORWARD = """
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    purge_before text := current_setting('audit.purge_before', true);
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(purge_before, '') <> '' AND OLD.created_at < purge_before::timestamptz THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit trail is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit events can only be added; record a correcting event instead.';
END;
$$;
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit trail is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit events can only be added; record a correcting event instead.';
END;
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_checkpoint_append_only")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
