"""fstab: one parser for the image engine and the confined layer's own mounts."""

from __future__ import annotations

from sysprep.rules import fstab

TEXT = r"""# comment
UUID=1234 / ext4 defaults 0 1
LABEL=home /home ext4 defaults,noatime 0 2
/dev/sdb1 /srv/my\040data xfs defaults 0 0
tmpfs /tmp tmpfs defaults 0 0
server:/x /mnt/nfs nfs defaults 0 0
/srv /var/www none bind 0 0
/dev/sdc1 none swap sw 0 0
sshfs#u@h: /mnt/fuse fuse.sshfs defaults 0 0
short line
"""


def test_parse_keeps_every_entry_with_its_line_and_unescaped_fields():
    entries = fstab.parse(TEXT)
    assert [(e.spec, e.rel, e.fstype, e.line) for e in entries][:3] == [
        ("UUID=1234", "", "ext4", 2),
        ("LABEL=home", "home", "ext4", 3),
        ("/dev/sdb1", "srv/my data", "xfs", 4),
    ]
    assert len(entries) == 8 and entries[1].option("noatime") == ""


def test_local_mount_points_are_disk_file_systems_only():
    assert fstab.local_mount_points(TEXT) == ["home", "srv/my data"]


def test_parse_stops_at_max_entries():
    many = "".join(f"/dev/x{i} /m{i} ext4\n" for i in range(fstab.MAX_ENTRIES + 5))
    assert len(fstab.parse(many)) == fstab.MAX_ENTRIES


def test_unescape_octal_fields():
    assert fstab.unescape(r"a\040b\011c\12") == "a b\tc\\12"
