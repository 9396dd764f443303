"""zitadelctl enroll and key rotate against the test server: the key pair
is made here and only the public key is uploaded; the key file is Zitadel's
format, 0600, and works with zitadel-credential; a failure at each step
(upload refused, token exchange refused, directory unusable, disk full,
cleanup refused) leaves no key on the server and no file on disk."""

import json
import os
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "lib"))
import ztest  # noqa: E402

CTL = ztest.build_path("admin/zitadelctl")
HELPER = ztest.build_path("helper/zitadel-credential")
NOT_FOUND, LOCAL, EXISTS, CONFIG = 4, 7, 9, 3

srv = None


def setUpModule():
    global srv
    srv = ztest.Server()


def tearDownModule():
    srv.stop()


class Enroll(unittest.TestCase):
    def setUp(self):
        self.dir = ztest.tmpdir()
        self.conf = os.path.join(self.dir, "empty.conf")
        open(self.conf, "w").close()
        self.env = {k: None for k in ("ZITADEL_ISSUER", "ZITADEL_KEY_FILE",
                                      "ZITADEL_PAT_FILE", "ZITADEL_CA_FILE",
                                      "ZITADEL_ORG", "ZITADEL_CONFIG")}
        self.env["HOME"] = self.dir
        m = srv.create_machine(key=False)
        self.uid = m["user_id"]
        self.keys_path = "/management/v1/users/%s/keys" % self.uid

    def tearDown(self):
        srv.clear_faults()

    def ctl(self, *args):
        # The admin PAT as credential: the only token exchange is the
        # proof of the new key, so faults on the token endpoint hit it.
        argv = [CTL, "--issuer", srv.issuer, "--ca-file", srv.ca_file,
                "--config", self.conf, "--pat-file", srv.admin_pat_file,
                "--output", "json"] + list(args)
        p = ztest.run(argv, env=self.env)
        leaks = ztest.find_leaks([srv.admin_pat()], texts=[p.stdout,
                                                           p.stderr])
        self.assertEqual(leaks, [])
        return p

    def server_keys(self):
        p = self.ctl("key", "list", self.uid)
        self.assertEqual(p.returncode, 0, p.stderr)
        return [k["id"] for k in json.loads(p.stdout)["result"]]

    def helper_token(self, key_file):
        return ztest.run([HELPER, "token", "--no-cache", "--issuer",
                          srv.issuer, "--ca-file", srv.ca_file, "--key-file",
                          key_file], env=self.env)

    def assert_nothing_left(self, directory, expect=()):
        self.assertEqual(self.server_keys(), [])
        self.assertEqual(sorted(os.listdir(directory)), sorted(expect))

    def assert_failed(self, p, code=None):
        self.assertNotEqual(p.returncode, 0, p.stdout)
        if code is not None:
            self.assertEqual(p.returncode, code, p.stderr)
        self.assertEqual(p.stdout, "")
        lines = p.stderr.strip().splitlines()
        self.assertTrue(lines[-1].startswith("zitadelctl: enroll: ") or
                        lines[-1].startswith("zitadelctl: key rotate: "),
                        p.stderr)
        self.assertNotIn("PRIVATE KEY", p.stderr)
        self.assertNotIn("enroll: enroll:", p.stderr)

    # ---- success

    def test_enroll(self):
        path = os.path.join(self.dir, "robot.json")
        srv.reset_counts()
        p = self.ctl("enroll", self.uid, "--key-file", path, "--expires",
                     "2099-06-30")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual(out["keyFile"], path)
        st = os.stat(path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_uid, os.geteuid())
        with open(path) as f:
            text = f.read()
        kf = json.loads(text)
        self.assertEqual(list(kf), ["type", "keyId", "key", "expirationDate",
                                    "userId"])
        self.assertEqual(kf["type"], "serviceaccount")
        self.assertEqual(kf["keyId"], out["keyId"])
        self.assertEqual(kf["userId"], self.uid)
        self.assertEqual(kf["expirationDate"], "2099-06-30T00:00:00Z")
        self.assertTrue(kf["key"].startswith("-----BEGIN RSA PRIVATE KEY-----\n"))
        from cryptography.hazmat.primitives import serialization
        priv = serialization.load_pem_private_key(kf["key"].encode(), None)
        self.assertEqual(priv.key_size, 2048)

        # the server holds the key; it got a public key and made none
        self.assertEqual(self.server_keys(), [kf["keyId"]])
        adds = [r for r in srv.requests()
                if r["method"] == "POST" and r["path"] == self.keys_path]
        self.assertEqual(len(adds), 1)
        self.assertEqual(sorted(adds[0]["json_keys"]),
                         ["expirationDate", "publicKey", "type"])
        # the proof was made with the new key, exactly once
        self.assertEqual(srv.count("/oauth/v2/token"), 1)

        p = self.helper_token(path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(srv.token_active(p.stdout.strip()))
        self.assertEqual(sorted(os.listdir(self.dir)),
                         ["empty.conf", "robot.json"])

    def test_enroll_no_expiry_and_force(self):
        path = os.path.join(self.dir, "k.json")
        with open(path, "w") as f:
            f.write("old")
        srv.reset_counts()
        p = self.ctl("enroll", self.uid, "--key-file", path)
        self.assert_failed(p, EXISTS)
        self.assertEqual(srv.requests(), [])
        with open(path) as f:
            self.assertEqual(f.read(), "old")
        p = self.ctl("enroll", self.uid, "--key-file", path, "--force")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(path) as f:
            kf = json.load(f)
        self.assertNotIn("expirationDate", kf)
        self.assertEqual(self.server_keys(), [kf["keyId"]])
        self.assertEqual(self.helper_token(path).returncode, 0)

    # ---- failures at each step

    def test_upload_refused(self):
        path = os.path.join(self.dir, "k.json")
        srv.fault(self.keys_path, "status", status=403)
        p = self.ctl("enroll", self.uid, "--key-file", path)
        self.assert_failed(p, 8)
        self.assertIn("HTTP 403", p.stderr)
        self.assert_nothing_left(self.dir, ["empty.conf"])

    def test_upload_unknown_user(self):
        path = os.path.join(self.dir, "k.json")
        p = self.ctl("enroll", "290000000000000001", "--key-file", path)
        self.assert_failed(p, NOT_FOUND)
        self.assertIn("COMMAND-bnipwm1", p.stderr)
        self.assertEqual(sorted(os.listdir(self.dir)), ["empty.conf"])

    def test_token_exchange_refused(self):
        path = os.path.join(self.dir, "k.json")
        srv.fault("/oauth/v2/token", "status", status=500, count=20)
        p = self.ctl("enroll", self.uid, "--key-file", path, "--timeout",
                     "30")
        self.assert_failed(p)
        self.assertIn("HTTP 500", p.stderr)
        srv.clear_faults()
        self.assert_nothing_left(self.dir, ["empty.conf"])

    def test_cleanup_refused_names_the_key(self):
        path = os.path.join(self.dir, "k.json")
        srv.fault("/oauth/v2/token", "status", status=500, count=20)
        srv.fault(self.keys_path + "/*", "status", status=500, count=20)
        p = self.ctl("enroll", self.uid, "--key-file", path, "--timeout",
                     "30")
        self.assert_failed(p)
        srv.clear_faults()
        left = self.server_keys()
        self.assertEqual(len(left), 1)
        self.assertIn("key %s is left on the server" % left[0], p.stderr)
        self.assertEqual(sorted(os.listdir(self.dir)), ["empty.conf"])

    def test_directory_unusable(self):
        # a parent that is a regular file fails for root too
        path = os.path.join(self.conf, "k.json")
        srv.reset_counts()
        p = self.ctl("enroll", self.uid, "--key-file", path)
        self.assert_failed(p, LOCAL)
        self.assertEqual(srv.count(self.keys_path), 0)
        self.assert_nothing_left(self.dir, ["empty.conf"])
        p = self.ctl("enroll", self.uid, "--key-file",
                     os.path.join(self.dir, "missing", "k.json"))
        self.assert_failed(p, LOCAL)
        self.assert_nothing_left(self.dir, ["empty.conf"])

    def test_disk_full(self):
        """A tiny tmpfs that fills up while the key file is written,
        after the public key is on the server."""
        mnt = os.path.join(self.dir, "full")
        os.mkdir(mnt)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k",
                            "tmpfs", mnt], capture_output=True)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs here: %s" %
                          r.stderr.decode().strip())
        try:
            # leave less room than a key file needs (about 1.7 kB)
            with open(os.path.join(mnt, "filler"), "wb") as f:
                try:
                    f.write(b"x" * (8192 - 1024))
                    f.flush()
                except OSError:
                    pass
            path = os.path.join(mnt, "k.json")
            srv.reset_counts()
            p = self.ctl("enroll", self.uid, "--key-file", path)
            self.assert_failed(p, LOCAL)
            self.assertIn("No space left", p.stderr)
            # the upload did happen, and was taken back
            self.assertEqual(srv.count(self.keys_path), 1)
            self.assert_nothing_left(mnt, ["filler"])
        finally:
            subprocess.run(["umount", mnt])

    # ---- rotate

    def enrolled(self):
        path = os.path.join(self.dir, "rot.json")
        p = self.ctl("enroll", self.uid, "--key-file", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(path) as f:
            return path, json.load(f)["keyId"]

    def test_rotate(self):
        path, old = self.enrolled()
        p = self.ctl("key", "rotate", self.uid, "--key-file", path,
                     "--expires", "2098-01-01T00:00:00Z")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual(out["oldKeyId"], old)
        with open(path) as f:
            kf = json.load(f)
        self.assertEqual(kf["keyId"], out["keyId"])
        self.assertNotEqual(kf["keyId"], old)
        self.assertEqual(kf["expirationDate"], "2098-01-01T00:00:00Z")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(self.server_keys(), [kf["keyId"]])
        p = self.ctl("key", "get", self.uid, old)
        self.assertEqual(p.returncode, NOT_FOUND)
        self.assertEqual(self.helper_token(path).returncode, 0)
        self.assertEqual(sorted(os.listdir(self.dir)),
                         ["empty.conf", "rot.json"])

    def test_rotate_proof_fails_keeps_old(self):
        path, old = self.enrolled()
        with open(path) as f:
            before = f.read()
        srv.fault("/oauth/v2/token", "status", status=500, count=20)
        p = self.ctl("key", "rotate", self.uid, "--key-file", path,
                     "--timeout", "30")
        self.assert_failed(p)
        srv.clear_faults()
        with open(path) as f:
            self.assertEqual(f.read(), before)
        self.assertEqual(self.server_keys(), [old])
        self.assertEqual(sorted(os.listdir(self.dir)),
                         ["empty.conf", "rot.json"])

    def test_rotate_old_key_removal_fails(self):
        path, old = self.enrolled()
        srv.fault(self.keys_path + "/" + old, "status", status=500, count=20)
        p = self.ctl("key", "rotate", self.uid, "--key-file", path,
                     "--timeout", "30")
        srv.clear_faults()
        self.assertEqual(p.returncode, 6, p.stderr)
        self.assertIn("old key %s is still on the server" % old, p.stderr)
        with open(path) as f:
            new = json.load(f)["keyId"]
        self.assertNotEqual(new, old)
        self.assertEqual(sorted(self.server_keys()), sorted([old, new]))
        self.assertEqual(self.helper_token(path).returncode, 0)

    def test_rotate_wrong_user(self):
        path, old = self.enrolled()
        other = srv.create_machine(key=False)
        srv.reset_counts()
        p = self.ctl("key", "rotate", other["user_id"], "--key-file", path)
        self.assert_failed(p, CONFIG)
        self.assertEqual(srv.requests(), [])
        p = self.ctl("key", "rotate", self.uid, "--key-file",
                     os.path.join(self.dir, "none.json"))
        self.assert_failed(p, CONFIG)


if __name__ == "__main__":
    unittest.main()
