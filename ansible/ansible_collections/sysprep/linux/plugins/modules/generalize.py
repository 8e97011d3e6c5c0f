#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sysprep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: generalize
short_description: Generalize and reseal a Linux system, root folder or disk image with sysprep
description:
  - Removes everything that makes an installation one particular machine (machine-id, SSH
    host keys, logs, histories, leases, caches, registrations...) and reseals it, so that
    the next boot of each clone specializes it, as C(sysprep --generalize) does.
  - The target is the live managed host, an offline root folder (O(root)) or the disk images
    of a stopped guest (O(images)) on the managed host.
  - Idempotent. A target that is already in the requested image state, where a dry run finds
    nothing of the template left to remove or empty, is left alone (RV(changed=false)); the
    only actions such a dry run may still plan are sysprep's own reseal files (the runtime
    and units it reinstalls), zero-byte churn (an empty accounting log re-created) and the
    renewal of device identifiers that the last generalize already renewed (new LVM and
    swap UUIDs of an image that has not booted since). Every run counts a rearm, so an
    unneeded run is not harmless. Use O(force) to run anyway.
  - With an answer file, the run replaces the answer file cached in the target, so a target
    is only left alone when no answer file is given.
  - Check mode is sysprep's own dry run (C(--dry-run)); nothing on the target changes. Diff
    mode lists the paths that are (or would be) removed, emptied or written.
  - On the live host with O(power_off) or O(reboot), the task returns its result first; the
    power-off is scheduled O(power_delay) seconds later by a transient systemd timer (or a
    detached C(sleep)) so that the connection closes cleanly.
version_added: 0.1.0
author: sysprep contributors (@sysprep)
extends_documentation_fragment:
  - sysprep.linux.target
options:
  generalize:
    description:
      - Run the cleanup and generalize phases. V(false) runs only the cleanup phase and
        reseals (C(sysprep --oobe) or C(--audit) without C(--generalize)).
    type: bool
    default: true
  reseal:
    description:
      - What the next boot does after the specialize pass.
      - V(headless) runs the passes unattended, no first-boot welcome (the default of a
        pipeline); V(oobe) shows the first-boot welcome (C(--oobe)); V(audit) boots into audit
        mode (C(--audit)).
    type: str
    choices: [headless, oobe, audit]
    default: headless
  vm_mode:
    description:
      - Keep hardware-bound state; the clones run on the same virtual hardware (C(--mode vm)).
    type: bool
    default: false
  answer_file:
    description:
      - An answer file (C(unattend.xml) or YAML) on the managed host, validated, cached in the
        target and applied (C(--unattend)).
      - Mutually exclusive with O(answer).
    type: path
  answer:
    description:
      - Answer-file data given inline, as a YAML mapping (passes, components, settings) or as
        the text of an C(unattend.xml) or YAML file.
      - Staged on tmpfs on the managed host (C(/run/sysprep-answer), folder 0700, file 0600),
        never on its disk (for the live host, the disk being generalized), and removed after
        the run; never logged. Use pipelining (C(ansible_pipelining=true)) so that Ansible's
        own copy of the module arguments is not written to a temp file on that disk either.
      - Mutually exclusive with O(answer_file).
    type: raw
  operations:
    description:
      - Run only these operations (providers), as C(--operations).
    type: list
    elements: str
  enable:
    description:
      - Operations to run in addition to the defaults (C(--enable)).
    type: list
    elements: str
    default: []
  disable:
    description:
      - Operations not to run (C(--disable)).
    type: list
    elements: str
    default: []
  no_boot_passes:
    description:
      - Generalize only; nothing of sysprep is left in the image but a unit that makes the SSH
        host keys (C(--no-boot-passes)).
    type: bool
    default: false
  sparsify:
    description:
      - With O(images), discard the free blocks of their file systems at the end (C(--sparsify)).
    type: bool
    default: false
  power_off:
    description:
      - Live host only. Power the machine off once the task has returned its result.
      - Mutually exclusive with O(reboot).
    type: bool
    default: false
  reboot:
    description:
      - Live host only. Reboot the machine once the task has returned its result; the next
        boot is the first boot of a clone.
    type: bool
    default: false
  power_delay:
    description:
      - Seconds between the end of the task and the power-off or reboot.
    type: int
    default: 5
  force:
    description:
      - Run sysprep even when the target is already generalized and resealed with nothing
        left to remove.
    type: bool
    default: false
attributes:
  check_mode:
    description: Runs sysprep's dry run (C(--dry-run)); nothing on the target changes.
    support: full
  diff_mode:
    description: The paths that are (or would be) removed, emptied or written.
    support: full
notes:
  - The module needs root on the managed host (C(become=true)).
  - The result is read from sysprep's JSON documents (the pipeline contract), never from its
    messages.
seealso:
  - module: sysprep.linux.image_state
'''

EXAMPLES = r'''
- name: Generalize a template VM, reseal it headless and power it off
  sysprep.linux.generalize:
    answer_file: /root/unattend.xml
    power_off: true
  become: true

- name: Generalize an offline root with an inline answer
  sysprep.linux.generalize:
    root: /srv/images/web
    answer:
      specialize:
        Linux-Shell-Setup:
          ComputerName: '*'
          TimeZone: Etc/UTC

- name: Generalize the disks of a stopped guest, keep bash history
  sysprep.linux.generalize:
    images:
      - /var/lib/libvirt/images/tmpl.qcow2
    disable: [bash-history]
    sparsify: true
'''

RETURN = r'''
changed:
  description: Whether sysprep ran (or, in check mode, would run), or a power-off was scheduled.
  returned: always
  type: bool
image_state:
  description: The image state of the target after the task (before it, in check mode).
  returned: always
  type: str
  sample: IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE
state:
  description: C(sysprep state --json) of the target before the task.
  returned: always
  type: dict
report:
  description:
    - The run's report (C(sysprep --json)); in check mode the dry run's plan
      (C(sysprep --dry-run --json)), whose C(plan) lists every action.
    - Follows the C(report) schema (C(sysprep schema report)).
  returned: always
  type: dict
paths:
  description: The paths the run acted on, or would act on in check mode, as C(OP PATH).
  returned: always
  type: list
  elements: str
  sample: ["remove /root/.bash_history", "truncate /etc/machine-id"]
power:
  description: The power action scheduled on the live host (V(poweroff), V(reboot)) or V(none).
  returned: always
  type: str
'''

import os
import shlex
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes
from ansible.module_utils.six import string_types
from ansible_collections.sysprep.linux.plugins.module_utils.sysprep_cli import (
    FAILURE, OK, TARGET_ARGS, TARGET_EXCLUSIVE, SysprepError, describe, executable, run_json,
    target_argv)

# Planned actions that leave a generalized target as it is: sysprep's own reseal files (the
# runtime and units it writes again, byte for byte), zero-byte churn, and device identifiers
# (LVM, swap UUIDs) renewed again: a target still in its resealed state has not booted since
# the last generalize renewed them.
RESEAL_PROVIDER = 'boot-passes'
RENEWAL_KIND = 'device'
RESEALED = {
    'headless': 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE',
    'oobe': 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE',
    'audit': 'IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT',
}


def request_argv(params, answer_path=None):
    """The sysprep command line (without --dry-run and --json) for these module parameters."""
    argv = []
    if params['generalize']:
        argv.append('--generalize')
    if params['reseal'] == 'oobe':
        argv.append('--oobe')
    elif params['reseal'] == 'audit':
        argv.append('--audit')
    if params['vm_mode']:
        argv += ['--mode', 'vm']
    if params['no_boot_passes']:
        argv.append('--no-boot-passes')
    if answer_path:
        argv += ['--unattend', answer_path]
    if params['operations']:
        argv += ['--operations', ','.join(params['operations'])]
    for op in params['enable']:
        argv += ['--enable', op]
    for op in params['disable']:
        argv += ['--disable', op]
    if params['sparsify']:
        argv.append('--sparsify')
    return argv + target_argv(params)


def answer_bytes(answer):
    """Inline answer data as the bytes of a file: a mapping is written as JSON, which YAML
    readers read as it is (no YAML library needed on the managed host)."""
    if isinstance(answer, string_types):
        return to_bytes(answer)
    import json
    return to_bytes(json.dumps(answer, indent=2, sort_keys=True))


def planned_paths(plan):
    return ['%s %s' % (a['op'], a['path']) for a in plan]


def nothing_left(plan):
    """Whether a dry run's plan leaves the target as it is (see RESEAL_PROVIDER)."""
    return all(a.get('provider') == RESEAL_PROVIDER or a.get('kind') == RENEWAL_KIND
               or a.get('bytes', 1) == 0 for a in plan)


def diff_of(target, plan):
    """Before/after text of the paths a plan touches: removed paths leave, emptied and
    written ones are there after, marked."""
    gone = ('remove',)
    before = sorted(set(a['path'] for a in plan if a['op'] in gone + ('clean', 'truncate')))
    after = sorted(set(a['path'] + ('' if a['op'] in ('write', 'mkdir', 'symlink') else ' (emptied)')
                       for a in plan if a['op'] not in gone))
    return dict(before_header=target, after_header='%s (generalized)' % target,
                before='\n'.join(before) + '\n' if before else '',
                after='\n'.join(after) + '\n' if after else '')


def schedule_power(module, verb, delay):
    """Power off or reboot `delay` seconds after the task returns, detached from this
    connection: a transient systemd timer when systemd runs, else a detached sleep."""
    systemctl = module.get_bin_path('systemctl', opt_dirs=['/usr/bin', '/bin'])
    systemd_run = module.get_bin_path('systemd-run', opt_dirs=['/usr/bin', '/bin'])
    if systemd_run and systemctl and os.path.isdir('/run/systemd/system'):
        cmd = [systemd_run, '--on-active=%ds' % delay, '--timer-property=AccuracySec=100ms',
               '--description=power off after sysprep', systemctl, '--no-block', verb]
        rc, out, err = module.run_command(cmd)
        if rc == 0:
            return
        module.fail_json(msg='sysprep finished, but scheduling the %s failed: %s' % (verb, err.strip()))
    script = 'sleep %d; exec %s' % (delay, verb)
    rc, out, err = module.run_command('setsid -f sh -c %s </dev/null >/dev/null 2>&1'
                                      % shlex.quote(script), use_unsafe_shell=True)
    if rc != 0:
        module.fail_json(msg='sysprep finished, but scheduling the %s failed: %s' % (verb, err.strip()))


# Inline answers are staged on tmpfs, never on a disk: the live host's disk is the one being
# generalized, and a deleted clear-text file would stay in its free blocks. sysprep caches
# the answer (passwords hashed) in the target; this file vanishes at power-off anyway.
ANSWER_DIR = '/run/sysprep-answer'


def write_answer(module, folder=None):
    """The inline answer in a private file on tmpfs (folder 0700, file 0600), or None."""
    if module.params['answer'] is None:
        return None
    folder = folder or ANSWER_DIR
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
    except OSError as e:
        module.fail_json(msg='cannot stage the answer in %s (tmpfs): %s' % (folder, e))
    fd, path = tempfile.mkstemp(prefix='sysprep-answer-', dir=folder)  # mode 0600
    with os.fdopen(fd, 'wb') as f:
        f.write(answer_bytes(module.params['answer']))
    return path


def main():
    argument_spec = dict(
        generalize=dict(type='bool', default=True),
        reseal=dict(type='str', default='headless', choices=['headless', 'oobe', 'audit']),
        vm_mode=dict(type='bool', default=False),
        answer_file=dict(type='path'),
        answer=dict(type='raw', no_log=True),
        operations=dict(type='list', elements='str'),
        enable=dict(type='list', elements='str', default=[]),
        disable=dict(type='list', elements='str', default=[]),
        no_boot_passes=dict(type='bool', default=False),
        sparsify=dict(type='bool', default=False),
        power_off=dict(type='bool', default=False),
        reboot=dict(type='bool', default=False),
        power_delay=dict(type='int', default=5),
        force=dict(type='bool', default=False),
    )
    argument_spec.update(TARGET_ARGS)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=TARGET_EXCLUSIVE + [('answer', 'answer_file'), ('power_off', 'reboot')],
        supports_check_mode=True,
    )
    p = module.params
    live = not p['root'] and not p['images']
    verb = 'poweroff' if p['power_off'] else 'reboot' if p['reboot'] else None
    if verb and not live:
        module.fail_json(msg='power_off and reboot are for the live host only, not %s' % describe(p))
    if not p['generalize'] and p['reseal'] == 'headless':
        module.fail_json(msg='a reseal without generalize names its mode: reseal=oobe or audit')
    if p['sparsify'] and not p['images']:
        module.fail_json(msg='sparsify is for images only')
    executable(module)  # a clear message when sysprep is not installed

    answer_path = write_answer(module)
    answer = answer_path or p['answer_file']
    argv = request_argv(p, answer)
    result = dict(changed=False, power='none', paths=[])
    try:
        state, rc = run_json(module, ['state'] + target_argv(p), expected=(OK, FAILURE, 3))
        result['state'] = state
        plan, rc = run_json(module, argv + ['--dry-run'], scrub=answer_path)
        actions = plan.get('plan', [])
        idle = (not p['force'] and not answer and p['generalize']
                and state.get('status') == 'final'
                and state.get('image_state') == RESEALED[p['reseal']]
                and nothing_left(actions))
        result.update(image_state=state.get('image_state', ''), report=plan)
        if not idle:
            result['changed'] = True
            result['paths'] = planned_paths(actions)
            if module._diff:
                result['diff'] = diff_of(describe(p), actions)
            if not module.check_mode:
                report, rc = run_json(module, argv, scrub=answer_path)
                result.update(report=report, image_state=report.get('image_state', ''))
    except SysprepError as e:
        result.update(rc=e.rc, report=e.document or {}, stderr=e.stderr)
        module.fail_json(msg=str(e), **result)
    finally:
        if answer_path:
            os.remove(answer_path)
    if verb and not module.check_mode:
        schedule_power(module, verb, p['power_delay'])
        result.update(changed=True, power=verb)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
