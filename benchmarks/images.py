"""sysprep --image against virt-sysprep -a on the same Debian image, and sysprep against a
plain `rm` on large dirty roots. Prints figures (Markdown); never asserted in tests.

    python -m benchmarks.images [--runs 3] [--sizes 10000,100000,1000000]
                                [--install-virt-sysprep] [--output docs/benchmarks.md]

1. Builds (or takes from the cache) the test image: a debootstrapped Debian 12 with a kernel,
   dirtied like a used machine, on a GPT disk with /boot, an LVM root and swap, and GRUB.
2. Runs `sysprep --generalize --image COPY` and `virt-sysprep -a COPY` on fresh identical
   copies, interleaved (the order alternates each round), after one warm-up run of each;
   reports the median wall time of each, their ratio and the peak memory (largest resident
   set of the command and its helpers, e.g. virt-sysprep's appliance VM).
3. Lists every file of the original and of both results, and prints what each tool removed
   or changed that the other did not.
4. For N files in logs, temp folders and homes, times sysprep on a dirty root against `rm`
   of the same files on an identical copy, with sysprep's peak memory.

virt-sysprep runs with LIBGUESTFS_BACKEND=direct and TCG (this machine's KVM does not
work), and its appliance gets the Debian image's own kernel (supermin needs one it can read).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from sysprep import __version__
from sysprep.testing import images
from sysprep.testing.dirty_root import add_bulk, build

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD_ROOT = os.path.join(ROOT, "tests", "integration", "build-debian-root")
BULK_PLACES = (
    "var/log/app",
    "tmp/work",
    "var/tmp/build",
    "home/alice/.cache/thumbnails",
    "home/bob/.cache/thumbnails",
)


@dataclass
class Timed:
    seconds: float
    max_rss_kb: int
    code: int
    output: str


def timed(argv: list[str], env: dict[str, str] | None = None) -> Timed:
    """Wall time and peak memory (the largest process of the tree, waited for by wait4)."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return Timed(seconds, usage.ru_maxrss, proc.returncode, text)


def sh(*argv: str) -> str:
    return subprocess.run(list(argv), capture_output=True, text=True, check=True).stdout


# -- the machine ------------------------------------------------------------------------------


def _lines(path: str) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def machine(work: str) -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _lines("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        int(line.split()[1]) for line in _lines("/proc/meminfo") if line.startswith("MemTotal")
    )
    fs = sh("df", "--output=fstype,source", work).splitlines()[-1].split()
    osname = next(
        (
            line.split("=", 1)[1].strip().strip('"')
            for line in _lines("/etc/os-release")
            if line.startswith("PRETTY_NAME=")
        ),
        "Linux",
    )
    kvm = "KVM not used (TCG)"
    info = {
        "cpu": f"{cpu}, {os.cpu_count()} CPUs",
        "memory": f"{mem // 1024 // 1024} GiB",
        "kernel": platform.release(),
        "os": osname,
        "disk": f"{fs[0]} on {fs[1]} ({work})",
        "python": platform.python_version(),
        "sysprep": __version__,
        "qemu": sh("qemu-system-x86_64", "--version").splitlines()[0]
        if shutil.which("qemu-system-x86_64")
        else "-",
        "virtualization": kvm,
    }
    if shutil.which("virt-sysprep"):
        info["virt-sysprep"] = sh("virt-sysprep", "--version").strip()
    return info


# -- virt-sysprep -------------------------------------------------------------------------------


def install_virt_sysprep() -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "libguestfs-tools"],
        check=True,
        env=env,
    )


def appliance_env(tarball: str, work: str) -> dict[str, str]:
    """libguestfs with the direct backend, TCG, and the Debian image's kernel for supermin."""
    kdir = os.path.join(work, "appliance-kernel")
    if not os.path.isdir(kdir):
        os.makedirs(kdir)
        names = [
            n for n in sh("tar", "-tf", tarball).splitlines() if n.startswith("./boot/vmlinuz-")
        ]
        subprocess.run(
            ["tar", "-C", kdir, "--numeric-owner", "-xf", tarball, names[-1], "./usr/lib/modules"],
            check=True,
        )
    kernel = sorted(os.listdir(os.path.join(kdir, "boot")))[-1]
    version = kernel[len("vmlinuz-") :]
    if not os.path.exists("/lib/modules"):
        # supermin looks at the host's /lib/modules even when told where the modules are
        print("note: creating the empty folder /lib/modules for supermin", file=sys.stderr)
        os.makedirs("/lib/modules")
    return {
        **os.environ,
        "LIBGUESTFS_BACKEND": "direct",
        "LIBGUESTFS_BACKEND_SETTINGS": "force_tcg",
        "SUPERMIN_KERNEL": os.path.join(kdir, "boot", kernel),
        "SUPERMIN_KERNEL_VERSION": version,
        "SUPERMIN_MODULES": os.path.join(kdir, "usr/lib/modules", version),
    }


def _default_operations(*argv: str) -> list[str]:
    """The operations a tool's --list-operations marks with * (on by default)."""
    rows = [line.split() for line in sh(*argv, "--list-operations").splitlines()]
    return sorted(row[0] for row in rows if len(row) > 1 and row[1] == "*")


def virt_sysprep_defaults() -> list[str]:
    return _default_operations("virt-sysprep")


def sysprep_defaults() -> list[str]:
    return _default_operations(sys.executable, "-m", "sysprep")


# -- image comparison ---------------------------------------------------------------------------


def diff(
    original: dict[str, list[object]], result: dict[str, list[object]]
) -> tuple[set[str], set[str], set[str]]:
    removed = {p for p in original if p not in result}
    changed = {
        p for p in original if p in result and original[p] != result[p] and original[p][0] != "dir"
    }
    added = {p for p in result if p not in original}
    return removed, changed, added


def top_level(paths: set[str]) -> list[str]:
    """Paths without those under a removed folder that is also listed."""
    return sorted(p for p in paths if not any(p.startswith(q + "/") for q in paths if q != p))


# -- the image benchmark ------------------------------------------------------------------------


def image_benchmark(args: argparse.Namespace, work: str, tarball: str, report: list[str]) -> None:
    recipe = images.Recipe("gpt-lvm", "debian", tarball=tarball)
    src, facts = images.cached(recipe)
    size = os.stat(src).st_size
    used = int(sh("du", "-B1", src).split()[0])
    report += [
        "## sysprep --image against virt-sysprep -a",
        "",
        f"Image: Debian 12 (debootstrap, kernel {facts.kernel}), dirtied like a used machine "
        f"(users with shell histories, logs, journal, SSH host keys, DHCP leases, caches, temp "
        f"files); GPT, BIOS boot partition with GRUB, ext4 /boot, LVM root (ext4) and swap; "
        f"raw, {size // 2**20} MiB ({used // 2**20} MiB allocated).",
        "",
    ]
    have_virt = shutil.which("virt-sysprep") is not None
    env = appliance_env(tarball, work) if have_virt and not args.skip_virt_sysprep else None
    sysprep_cmd = [sys.executable, "-m", "sysprep", "--generalize", "--image"]
    results: dict[str, list[Timed]] = {"sysprep": [], "virt-sysprep": []}
    kept: dict[str, str] = {}

    def one(tool: str, keep: bool) -> Timed:
        copy = images.copy(src, os.path.join(work, f"{tool}.raw"))
        subprocess.run(["sync"], check=True)
        if tool == "sysprep":
            t = timed([*sysprep_cmd, copy])
        else:
            t = timed(["virt-sysprep", "-a", copy], env)
        if t.code != 0:
            raise SystemExit(f"{tool} failed ({t.code}):\n{t.output[-3000:]}")
        if keep:
            kept[tool] = copy
        else:
            os.unlink(copy)
        return t

    tools = ["sysprep"] + (["virt-sysprep"] if env is not None else [])
    for tool in tools:  # warm-up: libguestfs builds its appliance, Python its bytecode
        print(f"warm-up: {tool}", file=sys.stderr)
        one(tool, keep=False)
    for i in range(args.runs):
        order = tools if i % 2 == 0 else list(reversed(tools))
        for tool in order:
            t = one(tool, keep=i == args.runs - 1)
            results[tool].append(t)
            print(
                f"run {i + 1}: {tool} {t.seconds:.2f} s, {t.max_rss_kb // 1024} MiB",
                file=sys.stderr,
            )
    med = {tool: statistics.median(t.seconds for t in results[tool]) for tool in tools}
    peak = {tool: max(t.max_rss_kb for t in results[tool]) for tool in tools}
    report += ["| | runs (wall time, interleaved) | median | peak memory |", "|---|---|---|---|"]
    for tool in tools:
        runs = ", ".join(f"{t.seconds:.2f} s" for t in results[tool])
        report.append(
            f"| {'`sysprep --generalize --image`' if tool == 'sysprep' else '`virt-sysprep -a`'} "
            f"| {runs} | **{med[tool]:.2f} s** | {peak[tool] // 1024} MiB |"
        )
    report.append("")
    if env is None:
        why = (
            "skipped (--skip-virt-sysprep)"
            if args.skip_virt_sysprep
            else "not installed (run with --install-virt-sysprep)"
        )
        report += [f"virt-sysprep: {why}.", ""]
        return
    report += [
        "virt-sysprep ran with `LIBGUESTFS_BACKEND=direct` and "
        "`LIBGUESTFS_BACKEND_SETTINGS=force_tcg` (this machine's /dev/kvm does not work), "
        "its supermin appliance built from the host's packages with the image's own kernel "
        "(`SUPERMIN_KERNEL`, `SUPERMIN_MODULES`: the host has no readable kernel of its "
        "own); its warm-up run built and cached the appliance. Both tools ran their "
        "default operations on fresh copies of the same image; wall time is the whole "
        "command, as a user types it, helpers and appliance included.",
        "",
    ]
    ratio = med["virt-sysprep"] / med["sysprep"]
    report += [
        f"**sysprep is {ratio:.1f}x faster** (median wall time, {args.runs} interleaved runs "
        f"each, after one warm-up run each), and needs {peak['virt-sysprep'] / max(peak['sysprep'], 1):.0f}x "
        "less memory at its peak.",
        "",
    ]
    print(f"ratio: {ratio:.1f}x", file=sys.stderr)
    compare(src, kept, report)


def compare(src: str, kept: dict[str, str], report: list[str]) -> None:
    vdef, sdef = virt_sysprep_defaults(), sysprep_defaults()
    common = sorted(set(vdef) & set(sdef))
    report += [
        "### The same operations, and the results",
        "",
        f"virt-sysprep's default operations ({len(vdef)}): {', '.join(vdef)}.",
        "",
        f"sysprep's defaults include {len(common)} of them by name"
        + (
            f"; not by name: {', '.join(sorted(set(vdef) - set(sdef)))}"
            if set(vdef) - set(sdef)
            else ""
        )
        + f". sysprep's own additions: {', '.join(sorted(set(sdef) - set(vdef))) or 'none'}.",
        "",
    ]
    print("listing the original and both results", file=sys.stderr)
    original = images.listing(src)
    lists = {tool: images.listing(path) for tool, path in kept.items()}
    changes = {tool: diff(original, listing) for tool, listing in lists.items()}
    vols = {
        "original": images.volume_ids(src),
        **{tool: images.volume_ids(path) for tool, path in kept.items()},
    }
    report.extend(
        [
            "Volumes (type and UUID; a changed UUID in bold):",
            "",
            "| volume | original | virt-sysprep | sysprep |",
            "|---|---|---|---|",
        ]
    )
    for name, (kind, orig) in vols["original"].items():
        cells = []
        for tool in ("virt-sysprep", "sysprep"):
            _kind, new = vols[tool].get(name, ("-", "-"))
            cells.append(f"**{new}**" if new != orig else "same")
        report.append(f"| {name} | {kind} {orig} | {cells[0]} | {cells[1]} |")
    report.append("")
    v_rm, v_ch, v_add = changes["virt-sysprep"]
    s_rm, s_ch, s_add = changes["sysprep"]
    report += [
        "| | removed | changed | added |",
        "|---|---|---|---|",
        f"| virt-sysprep | {len(v_rm)} | {len(v_ch)} | {len(v_add)} |",
        f"| sysprep | {len(s_rm)} | {len(s_ch)} | {len(s_add)} |",
        "",
    ]

    def listing(title: str, paths: set[str]) -> None:
        items = top_level(paths)
        report.extend([f"{title} ({len(paths)}):", ""])
        if not items:
            report.extend(["(none)", ""])
            return
        report.extend(["```", *(f"/{p}" for p in items[:60])])
        if len(items) > 60:
            report.append(f"... and {len(items) - 60} more")
        report.extend(["```", ""])

    # what virt-sysprep cleaned that sysprep left as it was
    listing(
        "Removed or changed by virt-sysprep, left as they were by sysprep",
        {p for p in v_rm | v_ch if p not in s_rm | s_ch},
    )
    listing("Removed by virt-sysprep, changed (not removed) by sysprep", v_rm & s_ch)
    listing(
        "Removed or changed by sysprep, left as they were by virt-sysprep",
        {p for p in s_rm | s_ch if p not in v_rm | v_ch},
    )
    listing("Added by virt-sysprep", v_add)
    listing("Added by sysprep", s_add)
    for path in kept.values():
        os.unlink(path)


# -- scaling with the number of files ------------------------------------------------------------


def tree_copy(src: str, dest: str) -> None:
    subprocess.run(["cp", "-a", src, dest], check=True)


def scaling_benchmark(args: argparse.Namespace, work: str, report: list[str]) -> None:
    report += [
        "## Time and memory against the number of files",
        "",
        "A synthetic dirty root (sysprep.testing.dirty_root) with N extra small files in "
        f"logs, temp folders and home caches ({', '.join('/' + p for p in BULK_PLACES)}). "
        "sysprep `--generalize --root` runs on one copy; `rm` removes the same files (the "
        "contents of the folders that sysprep emptied) from an identical copy, then `sync`s "
        "(as sysprep does at the end). Page cache warm for both; the two copies are made "
        "the same way.",
        "",
        "| files in the root | removed (by both) | sysprep | rm + sync | ratio | sysprep peak memory |",
        "|---|---|---|---|---|---|",
    ]
    for n in args.sizes:
        base = os.path.join(work, f"tree-{n}")
        print(f"building a root with {n} files", file=sys.stderr)
        r = build(os.path.join(base, "a"))
        add_bulk(r.path, n, r.users)
        tree_copy(r.path, os.path.join(base, "b"))
        subprocess.run(["sync"], check=True)
        t = timed([sys.executable, "-m", "sysprep", "--generalize", "--quiet", "--root", r.path])
        if t.code != 0:
            raise SystemExit(f"sysprep failed on {n} files:\n{t.output[-3000:]}")
        emptied = [
            p
            for p in BULK_PLACES
            if not any(files for _d, _s, files in os.walk(os.path.join(r.path, p)))
        ]
        targets = [
            os.path.join(base, "b", p, name)
            for p in emptied
            for name in os.listdir(os.path.join(base, "b", p))
        ]
        subprocess.run(["sync"], check=True)
        # sysprep syncs at the end (the image state is recorded durably): so does the baseline
        rm = timed(["sh", "-c", 'rm -rf "$@" && sync', "rm", *targets])
        if rm.code != 0:
            raise SystemExit(f"rm failed: {rm.output}")
        left = sum(
            len(files)
            for p in BULK_PLACES
            if p not in emptied
            for _d, _s, files in os.walk(os.path.join(r.path, p))
        )
        note = (
            f" ({left:,} left in {', '.join('/' + p for p in BULK_PLACES if p not in emptied)})"
            if left
            else ""
        )
        report.append(
            f"| {n:,} | {n - left:,}{note} | {t.seconds:.2f} s | {rm.seconds:.2f} s "
            f"| {t.seconds / max(rm.seconds, 1e-3):.2f} | {t.max_rss_kb // 1024} MiB |"
        )
        print(
            f"{n}: sysprep {t.seconds:.2f} s ({t.max_rss_kb // 1024} MiB), rm {rm.seconds:.2f} s",
            file=sys.stderr,
        )
        shutil.rmtree(base)
    report.append("")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.images", description=__doc__.split("\n\n")[0]
    )
    p.add_argument(
        "--runs", type=int, default=3, help="timed runs of each tool (median; at least 3)"
    )
    p.add_argument(
        "--sizes", default="10000,100000,1000000", help="file counts for the scaling test"
    )
    p.add_argument(
        "--install-virt-sysprep",
        action="store_true",
        help="install libguestfs-tools with apt first",
    )
    p.add_argument("--skip-virt-sysprep", action="store_true", help="time sysprep only")
    p.add_argument("--skip-scaling", action="store_true", help="no file-count scaling test")
    p.add_argument("--work", default="/var/tmp", help="where to put the copies (a disk, not tmpfs)")
    p.add_argument("--output", help="also write the Markdown report to this file")
    args = p.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.runs < 3:
        p.error("--runs: at least 3 (the median of interleaved runs)")
    if os.geteuid() != 0:
        p.error("run as root (disk images are attached with loop devices)")
    if args.install_virt_sysprep and not shutil.which("virt-sysprep"):
        install_virt_sysprep()
    tarball = sh(BUILD_ROOT).strip().splitlines()[-1]
    work = tempfile.mkdtemp(prefix="sysprep-bench-", dir=args.work)
    report = [
        "# Benchmarks",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `python -m benchmarks.images` "
        f"({' '.join(sys.argv[1:]) or 'defaults'}).",
        "",
        "## The machine",
        "",
    ]
    for key, value in machine(work).items():
        report.append(f"* {key}: {value}")
    report.append("")
    try:
        image_benchmark(args, work, tarball, report)
        if not args.skip_scaling:
            scaling_benchmark(args, work, report)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = "\n".join(report) + "\n"
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
