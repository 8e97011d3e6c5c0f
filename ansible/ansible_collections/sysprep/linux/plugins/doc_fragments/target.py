# -*- coding: utf-8 -*-
# Copyright: sysprep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The target options of every module of the collection (sysprep's --root, --image...).
    DOCUMENTATION = r'''
options:
  root:
    description:
      - An offline root file system on the managed host (a mounted image, a chroot, a
        container root), as C(sysprep --root DIR).
      - Neither O(root) nor O(images) means the live managed host itself.
    type: path
  images:
    description:
      - The disk images (raw or qcow2) of one guest, on the managed host, as
        C(sysprep --image FILE) repeated. The guest must not be running.
    type: list
    elements: path
  image_format:
    description:
      - The format of O(images); detected when omitted.
    type: str
    choices: [raw, qcow2]
  root_fs:
    description:
      - With O(images), the device of the root file system when several are found
        (C(/dev/sda2), C(/dev/VG/LV), C(UUID=...)), as C(sysprep --root-fs).
    type: str
  executable:
    description:
      - The sysprep program on the managed host.
      - By default C(sysprep) from the E(PATH), C(/usr/sbin) or C(/usr/local/sbin).
    type: path
requirements:
  - sysprep on the managed host (the Debian package, or C(python3 sysprep.pyz install)).
  - root privileges on the managed host (C(become=true)).
'''
