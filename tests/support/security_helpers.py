"""Helpers for the security tests: database snapshots and canary searches, and the "world"
the authorization matrix and the canary tests run in.

The world: Riley (rebuilding, the *owner* of the objects under test) linked with Sam (the
*partner*); Alex and Blake, another couple (Alex is the *stranger*); Lee, signed up and linked
with nobody (the *loner*); and *anonymous*. Riley has a private reflection holding CANARY, a
shared reflection, progress; Sam has a private reflection holding PARTNER_CANARY. Each
`tests/<capability>/authz_cases_<name>.py` may add its own objects with a `seed(world)` function
(see tests/support/authz.py for the format).
"""
import re
import uuid
from dataclasses import dataclass, field

from sqlalchemy import inspect, text

from couple.extensions import db
from tests.conftest import PASSWORD, login

ROLES = ("anonymous", "loner", "stranger", "partner", "owner")


def new_canary(label: str = "CANARY") -> str:
    # Letters and digits only: survives JSON, HTML escaping and URL encoding unchanged.
    return f"{label}{uuid.uuid4().hex}"


def table_names() -> list[str]:
    return sorted(inspect(db.engine).get_table_names())


def snapshot(ignore: tuple[str, ...] = ()) -> dict:
    """Every row of every table (as reprs), to diff before/after a request."""
    db.session.remove()
    out = {}
    with db.engine.connect() as conn:
        for table in table_names():
            if table in ignore:
                continue
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).mappings().all()
            out[table] = sorted(repr(sorted(dict(r).items())) for r in rows)
    return out


def diff(before: dict, after: dict) -> dict:
    """{table: {"gone": [...], "new": [...]}} for every table whose rows differ."""
    out = {}
    for table in sorted(set(before) | set(after)):
        a, b = set(before.get(table, [])), set(after.get(table, []))
        if a != b:
            out[table] = {"gone": sorted(a - b), "new": sorted(b - a)}
    return out


def search_database(*needles: str) -> list[tuple[str, str, str]]:
    """Every (table, column, value excerpt) in the whole database whose value contains a needle.

    Every column of every table, whatever its type (text, JSON, binary blobs such as Yjs
    updates, numbers): each value is searched as text and, for bytes, as UTF-8 and UTF-16.
    """
    hits = []
    db.session.remove()
    with db.engine.connect() as conn:
        for table in table_names():
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).mappings().all()
            for row in rows:
                for column, value in row.items():
                    if value is None:
                        continue
                    if isinstance(value, (bytes, bytearray, memoryview)):
                        raw = bytes(value)
                        texts = [raw.decode("utf-8", "replace"), raw.decode("utf-16-le", "replace")]
                    else:
                        texts = [str(value)]
                    for needle in needles:
                        if any(needle in t for t in texts):
                            hits.append((table, column, str(value)[:120]))
    return hits


def text_columns() -> dict[str, list[str]]:
    """Each table's text/JSON/binary columns (what a canary could hide in)."""
    out = {}
    insp = inspect(db.engine)
    for table in table_names():
        cols = [c["name"] for c in insp.get_columns(table)
                if re.search(r"CHAR|TEXT|JSON|BLOB|BYTEA|BINARY|CLOB", str(c["type"]).upper())]
        out[table] = cols
    return out


@dataclass
class World:
    app: object
    canary: str
    partner_canary: str
    shared_text: str
    users: dict = field(default_factory=dict)     # role -> User (owner, partner, stranger, ...)
    clients: dict = field(default_factory=dict)   # role -> signed-in test client (None: anon)
    ids: dict = field(default_factory=dict)       # objects the case files seed, by name
    couple_id: int | None = None
    stranger_couple_id: int | None = None

    def client(self, role: str):
        if role == "anonymous":
            return self.app.test_client()
        return self.clients[role]

    def victim_user_ids(self) -> set[int]:
        return {self.users["owner"].id, self.users["partner"].id}


def build_world(app, seeders=()) -> World:
    """Create the people, the two couples and their data; log everyone in through /login."""
    from couple.accounts.operations import sign_up
    from couple.guides import operations as guides
    from couple.pairing.operations import accept_invite, create_invite

    world = World(app=app, canary=new_canary(), partner_canary=new_canary("PCANARY"),
                  shared_text=new_canary("SHARED"))
    suffix = uuid.uuid4().hex[:8]
    people = {
        "owner": ("Riley", "rebuilding"), "partner": ("Sam", "supporting"),
        "stranger": ("Alex", "rebuilding"), "stranger_partner": ("Blake", "supporting"),
        "loner": ("Lee", None),
    }
    for role, (name, _) in people.items():
        world.users[role] = sign_up(f"{name.lower()}-{suffix}@example.com", name, PASSWORD)
    for a, b in (("owner", "partner"), ("stranger", "stranger_partner")):
        invite, _t, _c = create_invite(world.users[a], "rebuilding")
        accept_invite(invite, world.users[b])
    db.session.expire_all()
    owner, partner = world.users["owner"], world.users["partner"]
    world.couple_id = owner.couple_id
    world.stranger_couple_id = world.users["stranger"].couple_id
    guides.save_reflection(owner, 1, f"private thought {world.canary}", None)
    guides.save_reflection(owner, 2, f"shared thought {world.shared_text}", None)
    guides.share_reflection(owner, 2, True)
    guides.set_step_state(owner, 1, "working")
    guides.save_reflection(partner, 1, f"partner private {world.partner_canary}", None)
    guides.set_step_state(partner, 1, "practising")
    for seed in seeders:
        seed(world)
    db.session.expire_all()
    # Loaded, then detached: the matrix restores the database under these objects, and their
    # ids and couple ids are all a test reads from them afterwards.
    for user in world.users.values():
        db.session.refresh(user)
        db.session.expunge(user)
    for role in ("owner", "partner", "stranger", "loner"):
        c = app.test_client()
        login(c, world.users[role])
        world.clients[role] = c
    return world


def assert_no_canary(body, *canaries: str, where: str = "") -> None:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    body = str(body)
    for c in canaries:
        assert c not in body, f"a private canary leaked {where}"


def cookies_of(client) -> list[tuple[str, str, str]]:
    """(name, value, domain) of every cookie a test client holds: a captured cookie jar."""
    return [(c.key, c.value, c.domain) for c in client._cookies.values()]


def client_with_cookies(app, cookies):
    """A fresh client replaying a captured cookie jar (an attacker who copied the cookies)."""
    c = app.test_client()
    for name, value, domain in cookies:
        c.set_cookie(name, value, domain=domain)
    return c


def selected(request, test) -> list:
    """The items of `test` (a test function, every parametrization) this pytest session
    selected: a summary test compares what ran with what was selected, so a `-k` run of a
    part still passes, and a full run must reach its floors."""
    return [item for item in request.session.items if getattr(item, "function", None) is test]


def selected_params(request, test, name: str) -> set:
    """The values of parameter `name` of the selected parametrizations of `test`."""
    return {item.callspec.params[name] for item in selected(request, test)}
