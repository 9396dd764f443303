"""Secret hygiene: every program run at --verbose through success and
failure paths, and none of the secrets it handled may show up where they do
not belong.

Checked per run: stderr holds no known secret and no run of 40 or more
base64url characters (that catches secrets the test cannot name: the
assertion, which the server does not hand back, and the access token
zitadelctl gets for its key); stdout holds a secret only where the protocol
needs it (the token for `token`, git's password, docker's Secret, kubectl's
status.token, zitadelctl --show-secret); files a program wrote hold secrets
only when that is their purpose, with mode 0600. The PAM module logs only
through pam_syslog, which pam_wrapper shows on the driver's stderr
(SYSLOG(n) lines), so its syslog is checked there. Core dumps: the helper
and zitadelctl, run as nobody, are caught connected to an issuer that never
answers; their /proc entries must show a core limit of 0 and be owned by
root (the kernel does that when a process is not dumpable). That part
needs root and is skipped otherwise.
"""
import json
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "lib"))
sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "e2e"))
sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "pam"))
import ztest  # noqa: E402
from test_helper_util import HELPER, clean_env, write_config  # noqa: E402

CTL = ztest.build_path("admin/zitadelctl")
LONG_RUN = re.compile(r"[A-Za-z0-9_-]{40,}")
PY = ztest.python()


def pem_lines(key_file):
    """The base64 lines of a key file's private key."""
    with open(key_file) as f:
        pem = json.load(f)["key"]
    return [l for l in pem.splitlines() if l and not l.startswith("-----")]


def read(path):
    with open(path) as f:
        return f.read().strip()


class Base(unittest.TestCase):
    def clean(self, p, secrets, allowed=(), what=""):
        """stderr clean; stdout clean except the allowed secrets."""
        where = "%s (exit %d)" % (what, p.returncode)
        self.assertEqual(ztest.find_leaks(secrets, texts=[p.stderr]), [],
                         "secret on stderr of " + where)
        m = LONG_RUN.search(p.stderr)
        self.assertIsNone(m, "secret-like run %r on stderr of %s" %
                          (m and m.group(0)[:12] + "...", where))
        others = [s for s in secrets if s not in allowed]
        self.assertEqual(ztest.find_leaks(others, texts=[p.stdout]), [],
                         "secret on stdout of " + where)
        if not allowed:
            m = LONG_RUN.search(p.stdout)
            self.assertIsNone(m, "secret-like run on stdout of " + where)

    def assert_private(self, path, mode=0o600):
        st = os.lstat(path)
        self.assertTrue(stat.S_ISREG(st.st_mode), path)
        self.assertEqual(stat.S_IMODE(st.st_mode), mode,
                         "%s has mode %o" % (path, stat.S_IMODE(st.st_mode)))


class Helper(Base):
    @classmethod
    def setUpClass(cls):
        cls.srv = ztest.Server()
        cls.srv.__enter__()
        cls.m = cls.srv.create_machine()
        cls.pem = pem_lines(cls.m["key_file"])
        host = cls.srv.issuer.split("://", 1)[1]
        cls.host = host
        cls.conf = write_config(
            "[profile p]\nissuer = %s\nkey_file = %s\nca_file = %s\n"
            "git_hosts = %s\ndocker_registries = %s\nkube_clusters = %s\n"
            % (cls.srv.issuer, cls.m["key_file"], cls.srv.ca_file, host,
               host, cls.srv.kube_server))
        cls.env = clean_env()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def helper(self, args, input=None, env=None, timeout=60):
        e = dict(self.env)
        e.update(env or {})
        return ztest.run([HELPER, "--verbose", "--config", self.conf] + args,
                         input=input, env=e, timeout=timeout)

    def token(self):
        p = self.helper(["token"])
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.strip()

    def test_success_paths(self):
        self.helper(["erase"])
        p = self.helper(["token"])  # a miss: assertion, exchange, store
        self.assertEqual(p.returncode, 0, p.stderr)
        tok = p.stdout.strip()
        secrets = self.pem + [tok]
        self.clean(p, secrets, allowed=[tok], what="token (miss)")
        p = self.helper(["token"])  # a hit
        self.assertEqual(p.stdout.strip(), tok)
        self.clean(p, secrets, allowed=[tok], what="token (hit)")

        p = self.helper(["git", "get"],
                        input="protocol=https\nhost=%s\n\n" % self.host)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("password=%s\n" % tok, p.stdout)
        self.clean(p, secrets, allowed=[tok], what="git get")

        p = self.helper(["docker", "get"], input="https://%s\n" % self.host)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(json.loads(p.stdout)["Secret"], tok)
        self.clean(p, secrets, allowed=[tok], what="docker get")

        info = {"apiVersion": "client.authentication.k8s.io/v1",
                "kind": "ExecCredential",
                "spec": {"cluster": {"server": self.srv.kube_server}}}
        p = self.helper(["kubectl"],
                        env={"KUBERNETES_EXEC_INFO": json.dumps(info)})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["status"]["token"], tok)
        self.clean(p, secrets, allowed=[tok], what="kubectl")

        p = self.helper(["git", "store"],
                        input="protocol=https\nhost=%s\nusername=x\n"
                        "password=%s\n\n" % (self.host, tok))
        self.clean(p, secrets, what="git store")
        p = self.helper(["erase"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.clean(p, secrets, what="erase")
        self.check_cache(secrets=self.pem)

    def check_cache(self, secrets):
        """Cache files are 0600 in a 0700 dir and hold no key material."""
        d = os.path.join(self.env["HOME"], ".cache", "zitadel")
        self.assertEqual(stat.S_IMODE(os.stat(d).st_mode), 0o700)
        for name in os.listdir(d):
            self.assert_private(os.path.join(d, name))
        self.assertEqual(ztest.find_leaks(secrets, files=[self.env["HOME"]]),
                         [])

    def test_failure_paths(self):
        tok = self.token()
        secrets = self.pem + [tok]
        cases = (
            ("malformed", {"kind": "malformed"}),
            ("truncate", {"kind": "truncate", "count": 5}),
            ("drop", {"kind": "drop", "count": 5}),
            ("invalid_grant", {"kind": "status", "status": 400}),
            ("server_error", {"kind": "status", "status": 500, "count": 5}),
        )
        for name, fault in cases:
            self.srv.clear_faults()
            self.srv.fault("/oauth/v2/token", **fault)
            p = self.helper(["token", "--no-cache"])
            self.assertNotEqual(p.returncode, 0, name)
            self.clean(p, secrets, what="token with fault " + name)
        self.srv.clear_faults()

        # A key the server no longer knows: the assertion is rejected.
        m2 = self.srv.create_machine()
        self.srv.remove_key(m2["user_id"], m2["key_id"])
        p = ztest.run([HELPER, "--verbose", "--issuer", self.srv.issuer,
                       "--ca-file", self.srv.ca_file, "--key-file",
                       m2["key_file"], "token"], env=clean_env())
        self.assertEqual(p.returncode, 1, p.stderr)
        self.clean(p, secrets + pem_lines(m2["key_file"]),
                   what="token with a removed key")

        # A key file others can read, and one whose PEM is broken: the
        # refusal names the file, never its content.
        m3 = self.srv.create_machine()
        os.chmod(m3["key_file"], 0o644)
        p = ztest.run([HELPER, "--verbose", "--issuer", self.srv.issuer,
                       "--key-file", m3["key_file"], "token"],
                      env=clean_env())
        self.assertEqual(p.returncode, 4, p.stderr)
        self.clean(p, pem_lines(m3["key_file"]), what="open key file")
        with open(m3["key_file"]) as f:
            doc = json.load(f)
        doc["key"] = doc["key"].replace("\n", "", 3)
        broken = os.path.join(ztest.tmpdir(), "broken.json")
        ztest.write_secret(broken, json.dumps(doc))
        p = ztest.run([HELPER, "--verbose", "--issuer", self.srv.issuer,
                       "--ca-file", self.srv.ca_file, "--key-file", broken,
                       "token", "--no-cache"], env=clean_env())
        self.assertNotEqual(p.returncode, 0)
        self.clean(p, pem_lines(m3["key_file"]), what="broken key")


class Ctl(Base):
    @classmethod
    def setUpClass(cls):
        cls.srv = ztest.Server()
        cls.srv.__enter__()
        cls.admin_pem = pem_lines(cls.srv.admin_key_file)
        cls.admin_pat = read(cls.srv.admin_pat_file)
        cls.target = cls.srv.create_machine(key=False)["user_id"]
        cls.dir = ztest.tmpdir()
        cls.conf = write_config("")

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def ctl(self, *args, cred=None):
        argv = [CTL, "--verbose", "--issuer", self.srv.issuer, "--ca-file",
                self.srv.ca_file, "--config", self.conf]
        argv += cred if cred is not None else \
            ["--key-file", self.srv.admin_key_file]
        return ztest.run(argv + list(args), env=clean_env(self.dir))

    def out_file(self, name):
        return os.path.join(ztest.tmpdir(), name)

    def test_secrets_to_file(self):
        base = self.admin_pem + [self.admin_pat]
        f = self.out_file("pat")
        p = self.ctl("pat", "add", self.target, "--output-file", f)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_private(f)
        with open(f) as fh:
            text = fh.read()
        pats = LONG_RUN.findall(text)
        self.assertTrue(pats, "no PAT in the output file")
        self.clean(p, base + pats, what="pat add --output-file")

        f = self.out_file("key.json")
        p = self.ctl("key", "add", self.target, "--output-file", f)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_private(f)
        self.clean(p, base + pem_lines(f), what="key add --output-file")

        f = self.out_file("secret")
        p = self.ctl("secret", "generate", self.target, "--output-file", f)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_private(f)
        with open(f) as fh:
            text = fh.read()
        found = re.findall(r"[A-Za-z0-9]{32,}", text)
        self.assertTrue(found, "no client secret in the output file")
        self.clean(p, base + found, what="secret generate --output-file")

    def test_show_secret(self):
        p = self.ctl("--output", "json", "pat", "add", self.target,
                     "--show-secret")
        self.assertEqual(p.returncode, 0, p.stderr)
        pats = LONG_RUN.findall(p.stdout)
        self.assertTrue(pats, "--show-secret printed no PAT")
        self.clean(p, self.admin_pem + [self.admin_pat] + pats,
                   allowed=pats, what="pat add --show-secret")
        # Without --show-secret or --output-file nothing is minted.
        p = self.ctl("pat", "add", self.target)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.clean(p, self.admin_pem, what="pat add refused")

    def test_credentials(self):
        p = self.ctl("key", "list", self.target,
                     cred=["--pat-file", self.srv.admin_pat_file])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.clean(p, [self.admin_pat], what="key list with a PAT")

        cid, secret = self.srv.generate_secret(self.srv.admin_user_id)
        sf = ztest.write_secret(os.path.join(ztest.tmpdir(), "s"), secret)
        p = self.ctl("key", "list", self.target,
                     cred=["--client-id", cid, "--client-secret-file", sf])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.clean(p, [secret], what="key list with client credentials")

        bad = "x" * 20 + "NotAValidPat" + "y" * 20
        bf = ztest.write_secret(os.path.join(ztest.tmpdir(), "p"), bad)
        p = self.ctl("key", "list", self.target, cred=["--pat-file", bf])
        self.assertNotEqual(p.returncode, 0)
        self.clean(p, [bad], what="key list with a wrong PAT")

        m = self.srv.create_machine()
        self.srv.remove_key(m["user_id"], m["key_id"])
        p = self.ctl("key", "list", self.target,
                     cred=["--key-file", m["key_file"]])
        self.assertNotEqual(p.returncode, 0)
        self.clean(p, pem_lines(m["key_file"]), what="removed admin key")


class Pam(Base):
    @classmethod
    def setUpClass(cls):
        import pamlib
        cls.pamlib = pamlib
        if not all((pamlib.WRAPPER, pamlib.PAM_SET_ITEMS, pamlib.PAM_DENY)) \
                or not os.path.exists(pamlib.MODULE) \
                or not os.path.exists(pamlib.DRIVER):
            raise unittest.SkipTest("pam_wrapper or the module missing")
        cls.srv = ztest.Server()
        cls.srv.__enter__()
        cls.pam = pamlib.Pam(cls.srv)
        cls.m = cls.srv.create_machine()
        cls.tok = cls.srv.issue_token(cls.m["user_id"],
                                      scope=ztest.PAM_SCOPE)
        cls.app_pem = pem_lines(cls.srv.app_key_file)
        cls.app_secret = read(cls.srv.app_client_secret_file)

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def run_pam(self, svc, reply):
        res, p = self.pam.run(svc, self.m["username"], ["auth"], reply=reply)
        return res, p

    def test_auth(self):
        key_svc = self.pam.simple("debug", self.pam.config(
            require_org=self.srv.org_id))
        secret_svc = self.pam.simple("debug", self.pam.config(
            require_org=self.srv.org_id,
            app_key_file=None, client_id=self.srv.app_client_id,
            client_secret_file=self.srv.app_client_secret_file, debug="yes"))
        secrets = self.app_pem + [self.app_secret, self.tok]
        for svc in (key_svc, secret_svc):
            for reply, want in ((self.tok, "PAM_SUCCESS"),
                                ("A" * 30 + "wrong" + "B" * 30,
                                 "PAM_AUTH_ERR")):
                res, p = self.run_pam(svc, reply)
                self.assertEqual(res.get("auth"), want, p.stdout + p.stderr)
                every = secrets + [reply]
                self.assertEqual(ztest.find_leaks(every, texts=[p.stderr]),
                                 [], "secret on the driver's stderr")
                # pam_wrapper shows what went to pam_syslog on stderr.
                self.assertIn("SYSLOG(", p.stderr)
                syslog = "\n".join(l for l in p.stderr.splitlines()
                                   if "SYSLOG(" in l)
                self.assertIsNone(LONG_RUN.search(syslog), syslog)


class CoreDumps(Base):
    """A process that holds a key must not be dumpable."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root to run the programs as nobody")
        cls.nobody = pwd.getpwnam("nobody")
        cls.srv = ztest.Server()
        cls.srv.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def private_copy(self, src, name):
        d = ztest.tmpdir()
        os.chown(d, self.nobody.pw_uid, self.nobody.pw_gid)
        dst = os.path.join(d, name)
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o600)
        os.chown(dst, self.nobody.pw_uid, self.nobody.pw_gid)
        return d, dst

    def caught_waiting(self, argv, home, listener):
        """Start argv as nobody against an issuer that accepts and never
        answers; once it has connected (so it is past its start-up),
        return (owner of /proc/PID/status, core limit fields)."""
        env = {k: v for k, v in dict(os.environ, **clean_env(home)).items()
               if v is not None}

        def drop():
            os.setgid(self.nobody.pw_gid)
            os.setgroups([])
            os.setuid(self.nobody.pw_uid)
        p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, preexec_fn=drop)
        conn = None
        try:
            listener.settimeout(60)
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                p.kill()
                self.fail("%s never connected: %r" % (argv[0],
                                                      p.communicate()))
            self.assertIsNone(p.poll())
            owner = os.stat("/proc/%d/status" % p.pid).st_uid
            with open("/proc/%d/limits" % p.pid) as f:
                core = [l for l in f if l.startswith("Max core file size")]
        finally:
            p.kill()
            p.communicate()
            if conn is not None:
                conn.close()
        return owner, core[0].split()

    def test_not_dumpable(self):
        home = ztest.tmpdir()
        os.chown(home, self.nobody.pw_uid, self.nobody.pw_gid)
        _, key = self.private_copy(self.srv.admin_key_file, "key.json")
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        issuer = "https://127.0.0.1:%d" % listener.getsockname()[1]
        try:
            for name, argv in (
                    ("zitadel-credential",
                     [HELPER, "--issuer", issuer, "--key-file", key,
                      "--timeout", "120", "token", "--no-cache"]),
                    ("zitadelctl",
                     [CTL, "--issuer", issuer, "--key-file", key,
                      "--timeout", "120", "key", "list", "1"])):
                owner, core = self.caught_waiting(argv, home, listener)
                self.assertEqual(owner, 0, "%s is dumpable" % name)
                self.assertEqual(core[4:6], ["0", "0"],
                                 "%s allows core files: %s" % (name, core))
        finally:
            listener.close()


if __name__ == "__main__":
    unittest.main()
