from __future__ import annotations

import pytest

from app.jobs.state import IllegalTransition, JobState, check_transition


@pytest.mark.parametrize(
    ("current", "new"),
    [("queued", "running"), ("queued", "cancelled"), ("queued", "failed"), ("running", "done")],
)
def test_legal_transitions(current: str, new: str) -> None:
    assert check_transition(current, new) == JobState(new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("done", "running"),
        ("cancelled", "done"),
        ("queued", "done"),
        ("failed", "queued"),
        ("running", "queued"),
    ],
)
def test_illegal_transitions_raise(current: str, new: str) -> None:
    with pytest.raises(IllegalTransition, match=f"{current} job cannot become {new}"):
        check_transition(current, new)


def test_the_rows_name_the_unfinished_states_of_the_machine() -> None:
    """classroom and limits count unfinished jobs by ``rows.UNFINISHED_STATES``: the same states."""
    from app.jobs.state import FINISHED, JobState
    from app.rows import UNFINISHED_STATES

    assert set(UNFINISHED_STATES) == {s.value for s in JobState if s not in FINISHED}
