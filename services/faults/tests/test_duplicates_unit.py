"""The rules of duplicate reports, without a database: which reports are shown beside one as
possible duplicates, and which joins are refused."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from kundonline_common.errors import Conflict
from kundonline_faults.domain import customer_status
from kundonline_faults.duplicates import (
    MAX_SHOWN,
    already_joined,
    check_join,
    possible_duplicates,
)
from kundonline_faults.tables import Fault
from kundonline_faults.views import customer_fault

NOON = datetime(2026, 11, 20, 12, tzinfo=UTC)
WEEK = timedelta(days=7)
CUSTOMER, ELEVATOR, ALARM = uuid4(), uuid4(), uuid4()


def _fault(
    days: float = 0,
    *,
    facility: UUID | None = ELEVATOR,
    project: UUID | None = None,
    status: str = "new",
    customer: UUID = CUSTOMER,
    duplicate_of: UUID | None = None,
) -> Fault:
    return Fault(
        account_id=uuid4(),
        customer_id=customer,
        facility_id=facility,
        project_id=project,
        description="Hissen står still",
        status=status,
        duplicate_of=duplicate_of,
        reported_at=NOON + timedelta(days=days),
    )


def test_reports_on_the_same_facility_within_the_window_either_way_nearest_first() -> None:
    fault = _fault()
    before, after, later, edge = _fault(-3), _fault(1), _fault(6), _fault(7)
    too_early, too_late = _fault(-7.01), _fault(8)
    others = [fault, too_early, later, before, too_late, edge, after]
    assert possible_duplicates(fault, others, WEEK) == [after, before, later, edge]


def test_other_places_and_closed_reports_are_no_possible_duplicates() -> None:
    fault = _fault()
    on_alarm = _fault(1, facility=ALARM)
    on_project = _fault(1, facility=None, project=ELEVATOR)  # the same id, another kind
    rejected, joined = _fault(1, status="rejected"), _fault(1, status="duplicate")
    accepted, ordered = _fault(2, status="accepted"), _fault(3, status="order_created")
    others = [on_alarm, on_project, rejected, joined, accepted, ordered]
    assert possible_duplicates(fault, others, WEEK) == [accepted, ordered]


def test_reports_on_one_project_are_possible_duplicates_of_each_other() -> None:
    project = uuid4()
    fault, other = _fault(facility=None, project=project), _fault(2, facility=None, project=project)
    assert possible_duplicates(fault, [other], WEEK) == [other]
    assert possible_duplicates(fault, [other], timedelta(days=1)) == []


def test_a_busy_facility_shows_the_nearest_few() -> None:
    fault = _fault()
    others = [_fault(i / 10) for i in range(1, 30)]
    assert possible_duplicates(fault, others, WEEK) == others[:MAX_SHOWN]


def test_a_report_follows_the_end_of_the_chain_it_is_joined_with() -> None:
    root = _fault(-2, status="order_created")
    middle = _fault(-1, status="duplicate", duplicate_of=root.id)
    fault = _fault()
    assert check_join(fault, [middle, root]) is root
    assert check_join(fault, [root]) is root


def test_a_join_in_a_circle_is_refused() -> None:
    fault = _fault()
    other = _fault(1, status="duplicate", duplicate_of=fault.id)
    with pytest.raises(Conflict) as refused:
        check_join(fault, [other, fault])
    assert refused.value.code == "duplicate_cycle"


@pytest.mark.parametrize(
    "other",
    [
        _fault(1, facility=ALARM),
        _fault(1, facility=None, project=ELEVATOR),
        _fault(1, customer=uuid4()),
    ],
    ids=["another facility", "a project", "another customer"],
)
def test_a_report_is_joined_only_with_one_on_the_same_place_of_the_same_customer(
    other: Fault,
) -> None:
    with pytest.raises(Conflict) as refused:
        check_join(_fault(), [other])
    assert refused.value.code == "not_same_place"


def test_a_rejected_report_is_followed_by_none() -> None:
    with pytest.raises(Conflict) as refused:
        check_join(_fault(), [_fault(1, status="rejected")])
    assert refused.value.code == "target_rejected"


def test_the_same_join_again_is_seen_as_done() -> None:
    root = _fault(-2, status="order_created")
    middle = _fault(-1, status="duplicate", duplicate_of=root.id)
    joined = _fault(status="duplicate", duplicate_of=root.id)
    assert already_joined(joined, [middle, root])
    assert already_joined(joined, [root])
    assert not already_joined(joined, [_fault(-3)])
    assert not already_joined(_fault(), [root])


def test_the_customer_sees_a_duplicate_as_such_and_the_report_it_follows() -> None:
    root = _fault(-1)
    joined = _fault(status="duplicate", duplicate_of=root.id)
    assert customer_status("duplicate") == "duplicate"
    seen = customer_fault(joined)
    assert seen.status == "duplicate" and seen.duplicate_of == root.id
    assert customer_fault(root).duplicate_of is None
