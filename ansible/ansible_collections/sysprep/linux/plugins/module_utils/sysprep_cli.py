# -*- coding: utf-8 -*-
# Copyright: sysprep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What both modules share: the target options, and running sysprep through its pipeline
contract (one JSON document on stdout for every exit status; docs/contract.md). Nothing here
reads sysprep's human output."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

# The target, as the command line names it: the live managed host (neither option), an
# offline root folder, or the disks of one guest.
TARGET_ARGS = dict(
    root=dict(type='path'),
    images=dict(type='list', elements='path'),
    image_format=dict(type='str', choices=['raw', 'qcow2']),
    root_fs=dict(type='str'),
    executable=dict(type='path'),
)
TARGET_EXCLUSIVE = [('root', 'images')]

# sysprep's exit statuses (docs/contract.md)
OK, FAILURE, USAGE, PENDING = 0, 1, 2, 3


def target_argv(params):
    """The command line options that name the target of these module parameters."""
    argv = []
    if params.get('root'):
        argv += ['--root', params['root']]
    for image in params.get('images') or []:
        argv += ['--image', image]
    if params.get('image_format'):
        argv += ['--format', params['image_format']]
    if params.get('root_fs'):
        argv += ['--root-fs', params['root_fs']]
    return argv


def describe(params):
    if params.get('root'):
        return params['root']
    if params.get('images'):
        return ', '.join(params['images'])
    return 'the live system'


def executable(module):
    """sysprep on the managed host: the given path, else PATH and /usr/sbin (where the
    runtime installs its wrapper)."""
    if module.params.get('executable'):
        return module.params['executable']
    return module.get_bin_path('sysprep', required=True, opt_dirs=['/usr/sbin', '/usr/local/sbin'])


class SysprepError(Exception):
    """sysprep exited with a status the caller did not expect; `document` is its JSON."""

    def __init__(self, message, rc, document, stderr):
        super(SysprepError, self).__init__(message)
        self.rc, self.document, self.stderr = rc, document, stderr


def run_json(module, argv, expected=(OK,), scrub=None):
    """Run sysprep with --json; its document and exit status. Any other status than `expected`
    raises SysprepError with the document's own message (the error document's `message`, a
    failed report's `error`). `scrub` (a path) is replaced by '<answer>' in messages: a temp
    file of inline answer data should not show its name."""
    cmd = [executable(module)] + list(argv) + ['--json']
    rc, out, err = module.run_command(cmd, environ_update={'LC_ALL': 'C.UTF-8'})
    try:
        doc = json.loads(out)
    except ValueError:
        raise SysprepError('sysprep printed no JSON document (exit status %d): %s'
                           % (rc, (err or out).strip()[-2000:]), rc, None, err)
    if rc not in expected:
        message = _message(doc) or err.strip() or 'sysprep exited with status %d' % rc
        if scrub:
            message = message.replace(scrub, '<answer>')
        raise SysprepError(message, rc, doc, err)
    return doc, rc


def _message(doc):
    if isinstance(doc.get('error'), dict):
        return doc['error'].get('message', '')
    if doc.get('error'):
        return doc['error']
    return doc.get('why', '')
