"""The real `python app.py` process: starts, serves pages, and links a couple."""
import pytest

from tests.support.servers import link_couple, signup, start_server

pytestmark = pytest.mark.server


def test_real_server_links_a_couple(tmp_path):
    server = start_server(tmp_path)
    try:
        a = signup(server.url, "Riley", "riley@example.com")
        b = signup(server.url, "Sam", "sam@example.com")
        couple_id = link_couple(server.url, a, b)
        assert couple_id > 0
        home = b.get(server.url + "/home").text
        assert "Riley" in home
    finally:
        server.stop()
