"""Strimzi KafkaTopics of every topic in the contracts and its DLQ, as the services would create
them (kundonline_common.kafka.topic_specs): base/topics.yaml.

    .venv/bin/python deploy/kubernetes/topics.py            # rewrite base/topics.yaml
    .venv/bin/python deploy/kubernetes/topics.py --check    # exit 1 if it is out of date
    .venv/bin/python deploy/kubernetes/topics.py --prefix acme. --cluster events --out FILE

An installation with a topic prefix of its own writes its topics with --prefix into its overlay.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from kundonline_common.kafka import TopicLayout, topic_specs
from kundonline_common.settings import CommonSettings
from kundonline_contracts.topics import DEFAULT_PREFIX

OUT = Path(__file__).parent / "base" / "topics.yaml"
HEADER = (
    "# Written by deploy/kubernetes/topics.py from the contracts' topics; do not edit.\n"
    "# Strimzi's Topic Operator creates them in the cluster named by strimzi.io/cluster and\n"
    "# watches the namespace they are applied to.\n"
)


def default_layout() -> TopicLayout:
    """The settings' defaults, which suit a cluster of three brokers."""
    fields = CommonSettings.model_fields
    return TopicLayout(
        partitions=fields["topic_partitions"].default,
        replication_factor=fields["topic_replication_factor"].default,
        min_insync_replicas=fields["topic_min_insync_replicas"].default,
    )


def _value(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def kafka_topics(prefix: str, cluster: str, layout: TopicLayout) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaTopic",
            "metadata": {
                # A resource name allows lower case, digits, '-' and '.'; the topic keeps its own.
                "name": re.sub(r"[^a-z0-9.-]", "-", spec.name.lower()),
                "labels": {"strimzi.io/cluster": cluster},
            },
            "spec": {
                "topicName": spec.name,
                "partitions": spec.num_partitions,
                "replicas": spec.replication_factor,
                "config": {k: _value(v) for k, v in sorted(spec.topic_configs.items())},
            },
        }
        for spec in topic_specs(prefix, layout)
    ]


def render(prefix: str = DEFAULT_PREFIX, cluster: str = "kafka") -> str:
    documents = kafka_topics(prefix, cluster, default_layout())
    return HEADER + yaml.safe_dump_all(documents, sort_keys=False, explicit_start=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default=DEFAULT_PREFIX)
    parser.add_argument("--cluster", default="kafka", help="the Strimzi Kafka cluster's name")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if --out differs")
    args = parser.parse_args(argv)
    text = render(args.prefix, args.cluster)
    if args.check:
        if not args.out.exists() or args.out.read_text() != text:
            print(f"{args.out} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
