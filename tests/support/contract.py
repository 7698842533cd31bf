"""The event contract, one harness for every capability (Zulip's verify_action).

For an action (an operation, a socket event), each watched person's state before + the "ev"
events their socket received == a fresh fetch of their state after. Also: events arrive in
sequence order without gaps, none changes nothing (it would be noise on a partner's screen),
and, where asked, which event types each person got.

It reads only what a page reads (`couple.state.state_for`, `couple.realtime.apply_event`, the
socket's packets): no capability's private helpers, so a new capability's tests use it as is.

    contract = Contract.for_sockets({user.id: socket_for(login_as(user)) for user in people})
    contract.verify(lambda: operation(...), types=["thing.changed"])

`receivers` maps a user id to a function returning the packets that person's socket received
since the last call (a test client's `get_received`, or an editor's `receive`, which first
applies the Yjs packets it finds).
"""
import copy
from collections.abc import Callable

from couple.accounts.models import User
from couple.extensions import db
from couple.realtime import apply_event
from couple.state import state_for
from tests.conftest import events_named


def fresh_state(user_id: int) -> dict:
    """What a page of this person would fetch now (the `reset` path)."""
    db.session.expire_all()
    return state_for(db.session.get(User, user_id))


class Contract:
    def __init__(self, receivers: dict[int, Callable[[], list]], *, same_for_all: bool = False):
        """`same_for_all`: every watched person must get the same event types (both partners
        of a couple, for a capability without private events)."""
        self.receivers = dict(receivers)
        self.same_for_all = same_for_all

    @classmethod
    def for_sockets(cls, sockets: dict, **kwargs) -> "Contract":
        """Watch Socket.IO test clients; what they received before now is dropped."""
        for sock in sockets.values():
            assert sock.is_connected()
            sock.get_received()
        return cls({uid: sock.get_received for uid, sock in sockets.items()}, **kwargs)

    def verify(self, action: Callable, *, types: list[str] | None = None,
               reload: bool = False):
        """Run `action` and check the contract for every watched person; returns its result.

        `types`: the event types every watched person must receive, in order ([] = none).
        `reload`: the action must tell every watched person to reload (a pairing change); the
        state is then fetched again, not compared event by event.
        """
        before = {uid: fresh_state(uid) for uid in self.receivers}
        result = action()
        seen = {}
        for uid, receive in self.receivers.items():
            received = events_named(receive())
            seen[uid] = [ev["type"] for ev in received]
            state = apply_in_order(before[uid], received, uid)
            if reload:
                assert state is None, f"user {uid}: no event told the page to reload"
                continue
            assert state is not None, f"user {uid}: an unexpected reload event"
            assert_same_state(state, fresh_state(uid), uid)
        if self.same_for_all:
            assert len({tuple(t) for t in seen.values()}) <= 1, f"not the same events: {seen}"
        if types is not None:
            for uid, got in seen.items():
                assert got == types, f"user {uid} got {got}, expected {types}"
        return result


def apply_in_order(before: dict, received: list[dict], uid) -> dict | None:
    """`before` with the events applied as live.js applies them; None once one says reload."""
    state = copy.deepcopy(before)
    for ev in received:
        assert ev["seq"] == state["seqs"][ev["stream"]] + 1, (
            f"user {uid}: {ev['type']} seq {ev['seq']} is not the next on {ev['stream']}: "
            "events arrive in order, no gaps")
        state["seqs"][ev["stream"]] = ev["seq"]
        if ev["data"].get("reload"):
            return None  # the page refetches; nothing to compare event by event
        changed = apply_event(copy.deepcopy(state["data"]), ev)
        assert changed != state["data"], f"user {uid}: event {ev['type']} changes nothing"
        state["data"] = changed
    return state


def assert_same_state(state: dict, fresh: dict, uid) -> None:
    """Collection by collection first (a readable failure), then the whole, seqs included."""
    for name in sorted(set(state["data"]) | set(fresh["data"])):
        assert state["data"].get(name) == fresh["data"].get(name), (
            f"user {uid}: collection {name!r}: initial state + events != fresh fetch")
    assert state == fresh, f"user {uid}: initial state + events != fresh fetch"
