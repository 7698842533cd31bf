"""psycopg's wait under gevent (couple/gevent_wait.py), in a gevent-patched process on the real
PostgreSQL: cooperative, past descriptor 1024, with timeouts and a server that goes away.

The suite's own process is not gevent-patched, so each case runs in a child Python that is,
the way app.py patches the server."""
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])

SCRIPT = textwrap.dedent('''
    from gevent import monkey

    monkey.patch_all()

    import resource
    import socket
    import sys

    import gevent
    import psycopg
    from psycopg import waiting

    import couple

    url = sys.argv[1]
    couple._check_psycopg_wait()
    assert waiting.wait.__name__ == "wait_gevent", waiting.wait

    # 1. Cooperative: while one greenlet's query runs, the others' run too. An observer sees
    # the sleeping queries active at the same moment (a blocking wait shows one at most).
    def sleeper(i):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("select pg_sleep(1.5), %s::int as sleeper", (i,))

    def observer():
        gevent.sleep(0.7)
        with psycopg.connect(url, autocommit=True) as conn:
            return conn.execute(
                "select count(*) from pg_stat_activity where state = 'active' "
                "and query like 'select pg_sleep(1.5)%%'").fetchone()[0]

    sleepers = [gevent.spawn(sleeper, i) for i in range(4)]
    seen = gevent.spawn(observer)
    gevent.joinall(sleepers + [seen], raise_error=True)
    print("overlapping", seen.value)

    # 2. Descriptors past 1024 (where gevent's select emulation raises after sending).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    held = [socket.socket() for _ in range(1100)]
    with psycopg.connect(url, autocommit=True) as conn:
        fd = conn.pgconn.socket
        value = conn.execute("select 41 + 1").fetchone()[0]
    print("high fd", fd, value)

    # 3. A statement timeout is PostgreSQL's error, and the connection stays usable.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set statement_timeout = 200")
        try:
            conn.execute("select pg_sleep(5)")
        except psycopg.errors.QueryCanceled:
            print("timeout refused")
        print("after timeout", conn.execute("select 1").fetchone()[0])

    # 4. The server ends the backend mid-query: an error, not a hang.
    with psycopg.connect(url, autocommit=True) as victim, \\
            psycopg.connect(url, autocommit=True) as killer:
        pid = victim.info.backend_pid
        g = gevent.spawn(lambda: victim.execute("select pg_sleep(5)"))
        gevent.sleep(0.5)
        killer.execute("select pg_terminate_backend(%s)", (pid,))
        g.join(timeout=30)
        print("terminated", isinstance(g.exception, psycopg.OperationalError) if g.ready()
              else "still waiting")
    for s in held:
        s.close()
''')


def test_psycopg_waits_in_the_hub(postgres_url, tmp_path):
    script = tmp_path / "wait_case.py"
    script.write_text(SCRIPT)
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    done = subprocess.run([sys.executable, str(script), url], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines()
                 if " " in line and not line.startswith("after"))
    assert int(done.stdout.split("overlapping ")[1].split()[0]) >= 3, done.stdout
    fd, value = lines["high"].split()[1:]
    assert int(fd) >= 1024 and value == "42", done.stdout
    assert "timeout refused" in done.stdout and "after timeout 1" in done.stdout, done.stdout
    assert "terminated True" in done.stdout, done.stdout
