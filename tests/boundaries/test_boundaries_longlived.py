"""bench/boundaries_longlived.py at a small scale: after thousands of keystrokes with heavy
deleting, moves, reloads and offline stretches (through operations.receive_message, the real
server path), the editor still opens and syncs, every copy agrees, and the stored size stays
bounded by compaction. The full-size run (>= 100,000 keystrokes) is the benchmark itself."""
import importlib.util

from tests.support.servers import ROOT


def _bench():
    spec = importlib.util.spec_from_file_location(
        "boundaries_longlived", ROOT / "bench" / "boundaries_longlived.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_long_edited_document_still_opens_syncs_and_stays_small(app_factory):
    app = app_factory(BOUNDARIES_COMPACT_EVERY=60)
    with app.app_context():
        result = _bench().simulate(app, keystrokes=2500, boundaries=12, seed=7)
    print({k: v for k, v in result.items() if k != "samples"})
    assert result["all_agree"]  # both tabs, a fresh tab and the log rebuilt: one document
    stats = result["stats"]
    assert stats["deletes"] > 900 and stats["moves"] > 5 and stats["reconnects"] > 5
    assert result["offline_reconnect"]["count"] > 0
    assert result["fresh_tab"]["step2_bytes"] < 4096
    # Compaction bounds what is stored: the log never holds more than a window of updates.
    assert max(s["log_rows"] for s in result["samples"]) <= 60 + 1
    assert result["stored_bytes_peak"] < 48 * 1024, result["stored_bytes_peak"]
    assert result["largest_step2_bytes"] < 64 * 1024
