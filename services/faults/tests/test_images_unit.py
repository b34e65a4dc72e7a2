"""What is kept of an uploaded picture: only JPEG and PNG decoded, within a size, upright,
scaled down, in sRGB and without metadata."""

import io
import warnings

import pytest
from pictures import (
    assert_no_metadata,
    assert_turned_upright,
    level,
    opened,
    phone_photo,
    picture,
    png_claiming,
)
from PIL import Image, ImageCms, PngImagePlugin

from kundonline_common.errors import Invalid
from kundonline_faults.images import PhotoTooLarge, reencode

LIMITS = {"max_pixels": 40_000_000, "max_side": 2560}


def test_a_phone_photo_is_turned_upright_and_loses_its_gps_position_and_all_metadata() -> None:
    kept = reencode(phone_photo(), **LIMITS)
    assert kept.content_type == "image/jpeg"
    assert_turned_upright(kept.data)
    assert_no_metadata(kept.data)


@pytest.mark.parametrize("size", [(30_000, 30_000), (8_000, 6_000)])
def test_a_header_claiming_more_pixels_than_allowed_is_refused_before_decoding(
    size: tuple[int, int],
) -> None:
    # 30000×30000 trips Pillow's own guard while the header is read; 8000×6000 (48 million)
    # passes it and is refused by ours.
    with pytest.raises(PhotoTooLarge) as refused:
        reencode(png_claiming(*size), **LIMITS)
    assert refused.value.status_code == 413 and refused.value.code == "photo_too_large"
    assert refused.value.details["max_pixels"] == 40_000_000


def test_pillows_warning_of_a_decompression_bomb_is_a_refusal_where_warnings_are_errors() -> None:
    with warnings.catch_warnings(), pytest.raises(PhotoTooLarge):
        warnings.simplefilter("error")
        reencode(png_claiming(10_000, 10_000), max_pixels=10**9, max_side=2560)


@pytest.mark.parametrize(
    "data",
    [
        b"<script>alert(1)</script>",
        b"",
        picture("GIF"),
        picture("WEBP"),
        picture("TIFF"),
        picture("BMP"),
        phone_photo()[:400],  # cut off in the middle
        picture("PNG", (64, 64))[:-30],
    ],
    ids=["text", "empty", "gif", "webp", "tiff", "bmp", "truncated-jpeg", "truncated-png"],
)
def test_anything_but_a_whole_jpeg_or_png_is_not_a_photo(data: bytes) -> None:
    with pytest.raises(Invalid) as refused:
        reencode(data, **LIMITS)
    assert refused.value.status_code == 422 and refused.value.code == "invalid_photo"


def test_a_large_photo_is_scaled_down_to_the_longest_side_allowed() -> None:
    kept = opened(reencode(picture("JPEG", (400, 100)), max_pixels=10**6, max_side=100).data)
    assert kept.size == (100, 25)


def test_a_transparent_png_stays_png_with_its_alpha_and_an_opaque_one_becomes_jpeg() -> None:
    transparent = reencode(picture("PNG", mode="RGBA"), **LIMITS)
    assert transparent.content_type == "image/png"
    assert opened(transparent.data).getpixel((0, 0)) == (220, 20, 20, 128)
    assert reencode(picture("PNG"), **LIMITS).content_type == "image/jpeg"
    assert_no_metadata(transparent.data)


def test_png_text_and_icc_chunks_are_dropped() -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "kundonline-secret-marker")
    text.add_itxt("XML:com.adobe.xmp", "kundonline-secret-marker")
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    Image.new("RGBA", (8, 8), (1, 2, 3, 4)).save(buffer, "PNG", pnginfo=text, icc_profile=srgb)
    assert_no_metadata(reencode(buffer.getvalue(), **LIMITS).data)


def test_sixteen_bit_grey_keeps_its_brightness() -> None:
    grey = Image.new("I;16", (4, 4), 32_768)
    buffer = io.BytesIO()
    grey.save(buffer, "PNG")
    kept = opened(reencode(buffer.getvalue(), **LIMITS).data).convert("L")
    assert 120 <= level(kept, (0, 0)) <= 136  # half of white, not clipped to white


def test_a_cmyk_jpeg_is_kept_as_rgb() -> None:
    kept = reencode(picture("JPEG", mode="CMYK"), **LIMITS)
    assert opened(kept.data).mode == "RGB"


def test_a_palette_png_is_scaled_smoothly_not_by_nearest_neighbour() -> None:
    stripes = Image.new("P", (400, 10))
    stripes.putpalette([0, 0, 0, 255, 255, 255])
    stripes.paste(1, (0, 0, 400, 10))
    for x in range(0, 400, 2):
        stripes.paste(0, (x, 0, x + 1, 10))  # black and white columns in turn
    buffer = io.BytesIO()
    stripes.save(buffer, "PNG")
    kept = opened(reencode(buffer.getvalue(), max_pixels=10**6, max_side=100).data).convert("L")
    assert 80 <= level(kept, (50, 1)) <= 180  # grey, as the eye sees the stripes
