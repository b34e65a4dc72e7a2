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
    # Photos are decoded at most two at a time, as this leaves room: a decode first reserves
    # what it will take at most, worked out from the header by format and colour type (a
    # JPEG is decoded at a reduced scale, a PNG whole; a progressive JPEG also holds all its
    # coefficients), and waits while the decodes in progress leave too little. The default
    # fits a baseline phone photo (a 4:3 JPEG up to 5119 pixels wide takes 150 MiB, a wider
    # one is decoded at half size) and a 4K screenshot (113 MiB with alpha), not a PNG of 40
    # million pixels (235 MiB, or 385 with alpha) nor a progressive 20-million-pixel JPEG
    # with full-size colour (184 MiB; 127 with the usual half-size colour).
    photo_decode_memory_bytes: int = 160 * 1024 * 1024
    """Memory the photos being decoded at once may take together; a photo that alone would
    take more is refused (413) before it is decoded."""
    # Kept photos are scaled down to this many pixels on their longer side: enough to see a
    # fault on any screen, and a few hundred kilobytes instead of megabytes.
    photo_max_side: int = 2560
    """Kept photos are scaled to at most this many pixels on their longer side."""
