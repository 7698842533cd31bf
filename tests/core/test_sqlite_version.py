"""The embedded default needs SQLite 3.35+ (UPDATE/INSERT ... RETURNING, ON CONFLICT): an older
library is refused when the app starts, with what to do, not at the first change someone makes."""
import sqlite3

import pytest

from couple import create_app
from tests.conftest import app_config


def test_an_old_sqlite_is_refused_at_start_with_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 34, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.34.1")
    with pytest.raises(RuntimeError,
                       match=r"SQLite 3\.35\.0 or newer.*SQLite 3\.34\.1.*PostgreSQL"):
        create_app(app_config(tmp_path))


def test_postgresql_does_not_ask_for_sqlite(monkeypatch, tmp_path, postgres_url):
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 31, 0))
    app = create_app(app_config(tmp_path, SQLALCHEMY_DATABASE_URI=postgres_url))
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


def test_this_sqlite_is_new_enough(tmp_path):
    assert sqlite3.sqlite_version_info >= (3, 35, 0)
    create_app(app_config(tmp_path))
