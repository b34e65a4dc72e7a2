"""What is kept of an uploaded picture: its pixels, decoded only as JPEG or PNG and within a
size and a share of memory, turned upright, scaled down, in sRGB, saved afresh without any of
the file's metadata (EXIF with its GPS position, XMP, comments, ICC and text chunks)."""

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from PIL import Image, ImageCms, ImageOps

from kundonline_common.errors import DomainError, Invalid

from .budget import MemoryBudget

# The only decoders an upload reaches: Pillow's others (TIFF, WebP, PSD, ...) are more
# attack surface and nothing a customer's camera or phone sends as a photo.
DECODERS = ("JPEG", "PNG")
JPEG_QUALITY = 85
NOT_A_PHOTO = "The photo must be a JPEG or PNG image."
MIB = 1024 * 1024


class PhotoTooLarge(DomainError):
    status_code = 413
    code = "photo_too_large"


@dataclass(frozen=True)
class Encoded:
    data: bytes
    content_type: str


def reencode(data: bytes, *, max_pixels: int, max_side: int, memory: MemoryBudget) -> Encoded:
    """The picture in `data` as a fresh JPEG, or PNG where it is transparent. CPU-bound, and
    may wait for its share of `memory`: call it off the event loop."""
    try:
        with Image.open(io.BytesIO(data), formats=DECODERS) as opened:
            _refuse_too_many_pixels(opened, max_pixels)
            size, kept = opened.size, kept_size(opened.size, max_side)
            box = _draft(opened, kept)
            need = decode_bytes(opened, kept) + coefficient_bytes(opened, size)
            if need > memory.total:
                raise _too_much_memory(size, need, memory.total)
            with memory.reserved(need):
                image = _scaled(opened, kept, box)
                return _encode(_in_srgb(ImageOps.exif_transpose(image)))
    except DomainError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard, raised while the header is read for sizes far past ours (the
        # warning only where warnings are errors).
        raise _too_many_pixels(max_pixels) from exc
    except Exception as exc:
        # Pillow answers malformed input with many types (OSError for truncated data,
        # SyntaxError, ValueError, EOFError, struct.error, ...); each means the same here.
        raise Invalid(NOT_A_PHOTO, code="invalid_photo") from exc


def kept_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """The size Image.thumbnail((max_side, max_side)) gives a picture of `size`, rounded as
    Pillow rounds it, known from the header alone."""
    width, height = size
    if width <= max_side and height <= max_side:
        return size
    aspect = width / height
    if aspect <= 1:
        return _rounded(max_side * aspect, lambda n: abs(aspect - n / max_side)), max_side
    return max_side, _rounded(max_side / aspect, lambda n: abs(aspect - max_side / n) if n else 0)


def _rounded(number: float, error: Callable[[int], float]) -> int:
    return max(min(math.floor(number), math.ceil(number), key=error), 1)


Box = tuple[float, float, float, float]


def _draft(image: Image.Image, kept: tuple[int, int]) -> Box | None:
    """Have a JPEG decoded at the smallest scale (1/2, 1/4 or 1/8) that is still no smaller
    than the kept size, and say where its pixels lie; other formats are decoded whole (None).
    Image.thumbnail's own draft asks for twice (max_side, max_side), which only a picture far
    over max_pixels reaches: without this, every JPEG was decoded at full size."""
    if image.size == kept:
        return None
    drafted = image.draft(None, kept)
    return None if drafted is None else drafted[1]


# Bytes Pillow holds for each decoded pixel before the picture is scaled down, by mode: its own
# buffer (4 bytes for any mode of more than one band), the copy _resizable makes (a palette to
# RGB or RGBA; 16-bit grey to 32 bits, twice, then to 8) and the premultiplied copy Pillow
# scales a picture with alpha in. Measured peaks stay below these.
_BYTES_PER_PIXEL = {"1": 5, "L": 1, "P": 5, "I;16": 10, "I;16B": 10, "I;16L": 10, "I": 12}
_WITH_ALPHA = {"P": 9, "LA": 8, "RGBA": 8}


def decode_bytes(image: Image.Image, kept: tuple[int, int]) -> int:
    """The most memory re-encoding `image` (opened, not loaded) takes at one time: its decoded
    pixels, then scaling down (one pass across, one down) and the copies at the kept size."""
    width, height = image.size
    alpha = image.mode in _WITH_ALPHA and (image.mode != "P" or image.has_transparency_data)
    per_pixel = _WITH_ALPHA[image.mode] if alpha else _BYTES_PER_PIXEL.get(image.mode, 4)
    scaling = (kept[0] * height + 2 * kept[0] * kept[1]) * 4
    return width * height * per_pixel + scaling


def coefficient_bytes(image: Image.Image, size: tuple[int, int]) -> int:
    """What libjpeg holds besides the pixels to decode a progressive JPEG of `size`: every DCT
    coefficient of the picture at once (2 bytes each, 64 to an 8×8 block of each component, at
    full size whatever scale it is drafted to). A baseline JPEG is decoded a row of blocks at
    a time. A 20-million-pixel progressive photo with full-size colour took 134 MiB to decode,
    its baseline twin 55."""
    layers: list[tuple[str, int, int, int]] | None = getattr(image, "layer", None)
    if image.format != "JPEG" or not image.info.get("progressive") or not layers:
        return 0
    width, height = size
    widest = max(h for _, h, _, _ in layers)
    tallest = max(v for _, _, v, _ in layers)
    blocks: int = sum(
        math.ceil(width * h / widest / 8) * math.ceil(height * v / tallest / 8)
        for _, h, v, _ in layers
    )
    return blocks * 64 * 2


def _scaled(opened: Image.Image, kept: tuple[int, int], box: Box | None) -> Image.Image:
    """`opened` at the kept size, as Image.thumbnail would scale it. The pixels at full size are
    let go as soon as it is scaled: the rest of the work is done at the kept size."""
    image = _resizable(opened)
    if image.size == kept and box is None:
        return image
    scaled = image.resize(kept, Image.Resampling.LANCZOS, box=box, reducing_gap=2.0)
    opened.close()
    return scaled


def _refuse_too_many_pixels(image: Image.Image, max_pixels: int) -> None:
    """Checked on the header's size, before a single pixel is decoded."""
    width, height = image.size
    if width * height > max_pixels:
        raise _too_many_pixels(max_pixels, width=width, height=height)


def _too_many_pixels(max_pixels: int, **size: int) -> PhotoTooLarge:
    return PhotoTooLarge(
        f"A photo may have at most {max_pixels:,} pixels.",
        details={"max_pixels": max_pixels, **size},
    )


def _too_much_memory(size: tuple[int, int], need: int, total: int) -> PhotoTooLarge:
    width, height = size
    return PhotoTooLarge(
        f"A photo of {width}×{height} pixels in this format takes {need / MIB:.0f} MB to"
        f" decode, more than the {total / MIB:.0f} MB a photo may take.",
        details={"width": width, "height": height, "decode_bytes": need, "max_decode_bytes": total},
    )


def _resizable(image: Image.Image) -> Image.Image:
    """The picture in a mode Pillow scales smoothly; a JPEG's modes are, and stay unloaded."""
    if image.mode.startswith("I;16") or image.mode == "I":
        # Pillow converts 16-bit grey to 8 bits by clipping, not scaling: most would be white.
        return image.convert("I").point(lambda v: v / 256).convert("L")
    if image.mode in ("P", "1"):  # scaled by nearest neighbour only, which makes text jagged
        return image.convert("RGBA" if image.has_transparency_data else "RGB")
    return image


def _in_srgb(image: Image.Image) -> Image.Image:
    """RGB or RGBA pixels meaning sRGB, since the ICC profile that says otherwise is not kept."""
    mode = "RGBA" if image.has_transparency_data else "RGB"
    if profile := image.info.get("icc_profile"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            srgb = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(image, source, srgb, outputMode=mode)
            if converted is not None:  # None only when converting in place
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a profile LittleCMS cannot use: the pixels as they are, as a browser shows them
    return image.convert(mode)


def _lowest(band: Image.Image) -> float:
    # A one-band image's extrema are (lowest, highest); Pillow types them for any image.
    lowest, _ = cast(tuple[float, float], band.getextrema())
    return lowest


def _encode(image: Image.Image) -> Encoded:
    # A transparent picture stays PNG (flattening it could hide what it shows, and JPEG has
    # no alpha); everything else becomes JPEG, which keeps a photo small.
    transparent = image.mode == "RGBA" and _lowest(image.getchannel("A")) < 255
    if not transparent and image.mode != "RGB":
        image = image.convert("RGB")
    # Pillow writes some metadata from `info` without being asked (a JPEG's comment, a
    # PNG's ICC profile): the fresh file gets none of it.
    image.info = {}
    out = io.BytesIO()
    if transparent:
        image.save(out, "PNG")
        return Encoded(out.getvalue(), "image/png")
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return Encoded(out.getvalue(), "image/jpeg")
