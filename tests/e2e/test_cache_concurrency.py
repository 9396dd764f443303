"""The token cache under load, through zitadel-credential (issue 3): single
flight for 128 processes at once, the margin, a lock holder killed with
SIGKILL, and two Unix users who never share a cache."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_helper_util import HELPER, cache_dir, clean_env, ztest  # noqa: E402

TOKEN = "/oauth/v2/token"
NOBODY = 65534

srv = None


def setUpModule():
    global srv
    if not os.access(HELPER, os.X_OK):
        print("helper/zitadel-credential not built", file=sys.stderr)
        sys.exit(77)
    srv = ztest.Server()


def tearDownModule():
    srv.stop()


def entries(d):
    return sorted(n for n in os.listdir(d)
                  if n.startswith("token-") and n.endswith(".json"))


class CacheConcurrencyTest(unittest.TestCase):
    def setUp(self):
        srv.clear_faults()
        srv.set_token_lifetime(43200)
        self.m = srv.create_machine()
        self.env = clean_env()
        self.cache = cache_dir(self.env)
        srv.reset_counts()

    def argv(self, *extra, key_file=None, ca_file=None):
        return ([HELPER, "--issuer", srv.issuer,
                 "--key-file", key_file or self.m["key_file"],
                 "--ca-file", ca_file or srv.ca_file]
                + list(extra) + ["token"])

    def token(self, *extra):
        r = ztest.run(self.argv(*extra), env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def spawn(self, n, *extra):
        """Start n helpers at once; wait for all; (codes, outputs, errs)."""
        env = dict(os.environ)
        for k, v in self.env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        procs = [subprocess.Popen(self.argv(*extra), env=env,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for _ in range(n)]
        results = [p.communicate(timeout=120) for p in procs]
        return ([p.returncode for p in procs], [o for o, _ in results],
                [e for _, e in results])

    def entry_path(self):
        names = entries(self.cache)
        self.assertEqual(len(names), 1, names)
        return os.path.join(self.cache, names[0])

    def rewrite_entry(self, **fields):
        path = self.entry_path()
        with open(path) as f:
            doc = json.load(f)
        doc.update(fields)
        # Written in place, as a stale entry from an earlier run would be.
        with open(path, "w") as f:
            json.dump(doc, f)
        return doc

    def test_cold_cache_128_processes_one_request(self):
        codes, outs, errs = self.spawn(128, "--cache-dir", self.cache)
        self.assertEqual(codes, [0] * 128, [e for e in errs if e][:3])
        tokens = {o.strip() for o in outs}
        self.assertEqual(len(tokens), 1, "processes printed different tokens")
        self.assertEqual(srv.count(TOKEN), 1)
        self.assertTrue(srv.token_active(tokens.pop()))
        st = os.stat(self.cache)
        self.assertEqual(st.st_mode & 0o7777, 0o700)
        self.assertEqual(os.stat(self.entry_path()).st_mode & 0o7777, 0o600)

        # Warm: nobody asks the server again.
        srv.reset_counts()
        codes, outs2, _ = self.spawn(32, "--cache-dir", self.cache)
        self.assertEqual(codes, [0] * 32)
        self.assertEqual({o for o in outs2}, {outs[0]})
        self.assertEqual(srv.count(TOKEN), 0)

    def test_default_location_under_home(self):
        tok = self.token()
        self.assertEqual(self.token(), tok)
        self.assertEqual(srv.count(TOKEN), 1)
        self.assertEqual(len(entries(self.cache)), 1)
        self.assertEqual(os.stat(self.cache).st_mode & 0o7777, 0o700)

    def test_less_than_margin_left_is_refetched(self):
        first = self.token()
        now = int(time.time())
        # Lifetime 3630 s: margin 363 s, only 30 s left -> refetch.
        self.rewrite_entry(obtained_at=now - 3600, expires_at=now + 30)
        second = self.token()
        self.assertNotEqual(second, first)
        self.assertEqual(srv.count(TOKEN), 2)
        # ... while 1000 s left (margin 460 s) is still served.
        self.rewrite_entry(obtained_at=now - 3600, expires_at=now + 1000)
        self.assertEqual(self.token(), second)
        self.assertEqual(srv.count(TOKEN), 2)
        # A configured margin larger than what is left: refetched.
        self.assertNotEqual(self.token("--cache-margin", "1000"), second)
        self.assertEqual(srv.count(TOKEN), 3)

    def test_expired_token_never_printed(self):
        first = self.token()
        now = int(time.time())
        self.rewrite_entry(obtained_at=now - 7200, expires_at=now - 1)
        second = self.token("--cache-margin", "0")
        self.assertNotEqual(second, first)
        self.assertEqual(srv.count(TOKEN), 2)

    def test_lifetime_shorter_than_margin(self):
        # 100 s tokens with the default margin of 60 s: the margin is held
        # to half the lifetime, so the token is served for its first 50 s.
        srv.set_token_lifetime(100)
        first = self.token()
        self.assertEqual(self.token(), first)
        self.assertEqual(srv.count(TOKEN), 1)
        doc = json.load(open(self.entry_path()))
        self.assertEqual(doc["expires_at"] - doc["obtained_at"], 100)
        # Past its first half it is refetched.
        self.rewrite_entry(obtained_at=doc["obtained_at"] - 60,
                           expires_at=doc["expires_at"] - 60)
        self.assertNotEqual(self.token(), first)
        self.assertEqual(srv.count(TOKEN), 2)

    def test_corrupt_entry_is_refetched(self):
        self.token()
        with open(self.entry_path(), "w") as f:
            f.write('{"v":1,"issuer":')
        tok = self.token()
        self.assertTrue(srv.token_active(tok))
        self.assertEqual(srv.count(TOKEN), 2)

    def test_lock_holder_killed(self):
        # The fetcher sits inside the lock while the server stalls.
        srv.fault(TOKEN, "delay", delay=300, count=1)
        holder = subprocess.Popen(self.argv(), env=self._full_env(),
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        try:
            self._wait_for(lambda: srv.count(TOKEN) >= 1)
            os.kill(holder.pid, signal.SIGKILL)
        finally:
            holder.communicate(timeout=60)
        self.assertEqual(holder.returncode, -signal.SIGKILL)
        # The next caller is not held up by a dead process's lock: it
        # finishes well before the 45 s lock wait would end.
        r = ztest.run(self.argv(), env=self.env, timeout=40)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(srv.token_active(r.stdout.strip()))
        self.assertEqual(srv.count(TOKEN), 2)

    def _full_env(self):
        env = dict(os.environ)
        for k, v in self.env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def _wait_for(self, cond, limit=60):
        end = time.monotonic() + limit
        while not cond():
            if time.monotonic() > end:
                self.fail("condition not reached")
            time.sleep(0.05)

    def test_unsafe_cache_dir_refused(self):
        os.makedirs(self.cache, mode=0o700)
        os.chmod(self.cache, 0o755)
        r = ztest.run(self.argv(), env=self.env)
        self.assertEqual(r.returncode, 7, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn(self.cache, r.stderr)
        self.assertIn("0755", r.stderr)
        self.assertEqual(srv.count(TOKEN), 0)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to switch users")
    def test_two_users_never_share(self):
        if shutil.which("setpriv") is None:
            self.skipTest("setpriv not installed")
        # Everything nobody needs, in a place nobody can read.
        top = tempfile.mkdtemp(prefix="zt-users-")
        self.addCleanup(shutil.rmtree, top, True)
        os.chmod(top, 0o755)
        ca = os.path.join(top, "ca.pem")
        shutil.copy(srv.ca_file, ca)
        os.chmod(ca, 0o644)
        homes = {}
        for uid in (0, NOBODY):
            home = os.path.join(top, "home-%d" % uid)
            os.mkdir(home, 0o700)
            key = os.path.join(home, "key.json")
            shutil.copy(self.m["key_file"], key)
            os.chmod(key, 0o600)
            os.chown(home, uid, uid)
            os.chown(key, uid, uid)
            homes[uid] = home

        def run_as(uid, *extra):
            env = clean_env(home=homes[uid])
            argv = self.argv(*extra, key_file=os.path.join(homes[uid],
                                                           "key.json"),
                             ca_file=ca)
            if uid != 0:
                argv = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                        "--clear-groups", "--"] + argv
            return ztest.run(argv, env=env)

        r_root = run_as(0)
        r_nobody = run_as(NOBODY)
        self.assertEqual(r_root.returncode, 0, r_root.stderr)
        self.assertEqual(r_nobody.returncode, 0, r_nobody.stderr)
        # The same key, yet each user fetched and keeps their own.
        self.assertEqual(srv.count(TOKEN), 2)
        for uid in (0, NOBODY):
            d = os.path.join(homes[uid], ".cache", "zitadel")
            st = os.stat(d)
            self.assertEqual((st.st_uid, st.st_mode & 0o7777), (uid, 0o700))
            names = entries(d)
            self.assertEqual(len(names), 1)
            for n in names + [n[:-5] + ".lock" for n in names]:
                st = os.stat(os.path.join(d, n))
                self.assertEqual((st.st_uid, st.st_mode & 0o7777),
                                 (uid, 0o600))

        # Neither may use the other's directory.
        root_dir = os.path.join(homes[0], ".cache", "zitadel")
        nobody_dir = os.path.join(homes[NOBODY], ".cache", "zitadel")
        # A directory nobody cannot reach is simply not used (the helper
        # then fetches without a cache); one it can reach is refused.
        r = run_as(NOBODY, "--cache-dir", root_dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(srv.count(TOKEN), 3)
        self.assertEqual(entries(root_dir), entries(nobody_dir))
        self.assertEqual(os.stat(root_dir).st_uid, 0)
        os.chmod(homes[0], 0o755)
        os.chmod(os.path.dirname(root_dir), 0o755)
        r = run_as(NOBODY, "--cache-dir", root_dir)
        self.assertEqual(r.returncode, 7, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn("owned by uid 0", r.stderr)
        r = run_as(0, "--cache-dir", nobody_dir)
        self.assertEqual(r.returncode, 7, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn("owned by uid %d" % NOBODY, r.stderr)
        self.assertEqual(srv.count(TOKEN), 3)


if __name__ == "__main__":
    unittest.main()
