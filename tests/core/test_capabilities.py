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
            assert callable(fn), f"{capability.package} lacks {name}()"
        assert isinstance(capability.blueprint(), Blueprint)


def test_the_app_registers_each_capabilitys_blueprint_and_only_core_besides(app):
    names = {capability.blueprint().name for capability in CAPABILITIES}
    assert set(app.blueprints) == names | {"core"}


def test_every_table_belongs_to_a_capability_or_the_event_log(app):
    """Beside the capabilities, only the two pieces of infrastructure every capability writes
    through own tables: the event log and the mail outbox (a person's unsent mail goes in
    accounts.operations.delete_account, with the user row)."""
    owners = ({capability.package for capability in CAPABILITIES}
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


def test_every_part_a_row_names_exists_and_packages_hold_no_code():
    """A row's "module:function" must resolve (a typo must not silently drop a part of the
    state, the export or the erasure), and a capability's __init__ is its docstring alone, so
    the table can be imported from anywhere (models, state, data) without an import cycle."""
    import ast
    import importlib

    for capability in CAPABILITIES:
        for name, where in capability.parts.items():
            if where is not None:
                part = capability._part(name)
                assert isinstance(part, Blueprint) if name == "blueprint" else callable(part), (
                    capability, name, where)
        for module in capability.models + capability.sockets:
            importlib.import_module(f"{capability.package}.{module}")
        package = importlib.import_module(capability.package)
        tree = ast.parse(inspect.getsource(package))
        assert [type(node) for node in tree.body] == [ast.Expr], capability.package
        assert isinstance(tree.body[0].value, ast.Constant), capability.package
