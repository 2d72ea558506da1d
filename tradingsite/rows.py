"""Model rows read and written with SQL built once per model, for the order path's few hot statements.

The ORM compiles every queryset afresh: on this machine a `select_for_update().get(pk=...)` spent about
3 ms of Python building its SQL and its converters, several times per order, against well under a
millisecond for the database to run it. The statements here are built once per model (and per WHERE
clause) and the rows come back as ordinary model instances (`Model.from_db`, each field's database
converters applied as the ORM applies them), so callers treat them as they would the ORM's. Inserts
and updates take each field's value as `save()` does (`pre_save`, so `auto_now` fields are set, and
`get_db_prep_save`).

They send no model signals: use them only for models that have no receivers (the order path's rows),
and only where the caller states the WHERE clause (column names of the model's own table `t`, and of a
joined related table named by its field).
"""

from django.db import connection
from django.db.models import Model

_TABLES: dict[type[Model], "_Table"] = {}
_STATEMENTS: dict[tuple, tuple] = {}


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


class _Table:
    def __init__(self, model: type[Model]):
        self.model = model
        self.name = _quote(model._meta.db_table)
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        self.pk = model._meta.pk
        self.converters = []
        for index, field in enumerate(self.fields):
            column = field.cached_col
            found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
            if found:
                self.converters.append((index, column, found))

    def columns(self, alias: str) -> str:
        return ", ".join(f"{alias}.{_quote(field.column)}" for field in self.fields)

    def instance(self, values) -> Model:
        values = list(values)
        for index, column, found in self.converters:
            value = values[index]
            for converter in found:
                value = converter(value, column, connection)
            values[index] = value
        return self.model.from_db(connection.alias, self.attnames, values)


def _table(model: type[Model]) -> _Table:
    table = _TABLES.get(model)
    if table is None:
        table = _TABLES[model] = _Table(model)
    return table


def _select(model, where: str, lock: bool, related: tuple[str, ...], limit: int | None):
    key = ("select", model, where, lock, related, limit)
    found = _STATEMENTS.get(key)
    if found is not None:
        return found
    table = _table(model)
    columns = [table.columns("t")]
    joins = []
    parts = [(None, table)]
    for name in related:
        field = model._meta.get_field(name)
        other = _table(field.related_model)
        join = "LEFT JOIN" if field.null else "JOIN"
        joins.append(
            f"{join} {other.name} {_quote(name)} "
            f"ON {_quote(name)}.{_quote(field.target_field.column)} = t.{_quote(field.column)}"
        )
        columns.append(other.columns(_quote(name)))
        parts.append((field, other))
    sql = f"SELECT {', '.join(columns)} FROM {table.name} t {' '.join(joins)} WHERE {where}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    if lock:
        sql += " FOR UPDATE OF t"  # the row itself, never the related rows it was joined to
    found = _STATEMENTS[key] = (sql, parts)
    return found


def rows_fetch(
    model: type[Model],
    where: str,
    params=(),
    *,
    lock: bool = False,
    related: tuple[str, ...] = (),
    limit: int | None = None,
) -> list[Model]:
    """Instances of `model` whose row (alias `t`) meets `where`, each with the foreign keys named in
    `related` loaded as well (joined under their field's name). `lock`: FOR UPDATE of these rows only."""
    sql, parts = _select(model, where, lock, tuple(related), limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = []
    for row in rows:
        start = 0
        instance = None
        for field, table in parts:
            width = len(table.fields)
            values = row[start : start + width]
            start += width
            if field is None:
                instance = table.instance(values)
            elif values[table.fields.index(table.pk)] is None:
                field.set_cached_value(instance, None)
            else:
                field.set_cached_value(instance, table.instance(values))
        found.append(instance)
    return found


def row_fetch(model: type[Model], where: str, params=(), **options) -> Model | None:
    """The one instance `rows_fetch` finds, or None."""
    found = rows_fetch(model, where, params, **options)
    return found[0] if found else None


def _value(field, instance, *, add: bool):
    return field.get_db_prep_save(field.pre_save(instance, add), connection)


def row_insert(instance: Model) -> Model:
    """INSERT the instance (its primary key from the database) and return it, saved."""
    model = type(instance)
    table = _table(model)
    key = ("insert", model)
    found = _STATEMENTS.get(key)
    if found is None:
        fields = [field for field in table.fields if field is not table.pk]
        names = ", ".join(_quote(field.column) for field in fields)
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks}) RETURNING {_quote(table.pk.column)}"
        found = _STATEMENTS[key] = (sql, fields)
    sql, fields = found
    with connection.cursor() as cursor:
        cursor.execute(sql, [_value(field, instance, add=True) for field in fields])
        setattr(instance, table.pk.attname, cursor.fetchone()[0])
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def row_update(instance: Model, fields: tuple[str, ...], where: str = "", params=()) -> int:
    """UPDATE the named fields of the instance's row from the instance (auto_now fields set as save()
    sets them), where its primary key matches and `where` (on the row's columns) holds; the rows
    changed."""
    model = type(instance)
    table = _table(model)
    key = ("update", model, fields, where)
    found = _STATEMENTS.get(key)
    if found is None:
        chosen = [model._meta.get_field(name) for name in fields]
        assignments = ", ".join(f"{_quote(field.column)} = %s" for field in chosen)
        sql = f"UPDATE {table.name} SET {assignments} WHERE {_quote(table.pk.column)} = %s"
        if where:
            sql += f" AND ({where})"
        found = _STATEMENTS[key] = (sql, chosen)
    sql, chosen = found
    values = [_value(field, instance, add=False) for field in chosen]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, instance.pk, *params])
        return cursor.rowcount
