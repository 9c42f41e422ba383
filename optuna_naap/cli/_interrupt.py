"""Ctrl-C and SIGTERM that never cut a storage write in half (the search and the dataset
workers)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

from optuna_naap._optuna import STORAGE_MODULES

__all__ = ["interrupt_outside_storage"]

# Code that a Ctrl-C must not cut in half: a storage write left half done can leave a pooled
# connection locked, and Optuna then hangs marking the trial FAIL.


@contextlib.contextmanager
def interrupt_outside_storage(delay: float = 0.05) -> Iterator[None]:
    """Deliver Ctrl-C (SIGINT) and SIGTERM as KeyboardInterrupt, but never inside a storage
    call.

    A signal that arrives while the main thread is inside Optuna's storage or its database
    driver is sent again ``delay`` seconds later, until it lands outside. A no-op outside the
    main thread; a signal that is ignored (SIGINT of a process started in the background)
    stays ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    main = threading.main_thread().ident
    assert main is not None

    def handler(signum: int, frame: Any) -> None:
        while frame is not None:
            if str(frame.f_globals.get("__name__", "")).startswith(STORAGE_MODULES):
                # To the main thread itself: a process-wide kill may be taken by another
                # thread, and a main thread blocked in a system call (a sleep, a socket read)
                # would then see it only when that call returns.
                threading.Timer(delay, signal.pthread_kill, (main, signum)).start()
                return
            frame = frame.f_back
        raise KeyboardInterrupt

    previous: dict[signal.Signals, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before)
