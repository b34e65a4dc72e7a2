"""Dead letters without a broker: the operator's progress, REFs, and what a replay sends."""

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from kundonline_common.deadletters import DeadLetter, UnknownRef, dlq_names, parse_ref
from kundonline_common.dlq import DlqSettings, listing
from kundonline_common.offsets import DLQ_GROUP, Positions, Progress

PREFIX = "kundonline."
DLQ = TopicPartition("kundonline.faults.dlq", 0)


def test_progress_moves_past_every_record_dealt_with_in_a_row() -> None:
    progress = Progress(10).with_done([12, 13])
    assert (progress.next, progress.beyond) == (10, frozenset({12, 13}))
    assert [o for o in range(9, 15) if progress.done(o)] == [9, 12, 13]
    assert progress.waiting(end=16) == 4  # 10, 11, 14, 15
    progress = progress.with_done([10, 11])
    assert (progress.next, progress.beyond) == (14, frozenset())
    assert progress.waiting(end=16) == 2


def test_progress_survives_the_round_trip_through_the_committed_offset() -> None:
    progress = Progress(3).with_done([5, 6, 7, 9, 20])
    committed = progress.committable()
    assert committed == OffsetAndMetadata(3, "5-7,9,20")
    assert Progress.of(committed, beginning=0) == progress


def test_records_the_retention_removed_count_as_dealt_with() -> None:
    progress = Progress.of(OffsetAndMetadata(2, "4,9"), beginning=5)
    assert (progress.next, progress.beyond) == (5, frozenset({9}))
    assert Progress.of(None, beginning=7) == Progress(7)
    assert Progress.of(OffsetAndMetadata(-1, ""), beginning=7) == Progress(7)


def test_metadata_that_is_not_ours_is_ignored() -> None:
    assert Progress.of(OffsetAndMetadata(4, "what, 5-x, 8"), 0) == Progress(4, frozenset({8}))


def test_too_much_progress_out_of_order_is_refused_not_cut_short() -> None:
    progress = Progress(0).with_done(range(1, 10_000, 2))
    with pytest.raises(ValueError, match="out of order"):
        progress.committable()


def test_waiting_dead_letters_are_counted_per_dlq_from_the_dlq_group() -> None:
    other = TopicPartition("kundonline.faults.dlq", 1)
    positions = Positions(
        beginning={DLQ: 0, other: 0},
        end={DLQ: 6, other: 2},
        committed={DLQ_GROUP: {DLQ: OffsetAndMetadata(3, "4")}},
    )
    assert positions.dead_letters_waiting("kundonline.faults.dlq") == 2 + 2


def test_lag_is_counted_from_the_committed_offset_or_the_start() -> None:
    p0, p1 = TopicPartition("kundonline.faults", 0), TopicPartition("kundonline.faults", 1)
    positions = Positions(
        beginning={p0: 0, p1: 4},
        end={p0: 10, p1: 9},
        committed={"kundonline-orders": {p0: OffsetAndMetadata(7, "")}},
    )
    assert positions.lag("kundonline-orders", ["kundonline.faults"]) == {p0: 3, p1: 5}
    assert positions.lag("kundonline-auth", ["kundonline.faults"]) == {p0: 10, p1: 5}


def test_refs_name_a_dlq_with_or_without_the_prefix() -> None:
    assert parse_ref(PREFIX, "faults.dlq:0:12") == (DLQ, 12)
    assert parse_ref(PREFIX, "kundonline.faults.dlq:0:12") == (DLQ, 12)
    assert parse_ref(PREFIX, "faults:0:12") == (DLQ, 12)
    for bad in ("faults.dlq:0", "faults.dlq:x:1", "nothing.dlq:0:1", ""):
        with pytest.raises(UnknownRef):
            parse_ref(PREFIX, bad)
    assert len(dlq_names(PREFIX)) == 6
    assert dlq_names(PREFIX, ["orders"]) == ["kundonline.orders.dlq"]


def dead_letter(**headers: str) -> DeadLetter:
    record = ConsumerRecord(
        topic=DLQ.topic,
        partition=0,
        offset=4,
        timestamp=1_700_000_000_000,
        timestamp_type=0,
        key=b"fault-1",
        value=b'{"type": "kundonline.fault.reported.v1", "data": {}}',
        checksum=None,
        serialized_key_size=7,
        serialized_value_size=10,
        headers=[(k, v.encode()) for k, v in headers.items()],
    )
    return DeadLetter(record, done=False, prefix=PREFIX)


def test_a_replay_sends_the_headers_the_record_had_before_it_died() -> None:
    letter = dead_letter(
        **{
            "content-type": "application/cloudevents+json; charset=UTF-8",
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "kundonline-error": "boom",
            "kundonline-error-type": "RuntimeError",
            "kundonline-consumer": "orders",
            "kundonline-attempts": "3",
            "kundonline-original-topic": "kundonline.faults",
            "kundonline-original-partition": "2",
            "kundonline-original-offset": "17",
        }
    )
    assert [name for name, _ in letter.put_back()] == ["content-type", "traceparent"]
    assert letter.original_topic == "kundonline.faults"
    assert letter.original == ("kundonline.faults", "2", "17")
    assert letter.ref == "faults.dlq:0:4"


def test_the_listing_shows_each_dead_letter_with_its_error_on_one_line() -> None:
    letter = dead_letter(
        **{
            "kundonline-error": "invalid event:\n  fault_id: not a uuid",
            "kundonline-error-type": "Poison",
            "kundonline-consumer": "notify",
            "kundonline-attempts": "1",
        }
    )
    head, row = listing([letter])
    assert head.split()[:3] == ["REF", "STATE", "DEAD-LETTERED"]
    assert row.split("  ")[0] == "faults.dlq:0:4"
    assert "waiting" in row and "notify" in row and "kundonline.fault.reported.v1" in row
    assert row.endswith("Poison: invalid event: fault_id: not a uuid")


def test_the_command_needs_no_internal_token_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUNDONLINE_INTERNAL_TOKEN_SECRET", raising=False)
    monkeypatch.setenv("KUNDONLINE_TOPIC_PREFIX", "elsewhere.")
    assert DlqSettings().topic_prefix == "elsewhere."
    monkeypatch.setenv("KUNDONLINE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    with pytest.raises(ValueError, match="KUNDONLINE_KAFKA_SASL_USERNAME"):
        DlqSettings()  # the services' checks of the Kafka settings hold here too
