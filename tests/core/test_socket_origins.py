"""The test suite's own guard (tests/support/socket_origins.py): a socket left open is reported
with the test and the line that opened it, not as a bare socket in an innocent later test."""

import gc
import socket
import warnings


def _finalized(make) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make()
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


def _open_and_forget():
    socket.socket()  # dropped at once, still open


def test_an_unclosed_socket_names_the_test_and_the_line_that_opened_it():
    texts = _finalized(_open_and_forget)
    assert len(texts) == 1, texts  # ours, and not the interpreter's as well
    text = texts[0]
    assert "test_an_unclosed_socket_names_the_test_and_the_line_that_opened_it" in text
    # The line of `socket.socket()` in _open_and_forget (the one after its `def`).
    line = _open_and_forget.__code__.co_firstlineno + 1
    assert f"{__file__}:{line} in _open_and_forget" in text
    assert "_pytest" not in text  # the runner's own frames say nothing


def test_a_closed_socket_says_nothing():
    def open_and_close():
        with socket.socket():
            pass

    assert _finalized(open_and_close) == []
