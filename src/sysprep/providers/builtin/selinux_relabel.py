"""selinux-relabel: ask for a full SELinux relabel at the next boot when SELinux is enabled."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider
from sysprep.providers.builtin._util import shell_vars

CONFIG = "etc/selinux/config"
FLAG = ".autorelabel"


def selinux_enabled(ctx: Context) -> bool:
    conf = shell_vars(ctx.fs.read_text(CONFIG) or "")
    mode = conf.get("SELINUX", "").lower()
    policy = conf.get("SELINUXTYPE", "")
    return (
        mode in ("enforcing", "permissive")
        and bool(policy)
        and ctx.fs.is_dir(f"etc/selinux/{policy}")
    )


def run(ctx: Context) -> None:
    if selinux_enabled(ctx) and not ctx.fs.exists(FLAG):
        ctx.write(FLAG, b"", mode=0o644)


PROVIDER = Provider(
    name="selinux-relabel",
    heading="Flag an SELinux relabel when the image has SELinux enabled",
    description=(
        "When the image's /etc/selinux/config enables SELinux (enforcing or permissive, with "
        "its policy installed), creates /.autorelabel so that the first boot relabels the "
        "file system: files that sysprep (or whatever prepared the image offline) created "
        "would otherwise carry no or wrong labels. The relabel takes some time at first boot."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    order=98,  # after everything that writes files
    paths=("/" + FLAG,),
)
