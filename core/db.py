"""SQL the ORM cannot write: an INSERT that returns its primary key, with ON CONFLICT
DO NOTHING or a second statement in the same round trip.

For hot paths only (every audited change appends to the audit log; every provider
webhook is recorded once). Identifiers come from the model's metadata, quoted by
`connection.ops.quote_name`; every value is a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models

# A statement to run with the INSERT: its SQL and parameters.
Statement = tuple[str, Sequence[Any]]


def insert_returning_pk(
    instance: models.Model,
    *,
    on_conflict: Sequence[str] = (),
    then: Statement | None = None,
) -> Any:
    """INSERT an unsaved instance (every concrete field but the primary key, prepared
    as the ORM's save() would) and return its primary key, which is also set on the
    instance, as saved.

    `on_conflict` names the fields of a unique constraint: a row that already has
    those values is left alone (ON CONFLICT DO NOTHING) and None is returned, the
    instance staying unsaved. That is one statement, where a savepoint around an
    INSERT that may fail costs three.

    `then` is a data-modifying statement (an UPDATE, say) run together with the
    INSERT: on PostgreSQL in the same statement (a data-modifying WITH, one round
    trip), elsewhere right after it. It runs whether or not the row was inserted."""
    model = type(instance)
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    values = [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
    ]
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    conflict = ""
    if on_conflict:
        targets = ", ".join(quote(meta.get_field(name).column) for name in on_conflict)
        conflict = f" ON CONFLICT ({targets}) DO NOTHING"
    insert = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}){conflict} RETURNING {pk}"  # noqa: S608
    with connection.cursor() as cursor:
        if then is not None and connection.vendor == "postgresql":
            then_sql, then_params = then
            # Both parts run exactly once, whether or not the main query reads them.
            both = (
                f"WITH inserted AS ({insert}), followed AS ({then_sql}) SELECT {pk} FROM inserted"  # noqa: S608
            )
            cursor.execute(both, [*values, *then_params])
            row = cursor.fetchone()
        else:
            cursor.execute(insert, values)
            row = cursor.fetchone()
            if then is not None:
                cursor.execute(*then)
    if row is None:
        return None
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance.pk
