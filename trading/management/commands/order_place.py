from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from trading.brokers.dispatch import outbox_sweep
from trading.models import Order
from trading.orders import selectors
from trading.orders.services import order_place
from tradingsite.exceptions import ApplicationError


def decimal_arg(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise CommandError(f"{value!r} is not a price") from exc


class Command(BaseCommand):
    help = "Place an order through the same service, risk checks and audit as the API."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="username placing the order")
        parser.add_argument("--account", type=int, help="account id (needed when the user has several)")
        parser.add_argument("symbol", help="EXCHANGE:TRADINGSYMBOL, e.g. NSE:RELIANCE")
        parser.add_argument("side", choices=Order.TransactionType.values)
        parser.add_argument("quantity", type=int)
        parser.add_argument("--type", dest="order_type", choices=Order.OrderType.values, default="MARKET")
        parser.add_argument("--product", choices=Order.Product.values, default="CNC")
        parser.add_argument("--validity", choices=Order.Validity.values, default="DAY")
        parser.add_argument("--price", type=decimal_arg)
        parser.add_argument("--trigger", type=decimal_arg)
        parser.add_argument("--tag", default="")
        parser.add_argument("--send", action="store_true", help="send it to the broker now instead of via a worker")

    def handle(self, **options):
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user {options['user']!r}")
        if ":" not in options["symbol"]:
            raise CommandError("name the instrument as EXCHANGE:TRADINGSYMBOL, e.g. NSE:RELIANCE")
        exchange, symbol = options["symbol"].upper().split(":", 1)
        try:
            account = selectors.account_default_for_user(user, options["account"])
            order = order_place(
                account=account,
                instrument=selectors.instrument_lookup(exchange=exchange, tradingsymbol=symbol),
                transaction_type=options["side"],
                order_type=options["order_type"],
                product=options["product"],
                validity=options["validity"],
                quantity=options["quantity"],
                price=options["price"],
                trigger_price=options["trigger"],
                tag=options["tag"],
                placed_by=user,
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if order.status == Order.Status.REJECTED:
            raise CommandError(f"order {order.pk} rejected: {order.status_message}")
        if options["send"]:
            outbox_sweep(min_age_seconds=0)
            order.refresh_from_db()
        self.stdout.write(f"order {order.pk}: {order}")
