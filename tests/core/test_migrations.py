"""Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from couple import MIGRATIONS
from couple.extensions import db


def _migrate_and_compare(app):
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="heads")
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "couples", "events", "invites", "reflections"} <= tables
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(directory=str(MIGRATIONS), revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.session.remove()
        db.engine.dispose()  # no pooled connection left for the garbage collector to close


def test_migrations_match_models_on_sqlite(tmp_path):
    from couple import create_app
    from tests.conftest import app_config

    _migrate_and_compare(create_app(app_config(tmp_path)))


@pytest.mark.postgres
def test_migrations_match_models_on_postgres(tmp_path, postgres_url):
    from couple import create_app
    from tests.conftest import app_config

    _migrate_and_compare(create_app(app_config(tmp_path, SQLALCHEMY_DATABASE_URI=postgres_url)))


def test_first_run_creates_the_database(tmp_path):
    """The embedded default: no set-up, the SQLite file and its tables appear on first start."""
    from couple import create_app
    from tests.conftest import app_config

    app = create_app(app_config(tmp_path, AUTO_MIGRATE=True))
    with app.app_context():
        assert "users" in inspect(db.engine).get_table_names()
        mode = db.session.execute(db.text("PRAGMA journal_mode")).scalar()
        sync = db.session.execute(db.text("PRAGMA synchronous")).scalar()
        db.session.remove()
        db.engine.dispose()
    assert mode == "wal" and sync == 2  # 2 = FULL
