"""The Ansible collection (ansible/ansible_collections/sysprep/linux) imported as Ansible
imports it: from the collections folder, with ansible-core's module_utils."""

from __future__ import annotations

import os
import sys

COLLECTIONS = os.path.join(os.path.dirname(__file__), "..", "..", "ansible")
COLLECTION = os.path.join(COLLECTIONS, "ansible_collections", "sysprep", "linux")
if os.path.abspath(COLLECTIONS) not in sys.path:
    sys.path.insert(0, os.path.abspath(COLLECTIONS))
