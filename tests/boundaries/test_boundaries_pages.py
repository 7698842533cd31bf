"""The boundaries pages: the editor, the printable agreed list, a boundary's history; who may
see them (anonymous, unlinked, another couple: never)."""
from couple.accounts.models import User
from couple.boundaries import operations as ops
from couple.boundaries.content import content_hash
from couple.extensions import db
from tests.boundaries.boundaries_helpers import Editor

XSS = '<img src=x onerror="alert(1)"></script><script>alert(2)</script>'


def _setup(make_couple, login_as, socket_for):
    riley, sam = make_couple()
    ca, cb = login_as(riley), login_as(sam)
    a = Editor(socket_for(ca), riley.id)
    a.sync()
    agreed, _ = a.add("We are honest about money.", "expectations")
    pending, _ = a.add(XSS, "privacy")
    h = content_hash("We are honest about money.", "expectations")
    for user in (riley, sam):
        user = db.session.get(User, user.id)
        ops.approve_boundary(user.couple, user, agreed, h)
    return riley, sam, ca, cb, agreed, pending


def test_editor_page_renders_the_list_and_count(make_couple, login_as, socket_for):
    riley, sam, ca, cb, agreed, pending = _setup(make_couple, login_as, socket_for)
    page = cb.get("/boundaries").get_data(as_text=True)
    assert "<span data-agreed>1</span> of <span data-total>2</span> agreed" in page
    assert "We are honest about money." in page and "Agreed by both" in page
    assert 'id="boundaries-doc"' in page and "dist/boundaries.js" in page
    # User text is escaped wherever it appears, the embedded JSON included.
    assert XSS not in page and "<img src=x" not in page
    assert "&lt;img src=x" in page
    # Titles stay neutral.
    assert "<title>couple</title>" in page


def test_print_page_shows_only_agreed_boundaries(make_couple, login_as, socket_for):
    riley, sam, ca, cb, agreed, pending = _setup(make_couple, login_as, socket_for)
    page = ca.get("/boundaries/print").get_data(as_text=True)
    assert "We are honest about money." in page
    assert "&lt;img" not in page and "<img src=x" not in page  # not agreed: not printed


def test_history_page(make_couple, login_as, socket_for):
    riley, sam, ca, cb, agreed, pending = _setup(make_couple, login_as, socket_for)
    page = cb.get(f"/boundaries/{agreed}/history").get_data(as_text=True)
    assert page.count("accepted") >= 2 and "We are honest about money." in page
    assert cb.get("/boundaries/no-such-boundary/history").status_code == 404


def test_nobody_else_sees_the_pages(make_couple, make_user, login_as, socket_for, client):
    riley, sam, ca, cb, agreed, pending = _setup(make_couple, login_as, socket_for)
    for path in ("/boundaries", "/boundaries/print", f"/boundaries/{agreed}/history"):
        response = client.get(path)
        assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
    olive, otto = make_couple(make_user(name="Olive"), make_user(name="Otto"))
    stranger = login_as(olive)
    page = stranger.get("/boundaries").get_data(as_text=True)
    assert "We are honest about money." not in page and "0</span> of <span data-total>0" in page
    assert "We are honest" not in stranger.get("/boundaries/print").get_data(as_text=True)
    assert stranger.get(f"/boundaries/{agreed}/history").status_code == 404
    loner = login_as(make_user(name="Lone"))
    assert "Link with your partner" in loner.get("/boundaries").get_data(as_text=True)
    assert loner.get("/boundaries/print").status_code == 404
    assert loner.get(f"/boundaries/{agreed}/history").status_code == 404
