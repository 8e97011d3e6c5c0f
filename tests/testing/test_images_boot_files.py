"""The bootable test images' /boot: GRUB 2.06 reads no sparse file with a deep extent tree."""

from __future__ import annotations

import os

from sysprep.testing import layouts


def test_boot_files_are_made_dense_before_mkfs(tmp_path):
    kernel = tmp_path / "vmlinuz-6.1.0-50-amd64"
    with open(kernel, "wb") as f:  # data, a 1 MiB hole, data: as an extracted kernel can be
        f.write(b"k" * 4096)
        f.seek(1 << 20, os.SEEK_CUR)
        f.write(b"k" * 4096)
    size = kernel.stat().st_size
    if kernel.stat().st_blocks * 512 >= size:
        return  # this file system stores no holes: nothing to densify
    layouts.densify(str(tmp_path))
    st = kernel.stat()
    assert st.st_size == size and st.st_blocks * 512 >= size
    assert kernel.read_bytes() == b"k" * 4096 + b"\0" * (1 << 20) + b"k" * 4096
