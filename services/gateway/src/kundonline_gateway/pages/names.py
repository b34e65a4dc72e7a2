"""The words for the codes the services answer with (a status, a role, where an order came
from, an account's flags), marked for the catalogue and translated where they are shown."""

from ..i18n import N_

STATUSES = {
    "new": N_("New"),
    "accepted": N_("Accepted"),
    "order_created": N_("Order created"),
    "rejected": N_("Rejected"),
    "duplicate": N_("Joined with another"),
    "planned": N_("Planned"),
    "started": N_("Started"),
    "completed": N_("Completed"),
    "invoiced": N_("Invoiced"),
    "cancelled": N_("Cancelled"),
}
ROLES = {"admin": N_("Administrator"), "handler": N_("Handler")}
ORIGINS = {
    "order_direct": N_("Order direct"),
    "fault_accepted": N_("Fault report"),
    "staff": N_("Staff"),
}
# Each flag of an account, with its label and the help below its box.
FLAGS = {
    "order_direct": (
        N_("Order direct"),
        N_("A fault report from the account becomes a planned order at once."),
    ),
    "hide_performed_action": (
        N_("Hide performed action"),
        N_("The user does not see the performed action on orders."),
    ),
    "show_purchase_prices_on_projects": (
        N_("Show purchase prices on projects"),
        N_("The user sees purchase prices on project rows."),
    ),
    "show_purchase_price_on_order_rows": (
        N_("Show purchase price on order rows"),
        N_("The user sees purchase prices on order rows."),
    ),
}
