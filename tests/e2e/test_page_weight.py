"""Page weight, measured (bench/page_weight.py) and checked in Chromium: a page loads no script
or stylesheet beyond what the count includes. Sizes are recorded, never asserted."""
import importlib.util

import pytest

from tests.conftest import add_to_summary
from tests.support.servers import ROOT

from .ui import linked_couple, wait_connected

pytestmark = [pytest.mark.browser, pytest.mark.server]


def load_bench():
    spec = importlib.util.spec_from_file_location("page_weight", ROOT / "bench" / "page_weight.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RESOURCES = """() => performance.getEntriesByType('resource')
  .filter((e) => e.initiatorType === 'script' || e.initiatorType === 'link' ||
                 /\\.(js|css)(\\?|$)/.test(e.name))
  .map((e) => new URL(e.name).pathname)"""


def test_page_weight_is_measured_and_complete(e2e_server, open_partner):
    bench = load_bench()
    result = bench.measure(e2e_server.url)
    bench.write(result)
    add_to_summary("page weight, bytes (bench/results/page_weight.json):\n" + bench.table(result))

    r, _s = linked_couple(open_partner, e2e_server.url)
    for path in bench.SIGNED_IN:
        r.page.goto(e2e_server.url + path)
        wait_connected(r)
        loaded = set(r.page.evaluate(RESOURCES))
        measured = result["pages"][f"partner {path}"]
        counted = {a["path"] for kind in ("js", "css") for a in measured[kind]}
        assert loaded <= counted, \
            f"{path} loads more than page_weight counts: {sorted(loaded - counted)}"
        assert counted, path
