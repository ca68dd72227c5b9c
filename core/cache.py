"""Django's database cache with an atomic `incr`/`decr` that keeps the entry's expiry.

Django's own `incr` on the database cache is `get()` then `set()`: two processes read the same value and
both write value+1 (40 parallel sign-ins were counted as 17), and the `set` also resets the entry's expiry
to the default timeout. Here the increment is one transaction that first writes the row (an UPDATE that
changes nothing), which takes the row's lock on PostgreSQL and the database's write lock on SQLite before
the value is read, so concurrent increments queue and each sees the previous one's result; the expiry
column is left as it was.
"""

from __future__ import annotations

import base64
import pickle

from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import connections, models, router, transaction
from django.utils import timezone


class DatabaseCache(DjangoDatabaseCache):
    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        qn = connection.ops.quote_name
        table, cache_key, value_col, expires_col = qn(self._table), qn("cache_key"), qn("value"), qn("expires")
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET {expires_col} = {expires_col} WHERE {cache_key} = %s", [key])
            cursor.execute(f"SELECT {value_col}, {expires_col} FROM {table} WHERE {cache_key} = %s", [key])
            row = cursor.fetchone()
            if row is None:
                raise ValueError(f"Key '{key}' not found")
            encoded, expires = row
            expression = models.Expression(output_field=models.DateTimeField())
            for converter in connection.ops.get_db_converters(expression) + expression.get_db_converters(connection):
                expires = converter(expires, expression, connection)
            if expires < timezone.now():
                raise ValueError(f"Key '{key}' not found")
            value = pickle.loads(base64.b64decode(encoded.encode())) + delta
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            cursor.execute(f"UPDATE {table} SET {value_col} = %s WHERE {cache_key} = %s", [encoded, key])
        return value

    def decr(self, key, delta=1, version=None):
        return self.incr(key, -delta, version=version)
