"""The confined layer is a package split along its seams; its public names stay where
every caller imports them from."""

from __future__ import annotations

from pathlib import Path

import sysprep.target.confined as confined


def test_every_module_of_the_confined_layer_is_at_most_600_lines():
    sizes = {
        p.name: len(p.read_text().splitlines()) for p in Path(confined.__file__).parent.glob("*.py")
    }
    assert len(sizes) >= 6 and max(sizes.values()) <= 600, sizes


def test_the_public_names_import_from_the_package():
    from sysprep.target.confined import (  # noqa: F401
        MAX_READ,
        Confined,
        Outcome,
        Refused,
        is_temp_name,
        mount_id_of,
        temp_name,
    )

    assert Confined.__module__ == "sysprep.target.confined.change"
    assert set(confined.__all__) >= {
        "Confined",
        "Outcome",
        "Refused",
        "is_temp_name",
        "mount_id_of",
    }
