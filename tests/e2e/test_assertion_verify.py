#!/usr/bin/python3
"""The assertion libzitadel signs, verified independently with PyJWT.

tests/tools/zt-assert prints the assertion for a key file, an audience and
a fixed time; PyJWT checks the RS256 signature against the public half and
the header and claims against what Zitadel requires (reference §4.3).
"""
import json
import os
import subprocess
import tempfile
import time
import unittest

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

BUILD = os.environ.get("ZT_BUILDDIR", ".")
TOOL = os.path.join(BUILD, "tests", "zt-assert")
ISSUER = "https://127.0.0.1:8443"


def make_key_file(directory, fmt, kind="serviceaccount"):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, fmt,
                            serialization.NoEncryption()).decode()
    doc = {"type": kind, "keyId": "290000000000055863", "key": pem}
    if kind == "serviceaccount":
        doc["userId"] = "290000000000054161"
    else:
        doc["clientId"] = "290000000000081427@test-project"
        doc["appId"] = "290000000000072104"
    path = os.path.join(directory, "%s-%s.json" % (kind, fmt.name))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f)
    return path, key.public_key(), doc


class AssertionVerify(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def run_tool(self, path, audience, now):
        p = subprocess.run([TOOL, path, audience, str(now)], text=True,
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.strip()

    def check(self, fmt, kind="serviceaccount"):
        path, public, doc = make_key_file(self.tmp.name, fmt, kind)
        now = int(time.time())
        token = self.run_tool(path, ISSUER, now)
        header = jwt.get_unverified_header(token)
        self.assertEqual(header["alg"], "RS256")
        self.assertEqual(header["kid"], doc["keyId"])
        claims = jwt.decode(token, public, algorithms=["RS256"],
                            audience=ISSUER,
                            options={"require": ["iss", "sub", "aud", "iat", "exp"]})
        subject = doc.get("userId") or doc["clientId"]
        self.assertEqual(claims["iss"], subject)
        self.assertEqual(claims["sub"], subject)
        self.assertEqual(claims["aud"], ISSUER)
        self.assertLess(claims["iat"], now)          # back-dated
        self.assertGreater(claims["iat"], now - 3600)  # within Zitadel's 1 h
        self.assertGreater(claims["exp"], now + 1)

    def test_pkcs1(self):
        self.check(serialization.PrivateFormat.TraditionalOpenSSL)

    def test_pkcs8(self):
        self.check(serialization.PrivateFormat.PKCS8)

    def test_application_key(self):
        self.check(serialization.PrivateFormat.TraditionalOpenSSL,
                   "application")

    def test_wrong_key_fails_verification(self):
        """The check can fail: another key's public half is refused."""
        path, _, _ = make_key_file(self.tmp.name,
                                   serialization.PrivateFormat.PKCS8)
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        token = self.run_tool(path, ISSUER, int(time.time()))
        with self.assertRaises(jwt.InvalidSignatureError):
            jwt.decode(token, other.public_key(), algorithms=["RS256"],
                       audience=ISSUER)


if __name__ == "__main__":
    unittest.main()
