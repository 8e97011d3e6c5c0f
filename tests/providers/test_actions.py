"""Providers as data: the declared actions are what runs and what `providers show` lists;
a provider with nothing but path actions has no code; shared follow-ups run once."""

from __future__ import annotations

import ast
import inspect
import os
import textwrap

import pytest

from sysprep.log import RunLog
from sysprep.passes.prepare import run_providers
from sysprep.passes.report import Report
from sysprep.providers.actions import Clean, Remove, Truncate
from sysprep.providers.base import Phase, Provider, Settings, no_logic
from sysprep.providers.registry import Registry, from_package
from sysprep.providers.registry import builtin as all_builtin
from sysprep.request import TargetKind, TargetSpec
from sysprep.target import open_target
from tests.providers.conftest import apply

# What a provider that only removes, empties or truncates paths calls: the actions say it.
PATH_CALLS = {"remove", "clean", "truncate", "remove_files", "in_homes"}


def _only_path_calls(fn: object) -> bool:
    """True when the function's body is nothing but ctx.remove/clean/truncate calls."""
    body = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    assert isinstance(body, ast.FunctionDef)
    for stmt in body.body:
        if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
            return False
        calls = [c.func for c in ast.walk(stmt.value) if isinstance(c, ast.Call)]
        if not all(isinstance(f, ast.Attribute) and f.attr in PATH_CALLS for f in calls):
            return False  # a helper or a look at the target first: logic
    return True


def test_each_provider_that_only_removes_paths_has_no_run():
    coded = [p.name for p in all_builtin() if p.run is not no_logic and _only_path_calls(p.run)]
    assert coded == []
    declarative = [p for p in all_builtin() if p.run is no_logic]
    assert len(declarative) >= 45 and all(p.actions for p in declarative)


def test_the_no_run_check_sees_a_provider_written_as_code():
    def run(ctx):  # the shape the check must catch
        ctx.remove("etc/x", *ctx.in_homes(".x"))
        ctx.clean("var/tmp")

    assert _only_path_calls(run)


def test_paths_shown_are_derived_from_the_actions():
    p = Provider(
        name="t",
        heading="T",
        description="",
        phase=Phase.CLEANUP,
        actions=(
            Remove("etc/a", "~/.b"),
            Remove("etc/c/*", files_only=True),
            Clean("tmp", "~/.cache"),
            Clean("var/log", keep_dirs=True),
            Truncate("etc/d"),
        ),
        paths=("/etc/e (by the code)",),
    )
    assert p.paths == (
        "/etc/a",
        "~/.b (every home)",
        "/etc/c/* (files)",
        "/tmp/*",
        "~/.cache/* (every home)",
        "/var/log/** (files)",
        "/etc/d",
        "/etc/e (by the code)",
    )


def test_actions_remove_keep_files_only_and_every_home(dirty):
    root = dirty.path
    os.makedirs(f"{root}/etc/t/sub")
    for name in ("a.crt", "bundle.crt", "sub/c.crt"):
        open(f"{root}/etc/t/{name}", "w").close()
    open(f"{root}/home/alice/.t_history", "w").close()
    p = Provider(
        name="t",
        heading="T",
        description="",
        phase=Phase.CLEANUP,
        actions=(
            Remove("etc/t/*", files_only=True, keep=("etc/t/bundle.crt",)),
            Remove("~/.t_history"),
        ),
    )
    reg = Registry([*all_builtin(), p])
    with open_target(TargetSpec(TargetKind.ROOT, root=root), dry_run=False) as target:
        log = RunLog(quiet=True, console=open(os.devnull, "w"))
        assert (
            run_providers(
                target,
                [reg.get("t")],
                Settings(),
                log,
                Report("t", False, "generalize"),
                dry_run=False,
            )
            is None
        )
        log.console.close()
    assert sorted(os.listdir(f"{root}/etc/t")) == ["bundle.crt", "sub"]
    assert os.path.exists(f"{root}/etc/t/sub/c.crt")
    assert not os.path.exists(f"{root}/home/alice/.t_history")


def test_ca_store_is_rebuilt_once_after_the_last_provider_that_removed_a_certificate(flavoured):
    r = flavoured("fedora")
    open(f"{r.path}/etc/pki/tls/certs/server.crt", "w").close()
    assert os.path.exists(f"{r.path}/etc/pki/ca-trust/source/anchors/ipa-ca.crt")
    reg = Registry.load()
    log = RunLog(quiet=True, console=open(os.devnull, "w"))
    with open_target(TargetSpec(TargetKind.ROOT, root=r.path), dry_run=True) as target:
        run_providers(
            target,
            [reg.get("ca-certificates"), reg.get("ipa-client")],
            Settings(),
            log,
            Report("t", True, "generalize"),
            dry_run=True,
        )
    log.console.close()
    ran = [(rec["provider"], rec["path"]) for rec in log.take_records() if rec["op"] == "run"]
    assert ran == [("ipa-client", "/usr/bin/update-ca-trust")]


def test_ca_store_rebuild_follows_the_one_provider_that_needs_it(flavoured):
    r = flavoured("fedora")
    open(f"{r.path}/etc/pki/tls/certs/server.crt", "w").close()
    done = apply(r.path, "ca-certificates", dry_run=True)
    assert [(rec["provider"], rec["op"]) for rec in done.records][-1] == ("ca-certificates", "run")


def test_a_builtin_module_without_a_provider_is_an_error(tmp_path, monkeypatch):
    pkg = tmp_path / "someproviders"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "_shared.py").write_text("X = 1\n")  # a helper module: fine
    (pkg / "forgotten.py").write_text("PROVIDR = None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        TypeError, match=r"someproviders\.forgotten: a provider module must define PROVIDER"
    ):
        from_package("someproviders", [str(pkg)])


def test_man_page_lists_the_paths_each_operation_touches():
    from sysprep.commands.docs import man_page

    man = man_page()
    entry = man[man.index("\\fBssh\\-hostkeys\\fR") :]
    assert "Touches: /etc/ssh/*_host_*." in entry.split(".TP", 1)[0]
