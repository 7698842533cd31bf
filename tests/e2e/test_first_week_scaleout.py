"""A couple's first week beyond one machine: Home's "what now" and the side-by-side progress stay
live when the partners are on two `python app.py` processes over PostgreSQL and Redis."""
import pytest
from playwright.sync_api import expect

from tests.support.servers import start_server

from .conftest import DESKTOP
from .test_boundaries import IDLE
from .test_first_week import PHONE, now_row
from .ui import invite, sign_up, user_id, wait_connected

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.mark.postgres
@pytest.mark.redis
def test_home_stays_live_across_two_processes_on_postgresql_and_redis(
        tmp_path, postgres_url, redis_url, unique_channel, open_partner):
    """Riley on process 1, Sam on process 2 (one database, one Redis): Home's "what now" and the
    side-by-side progress follow the partner's changes that reach it through the queue."""
    from tests.support.scaleout_helpers import migrate, shared_env

    from .ui import accept

    migrate(postgres_url)
    env = {**shared_env(postgres_url, redis_url, unique_channel), "COUPLE_RATELIMIT": "0"}
    servers = []
    try:
        servers.append(start_server(tmp_path, env=env, name="p1"))
        servers.append(start_server(tmp_path, env=env, name="p2"))
        p1, p2 = (s.url for s in servers)
        r = open_partner("rebuilding", viewport=PHONE)
        s = open_partner("supporting", viewport=DESKTOP, color_scheme="dark")
        sign_up(r, p1, "Riley")
        sign_up(s, p2, "Sam")
        link = invite(r, p1, "rebuilding")
        accept(s, link.replace(p1, p2))
        s.page.goto(p2 + "/home")
        wait_connected(s)
        r.page.goto(p1 + "/boundaries")
        r.page.wait_for_function(
            "() => Boolean(window.coupleBoundaries && window.coupleBoundaries.sync.synced)")
        words = "Each of us keeps a private journal; we share what we choose."
        r.page.get_by_role("button", name="Add a boundary to Privacy").click()
        r.page.keyboard.type(words)
        r.page.wait_for_function(IDLE)
        expect(now_row(s, "waiting").locator(".b-text")).to_have_text(words)
        r.page.locator("li.b-item").first.get_by_role("button", name="Accept this wording").click()
        expect(now_row(s, "waiting")).to_contain_text("(Riley accepted)")
        r.page.goto(p1 + "/guide")
        wait_connected(r)
        r.page.locator("#step-2").get_by_role("radio", name="Practising").click()
        rid = user_id(r)
        expect(s.page.locator(f'[data-strip-key="{rid}:rebuilding:2"]')).to_have_attribute(
            "data-state", "practising")
        for server in servers:
            assert "Traceback" not in server.log()
    finally:
        for server in servers:
            server.stop()
