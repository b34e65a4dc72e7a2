"""The settings tables of docs/OPERATIONS.md, written from the settings classes themselves.

`python -m kundonline_devstack.settings_doc` rewrites the part between the markers;
`--check` exits 1 when the document no longer matches the code.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from kundonline_auth.config import AuthSettings
from kundonline_common.cli import ServeSettings
from kundonline_common.settings import CommonSettings
from kundonline_contracts import PortalSettings
from kundonline_faults.config import FaultsSettings
from kundonline_gateway.config import GatewaySettings
from kundonline_notify.config import NotifySettings
from kundonline_orders.config import OrdersSettings

DOCUMENT = Path(__file__).resolve().parents[4] / "docs" / "OPERATIONS.md"
BEGIN, END = "<!-- settings: begin -->", "<!-- settings: end -->"
SERVICES: dict[str, type[CommonSettings]] = {
    "auth": AuthSettings,
    "faults": FaultsSettings,
    "orders": OrdersSettings,
    "notify": NotifySettings,
    "gateway": GatewaySettings,
}


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None or value == PydanticUndefined:
        return "—"
    if isinstance(value, SecretStr):
        return "(secret)"
    if isinstance(value, tuple | list | dict):
        return f"`{json.dumps(list(value) if isinstance(value, tuple) else value)}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _meaning(field: FieldInfo) -> str:
    return " ".join((field.description or "").split()).replace("|", "\\|")


def undocumented() -> list[str]:
    """Settings without a description: each must say what it is for."""
    classes: list[type[BaseModel]] = [*SERVICES.values(), ServeSettings, PortalSettings]
    return sorted(
        f"{kind.__name__}.{name}"
        for kind in classes
        for name, field in kind.model_fields.items()
        if not field.description
    )


def _rows(fields: dict[str, FieldInfo], name: Callable[[str], str]) -> list[str]:
    return [f"| `{name(n)}` | {_default(f)} | {_meaning(f)} |" for n, f in fields.items()]


def _env(name: str) -> str:
    return f"KUNDONLINE_{name.upper()}"


def tables() -> str:
    head = ["| variable | default | meaning |", "|---|---|---|"]
    parts = ["### Every service", "", *head, *_rows(CommonSettings.model_fields, _env)]
    shared = set(CommonSettings.model_fields)
    for service, kind in SERVICES.items():
        own = {n: f for n, f in kind.model_fields.items() if n not in shared}
        parts += ["", f"### {service}", "", *head, *_rows(own, _env)]
    parts += [
        "",
        "### `kundonline <service>` (the image's command)",
        "",
        *head,
        *_rows(ServeSettings.model_fields, _env),
    ]
    parts += [
        "",
        "### The general settings document (staff: Inställningar → Diverse, "
        "`GET|PUT /admin/api/settings`)",
        "",
        "| field | default | meaning |",
        "|---|---|---|",
        *_rows(PortalSettings.model_fields, str),
    ]
    return "\n".join(parts)


def rendered(document: str) -> str:
    before, rest = document.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    return f"{before}{BEGIN}\n{tables()}\n{END}{after}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the document is stale")
    args = parser.parse_args()
    current = DOCUMENT.read_text()
    wanted = rendered(current)
    if args.check:
        if current != wanted:
            print(f"{DOCUMENT} is stale: run make docs", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
