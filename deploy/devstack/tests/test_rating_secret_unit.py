"""make run keeps the rating links' secret per data directory, apart from the internal one."""

import stat
from pathlib import Path

import pytest

from kundonline_devstack.run import internal_token_secret, rating_link_secret


def test_the_rating_secret_is_kept_per_data_directory_and_is_not_the_internal_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("KUNDONLINE_INTERNAL_TOKEN_SECRET", "KUNDONLINE_RATING_LINK_SECRET"):
        monkeypatch.delenv(variable, raising=False)
    made = rating_link_secret(tmp_path)
    assert len(made.encode()) >= 48 and made != internal_token_secret(tmp_path)
    assert stat.S_IMODE((tmp_path / "rating-secret").stat().st_mode) == 0o600
    assert rating_link_secret(tmp_path) == made  # links mailed before a restart still work
    monkeypatch.setenv("KUNDONLINE_RATING_LINK_SECRET", "y" * 40)
    assert rating_link_secret(tmp_path) == "y" * 40
