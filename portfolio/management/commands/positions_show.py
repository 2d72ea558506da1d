from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portfolio.selectors import pnl_day, positions_for_account
from trading.orders import selectors


class Command(BaseCommand):
    help = "Show a user's positions with realised and unrealised P&L, and the day's P&L."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True)

    def handle(self, **options):
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user {options['user']!r}")
        for account in selectors.accounts_for_user(user):
            day = pnl_day(account)
            self.stdout.write(
                f"{account.name} [{account.status}] cash {account.cash:,.2f}  day P&L {day['total']:,.2f}"
            )
            self.stdout.write(
                f"  {'symbol':<16}{'product':<8}{'qty':>8}{'avg':>12}{'last':>12}{'realised':>12}{'unrealised':>12}"
            )
            for view in positions_for_account(account):
                p = view.position
                last = f"{view.last_price:,.2f}" if view.last_price is not None else "-"
                self.stdout.write(
                    f"  {p.instrument.tradingsymbol:<16}{p.product:>12}{p.quantity:>12}{p.average_price:>12,.2f}"
                    f"{last:>12}{p.realised_pnl:>12,.2f}{view.unrealised_pnl:>12,.2f}"
                )
