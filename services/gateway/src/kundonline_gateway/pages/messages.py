"""What more than one page says about a form, marked for the catalogue once."""

from ..i18n import N_

CHECK = N_("Please check the details.")
NOT_FOUND = N_("There is no such page.")
NAME = N_("Give a name (at most 200 characters).")
EMAIL = N_("Give a valid e-mail address.")
USERNAME = N_("3–100 characters: letters, digits and . @ + - _")
USERNAME_TAKEN = N_("The username is taken.")
PASSWORD = N_("At least 10 characters and not the same as the username.")
DESCRIPTION = N_("Give a description (1–4000 characters).")
CHOOSE_CUSTOMER = N_("Choose a customer.")
CHOOSE_TARGET = N_("Choose a facility or a project.")
UNKNOWN_CUSTOMER = N_("The customer does not exist, or is not known here yet. Try again shortly.")
ROWS = N_(
    "Check the rows: quantities and prices must be numbers with at most 2 decimals (quantity 3)."
)
ROWS_HELP = N_(
    "One row per line: article; description; quantity; unit price; purchase price "
    "(purchase price may be left out)."
)
