from kundonline_common.settings import CommonSettings


class FaultsSettings(CommonSettings):
    faults_database_url: str = "sqlite+aiosqlite:///./.run/data/faults.db"
    """The faults service's database (SQLAlchemy async URL)."""
    photo_max_bytes: int = 5 * 1024 * 1024
    """The largest photo upload."""
    photos_per_fault: int = 5
    """Photos a fault report may have."""
    # Pixels a picture may declare before it is decoded: a camera photo that fits in
    # photo_max_bytes has far fewer (8000×5000 is 40 million), while a small compressed file
    # can claim billions and take gigabytes to decode.
    photo_max_pixels: int = 40_000_000
    """A photo claiming more pixels is refused before it is decoded."""
    # Kept photos are scaled down to this many pixels on their longer side: enough to see a
    # fault on any screen, and a few hundred kilobytes instead of megabytes.
    photo_max_side: int = 2560
    """Kept photos are scaled to at most this many pixels on their longer side."""
