"""What `podman kube play` can run, out of rendered manifests (`kubectl kustomize` output).

    kubectl kustomize deploy/kubernetes/podman | \\
        .venv/bin/python deploy/kubernetes/playable.py --set KUNDONLINE_LOG_LEVEL=DEBUG > play.yaml

podman plays Pods, Deployments, ConfigMaps and PersistentVolumeClaims; the rest (Services,
Ingress, PodDisruptionBudgets, KafkaTopics) it does not know, and is left out here. --set
changes a key of the kundonline-config ConfigMap (values made at run time, such as a key);
--image replaces every Deployment's image.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from typing import Any

import yaml

PLAYABLE = frozenset({"Pod", "Deployment", "ConfigMap", "PersistentVolumeClaim"})
CONFIG = "kundonline-config"


def playable(
    documents: Iterable[dict[str, Any]], settings: dict[str, str], image: str | None = None
) -> Iterator[dict[str, Any]]:
    for document in documents:
        if not document or document.get("kind") not in PLAYABLE:
            continue
        if document["kind"] == "ConfigMap" and document["metadata"]["name"] == CONFIG:
            document["data"] = {**document.get("data", {}), **settings}
        if document["kind"] == "Deployment" and image:
            for container in document["spec"]["template"]["spec"]["containers"]:
                container["image"] = image
        yield document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--image")
    args = parser.parse_args(argv)
    settings = dict(item.split("=", 1) for item in args.set)
    documents = playable(yaml.safe_load_all(sys.stdin), settings, args.image)
    yaml.safe_dump_all(documents, sys.stdout, sort_keys=False, explicit_start=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
