"""Requests sent at the same instant: each from its own thread, released by one barrier, so
their transactions really overlap (the race tests of commitments and conversations, on
PostgreSQL)."""
import threading


def race(requests):
    """Send each (client, url, body) from its own thread at the same instant."""
    barrier = threading.Barrier(len(requests))
    answers = [None] * len(requests)

    def go(i, client, url, body):
        barrier.wait()
        r = client.post(url, json=body)
        answers[i] = (r.status_code, r.get_json())

    threads = [threading.Thread(target=go, args=(i, *req)) for i, req in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers
