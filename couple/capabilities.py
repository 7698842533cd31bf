"""The app's capabilities, in one tuple: the only list of them.

A capability is a package under couple/ that owns tables and offers a person something of their
own: its pages and JSON endpoints, a part of the client state, a part of their data. Its row
below names where each of its parts lives ("module:function", inside the package), and every
place that needs "all of them" reads CAPABILITIES instead of keeping its own list:

    blueprint() -> Blueprint            registered by create_app (couple/__init__.py)
    load_models() -> None               imports its tables (couple/models.py: create_all,
                                        Alembic, tests/core/test_migrations.py)
    load_sockets() -> None              imports its Socket.IO handlers before socketio.init_app
    state_collections(user) -> dict     its collections of the client state (couple/state.py);
                                        events patch exactly these
    export_for(user) -> dict            its top-level sections of the export
                                        (couple/accounts/data.py), JSON-serialisable
    erase_for(user) -> None             what deleting an account must remove beyond the
                                        cascades, in the deletion transaction, without commit

A part left out is a part the capability does not have (each row says why). Modules are
imported when a part is first used, so this table can be imported from anywhere (models,
state, data) without an import cycle.

Order matters: state and export are built in this order, erasure runs in the reverse one (a
capability's rows go before the rows they refer to; accounts, last, deletes the user row).
Pages that belong to no single capability (landing, home, health) are couple/core, not one.

Adding a capability: write its package, add its row here; its migration is a new Alembic
branch from 0001_foundation (see docs/architecture.md, "Capabilities").
"""
from importlib import import_module


class Capability:
    """One capability: its package and where each of its parts lives."""

    def __init__(self, package: str, *, models=("models",), sockets=(), state=None,
                 export=None, erase=None, blueprint="routes:bp"):
        self.package = f"{__package__}.{package}"
        self.parts = {"blueprint": blueprint, "state_collections": state,
                      "export_for": export, "erase_for": erase}
        self.models, self.sockets = tuple(models), tuple(sockets)

    def __repr__(self) -> str:
        return f"<Capability {self.package}>"

    def _part(self, name: str):
        where = self.parts[name]
        if where is None:
            return None
        module, attr = where.split(":")
        return getattr(import_module(f"{self.package}.{module}"), attr)

    def blueprint(self):
        return self._part("blueprint")

    def load_models(self) -> None:
        for module in self.models:
            import_module(f"{self.package}.{module}")

    def load_sockets(self) -> None:
        for module in self.sockets:
            import_module(f"{self.package}.{module}")

    def state_collections(self, user) -> dict:
        fn = self._part("state_collections")
        return fn(user) if fn else {}

    def export_for(self, user) -> dict:
        fn = self._part("export_for")
        return fn(user) if fn else {}

    def erase_for(self, user) -> None:
        fn = self._part("erase_for")
        if fn:
            fn(user)


CAPABILITIES = (
    # No state of its own (a person's name and role are in the couple's info: pairing); its
    # sessions' sockets are cut through couple/sockets.py.
    Capability("accounts", export="data:account_export", erase="data:account_erase"),
    # Linking and unlinking travel as events on the person's own stream. Erasure: invitations
    # go with the user row; a couple keeps its row (member ids become NULL) and its event log
    # is deleted with the account's (accounts).
    Capability("pairing", state="state:state_collections", export="data:export_for"),
    # Progress and reflections travel as events; they and drafts go with the user row.
    Capability("guides", models=("drafts", "models"), state="operations:state_collections",
               export="data:export_for"),
    # Commitments travel as events. Erasure: a person's commitments (with their marks and
    # history) and acknowledgements go with the user row; the partner's stay theirs.
    Capability("commitments", state="state:state_collections", export="data:export_for"),
    # The shared document has its own socket messages (Yjs sync and presence).
    Capability("boundaries", sockets=("sockets",), state="reading:state_collections",
               export="data:export_for", erase="data:erase_for"),
    # Every step is a POST through the one change path; conversations travel as events.
    Capability("conversations", state="operations:state_collections",
               export="operations:export_for", erase="operations:erase_for"),
)
