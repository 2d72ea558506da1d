"""Decimal precisions shared by the models: prices, money, charge rates.

Money and prices are Decimal (NUMERIC in PostgreSQL); quantities are whole shares or contracts."""

PRICE = {"max_digits": 14, "decimal_places": 2}
MONEY = {"max_digits": 18, "decimal_places": 2}
# Charges are itemised to the paisa; rates to 8 places (0.00297% is 0.0000297).
RATE = {"max_digits": 12, "decimal_places": 8}
