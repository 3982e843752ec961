"""Fixtures shared by the UI tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ui.bridge import Bridge


@pytest.fixture
def bridge(qtbot, service) -> Iterator[Bridge]:  # type: ignore[no-untyped-def]
    """A bridge over the test's fresh vault; queued work finishes before teardown."""
    b = Bridge(service)
    yield b
    b.wait_idle()
    b.shutdown(wait_tasks=True)
