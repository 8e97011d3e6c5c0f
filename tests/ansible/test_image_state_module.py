"""sysprep.linux.image_state: module parameters -> `sysprep state` command line."""

from __future__ import annotations

from ansible_collections.sysprep.linux.plugins.modules import image_state


def test_state_of_an_image_without_waiting():
    p = dict(
        wait=False, timeout=900, root=None, images=["/i/a.raw"], image_format="raw", root_fs=None
    )
    assert image_state.state_argv(p) == ["state", "--image", "/i/a.raw", "--format", "raw"]


def test_wait_passes_its_timeout_to_sysprep_state_wait():
    p = dict(wait=True, timeout=60, root=None, images=None, image_format=None, root_fs=None)
    assert image_state.state_argv(p) == ["state", "--wait", "--timeout", "60"]
