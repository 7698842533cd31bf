"""The authorization matrix's world, shared by every test that runs on it: the declared cases,
the world's SQLite file restored from a template before each request, and the rows a role must
not change. The `matrix` fixture (tests/security/conftest.py) builds one per module.
"""
import sqlite3

from flask import url_for
from sqlalchemy import inspect, text

from couple.events import couple_stream, user_stream
from couple.extensions import db
from tests.support import authz
from tests.support.security_helpers import client_with_cookies, cookies_of, snapshot

CASES, EVENT_CASES = authz.all_cases()


def _socket_change_rules() -> set[str]:
    """The POST rules couple/socket_changes.py also serves as the socket event `change`."""
    from couple import create_app
    from couple.socket_changes import CHANGES

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "SOCKETIO_ASYNC_MODE": "threading"})
    return {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint in CHANGES}


def _over_the_socket(case: authz.Case) -> authz.EventCase:
    """An HTTP case of such a rule, tried again as `change` {path, body}: what the route refuses
    (a login redirect, a 4xx) the socket refuses with an error ack, and a role that may act
    through the route may act through the socket, with the same row checks. A role acting on
    its own data (SELF) may be heard by its partner: its own progress is the couple's news."""
    expect = {role: {authz.LOGIN: authz.REFUSED, authz.SELF: authz.SELF, authz.OK: authz.OK}
              .get(exp, authz.ERROR) for role, exp in case.expect.items()}

    def payload(world):
        return {"path": case_url(world.app, case, world), "body": case.body(world) or {}}

    return authz.EventCase("change", expect, payload=payload, note=f"POST {case.rule}",
                           own_events_heard=True, source=case.source)


SOCKET_CHANGE_RULES = _socket_change_rules()
EVENT_CASES += [_over_the_socket(c) for c in CASES
                if c.method == "POST" and c.rule in SOCKET_CHANGE_RULES]


class Matrix:
    def __init__(self, app, world, db_path, template):
        self.app, self.world, self.db_path, self.template = app, world, db_path, template
        self.jars = {role: cookies_of(c) for role, c in world.clients.items()}

    def restore(self):
        """Put every row back as the world was built; give each role its original cookies."""
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        src, dst = sqlite3.connect(self.template), sqlite3.connect(self.db_path)
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
        for role, jar in self.jars.items():
            self.world.clients[role] = client_with_cookies(self.app, jar)

    def snapshot(self, **kwargs):
        with self.app.app_context():
            return snapshot(**kwargs)

    def protected(self, role):
        with self.app.app_context():
            return protected_rows(self.world, role)


def _all_rows():
    db.session.remove()
    out = {}
    insp = inspect(db.engine)
    with db.engine.connect() as conn:
        for table in insp.get_table_names():
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).mappings()
            out[table] = [dict(r) for r in rows]
    return out, insp


def protected_rows(world, role) -> dict:
    """The rows `role` must not change: the owner's (for non-members also the couple's and the
    partner's), and every row that reaches those through foreign keys."""
    owner, partner = world.users["owner"].id, world.users["partner"].id
    if role == "partner":
        users, couples, skip = {owner}, set(), {"couples"}
    else:
        users, couples, skip = {owner, partner}, {world.couple_id}, set()
    rows, insp = _all_rows()
    pks = {t: (insp.get_pk_constraint(t)["constrained_columns"] or []) for t in rows}
    fks = {t: insp.get_foreign_keys(t) for t in rows}
    owned = {t: set() for t in rows}
    owned["users"] = set(users)
    owned.setdefault("couples", set()).update(couples)

    def pk(table, row):
        cols = pks[table]
        return tuple(row[c] for c in cols) if len(cols) != 1 else row[cols[0]]

    changed = True
    while changed:
        changed = False
        for table, table_rows in rows.items():
            if table in skip:
                continue
            for fk in fks[table]:
                ref = fk["referred_table"]
                if not owned.get(ref) or len(fk["constrained_columns"]) != 1:
                    continue
                col = fk["constrained_columns"][0]
                for row in table_rows:
                    if row[col] in owned[ref] and pk(table, row) not in owned[table]:
                        owned[table].add(pk(table, row))
                        changed = True
    streams = {user_stream(u) for u in users} | {couple_stream(c) for c in couples}
    out = {}
    for table, table_rows in rows.items():
        keep = [r for r in table_rows if pk(table, r) in owned[table]]
        if table == "events":
            keep = [r for r in table_rows if r["stream"] in streams or r["actor_id"] in users]
        out[table] = sorted(repr(sorted(r.items())) for r in keep)
    return out


def case_url(app, case, world) -> str:
    """The URL of a case's rule, with the ids its params name in this world."""
    matches = [r for r in app.url_map.iter_rules()
               if r.rule == case.rule and case.method in r.methods]
    assert matches, f"no rule {case.key}"
    with app.test_request_context():
        return url_for(matches[0].endpoint, **case.params(world))
