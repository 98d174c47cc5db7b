"""The local stack's session admission (harcopa_cli/backends.py): the sessions a pool holds, as
the verifier it starts will count them, including a sessions-per-process setting inherited from
the environment, which is checked before anything starts."""

from __future__ import annotations

import pytest

from harcopa.domain.problems import SESSIONS_PER_PROCESS
from harcopa.errors import InvalidRequest
from harcopa_cli.backends import SESSIONS_ENV, session_capacity, session_processes


def test_a_pool_keeps_a_checking_and_from_four_up_a_parsing_process() -> None:
    assert [session_processes(n) for n in (2, 3, 4, 8)] == [1, 2, 2, 6]


def test_capacity_follows_the_inherited_setting_or_the_default() -> None:
    assert session_capacity(8, {}) == 6 * SESSIONS_PER_PROCESS
    assert session_capacity(8, {SESSIONS_ENV: "1"}) == 6
    assert session_capacity(4, {SESSIONS_ENV: "5"}) == 10


@pytest.mark.parametrize("raw", ["0", "65", "two", "-1", ""])
def test_a_bad_setting_is_refused_naming_it(raw: str) -> None:
    with pytest.raises(InvalidRequest, match=SESSIONS_ENV):
        session_capacity(8, {SESSIONS_ENV: raw})
