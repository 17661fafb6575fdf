"""A local RFC 3161 time-stamping authority: a root CA, a TSA certificate with the critical
timeStamping key usage, and an HTTP endpoint that answers each query with `openssl ts -reply` — the
real protocol, signed by the real OpenSSL, so the tokens are what a public TSA would return.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from pathlib import Path

from tests.servers import LocalServer, Reply

_CONFIG = """
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = {cn}
O = Shekteu tests
[ ca_ext ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ tsa_ext ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.crt
certs = $dir/ca.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _run(*args: str, cwd: Path, data: bytes | None = None) -> bytes:
    done = subprocess.run(["openssl", *args], cwd=cwd, input=data, capture_output=True, check=False)
    if done.returncode:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


def make_authority(folder: Path, name: str = "Shekteu test TSA") -> Path:
    """Keys and certificates of a TSA under ``folder``; returns the config file for `openssl ts`."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "tsa.cnf"
    config.write_text(_CONFIG.format(cn=name, dir=folder))
    (folder / "serial").write_text("01\n")
    _run("req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
         "-days", "3650", "-config", str(config), "-extensions", "ca_ext", "-subj", f"/CN={name} root/O=Shekteu tests",
         cwd=folder)  # fmt: skip
    _run("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr",
         "-config", str(config), cwd=folder)  # fmt: skip
    _run("x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
         "-out", "tsa.crt", "-days", "3650", "-extfile", str(config), "-extensions", "tsa_ext", cwd=folder)  # fmt: skip
    return config


class LocalTSA:
    """``url`` answers time-stamp queries; ``ca_file`` is the root a verifier trusts."""

    def __init__(self, folder: Path | None = None, name: str = "Shekteu test TSA") -> None:
        self.folder = folder or Path(tempfile.mkdtemp(prefix="tsa-"))
        self.config = make_authority(self.folder, name)
        self.ca_file = self.folder / "ca.crt"
        self.queries = 0
        self._lock = threading.Lock()  # one signing at a time: the serial file is shared
        self.server = LocalServer()
        self.server.post_routes["/tsr"] = self._answer

    @property
    def url(self) -> str:
        return self.server.url("/tsr")

    def _answer(self, body: bytes, headers: dict[str, str]) -> Reply:
        if headers.get("content-type") != "application/timestamp-query":
            return Reply(400, b"expected application/timestamp-query")
        with self._lock:
            self.queries += 1
            query = self.folder / f"q{self.queries}.tsq"
            query.write_bytes(body)
            reply = _run("ts", "-reply", "-config", str(self.config), "-queryfile", str(query), cwd=self.folder)
        return Reply(200, reply, {"Content-Type": "application/timestamp-reply"})

    def close(self) -> None:
        self.server.close()
