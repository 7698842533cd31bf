"""Which ORM objects a block of code builds from rows: the check that a hot path reads rows."""
import contextlib

from sqlalchemy import event


@contextlib.contextmanager
def orm_loads(*models):
    """Yields a list that collects the class name of every `models` instance loaded inside."""
    loaded: list[str] = []

    def count(target, context):
        loaded.append(type(target).__name__)

    for model in models:
        event.listen(model, "load", count)
    try:
        yield loaded
    finally:
        for model in models:
            event.remove(model, "load", count)
