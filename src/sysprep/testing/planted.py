"""Secrets of every kind `sysprep scan` looks for, planted where no provider cleans them.

Every value is made up at random for each root (never a real credential), and the caller
gets them back to check that the scan names each file and prints none of them.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import string
import subprocess
import tempfile

from sysprep.testing.dirty_root import write_file


def _rand(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _b64(n: int) -> str:
    return base64.b64encode(secrets.token_bytes(n)).decode()


def _openssh_key() -> str:
    """An OpenSSH private key container without a passphrase (cipher "none")."""

    def s(b: bytes) -> bytes:
        return len(b).to_bytes(4, "big") + b

    blob = (
        b"openssh-key-v1\0"
        + s(b"none")
        + s(b"none")
        + s(b"")
        + (1).to_bytes(4, "big")
        + s(secrets.token_bytes(51))
        + s(secrets.token_bytes(160))
    )
    body = base64.b64encode(blob).decode()
    lines = "\n".join(body[i : i + 70] for i in range(0, len(body), 70))
    return f"-----BEGIN OPENSSH PRIVATE KEY-----\n{lines}\n-----END OPENSSH PRIVATE KEY-----\n"


def _pkcs12() -> bytes | None:
    """A PKCS#12 bundle exported without a passphrase, made by the host's openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    with tempfile.TemporaryDirectory() as d:
        key, crt, out = (os.path.join(d, n) for n in ("k.pem", "c.pem", "b.p12"))
        subprocess.run(
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                key,
                "-out",
                crt,
                "-subj",
                "/CN=planted",
                "-days",
                "1",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                openssl,
                "pkcs12",
                "-export",
                "-passout",
                "pass:",
                "-in",
                crt,
                "-inkey",
                key,
                "-out",
                out,
            ],
            check=True,
            capture_output=True,
        )
        with open(out, "rb") as f:
            return f.read()


def plant(root: str) -> dict[str, str]:
    """Plant one secret of each kind; returns {path in the target: the secret in clear}."""
    pem_body = _b64(600)
    aws_id, aws_key = "AKIA" + _rand(16, string.ascii_uppercase + string.digits), _rand(40)
    gh, gl = "ghp_" + _rand(36), "glpat-" + _rand(24)
    slack = f"xoxb-{secrets.randbelow(10**12):012d}-{secrets.randbelow(10**12):012d}-" + _rand(
        24, string.ascii_lowercase + string.digits
    )
    npm = "npm_" + _rand(36)
    pypi = "pypi-AgEIcHlwaS5vcmc" + _rand(80)
    azure = _b64(66)  # 88 base64 characters
    gcp_key = f"-----BEGIN PRIVATE KEY-----\\n{_b64(300)}\\n-----END PRIVATE KEY-----\\n"
    docker = base64.b64encode(f"builder:{_rand(20)}".encode()).decode()
    kube = _b64(120)
    netrc, gitcred, psk, hist, unattend = (_rand(18) for _ in range(5))
    putty = _b64(48)
    openssh = _openssh_key()
    planted = {
        "/srv/certs/server.key": (
            "-----BEGIN RSA PRIVATE KEY-----\n" + pem_body + "\n-----END RSA PRIVATE KEY-----\n",
            pem_body,
        ),
        "/srv/deploy/id_ed25519": (openssh, openssh.splitlines()[1]),
        "/srv/deploy/builder.ppk": (
            "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n"
            "Comment: builder\nPublic-Lines: 1\nAAAAC3NzaC1lZDI1NTE5\n"
            f"Private-Lines: 1\n{putty}\nPrivate-MAC: 00\n",
            putty,
        ),
        "/opt/deploy/.aws/credentials": (
            f"[default]\naws_access_key_id = {aws_id}\naws_secret_access_key = {aws_key}\n",
            aws_key,
        ),
        "/opt/deploy/aws.env": (f"AWS_ACCESS_KEY_ID={aws_id}\n", aws_id),
        "/opt/app/gcp-sa.json": (
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": "p",
                    "private_key_id": _rand(40),
                    "private_key": gcp_key,
                    "client_email": "sa@p.iam.gserviceaccount.com",
                }
            ),
            gcp_key.split("\\n")[1],
        ),
        "/opt/app/azure.conf": (
            "DefaultEndpointsProtocol=https;AccountName=img;"
            f"AccountKey={azure};EndpointSuffix=core.windows.net\n",
            azure,
        ),
        "/opt/app/github.env": (f"GITHUB_TOKEN={gh}\n", gh),
        "/opt/app/gitlab.env": (f"CI_TOKEN={gl}\n", gl),
        "/opt/app/slack.env": (f"SLACK_BOT={slack}\n", slack),
        "/opt/app/.npmrc": (f"//registry.npmjs.org/:_authToken={npm}\n", npm),
        "/opt/app/.pypirc": (f"[pypi]\nusername = __token__\npassword = {pypi}\n", pypi),
        "/opt/ci/.docker/config.json": (
            json.dumps({"auths": {"registry.example.com": {"auth": docker}}}),
            docker,
        ),
        "/opt/ci/.kube/config": (
            "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n"
            f"    client-key-data: {kube}\n",
            kube,
        ),
        "/opt/ci/.netrc": (f"machine git.example.com login ci password {netrc}\n", netrc),
        "/opt/ci/.git-credentials": (f"https://ci:{gitcred}@git.example.com\n", gitcred),
        "/etc/wpa_supplicant/wpa_supplicant-wlan0.conf": (
            f'network={{\n    ssid="office"\n    psk="{psk}"\n}}\n',
            psk,
        ),
        "/srv/app/.bash_history": (f"ls\nmysql -uroot -p{hist} shop\n", hist),
        "/srv/install/unattend.xml": (
            '<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="oobeSystem">'
            '<component name="Linux-Shell-Setup"><UserAccounts><AdministratorPassword>'
            f"<Value>{unattend}</Value><PlainText>true</PlainText></AdministratorPassword>"
            "</UserAccounts></component></settings></unattend>\n",
            unattend,
        ),
    }
    out = {}
    for path, (content, secret) in planted.items():
        write_file(root, path.lstrip("/"), content, 0o600)
        out[path] = secret
    p12 = _pkcs12()
    if p12 is not None:
        write_file(root, "srv/certs/client.p12", p12, 0o600)
        out["/srv/certs/client.p12"] = base64.b64encode(p12[-32:]).decode()
    return out
