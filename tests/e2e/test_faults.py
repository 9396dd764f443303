#!/usr/bin/python3
"""Token requests through a bad network, end to end.

`zitadel-credential token --no-cache` against the test server with faults
injected at /oauth/v2/token. Each case ends in success or in one clear
error line within the time bound, with the number of attempts the library
promises: ZITADEL's default of 3 attempts for connection failures, dropped
or cut answers, 429 and 5xx; one attempt for an answer that arrived whole.
"""
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "lib"))
import ztest  # noqa: E402

TOKEN_PATH = "/oauth/v2/token"
ATTEMPTS = 3  # zitadel_ctx default max_attempts
HELPER = ztest.build_path("helper/zitadel-credential")


def free_port():
    """A port nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Faults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(HELPER, os.X_OK):
            raise unittest.SkipTest("helper not built: %s" % HELPER)
        cls.srv = ztest.Server().__enter__()
        # An empty config of our own, so no host config takes part.
        cls.config = os.path.join(ztest.tmpdir(), "client.conf")
        with open(cls.config, "w"):
            pass
        with open(cls.srv.admin_key_file) as f:
            cls.key_text = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def setUp(self):
        self.srv.clear_faults()
        self.srv.set_clock_offset(0)
        self.srv.reset_counts()

    def token(self, timeout=10, issuer=None, ca_file=None, bound=None):
        """Run the helper; the subprocess bound is the time promise."""
        argv = [HELPER, "token", "--no-cache",
                "--issuer", issuer or self.srv.issuer,
                "--key-file", self.srv.admin_key_file,
                "--ca-file", ca_file or self.srv.ca_file,
                "--timeout", str(timeout)]
        p = ztest.run(argv, env={"ZITADEL_CONFIG": self.config},
                      timeout=bound or timeout + 20)
        self.assertEqual(ztest.find_leaks(self.secret_lines(),
                                          texts=[p.stderr]), [])
        return p

    def secret_lines(self):
        """Lines of the private key, any of which must never be shown."""
        import json
        pem = json.loads(self.key_text)["key"]
        return [ln for ln in pem.splitlines() if ln and "-----" not in ln][:3]

    def assert_token(self, p):
        self.assertEqual(p.returncode, 0, p.stderr)
        token = p.stdout.strip()
        self.assertEqual(p.stdout, token + "\n")
        self.assertTrue(self.srv.token_active(token))

    def assert_failed(self, p, *words):
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(p.stdout, "")
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        self.assertTrue(lines, "no error message")
        text = p.stderr.lower()
        for w in words:
            self.assertIn(w.lower(), text)

    # ---- recoverable faults: the retry succeeds

    def test_503_then_200(self):
        self.srv.fault(TOKEN_PATH, "status", status=503, count=1)
        self.assert_token(self.token())
        self.assertEqual(self.srv.count(TOKEN_PATH), 2)

    def test_429_retry_after_then_200(self):
        self.srv.fault(TOKEN_PATH, "status", status=429, retry_after=1,
                       count=1)
        self.assert_token(self.token())
        self.assertEqual(self.srv.count(TOKEN_PATH), 2)

    def test_dropped_connection_then_200(self):
        self.srv.fault(TOKEN_PATH, "drop", count=1)
        self.assert_token(self.token())
        self.assertEqual(self.srv.count(TOKEN_PATH), 2)

    def test_truncated_body_then_200(self):
        self.srv.fault(TOKEN_PATH, "truncate", count=1)
        self.assert_token(self.token())
        self.assertEqual(self.srv.count(TOKEN_PATH), 2)

    def test_server_clock_ahead_and_behind(self):
        for offset in (5, -5):
            self.srv.set_clock_offset(offset)
            self.assert_token(self.token())

    # ---- faults that persist: a clear error after the promised attempts

    def test_503_every_time(self):
        self.srv.fault(TOKEN_PATH, "status", status=503, count=10)
        self.assert_failed(self.token(), "503")
        self.assertEqual(self.srv.count(TOKEN_PATH), ATTEMPTS)

    def test_truncated_every_time(self):
        self.srv.fault(TOKEN_PATH, "truncate", count=10)
        self.assert_failed(self.token())
        self.assertEqual(self.srv.count(TOKEN_PATH), ATTEMPTS)

    def test_server_error_names_what_was_sent(self):
        self.srv.fault(TOKEN_PATH, "status", status=500, count=10,
                       body={"error": "server_error",
                             "error_description": "Errors.Internal"})
        p = self.token()
        import json
        key = json.loads(self.key_text)
        self.assert_failed(p, "refused the assertion", key["keyId"],
                           key["userId"], self.srv.issuer)
        self.assertEqual(self.srv.count(TOKEN_PATH), ATTEMPTS)

    def test_retry_after_beyond_the_deadline(self):
        """A server asking to wait past the budget gets no further attempt."""
        self.srv.fault(TOKEN_PATH, "status", status=429, retry_after=60,
                       count=10)
        self.assert_failed(self.token(timeout=5), "429")
        self.assertEqual(self.srv.count(TOKEN_PATH), 1)

    def test_malformed_body(self):
        # A whole 200 answer is not retried: the server did act.
        self.srv.fault(TOKEN_PATH, "malformed", count=10)
        self.assert_failed(self.token(), "token response")
        self.assertEqual(self.srv.count(TOKEN_PATH), 1)

    def test_delay_past_timeout(self):
        self.srv.fault(TOKEN_PATH, "delay", delay=30, count=10)
        start = time.monotonic()
        p = self.token(timeout=2, bound=20)
        self.assert_failed(p, "timed out")
        # Bounded by the subprocess timeout above; recorded for the log only.
        print("delay case ended after %.1f s" % (time.monotonic() - start))

    def test_hang(self):
        self.srv.fault(TOKEN_PATH, "hang", count=10)
        self.assert_failed(self.token(timeout=2, bound=20), "timed out")
        self.assertEqual(self.srv.count(TOKEN_PATH), 1)

    # ---- no server, wrong server

    def test_server_down(self):
        p = self.token(issuer="https://127.0.0.1:%d" % free_port())
        self.assert_failed(p, "connect")

    def test_untrusted_ca(self):
        other = os.path.join(ztest.tmpdir(), "other-ca.pem")
        with open(other, "w") as f:
            f.write(open("/etc/ssl/certs/ca-certificates.crt").read()
                    if os.path.exists("/etc/ssl/certs/ca-certificates.crt")
                    else "")
        p = self.token(ca_file=other)
        self.assert_failed(p, "certificate")
        self.assertEqual(self.srv.count(TOKEN_PATH), 0)


if __name__ == "__main__":
    unittest.main()
