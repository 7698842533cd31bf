"""The app's psycopg cursor (couple/pg_cursor.py): a description whose Column objects are built
on first use says exactly what psycopg's own says, about the result it was made for."""
import psycopg
from sqlalchemy import text

from couple.extensions import db
from couple.pg_cursor import Cursor, LazyDescription


def _plain_and_lazy(url: str, sql: str):
    url = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url) as conn:
        plain = conn.cursor()
        plain.execute(sql)
        expected = plain.description
        expected = None if expected is None else [(tuple(c), c.type_display) for c in expected]
        conn.rollback()
        lazy = Cursor(conn)
        lazy.execute(sql)
        got = lazy.description
        conn.rollback()
    return expected, got


SQL = [
    "SELECT 1 AS one, 'x'::text AS word, now() AS at, NULL::date AS day, 2.5::numeric(4,2) AS n",
    "SELECT",  # tuples, no columns
    "CREATE TEMP TABLE t (id int)",  # no tuples at all
    "CREATE TEMP TABLE t (id int); INSERT INTO t VALUES (1) RETURNING id, id * 2 AS twice",
]


def test_the_description_is_psycopgs_own(postgres_url):
    for sql in SQL:
        expected, got = _plain_and_lazy(postgres_url, sql)
        if expected is None:
            assert got is None, sql
            continue
        assert isinstance(got, LazyDescription) and got._columns is None, sql
        assert len(got) == len(expected), sql
        assert [(tuple(c), c.type_display) for c in got] == expected, sql
        if expected:
            assert got[0].name == expected[0][0][0] and got[-1][0] == expected[-1][0][0], sql


def test_a_description_keeps_describing_its_own_result(postgres_url):
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url, cursor_factory=Cursor) as conn:
        cur = conn.cursor()
        cur.execute("SELECT 1 AS first_column")
        first = cur.description
        cur.execute("SELECT 'a' AS other, 2 AS second")
        assert [c.name for c in first] == ["first_column"]
        assert [c.name for c in cur.description] == ["other", "second"]


def test_the_app_runs_its_statements_through_it(app_factory, postgres_url):
    app = app_factory(SQLALCHEMY_DATABASE_URI=postgres_url)
    with app.app_context():
        result = db.session.execute(text("SELECT 1 AS one, 'two' AS two"))
        assert isinstance(result.cursor, Cursor)
        assert list(result.mappings()) == [{"one": 1, "two": "two"}]
        db.session.rollback()
