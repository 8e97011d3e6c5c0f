"""Secrets in a file: detect-secrets' patterns for content, plus the file-type rules it lacks.

detect-secrets (a maintained library, the `scan` extra) knows the shapes of tokens (AWS,
Azure, GitHub, GitLab, Slack, npm, PyPI, JWT, private key headers, ...). What it cannot know
is what a file *is*: a Docker config with auths, a kubeconfig, a .netrc, a Wi-Fi profile, a
history with a password on a command line, an answer file with a clear password. Those rules
are here. No rule returns a secret in clear: only its redacted form.
"""

from __future__ import annotations

import base64
import bisect
import itertools
import json
import posixpath
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from sysprep.errors import UsageError
from sysprep.scan.findings import Severity, redact


@dataclass(frozen=True)
class Hit:
    rule: str
    severity: Severity
    reason: str
    line: int | None
    redacted: str


# -- detect-secrets --------------------------------------------------------------------

# detect-secrets' detectors left out: public IP addresses are no secret; the keyword-context
# expressions of four legacy vendors cost more than all the others together (3 s on a Debian
# root) and their keys, when present, are long tokens the entropy-free rules above miss anyway
_LEFT_OUT = {
    "Public IP (ipv4)",
    "IBM COS HMAC Credentials",
    "IBM Cloud IAM Key",
    "Cloudant Credentials",
    "SoftLayer Credentials",
}


class Library:
    """detect-secrets' regular-expression detectors, run on the lines of a file that can hold
    a token (most lines of most files cannot)."""

    def __init__(self) -> None:
        try:
            from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
            from detect_secrets.plugins.base import RegexBasedDetector
        except ImportError:
            raise UsageError(
                "sysprep scan needs detect-secrets: install it with "
                "pip install 'sysprep[scan]' (or pip install detect-secrets)"
            ) from None
        mapping: dict[str, Any] = dict(get_mapping_from_secret_type_to_class())
        self.detectors: list[Any] = [
            cls()
            for kind, cls in sorted(mapping.items())
            if issubclass(cls, RegexBasedDetector) and kind not in _LEFT_OUT
        ]
        # each expression on its own: an alternation of them all loses re's literal-prefix
        # search and is slower than running them one after the other
        self.patterns = [(d, rx) for d in self.detectors for rx in d.denylist]

    def hits(self, text: str) -> Iterator[Hit]:
        lines = _candidates(text)
        if not lines:
            return
        joined = "\n".join(line for _, line in lines)
        starts = list(itertools.accumulate((len(line) + 1 for _, line in lines), initial=0))
        done: set[tuple[int, str]] = set()
        for d, rx in self.patterns:
            for m in rx.finditer(joined):
                i = bisect.bisect_right(starts, m.start()) - 1
                if (i, d.secret_type) in done:
                    continue
                done.add((i, d.secret_type))
                lineno, line = lines[i]
                for value in d.analyze_string(line):  # the detector's own checks decide
                    yield Hit(
                        "secret." + _slug(d.secret_type),
                        Severity.HIGH,
                        f"{d.secret_type} (detect-secrets)",
                        lineno,
                        redact(value),
                    )
                    break


# Every token detect-secrets' detectors find holds a run of 20 or more token characters, or
# is a password in a URL: only the lines holding one are worth their (slow) expressions.
_CANDIDATE = re.compile(r"[A-Za-z0-9_+/=-]{20,}|://[^\s/:@]+:[^\s/@]+@")


def _candidates(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the lines of `text` that may hold a token, in order."""
    out: list[tuple[int, str]] = []
    last_end = -1
    lineno, counted = 1, 0
    for m in _CANDIDATE.finditer(text):
        if m.start() < last_end:
            continue  # on a line already taken
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.end())
        end = len(text) if end < 0 else end
        lineno += text.count("\n", counted, start)
        counted = start
        out.append((lineno, text[start:end]))
        last_end = end
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# -- file-type rules ---------------------------------------------------------------------

Rule = Callable[[str, str], Iterator[Hit]]  # (path, text) -> hits


def _lines(text: str, rx: re.Pattern[str]) -> Iterator[tuple[int, re.Match[str]]]:
    for n, line in enumerate(text.splitlines(), 1):
        m = rx.search(line)
        if m:
            yield n, m


_PEM = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----")
_PUTTY = re.compile(r"^PuTTY-User-Key-File-\d+: ", re.M)


def private_keys(path: str, text: str) -> Iterator[Hit]:
    """PEM, OpenSSH and PuTTY private keys; one protected by a passphrase is less severe."""
    for m in _PEM.finditer(text):
        lineno = text.count("\n", 0, m.start()) + 1
        kind = m.group(1).strip() or "PKCS#8"
        body = text[m.end() : m.end() + 8192]
        if kind == "ENCRYPTED" or "ENCRYPTED" in body[:200]:
            yield Hit(
                "secret.private-key",
                Severity.MEDIUM,
                f"{kind} private key protected by a passphrase",
                lineno,
                "-----BEGIN …",
            )
        elif kind == "OPENSSH" and _openssh_encrypted(body):
            yield Hit(
                "secret.private-key",
                Severity.MEDIUM,
                "OpenSSH private key protected by a passphrase",
                lineno,
                "-----BEGIN …",
            )
        else:
            yield Hit(
                "secret.private-key",
                Severity.HIGH,
                f"{kind} private key without a passphrase",
                lineno,
                "-----BEGIN …",
            )
    for m in _PUTTY.finditer(text):
        lineno = text.count("\n", 0, m.start()) + 1
        enc = re.search(r"^Encryption: (\S+)", text[m.start() : m.start() + 4096], re.M)
        clear = enc is None or enc.group(1) == "none"
        yield Hit(
            "secret.private-key",
            Severity.HIGH if clear else Severity.MEDIUM,
            "PuTTY private key "
            + ("without a passphrase" if clear else "protected by a passphrase"),
            lineno,
            "PuTTY-User-Key-File …",
        )


def _openssh_encrypted(body: str) -> bool:
    b64 = "".join(body.split("-----END", 1)[0].split())
    try:
        raw = base64.b64decode(b64[:200] + "=" * (-len(b64[:200]) % 4))
    except ValueError:
        return False
    magic = b"openssh-key-v1\0"
    if not raw.startswith(magic) or len(raw) < len(magic) + 4:
        return False
    n = int.from_bytes(raw[len(magic) : len(magic) + 4], "big")
    return raw[len(magic) + 4 : len(magic) + 4 + n] != b"none"


def gcp_service_account(path: str, text: str) -> Iterator[Hit]:
    if '"service_account"' in text and '"private_key"' in text:
        doc = _json(text)
        if (
            isinstance(doc, dict)
            and doc.get("type") == "service_account"
            and doc.get("private_key")
        ):
            yield Hit(
                "secret.gcp-service-account",
                Severity.HIGH,
                "Google Cloud service-account key (JSON with a private key)",
                None,
                redact(str(doc.get("private_key_id", ""))),
            )


def docker_auths(path: str, text: str) -> Iterator[Hit]:
    if not path.endswith(("/.docker/config.json", "/containers/auth.json", "/.dockercfg")):
        return
    doc = _json(text)
    auths = doc.get("auths", doc) if isinstance(doc, dict) else None
    if isinstance(auths, dict):
        for registry, entry in auths.items():
            if isinstance(entry, dict) and (entry.get("auth") or entry.get("identitytoken")):
                yield Hit(
                    "secret.docker-auth",
                    Severity.HIGH,
                    f"container registry credentials for {registry}",
                    None,
                    redact(str(entry.get("auth") or entry.get("identitytoken"))),
                )


_KUBE = re.compile(r"^\s*(client-key-data|token|password):\s*(\S+)", re.M)


def kubeconfig(path: str, text: str) -> Iterator[Hit]:
    if "apiVersion" not in text or "kind: Config" not in text:
        return
    for m in _KUBE.finditer(text):
        yield Hit(
            "secret.kubeconfig",
            Severity.HIGH,
            f"kubeconfig {m.group(1)}",
            text.count("\n", 0, m.start()) + 1,
            redact(m.group(2)),
        )


_NETRC = re.compile(r"\bpassword\s+(\S+)")


def netrc(path: str, text: str) -> Iterator[Hit]:
    if posixpath.basename(path) in (".netrc", "_netrc"):
        for n, m in _lines(text, _NETRC):
            yield Hit("secret.netrc", Severity.HIGH, ".netrc password", n, redact(m.group(1)))


_CRED_URL = re.compile(r"^\w[\w+.-]*://[^:/@\s]+:([^@\s]+)@")


def git_credentials(path: str, text: str) -> Iterator[Hit]:
    if posixpath.basename(path) == ".git-credentials" or path.endswith("/git/credentials"):
        for n, m in _lines(text, _CRED_URL):
            yield Hit(
                "secret.git-credentials",
                Severity.HIGH,
                "git credential store entry",
                n,
                redact(m.group(1)),
            )


_PSK = re.compile(r"^\s*(?:psk|wep-key0|password|sae-password)\s*=\s*\"?([^\"\s]+)")


def wifi_psk(path: str, text: str) -> Iterator[Hit]:
    if (
        "/NetworkManager/system-connections/" in path
        or "wpa_supplicant" in path
        or path.startswith("/var/lib/iwd/")
    ):
        for n, m in _lines(text, _PSK):
            yield Hit(
                "secret.wifi-psk",
                Severity.HIGH,
                "Wi-Fi pre-shared key or password",
                n,
                redact(m.group(1)),
            )


# a password on a command line: mysql -pSECRET, --password=SECRET, sshpass -p SECRET,
# echo user:SECRET | chpasswd, PASSWORD=SECRET
_HISTORY_PASSWORD = re.compile(
    r"(?:--password[= ]|\bsshpass\s+-p\s*|\bmysql(?:dump|admin)?\b.*?\s-p(?=\S)|"
    r"\b[A-Z_]*PASS(?:WORD|WD)?=|\becho\s+['\"]?[\w.-]+:(?=\S+\s*['\"]?\s*\|\s*chpasswd))"
    r"['\"]?([^\s'\"|;]+)"
)


def shell_history(path: str, text: str) -> Iterator[Hit]:
    name = posixpath.basename(path)
    if name.endswith("_history") or name in ("fish_history", ".histfile"):
        for n, m in _lines(text, _HISTORY_PASSWORD):
            yield Hit(
                "secret.history-password",
                Severity.HIGH,
                "password typed on a command line, kept in a shell history",
                n,
                redact(m.group(1)),
            )


_XML_PASSWORD = re.compile(
    r"<(?:Password|AdministratorPassword)>\s*<Value>([^<]+)</Value>\s*<PlainText>true</PlainText>",
    re.S | re.I,
)
_PRESEED = re.compile(r"^\s*d-i\s+passwd/\S*password\s+password\s+(\S+)", re.M)
_KICKSTART = re.compile(r"^\s*(?:rootpw|user\s.*--password)\s+(?:--plaintext\s+)?(\S+)", re.M)
_YAML_PASSWORD = re.compile(
    r"^\s*(?:plain_text_passwd|password|Password):\s*['\"]?([^'\"\s#]+)", re.M
)


def answer_files(path: str, text: str) -> Iterator[Hit]:
    """Clear passwords in answer files: unattend.xml, preseed, kickstart, cloud-init user-data."""
    name = posixpath.basename(path).lower()
    checks: list[re.Pattern[str]] = []
    if name.endswith(".xml") and "urn:schemas-microsoft-com:unattend" in text:
        checks.append(_XML_PASSWORD)
    if "d-i " in text and "preseed" in name + path:
        checks.append(_PRESEED)
    if name.endswith(".ks") or name.endswith("-ks.cfg") or name == "ks.cfg":
        checks.append(_KICKSTART)
    if name in ("user-data", "user-data.txt") or (
        name.endswith((".yaml", ".yml")) and ("unattend" in name or "cloud-config" in text)
    ):
        checks.append(_YAML_PASSWORD)
    for rx in checks:
        for m in rx.finditer(text):
            value = m.group(1)
            if value.startswith("$") or value in ("*SENSITIVE*DATA*DELETED*", "*", "!"):
                continue  # a crypt hash, or already deleted
            yield Hit(
                "secret.answer-file-password",
                Severity.HIGH,
                "clear password in an answer file",
                text.count("\n", 0, m.start()) + 1,
                redact(value),
            )


_CLOUD_FILES = {
    ".aws/credentials": "AWS credentials file",
    ".azure/accessTokens.json": "Azure CLI access tokens",
    ".azure/msal_token_cache.json": "Azure CLI token cache",
    ".config/gcloud/credentials.db": "gcloud credentials",
    ".config/gcloud/access_tokens.db": "gcloud access tokens",
}
_AWS_SECRET = re.compile(r"^\s*aws_secret_access_key\s*=\s*(\S+)", re.M)


def cloud_credentials(path: str, text: str) -> Iterator[Hit]:
    for suffix, what in _CLOUD_FILES.items():
        if path.endswith("/" + suffix):
            m = _AWS_SECRET.search(text)
            if suffix == ".aws/credentials" and m is None:
                return
            yield Hit(
                "secret.cloud-credentials",
                Severity.HIGH,
                what,
                text.count("\n", 0, m.start()) + 1 if m else None,
                redact(m.group(1)) if m else "",
            )


RULES: Sequence[Rule] = (
    private_keys,
    gcp_service_account,
    docker_auths,
    kubeconfig,
    netrc,
    git_credentials,
    wifi_psk,
    shell_history,
    answer_files,
    cloud_credentials,
)

# file names whose content is read even when binary or large (matched by name first)
PKCS12 = (".p12", ".pfx")
# names that can hold a credential database that is not text
BINARY_BY_NAME = (*PKCS12, "credentials.db", "access_tokens.db")


def pkcs12(data: bytes) -> Hit:
    """A PKCS#12 bundle: severe when it opens without a passphrase."""
    clear = _opens_without_passphrase(data)
    return Hit(
        "secret.pkcs12",
        Severity.HIGH if clear else Severity.MEDIUM,
        "PKCS#12 bundle "
        + ("without a passphrase" if clear else "(protected by a passphrase, or not readable)"),
        None,
        "",
    )


def _opens_without_passphrase(data: bytes) -> bool:
    openssl = shutil.which("openssl")
    if openssl is None:
        return True  # cannot tell: the severe answer
    for extra in ([], ["-legacy"]):
        # run() passes text input; the bundle is binary: fed on stdin, never a file of the target
        p = subprocess.run(
            [openssl, "pkcs12", *extra, "-noout", "-passin", "pass:"],
            input=data,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
            env={"PATH": "/usr/bin:/bin"},
            check=False,
        )
        if p.returncode == 0:
            return True
    return False


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return None
