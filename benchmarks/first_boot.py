"""The first boot of a generalized cloud image, measured against cloud-init in the same boot and
against the first boot of the same image never generalized.

Not a test: it prints figures. Run as root from the repository (qemu, loop mounts):

    python -m benchmarks.first_boot [--suite bookworm] [--dir DIR]

One run: the Debian cloud image of the integration tests (the test root plus cloud-init,
NoCloud; tests/integration/cloud.py) boots
  1. as it was built, a first instance (seed T): the ungeneralized image's first boot, which
     makes it the template;
  2. shut down and generalized with `sysprep --generalize --image`, as a clone (seed C).
Each boot is alone (one qemu, TCG, one virtual CPU). A probe unit started from
the kernel command line keeps systemd-analyze's figures and the journal once the boot is
finished; every figure is read from the guest's own clock (journal monotonic time = since
the kernel started).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from tests.integration import cloud
from tests.integration.qemu import Mounted

CLOUD_UNITS = (
    "cloud-init-main.service",
    "cloud-init-local.service",
    "cloud-init.service",
    "cloud-init-network.service",
    "cloud-config.service",
    "cloud-final.service",
)
SYSPREP_UNITS = ("sysprep-specialize.service", "sysprep-passes.service")


@dataclass
class Figures:
    name: str
    kernel: float = 0.0
    userspace: float = 0.0
    login: float = 0.0  # the serial console's login prompt started
    complete: float | None = None  # IMAGE_STATE_COMPLETE logged
    blame: dict[str, float] | None = None
    sysprep_start: float | None = None  # specialize: unit started -> its first line
    chain: str = ""
    cpu: dict[str, float] | None = None  # CPU time of each unit (systemd's CPUUsageNSec)


def seconds(text: str) -> float:
    """systemd's time spans: '1min 2.345s', '812ms', '3.2s'."""
    total = 0.0
    for value, unit in re.findall(r"([\d.]+)(min|ms|s|h)\b", text):
        total += float(value) * {"h": 3600, "min": 60, "s": 1, "ms": 0.001}[unit]
    return total


def first(journal: str, pattern: str) -> float | None:
    m = re.search(r"^\[\s*([\d.]+)\][^\n]*" + pattern, journal, re.M)
    return float(m.group(1)) if m else None


def figures(name: str, image: str, boot: cloud.Boot, where: str) -> Figures:
    with Mounted(image, where) as m:
        analyze = cloud.probe_file(m, boot.probe, "analyze.txt")
        blame = cloud.probe_file(m, boot.probe, "blame.txt")
        journal = cloud.probe_file(m, boot.probe, "journal.txt")
        chain = cloud.probe_file(m, boot.probe, "critical-chain.txt")
        cpu = cloud.probe_file(m, boot.probe, "cpu.txt")
    f = Figures(name)
    m1 = re.search(r"in (.+?) \(kernel\) \+ (.+?) \(userspace\)", analyze)
    if m1:
        f.kernel, f.userspace = seconds(m1.group(1)), seconds(m1.group(2))
    f.blame = {}
    for line in blame.splitlines():
        parts = line.split()
        if parts and parts[-1] in (*CLOUD_UNITS, *SYSPREP_UNITS):
            f.blame[parts[-1]] = seconds(" ".join(parts[:-1]))
    f.cpu = {}
    for block in cpu.split("\n\n"):
        fields = dict(ln.split("=", 1) for ln in block.splitlines() if "=" in ln)
        if fields.get("CPUUsageNSec", "").isdigit():
            f.cpu[fields["Id"]] = int(fields["CPUUsageNSec"]) / 1e9
    f.login = first(journal, r"Started serial-getty@ttyS0\.service") or 0.0
    f.complete = first(journal, r"image state IMAGE_STATE_COMPLETE")
    started = first(journal, r"Starting sysprep-specialize\.service")
    said = first(journal, r"sysprep\[\d+\]: sysprep: specialize pass$")
    if started is not None and said is not None:
        f.sysprep_start = said - started
    f.chain = "\n".join(ln for ln in chain.splitlines() if "cloud" in ln or "sysprep" in ln)
    return f


def report(plain: Figures, clone: Figures) -> None:
    def total(f: Figures, units: tuple[str, ...], cpu: bool = False) -> float:
        return sum(v for k, v in ((f.cpu if cpu else f.blame) or {}).items() if k in units)

    def cell(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f} s"

    rows = [
        ("kernel start -> login prompt (serial getty)", plain.login, clone.login),
        ("kernel start -> IMAGE_STATE_COMPLETE", plain.complete, clone.complete),
        (
            "startup finished (kernel + userspace)",
            plain.kernel + plain.userspace,
            clone.kernel + clone.userspace,
        ),
    ]
    units = sorted(
        {*(plain.blame or {}), *(clone.blame or {})},
        key=lambda u: (u not in SYSPREP_UNITS, (CLOUD_UNITS + SYSPREP_UNITS).index(u)),
    )
    rows += [(u, (plain.blame or {}).get(u), (clone.blame or {}).get(u)) for u in units]
    rows += [
        ("sysprep's units, total", None, total(clone, SYSPREP_UNITS)),
        ("cloud-init's units, total", total(plain, CLOUD_UNITS), total(clone, CLOUD_UNITS)),
        ("specialize: unit start -> its first line (python start-up)", None, clone.sysprep_start),
    ]
    rows += [(f"CPU time: {u}", (plain.cpu or {}).get(u), (clone.cpu or {}).get(u)) for u in units]
    rows += [
        ("CPU time: sysprep's units, total", None, total(clone, SYSPREP_UNITS, True)),
        (
            "CPU time: cloud-init's units, total",
            total(plain, CLOUD_UNITS, True),
            total(clone, CLOUD_UNITS, True),
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}  {plain.name:>16}  {clone.name:>16}")
    for label, a, b in rows:
        print(f"{label:{width}}  {cell(a):>16}  {cell(b):>16}")
    s, c = total(clone, SYSPREP_UNITS), total(clone, CLOUD_UNITS)
    sc, cc = total(clone, SYSPREP_UNITS, True), total(clone, CLOUD_UNITS, True)
    if c:
        print(
            f"\nsysprep / cloud-init in the clone's boot, unit time: {s / c:.2f}"
            + (f", CPU time: {sc / cc:.2f}" if cc else "")
            + " (goal: at most 0.50)"
        )
    print("\ncritical chain of the clone's boot (cloud-init and sysprep):\n" + clone.chain)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.first_boot", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--suite", default="bookworm")
    p.add_argument("--dir", default=None, help="work folder (default: a temporary one, removed)")
    a = p.parse_args(argv)
    work = a.dir or tempfile.mkdtemp(prefix="first-boot-")
    os.makedirs(work, exist_ok=True)
    try:
        ci = cloud.build(a.suite, work)
        tseed = cloud.Seed(
            "iid-bench-template", "template", user="builder", note="t", runcmd_marker="t"
        )
        (template,) = cloud.boot_all(
            [
                cloud.Boot(
                    "ungeneralized", ci.image, tseed.iso(f"{work}/t.iso"), ci.kernel, ci.initrd
                )
            ],
            work,
        )
        plain = figures("ungeneralized", ci.image, template, f"{work}/m")  # generalize removes them
        r = subprocess.run(
            [sys.executable, "-m", "sysprep", "--generalize", "--image", ci.image, "--quiet"],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            print(r.stderr, file=sys.stderr)
            return 1
        cseed = cloud.Seed(
            "iid-bench-clone", "clone", user="bob", note="clone", runcmd_marker="clone"
        )
        (clone,) = cloud.boot_all(
            [cloud.Boot("generalized", ci.image, cseed.iso(f"{work}/c.iso"), ci.kernel, ci.initrd)],
            work,
        )
        print(f"Debian {a.suite} cloud image, qemu TCG (1 vCPU, 1 GiB), one boot each\n")
        report(plain, figures("generalized", ci.image, clone, f"{work}/m"))
    finally:
        if a.dir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
