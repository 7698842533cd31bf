"""The security tests' shared fixture: the authorization matrix's world (tests/security/matrix.py),
built once per module that asks for it."""
import sqlite3

import pytest

from couple import create_app
from couple.extensions import db
from tests.conftest import CsrfClient, app_config
from tests.security.matrix import Matrix
from tests.support import authz
from tests.support.security_helpers import build_world


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("authz")
    app = create_app(app_config(tmp, RATELIMIT_ENABLED=False))
    app.test_client_class = CsrfClient
    ctx = app.app_context()
    ctx.push()
    db.create_all()
    world = build_world(app, authz.seeders())
    db.session.remove()
    db.engine.dispose()
    db_path = str(tmp / "test.sqlite3")
    template = str(tmp / "template.sqlite3")
    src, dst = sqlite3.connect(db_path), sqlite3.connect(template)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    db.session.remove()
    # No app context stays pushed while requests run: each request and socket event gets its
    # own, as in production (a shared one would share flask.g, and so Flask-Login's user).
    ctx.pop()
    yield Matrix(app, world, db_path, template)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
