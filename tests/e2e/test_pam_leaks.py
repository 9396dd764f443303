"""One process doing 1000 authentications (success and failure) keeps its
descriptor count, and a shorter run is clean under valgrind."""
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "pam"))
import pamlib  # noqa: E402
from pamlib import ztest  # noqa: E402

pamlib.skip_unless_ready()


class Leaks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ztest.Server()
        cls.srv.__enter__()
        cls.pam = pamlib.Pam(cls.srv)
        m = cls.srv.create_machine()
        cls.user = m["username"]
        cls.token = cls.srv.issue_token(m["user_id"], scope=ztest.PAM_SCOPE)
        # client_secret_basic keeps 1000 rounds cheap (no RSA signing).
        conf = cls.pam.config(app_key_file=None, require_org=cls.srv.org_id,
                              client_id=cls.srv.app_client_id,
                              client_secret_file=cls.srv.app_client_secret_file)
        cls.svc = cls.pam.simple("", conf)
        cls.svc_key = cls.pam.simple("", cls.pam.config(require_org=cls.srv.org_id))

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def rounds(self, n, reply, code, svc=None, prefix=(), extra=None):
        res, p = self.pam.run(svc or self.svc, self.user, ["auth", "acct"],
                              reply=reply, count=n, prefix=prefix, timeout=1800,
                              extra=extra)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        self.assertEqual(res.get("auth"), code, p.stdout)
        self.assertEqual(res.get("stable"), "1", p.stdout)
        first, last = (int(x) for x in res["fds"].split())
        self.assertEqual(first, last, "descriptors grew")
        return p

    def test_1000_success(self):
        self.rounds(1000, self.token, "PAM_SUCCESS")

    def test_1000_failure(self):
        self.rounds(1000, "no-such-token", "PAM_AUTH_ERR")

    def test_valgrind(self):
        vg = shutil.which("valgrind")
        if vg is None:
            self.skipTest("valgrind not installed")
        if b"__asan_init" in open(pamlib.MODULE, "rb").read():
            # The sanitizer build checks leaks with LeakSanitizer instead;
            # valgrind cannot run an ASan-instrumented module.
            self.skipTest("module built with AddressSanitizer")
        prefix = [vg, "--leak-check=full", "--error-exitcode=1", "--quiet"]
        extra = {"PAM_WRAPPER_DISABLE_DEEPBIND": "1"}
        for svc, reply, code in ((self.svc, self.token, "PAM_SUCCESS"),
                                 (self.svc_key, self.token, "PAM_SUCCESS"),
                                 (self.svc, "no-such-token", "PAM_AUTH_ERR")):
            self.rounds(17, reply, code, svc=svc, prefix=prefix, extra=extra)


if __name__ == "__main__":
    unittest.main()
