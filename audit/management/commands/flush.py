from django.core.management.color import no_style
from django.core.management.commands import flush
from django.core.management.sql import emit_post_migrate_signal
from django.db import DEFAULT_DB_ALIAS, connections

from audit.models import AuditCheckpoint, AuditEvent


class Command(flush.Command):
    """Django's flush, less the audit trail.

    The audit table and its checkpoints are append-only and the database refuses to truncate them;
    flushing everything else is still useful (test isolation, resetting a demo), and leaves the trail,
    and its chain, intact.
    """

    help = "Removes all data from the database except the append-only audit trail."

    def handle(self, **options):
        database = options.get("database", DEFAULT_DB_ALIAS)
        connection = connections[database]
        if options.get("interactive", True):
            answer = input(
                f"This will IRREVERSIBLY DESTROY all data except the audit trail in the "
                f"{connection.settings_dict['NAME']!r} database. Type 'yes' to continue: "
            )
            if answer != "yes":
                self.stdout.write("Flush cancelled.")
                return
        kept = {AuditEvent._meta.db_table, AuditCheckpoint._meta.db_table}
        tables = [
            table
            for table in connection.introspection.django_table_names(only_existing=True, include_views=False)
            if table not in kept
        ]
        sql_list = connection.ops.sql_flush(
            no_style(),
            tables,
            reset_sequences=options.get("reset_sequences", True),
            allow_cascade=options.get("allow_cascade", False),
        )
        connection.ops.execute_sql_flush(sql_list)
        if sql_list and not options.get("inhibit_post_migrate", False):
            emit_post_migrate_signal(options["verbosity"], False, database)
