from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from trading.orders import selectors
from trading.orders.services import order_cancel
from tradingsite.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Cancel an order through the same service and audit as the API."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="username cancelling (must own the order)")
        parser.add_argument("order_id", type=int)

    def handle(self, **options):
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user {options['user']!r}")
        try:
            order = order_cancel(order=selectors.order_for_user(user, options["order_id"]), cancelled_by=user)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"order {order.pk}: {order}")
