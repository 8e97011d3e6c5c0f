"""The Kubernetes Job and the Tekton Task in deploy/, validated offline: the Job against the
Kubernetes schemas of the kubernetes-validate package (PyPI), the Task against Tekton's v1
Task API (below), whose steps and volumes are typed by those same Kubernetes schemas."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest
import yaml

from tests.packaging.conftest import TOP

kv = pytest.importorskip("kubernetes_validate")
jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")

K8S = "1.30.0"  # the oldest release KubeVirt's current releases support
DEFS = "https://kubernetes.io/api/_definitions.json#/$defs/io.k8s."


def _k8s(name: str) -> dict[str, str]:
    return {"$ref": DEFS + name}


def _list(item: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"type": "array", "items": item, **more}


# Tekton Pipelines' v1 Task (pkg/apis/pipeline/v1: task_types.go, param_types.go,
# workspace_types.go, container_types.go): every field, no others (Tekton's admission webhook
# rejects unknown fields); its CRD leaves `spec` unchecked (x-kubernetes-preserve-unknown-fields).
_STR = {"type": "string"}
_STEP = {
    "type": "object",
    "required": ["name", "image"],
    "additionalProperties": False,
    "properties": {
        "name": _STR,
        "image": _STR,
        "command": _list(_STR),
        "args": _list(_STR),
        "workingDir": _STR,
        "env": _list(_k8s("api.core.v1.EnvVar")),
        "envFrom": _list(_k8s("api.core.v1.EnvFromSource")),
        "computeResources": _k8s("api.core.v1.ResourceRequirements"),
        "volumeMounts": _list(_k8s("api.core.v1.VolumeMount")),
        "volumeDevices": _list(_k8s("api.core.v1.VolumeDevice")),
        "imagePullPolicy": {"enum": ["Always", "Never", "IfNotPresent"]},
        "securityContext": _k8s("api.core.v1.SecurityContext"),
        "script": _STR,
        "timeout": _STR,
        "onError": {"enum": ["continue", "stopAndFail"]},
        "workspaces": _list({"type": "object"}),
        "stdoutConfig": {"type": "object"},
        "stderrConfig": {"type": "object"},
        "results": _list({"type": "object"}),
    },
}
_PARAM = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": _STR,
        "type": {"enum": ["string", "array", "object"]},
        "description": _STR,
        "default": {},
        "properties": {"type": "object"},
        "enum": _list(_STR),
    },
}
_WORKSPACE = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": _STR,
        "description": _STR,
        "mountPath": _STR,
        "readOnly": {"type": "boolean"},
        "optional": {"type": "boolean"},
    },
}
TEKTON_TASK_V1 = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "tekton.dev/v1"},
        "kind": {"const": "Task"},
        "metadata": _k8s("apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        "spec": {
            "type": "object",
            "required": ["steps"],
            "additionalProperties": False,
            "properties": {
                "displayName": _STR,
                "description": _STR,
                "params": _list(_PARAM),
                "workspaces": _list(_WORKSPACE),
                "volumes": _list(_k8s("api.core.v1.Volume")),
                "steps": _list(_STEP, minItems=1),
                "stepTemplate": {"type": "object"},
                "sidecars": _list({"type": "object"}),
                "results": _list({"type": "object"}),
            },
        },
    },
}


def _load(rel: str) -> dict[str, Any]:
    with open(os.path.join(TOP, rel)) as f:
        doc: dict[str, Any] = yaml.safe_load(f)
    return doc


def _tekton_validator() -> Any:
    defs = kv.utils.schema_contents(
        f"kubernetes-json-schema/v{K8S}-local-strict/_definitions.json", K8S
    )
    registry = referencing.Resource.from_contents(defs) @ referencing.Registry()
    return jsonschema.Draft202012Validator(TEKTON_TASK_V1, registry=registry)


def test_job_manifest_is_a_valid_kubernetes_job_that_runs_sysprep_privileged():
    job = _load("deploy/kubernetes/sysprep-job.yaml")
    kv.validate(job, K8S, strict=True)
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["privileged"] is True
    assert container["args"][:1] == ["--generalize"] and "--image" in container["args"]


def test_job_validation_catches_a_misspelt_field():
    job = _load("deploy/kubernetes/sysprep-job.yaml")
    job["spec"]["template"]["spec"]["containers"][0]["volumeMount"] = []
    with pytest.raises(kv.ValidationError):
        kv.validate(job, K8S, strict=True)


def test_tekton_task_is_a_valid_v1_task_with_the_disk_virt_sysprep_parameters():
    task = _load("deploy/tekton/sysprep-task.yaml")
    _tekton_validator().validate(task)
    params = {p["name"] for p in task["spec"]["params"]}
    assert {"pvc", "operations", "extraOptions", "answerFile"} <= params
    assert task["spec"]["workspaces"][0]["optional"] is True  # a ConfigMap or a Secret, or none
    assert task["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "$(params.pvc)"


def test_tekton_validation_catches_a_container_field_tekton_does_not_have():
    task = _load("deploy/tekton/sysprep-task.yaml")
    task["spec"]["steps"][0]["resources"] = {}  # v1 steps have computeResources
    with pytest.raises(jsonschema.ValidationError):
        _tekton_validator().validate(task)
    task = _load("deploy/tekton/sysprep-task.yaml")
    task["spec"]["steps"][0]["env"][0]["valeu"] = "x"  # typed by the Kubernetes EnvVar schema
    with pytest.raises(jsonschema.ValidationError):
        _tekton_validator().validate(task)


def test_tekton_step_script_builds_the_sysprep_command_line(tmp_path):
    """The step's script, run by sh with the environment Tekton gives it, and a `sysprep`
    that prints its arguments."""
    step = _load("deploy/tekton/sysprep-task.yaml")["spec"]["steps"][0]
    (tmp_path / "sysprep").write_text("#!/bin/sh\nprintf '%s\\n' \"$@\"\n")
    (tmp_path / "sysprep").chmod(0o755)
    env = {
        "PATH": f"{tmp_path}:/usr/bin:/bin",
        "DISK": "/images/my disk.img",
        "OPERATIONS": "machine-id,ssh-hostkeys",
        "ANSWER": "/answer/unattend.xml",
        "ANSWER_BOUND": "true",
        "EXTRA": "--oobe --mode vm",
    }
    out = subprocess.run(
        ["sh", "-c", step["script"]], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == [
        "--generalize",
        "--image",
        "/images/my disk.img",
        "--operations",
        "machine-id,ssh-hostkeys",
        "--unattend",
        "/answer/unattend.xml",
        "--oobe",
        "--mode",
        "vm",
    ]
    env["ANSWER_BOUND"], env["OPERATIONS"], env["EXTRA"] = "false", "", ""
    out = subprocess.run(
        ["sh", "-c", step["script"]], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["--generalize", "--image", "/images/my disk.img"]
