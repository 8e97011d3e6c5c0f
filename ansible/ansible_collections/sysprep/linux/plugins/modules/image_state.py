#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sysprep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: image_state
short_description: Read the sysprep image state of a system, root folder or disk image; wait for a clone
description:
  - Reads the image state of the target (C(sysprep state --json)), as Windows' "Detecting the
    State", whether it is a generalized template, a clone still running its boot-time passes,
    a clone that is done (V(IMAGE_STATE_COMPLETE)), or one whose pass failed
    (V(IMAGE_STATE_UNDEPLOYABLE)).
  - With O(wait), waits until no pass is pending or running in this boot (C(sysprep state
    --wait)), so a freshly booted clone is ready when this returns.
  - Fails when the target is V(IMAGE_STATE_UNDEPLOYABLE) (a pass or run failed, its
    C(LastError) is the message, or it was interrupted), and when O(wait) times out.
version_added: 0.1.0
author: sysprep contributors (@sysprep)
extends_documentation_fragment:
  - sysprep.linux.target
options:
  wait:
    description:
      - Wait until the passes of this boot are done.
    type: bool
    default: false
  timeout:
    description:
      - With O(wait), seconds to wait before the task fails.
    type: int
    default: 900
attributes:
  check_mode:
    description: Reads the state only; the same in check mode.
    support: full
  diff_mode:
    description: Changes nothing, so there is no diff.
    support: none
seealso:
  - module: sysprep.linux.generalize
'''

EXAMPLES = r'''
- name: Wait until a new clone finished its first boot
  sysprep.linux.image_state:
    wait: true
    timeout: 900
  become: true
  register: clone

- name: Check that a template image is generalized
  sysprep.linux.image_state:
    images: [/var/lib/libvirt/images/tmpl.qcow2]
  register: tmpl
  failed_when: tmpl.image_state != 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE'
'''

RETURN = r'''
status:
  description:
    - What the state means for a pipeline, V(none) (sysprep never ran there), V(final),
      V(failed), V(interrupted), V(running) or V(pending).
  returned: always
  type: str
  sample: final
image_state:
  description: The image state (C(ImageState) of C(/var/lib/sysprep/state.ini)), empty when none.
  returned: always
  type: str
  sample: IMAGE_STATE_COMPLETE
pending:
  description: The passes still to run.
  returned: always
  type: list
  elements: str
running:
  description: The pass under way (or that failed).
  returned: always
  type: str
last_error:
  description: Why the last pass or run failed.
  returned: always
  type: str
why:
  description: The status in words.
  returned: always
  type: str
state:
  description: The whole C(sysprep state --json) document (schema C(state)).
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sysprep.linux.plugins.module_utils.sysprep_cli import (
    FAILURE, OK, PENDING, TARGET_ARGS, TARGET_EXCLUSIVE, SysprepError, run_json, target_argv)

FIELDS = ('status', 'image_state', 'pending', 'running', 'last_error', 'why')


def state_argv(params):
    argv = ['state'] + target_argv(params)
    if params['wait']:
        argv += ['--wait', '--timeout', str(params['timeout'])]
    return argv


def main():
    argument_spec = dict(
        wait=dict(type='bool', default=False),
        timeout=dict(type='int', default=900),
    )
    argument_spec.update(TARGET_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, mutually_exclusive=TARGET_EXCLUSIVE,
                           supports_check_mode=True)
    try:
        doc, rc = run_json(module, state_argv(module.params), expected=(OK, FAILURE, PENDING))
    except SysprepError as e:
        module.fail_json(msg=str(e), rc=e.rc, state=e.document or {})
    result = dict((k, doc.get(k) or ('' if k != 'pending' else [])) for k in FIELDS)
    result.update(changed=False, state=doc)
    if rc == FAILURE:
        module.fail_json(msg='%s: %s' % (doc.get('image_state') or 'failed', doc.get('why', '')),
                         **result)
    if rc == PENDING and module.params['wait']:
        module.fail_json(msg='timed out after %ds: %s' % (module.params['timeout'], doc.get('why', '')),
                         **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
