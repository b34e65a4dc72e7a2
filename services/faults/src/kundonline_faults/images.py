"""What is kept of an uploaded picture: its pixels, decoded only as JPEG or PNG and within a
size, turned upright, scaled down, in sRGB, saved afresh without any of the file's metadata
(EXIF with its GPS position, XMP, comments, ICC and text chunks)."""

import io
from dataclasses import dataclass
from typing import cast

from PIL import Image, ImageCms, ImageOps

from kundonline_common.errors import DomainError, Invalid

# The only decoders an upload reaches: Pillow's others (TIFF, WebP, PSD, ...) are more
# attack surface and nothing a customer's camera or phone sends as a photo.
DECODERS = ("JPEG", "PNG")
JPEG_QUALITY = 85
NOT_A_PHOTO = "The photo must be a JPEG or PNG image."


class PhotoTooLarge(DomainError):
    status_code = 413
    code = "photo_too_large"


@dataclass(frozen=True)
class Encoded:
    data: bytes
    content_type: str


def reencode(data: bytes, *, max_pixels: int, max_side: int) -> Encoded:
    """The picture in `data` as a fresh JPEG, or PNG where it is transparent. CPU-bound:
    call it off the event loop."""
    try:
        with Image.open(io.BytesIO(data), formats=DECODERS) as opened:
            _refuse_too_many_pixels(opened, max_pixels)
            image = _resizable(opened)
            # A JPEG is not loaded yet: this decodes it at a reduced scale (draft) when large.
            image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
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
