"""The one tuple of capabilities (couple/capabilities.py): each names what it brings, and
every place that needs "all of them" (blueprints, tables, client state, export, erasure) is
built from the tuple alone."""
import inspect

from flask import Blueprint

from couple.accounts.models import User
from couple.capabilities import CAPABILITIES
from couple.extensions import db
from couple.state import state_for

INTERFACE = ("blueprint", "load_models", "load_sockets", "state_collections", "export_for",
             "erase_for")


def test_every_capability_names_what_it_brings():
    for capability in CAPABILITIES:
        for name in INTERFACE:
            fn = getattr(capability, name, None)
            assert callable(fn), f"{capability.__name__} lacks {name}()"
        assert isinstance(capability.blueprint(), Blueprint)


def test_the_app_registers_each_capabilitys_blueprint_and_only_core_besides(app):
    names = {capability.blueprint().name for capability in CAPABILITIES}
    assert set(app.blueprints) == names | {"core"}


def test_every_table_belongs_to_a_capability_or_the_event_log(app):
    """Beside the capabilities, only the two pieces of infrastructure every capability writes
    through own tables: the event log and the mail outbox (a person's unsent mail goes in
    accounts.operations.delete_account, with the user row)."""
    owners = ({capability.__name__ for capability in CAPABILITIES}
              | {"couple.events", "couple.mail"})
    for mapper in db.Model.registry.mappers:
        module = mapper.class_.__module__
        assert any(module == o or module.startswith(o + ".") for o in owners), module


def test_state_and_export_are_the_capabilities_parts_in_order(make_couple):
    riley, _sam = make_couple()
    user = db.session.get(User, riley.id)
    data = state_for(user)["data"]
    expected = []
    for capability in CAPABILITIES:
        expected += list(capability.state_collections(user))
    assert list(data) == expected
    from couple.accounts.data import export_for

    export = export_for(user)
    sections = ["format"]
    for capability in CAPABILITIES:
        sections += list(capability.export_for(user))
    assert list(export) == sections


def test_capability_packages_import_nothing_heavy_at_import_time():
    """A capability's __init__ only names functions (imports happen inside them), so the tuple
    can be imported from anywhere (models, state, data) without an import cycle."""
    for capability in CAPABILITIES:
        source = inspect.getsource(capability)
        top_level = [line for line in source.splitlines()
                     if line.startswith(("import ", "from "))]
        assert top_level == [], (capability.__name__, top_level)
