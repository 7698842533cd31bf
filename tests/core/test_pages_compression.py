"""Bundles and the style sheet travel gzipped; pages (which carry a CSRF token next to text a
user typed) never do, so a BREACH-style attacker has nothing to measure."""
import gzip

from tests.conftest import login


def test_static_bundles_are_gzipped(client):
    for path in ["/static/dist/app.js", "/static/app.css", "/static/dist/exit.js"]:
        r = client.get(path, headers={"Accept-Encoding": "gzip"})
        body = r.get_data()
        r.close()
        assert r.status_code == 200
        assert r.headers.get("Content-Encoding") == "gzip", path
        assert gzip.decompress(body)  # a real gzip body


def test_pages_are_never_compressed(client, make_user):
    login(client, make_user())
    for path in ["/home", "/safety", "/api/state"]:
        r = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert "Content-Encoding" not in r.headers, path


def test_quick_exit_is_on_signed_out_pages_too(client):
    for path in ["/", "/safety", "/login", "/signup"]:
        page = client.get(path).get_data(as_text=True)
        assert 'id="quick-exit"' in page and "dist/exit.js" in page
        assert "dist/app.js" not in page  # no socket for someone signed out


def test_hashed_asset_urls_are_cached_for_good_and_plain_ones_are_not(client):
    page = client.get("/").get_data(as_text=True)
    import re

    url = re.search(r'href="(/static/app\.css\?v=[0-9a-f]+)"', page).group(1)
    r = client.get(url)
    r.close()
    cache = r.headers["Cache-Control"]
    assert "immutable" in cache and "max-age=31536000" in cache
    r = client.get("/static/app.css")
    r.close()
    assert "immutable" not in (r.headers.get("Cache-Control") or "")
