"""The app's capabilities, in one tuple: the only list of them.

A capability is a package under couple/ that owns tables and offers a person something of their
own: its pages and JSON endpoints, a part of the client state, a part of their data. Each one
names what it brings in its `__init__.py`, and every place that needs "all of them" reads
CAPABILITIES instead of keeping its own list:

    blueprint() -> Blueprint            registered by create_app (couple/__init__.py)
    load_models() -> None               imports its tables (couple/models.py: create_all,
                                        Alembic, tests/core/test_migrations.py)
    load_sockets() -> None              imports its Socket.IO handlers before socketio.init_app
                                        (a no-op when it has none)
    state_collections(user) -> dict     its collections of the client state (couple/state.py);
                                        events patch exactly these
    export_for(user) -> dict            its top-level sections of the export
                                        (couple/accounts/data.py), JSON-serialisable
    erase_for(user) -> None             what deleting an account must remove beyond the
                                        cascades, in the deletion transaction, without commit

Order matters: state and export are built in this order, erasure runs in the reverse one (a
capability's rows go before the rows they refer to; accounts, last, deletes the user row).
Pages that belong to no single capability (landing, home, health) are couple/core, not one.

Adding a capability: write its package with those six functions, add it here; its migration is
a new Alembic branch from 0001_foundation (see docs/architecture.md, "Capabilities").
"""
from . import accounts, boundaries, commitments, conversations, guides, pairing

CAPABILITIES = (accounts, pairing, guides, commitments, boundaries, conversations)
