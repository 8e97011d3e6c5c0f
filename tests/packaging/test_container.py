"""The OCI image, built by the project's own script from Debian packages (no registry pull),
run with podman on disk images in a mounted volume: exit codes and reports as on the host."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess

import pytest

from sysprep.testing import images
from sysprep.testing.images import Recipe
from tests.contract import parse
from tests.packaging.conftest import TOP

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("podman") is None, reason="podman is not installed (scripts/setup installs it)"
    ),
]


@pytest.fixture(scope="module")
def image(deb) -> str:
    p = subprocess.run(
        [os.path.join(TOP, "container", "build"), deb], capture_output=True, text=True
    )
    if p.returncode != 0:
        pytest.fail(f"container/build failed:\n{p.stderr[-4000:]}")
    return p.stdout.strip().splitlines()[-1]


def podman_run(image: str, volume: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """`podman run --privileged` as docs/packaging.md gives it, with two settings this kind of
    machine needs: runc (crun refuses its hybrid cgroup v1/v2 hierarchy) and the rlimits of
    this process (podman's defaults are above them, and without CAP_SYS_RESOURCE the
    container's init cannot raise them)."""
    limits = [
        f"--ulimit={name}={soft}:{hard}"
        for name, (soft, hard) in (
            ("nofile", resource.getrlimit(resource.RLIMIT_NOFILE)),
            ("nproc", (4096, 4096)),
        )
    ]
    return subprocess.run(
        [
            "podman",
            "--runtime",
            "runc",
            "run",
            "--rm",
            "--privileged",
            "--network=none",
            *limits,
            "-v",
            f"{volume}:/images",
            image,
            *argv,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


def host_run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [os.path.join(TOP, ".venv", "bin", "sysprep"), *argv],
        capture_output=True,
        text=True,
        timeout=600,
    )


def _summary(report: str) -> list[tuple[object, ...]]:
    """What each operation did, from the JSON report, without sizes: the runtime bundle put
    into the image is built from the Debian package's libraries in the container and from the
    venv's on the host (PyYAML's, for one, differ by a few files)."""
    return [
        (p["name"], p["status"], p["actions"], p["files"])
        for p in parse(report, "report")["providers"]
    ]


def _copies(tmp_path, *names: str) -> list[str]:
    cached, _ = images.cached(Recipe("mbr-ext4"))
    os.makedirs(tmp_path / "volume", exist_ok=True)
    return [images.copy(cached, str(tmp_path / name)) for name in names]


def test_podman_generalizes_an_image_in_a_volume_as_the_host_does(image, tmp_path):
    volume = tmp_path / "volume"
    in_volume, on_host = _copies(tmp_path, "volume/disk.raw", "host.raw")
    ran = podman_run(image, str(volume), "--generalize", "--image", "/images/disk.raw", "--json")
    host = host_run("--generalize", "--image", on_host, "--json")
    assert ran.returncode == host.returncode == 0, ran.stderr + ran.stdout
    assert _summary(ran.stdout) == _summary(host.stdout) != []
    gone = images.read_files(in_volume, ["/etc/machine-id", "/root/.bash_history"])
    assert gone == images.read_files(on_host, ["/etc/machine-id", "/root/.bash_history"])
    assert gone["/root/.bash_history"] is None


def test_podman_batch_generalizes_several_images_and_a_bad_request_exits_2(image, tmp_path):
    volume = tmp_path / "volume"
    _copies(tmp_path, "volume/a.raw", "volume/b.raw")
    ran = podman_run(image, str(volume), "batch", "--jobs", "2", "/images/a.raw", "/images/b.raw")
    assert ran.returncode == 0, ran.stderr + ran.stdout
    for name in ("a.raw", "b.raw"):
        assert images.read_files(str(volume / name), ["/root/.bash_history"]) == {
            "/root/.bash_history": None
        }
    bad = podman_run(image, str(volume), "--generalize", "--image", "/images/missing.raw")
    assert (
        bad.returncode
        == host_run("--generalize", "--image", str(volume / "missing.raw")).returncode
        == 2
    )
    assert bad.stderr.startswith("sysprep: ") and len(bad.stderr.strip().splitlines()) == 1
