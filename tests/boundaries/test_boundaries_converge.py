"""Convergence with the real Yjs client against a real running server (tests/js/converge.mjs).

Three Yjs clients (two tabs of one partner, one of the other) make thousands of random
concurrent edits, moves and reconnects; afterwards every client, a freshly connected fourth
one, and the document rebuilt from the server's database hold the same content, and every
character typed and not deleted is there exactly once. The server compacts its log every few
dozen updates meanwhile, so compaction runs under concurrent writes too. Astral characters
(surrogate pairs) are typed and deleted at random UTF-16 offsets through the page's binding
diff. Runs on `python app.py` (5,000 operations) and on two processes over PostgreSQL + Redis
(10,000 operations).
"""
import json

import pytest

from tests.boundaries.boundaries_helpers import content_of
from tests.conftest import need
from tests.support.node import node_ready, run_node
from tests.support.servers import cookie_header, link_couple, login, signup, start_server

pytestmark = [pytest.mark.server, pytest.mark.node]
OPS = 5000


def stored_content(app_factory, server) -> list:
    """The document as the server's database holds it, rebuilt by a separate app."""
    from couple.boundaries import store
    from couple.extensions import db

    app = app_factory(SQLALCHEMY_DATABASE_URI=f"sqlite:///{server.instance / 'couple.sqlite3'}")
    with app.app_context():
        from couple.pairing.models import Couple

        couple_id = db.session.query(Couple.id).scalar()
        out = [list(row) for row in content_of(store.load_doc(couple_id))]
        db.session.remove()
    return out


def test_real_yjs_clients_converge(tmp_path, app_factory):
    need(node_ready(), "Node.js with the npm packages installed (npm ci)")
    server = start_server(tmp_path, env={"COUPLE_BOUNDARIES_COMPACT_EVERY": "40"})
    try:
        riley = signup(server.url, "Riley", "riley@example.com")
        sam = signup(server.url, "Sam", "sam@example.com")
        link_couple(server.url, riley, sam)
        riley_tab2 = login(server.url, "riley@example.com")
        sam_tab2 = login(server.url, "sam@example.com")
        ids = {name: s.get(server.url + "/api/state").json()["data"]["couple"]["info"]["me"]["id"]
               for name, s in (("riley", riley), ("sam", sam))}
        config = {
            "url": server.url,
            "ops": OPS,
            "seed": 20240611,
            "editors": [
                {"cookie": cookie_header(riley), "userId": ids["riley"]},
                {"cookie": cookie_header(riley_tab2), "userId": ids["riley"]},
                {"cookie": cookie_header(sam), "userId": ids["sam"]},
            ],
            "fresh": {"cookie": cookie_header(sam_tab2), "userId": ids["sam"]},
        }
        for session in (riley, sam, riley_tab2, sam_tab2):
            session.close()  # the cookies are all the Node clients need
        result = run_node("converge.mjs", config)
        print("convergence run:", json.dumps(result["size"]))
        final = result["clients"][0]
        assert all(c == final for c in result["clients"])
        assert result["fresh"] == final
        assert result["missing"] == 0 and result["extra"] == 0
        # Lost acks (a socket dropped mid-send) are expected and healed by the next handshake;
        # a refusal would mean the server threw a real client's edit away.
        refused = [p for p in result["problems"] if p.get("code")]
        assert refused == [], refused[:5]
        assert result["size"]["ops"] >= OPS - 3 and result["size"]["reconnects"] > 10
        server.stop()
        assert stored_content(app_factory, server) == final
        assert "Traceback" not in server.log(), server.log()[-3000:]
    finally:
        server.stop()


@pytest.mark.postgres
@pytest.mark.redis
def test_real_yjs_clients_converge_across_two_processes(tmp_path, app_factory, postgres_url,
                                                         redis_url, unique_channel):
    """The same fuzz, 10,000 operations (surrogate pairs typed and deleted among them), the
    editors spread over two processes sharing PostgreSQL and Redis, compaction running."""
    from couple.boundaries import store
    from couple.extensions import db
    from tests.support.scaleout_helpers import migrate, shared_env

    need(node_ready(), "Node.js with the npm packages installed (npm ci)")
    migrate(postgres_url)
    env = {**shared_env(postgres_url, redis_url, unique_channel),
           "COUPLE_BOUNDARIES_COMPACT_EVERY": "40"}
    servers = []
    try:
        servers.append(start_server(tmp_path, env=env, name="p1"))
        servers.append(start_server(tmp_path, env=env, name="p2"))
        urls = [s.url for s in servers]
        riley = signup(urls[0], "Riley", "riley@example.com")
        sam = signup(urls[1], "Sam", "sam@example.com")
        link_couple(urls[0], riley, sam)
        riley_tab2 = login(urls[1], "riley@example.com")
        sam_tab2 = login(urls[0], "sam@example.com")
        ids = {name: s.get(url + "/api/state").json()["data"]["couple"]["info"]["me"]["id"]
               for name, s, url in (("riley", riley, urls[0]), ("sam", sam, urls[1]))}
        config = {
            "urls": urls,
            "ops": 2 * OPS,
            "seed": 20261201,
            "editors": [
                {"cookie": cookie_header(riley), "userId": ids["riley"]},
                {"cookie": cookie_header(riley_tab2), "userId": ids["riley"]},
                {"cookie": cookie_header(sam), "userId": ids["sam"]},
            ],
            "fresh": {"cookie": cookie_header(sam_tab2), "userId": ids["sam"]},
        }
        for session in (riley, sam, riley_tab2, sam_tab2):
            session.close()  # the cookies are all the Node clients need
        result = run_node("converge.mjs", config, timeout=600)
        print("convergence run (two processes):", json.dumps(result["size"]))
        final = result["clients"][0]
        assert all(c == final for c in result["clients"])
        assert result["fresh"] == final
        assert result["missing"] == 0 and result["extra"] == 0
        refused = [p for p in result["problems"] if p.get("code")]
        assert refused == [], refused[:5]
        assert result["size"]["ops"] >= 2 * OPS - 3 and result["size"]["pairs"] > 100
        for s in servers:
            s.stop()
        app = app_factory(SQLALCHEMY_DATABASE_URI=postgres_url)
        with app.app_context():
            from couple.pairing.models import Couple

            couple_id = db.session.query(Couple.id).scalar()
            assert [list(r) for r in content_of(store.load_doc(couple_id))] == final
            db.session.remove()
            db.engine.dispose()
        for s in servers:
            assert "Traceback" not in s.log(), s.log()[-3000:]
    finally:
        for s in servers:
            s.stop()
