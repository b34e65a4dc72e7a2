from kundonline_common.settings import CommonSettings


class OrdersSettings(CommonSettings):
    orders_database_url: str = "sqlite+aiosqlite:///./.run/data/orders.db"
    """The orders service's database (SQLAlchemy async URL)."""
