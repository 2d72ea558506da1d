import json
import os
import secrets
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from audit.sequencer import audit_link_all
from sentiment.demo import news_backfill_demo
from trading.market.history_demo import history_backfill_demo
from trading.market.history_intraday import intraday_backfill_demo
from trading.market.instruments import instruments_seed_demo
from trading.models import TradingAccount
from trading.orders.accounts import account_create
from tradingsite.roles import ADMIN, COMPLIANCE, OPS, TRADER, user_create

DEMO_CASH = Decimal("1000000")
# One user per role, named after the personas the tests use.
DEMO_USERS = (
    ("alice", {TRADER}),
    ("bob", {TRADER}),
    ("carol", {COMPLIANCE}),
    ("dave", {OPS}),
    ("admin", {ADMIN}),
)


class Command(BaseCommand):
    help = "Prepare the database (migrate, roles, demo users, schedules) and run every process of the platform."

    def add_arguments(self, parser):
        parser.add_argument("--setup-only", action="store_true", help="prepare, print the logins and exit")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        call_command("collectstatic", interactive=False, verbosity=0)
        call_command("setup_periodic_tasks", verbosity=0)
        added = instruments_seed_demo()
        self.stdout.write(f"instrument master: NIFTY 50 seeded ({added} added)")
        filled = history_backfill_demo()
        self.stdout.write(f"daily history: a simulated year for {filled} instruments without bars")
        filled = intraday_backfill_demo()
        self.stdout.write(f"intraday history: simulated minute bars of recent sessions for {filled} instruments")
        stories = news_backfill_demo()
        self.stdout.write(f"news: {stories} simulated articles (the demo cannot reach news sites)")
        logins = self.demo_users_ensure()
        # What the set-up recorded goes onto the chain now; from here on the sequencer process links.
        audit_link_all()
        self.stdout.write(f"\nDemo logins (also in {self.logins_path()}):")
        for username, password, roles in logins:
            self.stdout.write(f"  {username:<8} {password}   ({', '.join(roles)})")
        key = self.signing_key_write()
        self.stdout.write(
            f"\nAudit exports are signed with the key in {key}; check one as the README says:\n"
            f"  python audit/export_verify.py EXPORT.zip --key-file {key}"
        )
        url = f"http://127.0.0.1:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"\nThe platform will be at {url}  (readiness: {url}readyz)"))
        if options["setup_only"]:
            return
        self.stdout.write(
            "Starting web, feed, audit sequencer, outbox dispatcher, worker and beat. Ctrl-C stops them all.\n"
        )
        bin_dir = str(Path(sys.executable).parent)
        env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), "PORT": str(options["port"])}
        # The demo's simulated market trades at any hour, so there is always something moving.
        env.setdefault("FEED_ALWAYS_OPEN", "true")
        procfile = settings.BASE_DIR / "Procfile"
        status = subprocess.call(
            [str(Path(bin_dir) / "honcho"), "start", "-f", str(procfile), "-d", str(settings.BASE_DIR)], env=env
        )
        sys.exit(status)

    def signing_key_write(self) -> Path:
        """The audit signing key, readable by this user only, for compliance to check an export with."""
        from audit.signing import signing_key

        path = settings.DATA_DIR / "audit-signing-key"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        path.write_bytes(signing_key())
        return path

    def logins_path(self) -> Path:
        return settings.DATA_DIR / "demo-logins.json"

    def demo_users_ensure(self) -> list[tuple[str, str, list[str]]]:
        """Create missing demo users with random passwords; a second run prints the stored ones."""
        path = self.logins_path()
        stored = json.loads(path.read_text()) if path.exists() else {}
        User = get_user_model()
        rows = []
        for username, roles in DEMO_USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                stored[username] = secrets.token_urlsafe(12)
                user = user_create(username=username, password=stored[username], roles=roles, actor="system:demo")
                if ADMIN in roles:
                    user.is_superuser = True
                    user.save(update_fields=["is_superuser"])
            elif username not in stored or not user.check_password(stored[username]):
                # The database outlived the logins file (or a password was changed): set a new one to show.
                stored[username] = secrets.token_urlsafe(12)
                user.set_password(stored[username])
                user.save(update_fields=["password"])
            if TRADER in roles and not TradingAccount.objects.filter(owner=user).exists():
                account_create(owner=user, name=f"{username}-paper", cash=DEMO_CASH, created_by="system:demo")
            rows.append((username, stored[username], sorted(roles)))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2))
        path.chmod(0o600)
        return rows
