"""Tying a service process's life to the process that started it (a local launcher).

Called by ``harcopa.serving.run_service`` before a service starts. When ``HARCOPA_PARENT_PID``
is set (``harcopa eval`` and the test launchers set it for the services they start), the
process asks Linux to send it SIGTERM when its parent dies (``PR_SET_PDEATHSIG``), so killing
the launcher with SIGINT, SIGTERM or SIGKILL stops every service it started: each shuts down
as on SIGTERM (the orchestrator marks its runs interrupted, the verifier kills its REPLs). A
launcher that died before this took hold is noticed (the parent pid changed) and the service
exits at once. Elsewhere (no such variable, or not Linux) nothing changes.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys

logger = logging.getLogger(__name__)

PARENT_PID_ENV = "HARCOPA_PARENT_PID"
_PR_SET_PDEATHSIG = 1


def tie_to_parent(environ: dict[str, str] | None = None) -> bool:
    """Arrange SIGTERM on the parent's death when ``HARCOPA_PARENT_PID`` asks for it; True if
    it is in place. Exits (status 1) when that parent is already gone."""
    value = (os.environ if environ is None else environ).get(PARENT_PID_ENV, "")
    if not value or not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
            logger.warning("cannot tie this process to its parent (errno %d)", ctypes.get_errno())
            return False
        if os.getppid() != int(value):
            logger.warning("the process that started this service (%s) is gone; exiting", value)
            raise SystemExit(1)
        return True
    return False
