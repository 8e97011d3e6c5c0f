"""sysprep's INI records: keys keep their case, a '%' is no interpolation."""

from __future__ import annotations

import re

import pytest

from sysprep.rules import records


def test_render_then_parse_round_trips_case_and_percent():
    text = records.render({"Sysprep": {"LastError": "disk 100% full", "ModeVM": "true"}})
    cp = records.parse(text)
    assert dict(cp["Sysprep"]) == {"LastError": "disk 100% full", "ModeVM": "true"}


def test_parse_refuses_what_is_no_ini_file():
    with pytest.raises(records.Error):
        records.parse("no section header\n")


def test_now_is_an_iso_time_stamp_with_offset():
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$", records.now())
