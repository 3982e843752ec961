"""A bridge shut down while results are still on their way does nothing more."""

from __future__ import annotations

from ui.bridge import Bridge


def test_results_after_shutdown_start_no_new_work(qtbot, service):
    bridge = Bridge(service)
    seen: list[object] = []

    def on_first(result: object) -> None:
        # What a paging model does: one result asks for the next page.
        seen.append(result)
        bridge.read(lambda s: "second", seen.append)

    bridge.read(lambda s: "first", on_first)
    bridge.wait_idle()
    bridge.shutdown()  # the first result is still queued for the UI thread
    qtbot.wait(50)  # deliver it: it must neither run its callback nor raise
    assert seen == []
    assert bridge.closed and bridge.pending == 0


def test_work_after_shutdown_is_refused_quietly(qtbot, service):
    bridge = Bridge(service)
    bridge.shutdown()
    called: list[object] = []
    bridge.read(lambda s: "x", called.append)
    bridge.task(lambda: "y", called.append)
    qtbot.wait(50)
    assert called == []
    assert service.is_locked  # shutdown locked the vault it was given
    bridge.shutdown()  # twice is harmless
