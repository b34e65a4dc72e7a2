"""OrderRated: one rating of a completed order, on the orders topic, keyed by the order."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic import ValidationError

from kundonline_contracts import OrderRated, Topic, unwrap, wrap


def _rating(**changes: object) -> dict[str, object]:
    return {
        "order_id": str(uuid4()),
        "order_number": 1042,
        "customer_id": str(uuid4()),
        "facility_id": str(uuid4()),
        "account_id": str(uuid4()),
        "score": 4,
        "comment": "Snabbt och bra",
        "rated_at": datetime(2026, 12, 1, 12, tzinfo=UTC).isoformat(),
        **changes,
    }


def test_a_rating_travels_on_the_orders_topic_keyed_by_its_order() -> None:
    event = OrderRated.model_validate(_rating())
    assert event.topic is Topic.ORDERS and event.key == str(event.order_id)
    assert unwrap(wrap(event, source="orders")) == event


@pytest.mark.parametrize("score", [0, 6, -1])
def test_a_score_is_one_to_five(score: int) -> None:
    with pytest.raises(ValidationError):
        OrderRated.model_validate(_rating(score=score))


def test_a_comment_is_at_most_2000_characters() -> None:
    with pytest.raises(ValidationError):
        OrderRated.model_validate(_rating(comment="x" * 2001))
