"""A fault's or an order's timeline: reported → order created → visit planned or moved →
started → completed, or rejected or cancelled with the reason. The orders service keeps an
order's steps; a fault adds its own before them."""

from kundonline_common.errors import DomainError, NotFound

from ..clients import Api, Json, auth, faults, orders


async def of_fault(api: Api, fault: Json, *, depth: int = 0) -> Json:
    """The customer's fault report's steps, and its order's number where it has one. A
    report joined with another (a duplicate) follows that one's order: its steps go on with
    the other's, which is `followed`, when the account may see it."""
    steps: list[Json] = [{"kind": "reported", "at": fault["reported_at"]}]
    # A report joined with one later joined with another follows on; a few are all there are.
    if fault["status"] == "duplicate" and fault.get("duplicate_of") and depth < 5:
        return await _joined(api, fault, steps, depth)
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


async def _joined(api: Api, fault: Json, steps: list[Json], depth: int) -> Json:
    steps = [*steps, {"kind": "joined", "fault_id": fault["duplicate_of"]}]
    try:
        followed = await faults.my_fault(api, fault["duplicate_of"])
    except NotFound:
        # Reported where the account no longer sees: joined, and no more to tell.
        return {"steps": steps, "order_number": None, "followed": None, "ordered": None}
    theirs = await of_fault(api, followed, depth=depth + 1)
    # `followed` is the report this one was joined with; the order is that of the end of the
    # chain (`ordered`), since the one joined with may have been joined onwards since.
    ordered = theirs.get("ordered") or followed
    # The other report's own "reported" step is not this one's.
    steps = steps + theirs["steps"][1:]
    return {**theirs, "steps": steps, "followed": followed, "ordered": ordered}


async def staff_names(api: Api) -> dict[str, str]:
    """Staff users' names by id, for who made each step."""
    try:
        return {s["id"]: s["name"] for s in (await auth.list_staff(api))["items"]}
    except DomainError:
        return {}  # the names are a help; the timeline stands without them
