from django.db import migrations

# Checkpoints are kept like the trail itself: no UPDATE, DELETE or TRUNCATE, whoever asks.
FORWARD = """
CREATE TRIGGER audit_checkpoint_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();

CREATE TRIGGER audit_checkpoint_no_truncate
    BEFORE TRUNCATE ON audit_auditcheckpoint
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change();

REVOKE UPDATE, DELETE, TRUNCATE ON audit_auditcheckpoint FROM PUBLIC;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS audit_checkpoint_no_truncate ON audit_auditcheckpoint;
DROP TRIGGER IF EXISTS audit_checkpoint_no_update_delete ON audit_auditcheckpoint;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_alter_auditevent_options_auditcheckpoint")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
