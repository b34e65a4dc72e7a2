"""A fault's or an order's timeline: reported → order created → visit planned or moved →
started → completed, or rejected or cancelled with the reason. The orders service keeps an
order's steps; a fault adds its own before them."""

from kundonline_common.errors import DomainError, NotFound

from ..clients import Api, Json, auth, orders


async def of_fault(api: Api, fault: Json) -> Json:
    """The customer's fault report's steps, and its order's number where it has one."""
    steps: list[Json] = [{"kind": "reported", "at": fault["reported_at"]}]
    if fault.get("order_id"):
        try:
            found = await orders.my_timeline(api, fault["order_id"])
        except NotFound:
            # Hidden from the account (a cancelled order it is not shown): the fault's own.
            return {"steps": steps, "order_number": fault.get("order_number")}
        return {"steps": steps + found["steps"], "order_number": found["order_number"]}
    if fault["status"] == "rejected":
        steps.append({"kind": "rejected", "reason": fault.get("reason")})
    return {"steps": steps, "order_number": None}


async def staff_names(api: Api) -> dict[str, str]:
    """Staff users' names by id, for who made each step."""
    try:
        return {s["id"]: s["name"] for s in (await auth.list_staff(api))["items"]}
    except DomainError:
        return {}  # the names are a help; the timeline stands without them
