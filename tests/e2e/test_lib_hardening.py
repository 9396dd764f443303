"""Library hardening seen through the programs: secret and config files
that are FIFOs are refused at once instead of hanging the open, a CA file
that cannot be used is a config error before any request, the token cache
never creates a missing home directory, and Zitadel's "user not found" on
AddMachineKey and AddPersonalAccessToken (HTTP 400) reads as not found."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_helper_util import clean_env, helper, ztest  # noqa: E402

CTL = ztest.build_path("admin/zitadelctl")

# zitadel-credential(1) exit codes
H_CONFIG, H_KEYFILE = 3, 4
# zitadelctl(1) exit codes
C_NOT_FOUND = 4

# A hanging open is the bug; this bounds how long a test waits for it.
HANG_BOUND_S = 30

srv = None


def setUpModule():
    global srv
    srv = ztest.Server()


def tearDownModule():
    srv.stop()


def fifo():
    path = os.path.join(ztest.tmpdir(), "fifo")
    os.mkfifo(path, 0o600)
    return path


def write_config(text):
    path = os.path.join(ztest.tmpdir(), "client.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


class Base(unittest.TestCase):
    def setUp(self):
        srv.clear_faults()
        self.env = clean_env()

    def run_helper(self, args, env=None):
        return helper(args, env or self.env, timeout=HANG_BOUND_S)

    def assert_fails(self, r, code, *needles):
        self.assertEqual(r.returncode, code, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        for n in needles:
            self.assertIn(n, r.stderr)

    def profile(self, **keys):
        lines = ["[profile p]", "issuer = %s" % srv.issuer,
                 "ca_file = %s" % srv.ca_file]
        lines += ["%s = %s" % kv for kv in keys.items()]
        return write_config("\n".join(lines) + "\n")


class FifoTest(Base):
    """open(2) of a FIFO for reading waits for a writer; every file the
    library opens for reading must be refused before that can happen."""

    def test_key_file(self):
        path = fifo()
        r = self.run_helper(["--issuer", srv.issuer, "--key-file", path,
                             "--ca-file", srv.ca_file, "--timeout", "5",
                             "token"])
        self.assert_fails(r, H_KEYFILE, path, "is not a regular file")

    def test_pat_file(self):
        path = fifo()
        conf = self.profile(pat_file=path)
        r = self.run_helper(["--config", conf, "token"])
        self.assert_fails(r, H_KEYFILE, path, "is not a regular file")

    def test_client_secret_file(self):
        path = fifo()
        conf = self.profile(client_id="app", client_secret_file=path)
        r = self.run_helper(["--config", conf, "token"])
        self.assert_fails(r, H_KEYFILE, path, "is not a regular file")

    def test_config_file(self):
        path = fifo()
        r = self.run_helper(["--config", path, "token"])
        self.assert_fails(r, H_CONFIG, path, "is not a regular file")


class ConfigOwnerTest(Base):
    """Whoever owns the config file chooses where tokens are sent: another
    user's file is a config error (exit 3 in both programs), not I/O."""

    def test_config_of_another_user(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to give the file to another user")
        conf = self.profile(key_file="/nonexistent.json")
        os.chown(conf, 65534, 65534)
        r = self.run_helper(["--config", conf, "token"])
        self.assert_fails(r, H_CONFIG, conf, "owned by uid 65534")
        p = ztest.run([CTL, "--config", conf, "key", "list", "1"],
                      env=self.env)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("owned by uid 65534", p.stderr)


class CaFileTest(Base):
    def setUp(self):
        super().setUp()
        self.m = srv.create_machine()

    def test_missing_ca_file_is_a_config_error(self):
        srv.reset_counts()
        r = self.run_helper(["--issuer", srv.issuer,
                             "--key-file", self.m["key_file"],
                             "--ca-file", "/nonexistent", "token"])
        self.assert_fails(r, H_CONFIG,
                          "CA file /nonexistent: No such file or directory")
        self.assertEqual(srv.counts(), {})

    def test_fifo_ca_file(self):
        path = fifo()
        r = self.run_helper(["--issuer", srv.issuer,
                             "--key-file", self.m["key_file"],
                             "--ca-file", path, "token"])
        self.assert_fails(r, H_CONFIG, path, "is not a regular file")


class MissingHomeTest(Base):
    """The cache makes .cache/zitadel below a home that exists, never the
    home itself; without one the token is fetched and not cached."""

    def setUp(self):
        super().setUp()
        self.m = srv.create_machine()
        self.args = ["--issuer", srv.issuer, "--key-file", self.m["key_file"],
                     "--ca-file", srv.ca_file, "token"]

    def test_missing_home_is_not_created(self):
        home = os.path.join(ztest.tmpdir(), "nonexistent-home")
        env = clean_env(home=home)
        for _ in range(2):
            r = self.run_helper(self.args, env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, "")
            self.assertFalse(os.path.lexists(home))

    def test_missing_xdg_parent_is_not_created(self):
        top = os.path.join(ztest.tmpdir(), "gone")
        env = clean_env(XDG_CACHE_HOME=os.path.join(top, "cache"))
        r = self.run_helper(self.args, env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.lexists(top))

    def test_existing_home_gets_its_cache(self):
        r = self.run_helper(self.args)
        self.assertEqual(r.returncode, 0, r.stderr)
        cache = os.path.join(self.env["HOME"], ".cache", "zitadel")
        self.assertTrue(os.path.isdir(cache))
        self.assertEqual(os.stat(cache).st_mode & 0o777, 0o700)


class UnknownUserTest(Base):
    """AddMachineKey and AddPersonalAccessToken answer an unknown user with
    400 FAILED_PRECONDITION (reference 2.5, 2.9): zitadelctl must still say
    not found, and keep what the server sent."""

    UNKNOWN = "290000000000000001"

    def ctl(self, *args, cred=None):
        d = ztest.tmpdir()
        conf = os.path.join(d, "empty.conf")
        open(conf, "w").close()
        env = dict(self.env, HOME=d)
        cred = cred or ["--key-file", srv.admin_key_file]
        return ztest.run([CTL, "--issuer", srv.issuer,
                          "--ca-file", srv.ca_file, "--config", conf] +
                         cred + list(args), env=env), d

    def assert_not_found(self, r, ident):
        self.assertEqual(r.returncode, C_NOT_FOUND, r.stderr)
        self.assertIn(ident, r.stderr)
        self.assertIn("HTTP 400", r.stderr)

    def test_key_add(self):
        r, _ = self.ctl("key", "add", self.UNKNOWN, "--show-secret")
        self.assert_not_found(r, "COMMAND-bnipwm1")

    def test_pat_add(self):
        r, _ = self.ctl("pat", "add", self.UNKNOWN, "--show-secret")
        self.assert_not_found(r, "COMMAND-Dggw2")

    def test_enroll(self):
        # --key-file names the file to write; the caller uses the PAT
        out = ztest.tmpdir()
        r, _ = self.ctl("enroll", self.UNKNOWN, "--key-file",
                        os.path.join(out, "k.json"),
                        cred=["--pat-file", srv.admin_pat_file])
        self.assert_not_found(r, "COMMAND-bnipwm1")
        self.assertEqual(os.listdir(out), [])

    def test_other_failed_precondition_unchanged(self):
        # the same 400 and code with another id is not "not found"
        srv.fault("/management/v1/users/%s/keys" % self.UNKNOWN, "status",
                  status=400, body={"code": 9, "message": "x",
                                    "details": [{"id": "COMMAND-other"}]})
        r, _ = self.ctl("key", "add", self.UNKNOWN, "--show-secret")
        self.assertNotEqual(r.returncode, C_NOT_FOUND, r.stderr)
        self.assertIn("COMMAND-other", r.stderr)


if __name__ == "__main__":
    unittest.main()
