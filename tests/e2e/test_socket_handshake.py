"""Chromium offers permessage-deflate in its WebSocket handshake and the app declines it
(couple/web.py `socket_io_middleware`): read from the browser's own network log (the DevTools
protocol), so the offer the raw-client tests copy is the one a browser really sends."""
import pytest

from .ui import sign_up, wait_connected

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_chromium_offers_compression_and_the_app_declines_it(e2e_server, open_partner):
    w = open_partner("rebuilding")
    sign_up(w, e2e_server.url, "Riley")
    offered, answered = [], []
    cdp = w.context.new_cdp_session(w.page)
    cdp.on("Network.webSocketWillSendHandshakeRequest",
           lambda e: offered.append({k.lower(): v for k, v in e["request"]["headers"].items()}))
    cdp.on("Network.webSocketHandshakeResponseReceived",
           lambda e: answered.append(e["response"]))
    cdp.send("Network.enable")
    w.page.goto(e2e_server.url + "/home")
    wait_connected(w)
    for _ in range(100):  # the DevTools events are delivered on their own: wait up to 5 s
        if offered and answered:
            break
        w.page.wait_for_timeout(50)
    assert offered and answered, (offered, answered)
    assert "permessage-deflate" in offered[-1].get("sec-websocket-extensions", ""), offered
    response = answered[-1]
    assert response["status"] == 101, response
    assert not {k.lower() for k in response["headers"]} & {"sec-websocket-extensions"}, response
