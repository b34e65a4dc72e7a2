"""A fault's or an order's timeline: reported → order created → visit planned or moved →
started → completed, or rejected or cancelled with the reason. The orders service keeps an
order's steps; a fault adds its own before them."""

from kundonline_common.errors import DomainError, NotFound

from ..clients import Api, Json, auth, faults, orders


async def of_fault(api: Api, fault: Json) -> Json:
    """The customer's fault report's steps, and its order's number where it has one. A
    report joined with another (a duplicate) follows that one's order: its steps go on with
    the other's, which is `followed`, when the account may see it."""
    steps: list[Json] = [{"kind": "reported", "at": fault["reported_at"]}]
    if fault["status"] == "duplicate" and fault.get("duplicate_of"):
        return await _joined(api, fault, steps)
    return {**(await _own(api, fault, steps)), "followed": None}


async def _own(api: Api, fault: Json, steps: list[Json]) -> Json:
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


async def _joined(api: Api, fault: Json, steps: list[Json]) -> Json:
    steps = [*steps, {"kind": "joined", "fault_id": fault["duplicate_of"]}]
    try:
        followed = await faults.my_fault(api, fault["duplicate_of"])
    except NotFound:
        # Reported where the account no longer sees: joined, and no more to tell.
        return {"steps": steps, "order_number": None, "followed": None}
    # faults keeps joins flat: the report followed is never itself a duplicate, so its own
    # steps and order are all there is. Its "reported" step is not this one's.
    theirs = await _own(api, followed, [])
    return {**theirs, "steps": steps + theirs["steps"], "followed": followed}


async def staff_names(api: Api) -> dict[str, str]:
    """Staff users' names by id, for who made each step."""
    try:
        return {s["id"]: s["name"] for s in (await auth.list_staff(api))["items"]}
    except DomainError:
        return {}  # the names are a help; the timeline stands without them
