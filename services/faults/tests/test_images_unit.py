"""What is kept of an uploaded picture: only JPEG and PNG decoded, within a size, upright,
scaled down, in sRGB and without metadata."""

import io
import warnings
from typing import Any, TypedDict

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
from PIL import Image, ImageChops, ImageCms, ImageFile, ImageStat, PngImagePlugin

from kundonline_common.errors import Invalid
from kundonline_faults.budget import MemoryBudget
from kundonline_faults.images import PhotoTooLarge, kept_size, reencode


class Limits(TypedDict):
    max_pixels: int
    max_side: int
    memory: MemoryBudget


MB = 1024 * 1024
MEMORY = MemoryBudget(160 * MB)
LIMITS: Limits = {"max_pixels": 40_000_000, "max_side": 2560, "memory": MEMORY}


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
        reencode(png_claiming(10_000, 10_000), max_pixels=10**9, max_side=2560, memory=MEMORY)


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
    kept = opened(
        reencode(picture("JPEG", (400, 100)), max_pixels=10**6, max_side=100, memory=MEMORY).data
    )
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
    kept = opened(
        reencode(buffer.getvalue(), max_pixels=10**6, max_side=100, memory=MEMORY).data
    ).convert("L")
    assert 80 <= level(kept, (50, 1)) <= 180  # grey, as the eye sees the stripes


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The size at which each picture is decoded, as its pixels are read."""
    sizes: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load

    def recording(image: ImageFile.ImageFile) -> Any:
        if image.tile:  # not read yet
            sizes.append(image.size)
        return load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording)
    return sizes


@pytest.mark.parametrize(
    ("size", "at"),
    [
        ((1000, 600), (250, 150)),  # a quarter still covers 200×120
        ((401, 257), (201, 129)),  # half covers 200×128, if only just
        ((257, 1000), (65, 250)),  # standing
        ((399, 300), (399, 300)),  # half would be 199.5 across, narrower than the 200 kept
    ],
)
def test_a_large_jpeg_is_decoded_at_the_smallest_scale_that_still_covers_the_kept_size(
    decoded: list[tuple[int, int]], size: tuple[int, int], at: tuple[int, int]
) -> None:
    data = photo_like("JPEG", size)
    kept = opened(reencode(data, max_pixels=10**6, max_side=200, memory=MEMORY).data)
    assert decoded[0] == at
    # What is kept is what scaling the whole picture gave: the same size, nearly the same pixels.
    whole = opened(data)
    whole.thumbnail((200, 200), Image.Resampling.LANCZOS)
    assert kept.size == whole.size
    assert max(ImageStat.Stat(ImageChops.difference(kept, whole)).mean) < 2


def test_the_kept_size_is_known_from_the_header_as_pillow_would_round_it() -> None:
    sizes = [(w, h) for w in (1, 99, 101, 257, 333, 1001, 4999) for h in (1, 3, 101, 640, 7001)]
    for size in sizes:
        thumbnail = Image.new("1", size)
        thumbnail.thumbnail((100, 100))
        assert kept_size(size, 100) == thumbnail.size, size


def test_a_png_taking_more_memory_than_a_photo_may_is_refused_before_a_pixel_is_decoded(
    decoded: list[tuple[int, int]],
) -> None:
    small = MemoryBudget(MB)
    with pytest.raises(PhotoTooLarge) as refused:
        reencode(picture("PNG", (1000, 1000)), max_pixels=10**6, max_side=100, memory=small)
    assert refused.value.status_code == 413 and refused.value.code == "photo_too_large"
    assert refused.value.details["max_decode_bytes"] == MB < refused.value.details["decode_bytes"]
    assert decoded == []
    # A JPEG as large is read at an eighth of its size, and fits.
    kept = reencode(picture("JPEG", (1000, 1000)), max_pixels=10**6, max_side=100, memory=small)
    assert opened(kept.data).size == (100, 100)


def test_a_progressive_jpeg_counts_every_coefficient_it_is_decoded_from() -> None:
    # Read at an eighth of its size, a 1000×1000 JPEG fits in 1 MB (above); progressive, it
    # is decoded from 6 MB of coefficients, held at full size whatever the scale.
    small = MemoryBudget(MB)
    baseline, progressive = io.BytesIO(), io.BytesIO()
    image = Image.radial_gradient("L").resize((1000, 1000)).convert("RGB")
    image.save(baseline, "JPEG", subsampling=0)
    image.save(progressive, "JPEG", subsampling=0, progressive=True)
    reencode(baseline.getvalue(), max_pixels=10**6, max_side=100, memory=small)
    with pytest.raises(PhotoTooLarge) as refused:
        reencode(progressive.getvalue(), max_pixels=10**6, max_side=100, memory=small)
    assert refused.value.details["decode_bytes"] > 6_000_000


@pytest.mark.parametrize("mode", ["RGBA", "P", "I;16"])
def test_alpha_a_palette_or_16_bit_grey_take_more_memory_a_pixel_than_rgb(mode: str) -> None:
    # 500×500 RGB takes 1.28 MB to decode and scale to 100×100; these twice as much or more.
    budget = MemoryBudget(1_500_000)
    reencode(picture("PNG", (500, 500)), max_pixels=10**6, max_side=100, memory=budget)
    image = Image.new(mode, (500, 500))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **({"transparency": 0} if mode == "P" else {}))
    with pytest.raises(PhotoTooLarge):
        reencode(buffer.getvalue(), max_pixels=10**6, max_side=100, memory=budget)


def photo_like(kind: str, size: tuple[int, int]) -> bytes:
    """A picture with something in it to scale: colours running across and down."""
    across = Image.linear_gradient("L").resize(size)
    down = Image.linear_gradient("L").rotate(90).resize(size)
    buffer = io.BytesIO()
    Image.merge("RGB", (across, down, Image.new("L", size, 90))).save(buffer, kind, quality=95)
    return buffer.getvalue()
