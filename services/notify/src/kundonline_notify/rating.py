"""The one-click rating links of a completion mail, each signed for the order and its
reporter (kundonline_common.rating_links) and good for `rating_link_days`."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode
from uuid import UUID

from kundonline_common import rating_links

SCORES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class RatingLinks:
    secret: str
    valid_for: timedelta

    def links(
        self, public_url: str, *, order_id: UUID, account_id: UUID, completed_at: datetime
    ) -> list[tuple[int, str]]:
        """Each score and the portal's rating page with it preselected. The expiry counts
        from the completion, so a redelivered event renders the same mail."""
        link = rating_links.RatingLink(order_id, account_id, completed_at + self.valid_for)
        token = rating_links.issue(self.secret, link)
        page = f"{public_url.rstrip('/')}/rating/{order_id}"
        return [
            (score, f"{page}?{urlencode({'token': token, 'score': score})}") for score in SCORES
        ]
