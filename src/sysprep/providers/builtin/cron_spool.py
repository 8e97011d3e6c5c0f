"""cron-spool: remove users' cron jobs and at jobs, and reset at's job counter."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider
from sysprep.providers.builtin._util import remove_files, remove_files_below

SEQ = ".SEQ"
FIRST = b"00000\n"  # at's job counter, as at writes it when it starts afresh
# Folders whose files (at any depth) go, .SEQ excepted: crontabs and at jobs of Red Hat
# (/var/spool/cron, /var/spool/at) and Debian (/var/spool/cron/crontabs, .../atjobs).
TREES = ("var/spool/cron", "var/spool/at")
FLAT = ("var/spool/atjobs/*", "var/spool/atspool/*")
COUNTERS = (
    "var/spool/cron/atjobs/.SEQ",
    "var/spool/atjobs/.SEQ",
    "var/spool/at/.SEQ",
    "var/spool/at/spool/.SEQ",
)


def run(ctx: Context) -> None:
    for tree in TREES:
        remove_files_below(ctx, tree, keep=lambda name: name == SEQ)
    remove_files(ctx, *FLAT)
    for counter in COUNTERS:
        if ctx.fs.is_file(counter) and ctx.fs.read_bytes(counter) != FIRST:
            ctx.write(counter, FIRST)  # in place of the old one: owner, mode, label kept


PROVIDER = Provider(
    name="cron-spool",
    heading="Remove user at-jobs and cron-jobs",
    description=(
        "Removes every user's crontab and every pending at job from the spools (Red Hat's "
        "/var/spool/cron and /var/spool/at, Debian's /var/spool/cron/crontabs, atjobs and "
        "atspool). at's job counter (.SEQ) is kept, with its owner and mode, and reset to "
        "00000. The spool folders stay. System cron tables in /etc are not touched."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    paths=(
        "/var/spool/cron/** (files, except .SEQ)",
        "/var/spool/at/** (files, except .SEQ)",
        *("/" + p for p in FLAT),
        *(f"/{c} (reset to 00000)" for c in COUNTERS),
    ),
)
