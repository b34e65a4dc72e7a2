"""One logging setup for every process."""

import logging


def configure_logging(level: str = "INFO", service: str = "kundonline") -> None:
    logging.basicConfig(
        level=level.upper(),
        format=f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s",
        force=True,
    )
    # aiokafka is chatty at INFO about every group rejoin.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
