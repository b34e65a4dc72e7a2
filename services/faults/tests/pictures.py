"""Pictures for the photo tests, made in memory: honest ones, lying ones and broken ones."""

import io
import struct
import zlib

from PIL import Image

RED, BLUE = (220, 20, 20), (20, 20, 220)
# Where the test photo was taken: 59°36'30"N 16°33'E (Västerås).
GPS = {1: "N", 2: (59.0, 36.0, 30.0), 3: "E", 4: (16.0, 33.0, 0.0)}
GPS_IFD, ORIENTATION = 0x8825, 0x0112
SECRET = b"kundonline-secret-marker"


def level(image: Image.Image, xy: tuple[int, int]) -> float:
    """A one-band image's value at `xy`."""
    value = image.getpixel(xy)
    assert isinstance(value, int | float), value
    return value


def colour(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    """A many-band image's values at `xy`."""
    value = image.getpixel(xy)
    assert isinstance(value, tuple), value
    return value


def picture(kind: str = "PNG", size: tuple[int, int] = (8, 8), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    colour = (*RED, 128) if mode == "RGBA" else RED if mode == "RGB" else 128
    Image.new(mode, size, colour).save(buffer, kind)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A 1×1 PNG whose header says width×height: 69 bytes that a decoder would trust for
    the size of its buffer."""
    data = bytearray(picture("PNG", (1, 1)))
    data[16:24] = struct.pack(">II", width, height)  # IHDR's width and height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # and its checksum
    return bytes(data)


def phone_photo() -> bytes:
    """A 60×20 JPEG, red on the left and blue on the right, taken with the phone turned:
    EXIF orientation 6 (turn 90° clockwise to show it), a GPS position, XMP and a comment."""
    image = Image.new("RGB", (60, 20), BLUE)
    image.paste(RED, (0, 0, 30, 20))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[GPS_IFD] = GPS
    buffer = io.BytesIO()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + SECRET + b"</x:xmpmeta>"
    image.save(buffer, "JPEG", exif=exif, xmp=xmp, comment=SECRET, quality=95)
    return buffer.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def assert_no_metadata(data: bytes) -> None:
    """Nothing of the original file but its pixels: no EXIF (so no GPS), XMP, comment, ICC
    profile or text."""
    image = opened(data)
    assert len(image.getexif()) == 0
    assert not {"exif", "xmp", "comment", "icc_profile", "XML:com.adobe.xmp"} & set(image.info)
    assert getattr(image, "text", {}) == {}
    assert SECRET not in data and b"Exif" not in data


def assert_turned_upright(data: bytes) -> None:
    """phone_photo() as it is meant to be seen: 20×60, red on top and blue below."""
    image = opened(data).convert("RGB")
    assert image.size == (20, 60)
    top, bottom = colour(image, (10, 10)), colour(image, (10, 50))
    assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0], (top, bottom)
