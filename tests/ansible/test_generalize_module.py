"""sysprep.linux.generalize: module parameters -> sysprep command line, and the reading of a
dry run's plan (idle target, diff). The modules run for real in
tests/integration/test_ansible.py."""

from __future__ import annotations

import json
from typing import Any

import yaml
from ansible_collections.sysprep.linux.plugins.modules import generalize

from sysprep.answer.reader import detect


def params(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(
        generalize=True,
        reseal="headless",
        vm_mode=False,
        no_boot_passes=False,
        operations=None,
        enable=[],
        disable=[],
        sparsify=False,
        root=None,
        images=None,
        image_format=None,
        root_fs=None,
    )
    base.update(kw)
    return base


def test_defaults_generalize_the_live_system_headless():
    assert generalize.request_argv(params()) == ["--generalize"]


def test_every_option_becomes_its_command_line_option():
    argv = generalize.request_argv(
        params(
            reseal="audit",
            vm_mode=True,
            no_boot_passes=True,
            operations=["logfiles", "bash-history"],
            enable=["fs-uuids"],
            disable=["user-caches", "tmp-files"],
            sparsify=True,
            images=["/i/a.qcow2", "/i/b.qcow2"],
            image_format="qcow2",
            root_fs="/dev/sda2",
        ),
        "/tmp/answer",
    )
    assert argv == [
        "--generalize",
        "--audit",
        "--mode",
        "vm",
        "--no-boot-passes",
        "--unattend",
        "/tmp/answer",
        "--operations",
        "logfiles,bash-history",
        "--enable",
        "fs-uuids",
        "--disable",
        "user-caches",
        "--disable",
        "tmp-files",
        "--sparsify",
        "--image",
        "/i/a.qcow2",
        "--image",
        "/i/b.qcow2",
        "--format",
        "qcow2",
        "--root-fs",
        "/dev/sda2",
    ]


def test_reseal_without_generalize_names_the_mode_only():
    assert generalize.request_argv(params(generalize=False, reseal="oobe", root="/r")) == [
        "--oobe",
        "--root",
        "/r",
    ]


def test_inline_answer_mapping_is_written_as_json_that_sysprep_reads_as_yaml():
    answer = {"specialize": {"Linux-Shell-Setup": {"ComputerName": "web-01"}}}
    data = generalize.answer_bytes(answer)
    assert yaml.safe_load(data) == answer == json.loads(data)
    assert detect("sysprep-answer-x", data).value == "yaml"


def test_inline_answer_text_is_written_as_given():
    xml = '<unattend xmlns="urn:schemas-microsoft-com:unattend"/>'
    assert generalize.answer_bytes(xml) == xml.encode()
    assert detect("sysprep-answer-x", generalize.answer_bytes(xml)).value == "xml"


RESEAL = {
    "provider": "boot-passes",
    "op": "write",
    "path": "/usr/lib/sysprep/sysprep.pyz",
    "kind": "file",
    "bytes": 2987247,
}
CHURN = {
    "provider": "logfiles",
    "op": "clean",
    "path": "/var/log",
    "kind": "dir",
    "files": 1,
    "bytes": 0,
}
LEFT = {
    "provider": "bash-history",
    "op": "remove",
    "path": "/root/.bash_history",
    "kind": "file",
    "bytes": 22,
}


RENEWAL = {
    "provider": "swap",
    "op": "wipe",
    "path": "/dev/debian-vg/swap_1",
    "kind": "device",
    "bytes": 134217728,
    "detail": "recreated with UUID 67a60bfe, label swap",
}


def test_a_plan_of_reseal_files_empty_churn_and_uuid_renewal_leaves_nothing_to_do():
    assert generalize.nothing_left([RESEAL, CHURN, RENEWAL])
    assert generalize.nothing_left([])


def test_a_plan_that_removes_data_is_work_to_do():
    assert not generalize.nothing_left([RESEAL, CHURN, LEFT])


def test_diff_shows_removed_paths_leaving_and_emptied_ones_staying():
    d = generalize.diff_of("/srv/r", [LEFT, CHURN, RESEAL])
    assert d["before"] == "/root/.bash_history\n/var/log\n"
    assert d["after"] == "/usr/lib/sysprep/sysprep.pyz\n/var/log (emptied)\n"
    assert generalize.planned_paths([LEFT]) == ["remove /root/.bash_history"]
