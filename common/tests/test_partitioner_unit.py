"""The relay's partitioner picks the partition Kafka's default partitioner picks for a key."""

import random
from uuid import uuid4

from aiokafka.partitioner import DefaultPartitioner, murmur2

from kundonline_common import kafka


def test_murmur2_is_kafkas_for_keys_of_every_length() -> None:
    rng = random.Random(19)
    for length in range(0, 70):
        for _ in range(20):
            key = rng.randbytes(length)
            assert kafka.murmur2(key) == murmur2(key), key


def test_a_key_goes_to_the_partition_the_default_partitioner_chooses() -> None:
    default = DefaultPartitioner()
    for count in (1, 2, 3, 4, 7, 12):
        partitions = list(range(count))
        for _ in range(300):
            key = str(uuid4()).encode()
            assert kafka.partition_of(key, partitions) == default(key, partitions, None)


def test_the_java_clients_partitions_of_known_keys() -> None:
    # Partitions among 1,000 that the Java client's default partitioner gives these keys
    # (kafka-python's compatibility test uses the same).
    partitions = list(range(1000))
    known = {b"": 681, b"a": 524, b"ab": 434, b"abc": 107, b"123456789": 566, b"\x00 ": 742}
    for key, partition in known.items():
        assert kafka.partition_of(key, partitions) == partition, key
