from tests.conftest import login


def test_signup_login_home(client, make_user):
    user = make_user()
    login(client, user)
    page = client.get("/home")
    assert page.status_code == 200
    assert "not linked with a partner yet" in page.get_data(as_text=True)
