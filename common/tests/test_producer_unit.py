"""ServiceProducer: a producer whose send failed is replaced before the next send."""

import asyncio
from typing import Any, ClassVar

import pytest
from aiokafka.errors import OutOfOrderSequenceNumber

from kundonline_common import kafka


class FakeProducer:
    """Stands in for AIOKafkaProducer: records sends, fails deliveries while told to."""

    made: ClassVar[list["FakeProducer"]] = []

    def __init__(self) -> None:
        self.started = self.stopped = False
        self.fail_deliveries = False
        self.sent: list[tuple[str, Any]] = []
        FakeProducer.made.append(self)

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send(self, topic: str, value: Any = None, **_: Any) -> "asyncio.Future[Any]":
        self.sent.append((topic, value))
        delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.fail_deliveries:
            delivery.set_exception(OutOfOrderSequenceNumber())
        else:
            delivery.set_result(len(self.sent))
        return delivery


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> list[FakeProducer]:
    FakeProducer.made = []
    monkeypatch.setattr(kafka, "make_producer", lambda *_: FakeProducer())
    return FakeProducer.made


async def test_a_failed_delivery_renews_the_producer_for_the_next_send(
    fakes: list[FakeProducer],
) -> None:
    producer = kafka.ServiceProducer(kafka.KafkaConnection("broker:9092"), "test")
    await producer.start()
    fakes[0].fail_deliveries = True  # as after a broker restart that lost producer state
    with pytest.raises(OutOfOrderSequenceNumber):
        await producer.send_and_wait("t", b"first")
    assert len(fakes) == 1  # nothing renewed until someone sends again
    await producer.send_and_wait("t", b"second")
    assert len(fakes) == 2 and fakes[0].stopped and fakes[1].started
    assert fakes[1].sent == [("t", b"second")]


async def test_a_healthy_producer_is_kept(fakes: list[FakeProducer]) -> None:
    producer = kafka.ServiceProducer(kafka.KafkaConnection("broker:9092"), "test")
    await producer.start()
    for value in (b"a", b"b", b"c"):
        await producer.send_and_wait("t", value)
    assert len(fakes) == 1 and [v for _, v in fakes[0].sent] == [b"a", b"b", b"c"]
