"""The two deployments every test that crosses a real socket runs on: the embedded default as
`make run` starts it (`python app.py`: gevent + SQLite, one process) and two processes over
PostgreSQL + Redis (a socket on the second process, its changes made through the first).

The fixture `deployment` is a plugin of tests/conftest.py (pytest_plugins): any test takes it.
`@pytest.mark.deployment_env(COUPLE_NAME="value")` starts its processes with those settings.
"""
import pytest

from tests.support.raw_socketio import RawSocket
from tests.support.scaleout_helpers import migrate, shared_env
from tests.support.servers import cookie_header, start_server

LOG_ALARMS = ("Traceback", "QueuePool", "could not disconnect", "Error on request")


class Deployment:
    def __init__(self, servers):
        self.servers = servers
        self.opened = []

    @property
    def first(self):
        return self.servers[0].url

    @property
    def last(self):
        # The socket lives on the other process when there are two: the cut must travel.
        return self.servers[-1].url

    def keep(self, thing):
        self.opened.append(thing)
        return thing

    def raw(self, session, url=None) -> RawSocket:
        return self.keep(RawSocket(url or self.last, cookie_header(session)))

    @property
    def database_url(self) -> str:
        """The database the processes share (SQLite in the embedded one's instance folder)."""
        server = self.servers[0]
        return server.env.get("COUPLE_DATABASE_URL") or \
            f"sqlite:///{server.instance / 'couple.sqlite3'}"

    def logs(self) -> str:
        return "\n".join(s.log() for s in self.servers)

    def assert_clean_logs(self):
        log = self.logs()
        for alarm in LOG_ALARMS:
            assert alarm not in log, log[-4000:]


@pytest.fixture(params=["embedded", "postgres+redis"])
def deployment(request, tmp_path):
    marker = request.node.get_closest_marker("deployment_env")
    extra = dict(marker.kwargs) if marker else {}
    if request.param == "embedded":
        servers = [start_server(tmp_path, env=extra, name="embedded")]
    else:
        postgres_url = request.getfixturevalue("postgres_url")
        redis_url = request.getfixturevalue("redis_url")
        channel = request.getfixturevalue("unique_channel")
        migrate(postgres_url)
        env = {**shared_env(postgres_url, redis_url, channel), **extra}
        servers = [start_server(tmp_path, env=env, name="p1")]
        try:
            servers.append(start_server(tmp_path, env=env, name="p2"))
        except BaseException:
            servers[0].stop()
            raise
    d = Deployment(servers)
    try:
        yield d
    finally:
        for thing in d.opened:
            thing.close()
        for s in servers:
            s.stop()
