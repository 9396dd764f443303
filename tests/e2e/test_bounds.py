"""Resource bounds: every named maximum (zitadel.h, internal.h, the
helper's protocol bounds) exceeded once, each ending in one clear line of
error and the documented exit code; nothing is read past its bound."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "lib"))
sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "e2e"))
import ztest  # noqa: E402
from test_helper_util import HELPER, clean_env, write_config  # noqa: E402

CTL = ztest.build_path("admin/zitadelctl")

KEYFILE_MAX = 65536            # ZITADEL_KEYFILE_MAX
CONFIG_MAX = 256 * 1024        # ZT_CONFIG_MAX
CACHE_ENTRY_MAX = 64 * 1024    # ZT_CACHE_ENTRY_MAX
TOKEN_MAX = 16 * 1024          # ZT_TOKEN_MAX
HTTP_BODY_MAX = 4 * 1024 * 1024  # ZT_HTTP_BODY_MAX
GIT_LINE_MAX = 65535           # git's own bound on a protocol line
EXEC_INFO_MAX = 64 * 1024      # helper/kubectl.c
DOCKER_URL_MAX = 4096          # helper/docker.c
DOCKER_STORE_MAX = 64 * 1024


class Bounds(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ztest.Server()
        cls.srv.__enter__()
        cls.m = cls.srv.create_machine()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def tearDown(self):
        self.srv.clear_faults()

    def one_line(self, p, code, text, stream="stderr"):
        out = getattr(p, stream)
        self.assertEqual(p.returncode, code, p.stdout + p.stderr)
        lines = out.splitlines()
        self.assertEqual(len(lines), 1, "want one line, got %r" % out[:2000])
        self.assertIn(text, lines[0])
        self.assertLess(len(lines[0]), 1000, lines[0][:200])

    def helper(self, args, input=None, env=None):
        e = clean_env()
        e.update(env or {})
        return ztest.run([HELPER] + args, input=input, env=e)

    def base(self):
        return ["--issuer", self.srv.issuer, "--ca-file", self.srv.ca_file,
                "--key-file", self.m["key_file"]]

    def test_key_file(self):
        with open(self.m["key_file"]) as f:
            doc = json.load(f)
        doc["pad"] = "x" * KEYFILE_MAX
        path = ztest.write_secret(os.path.join(ztest.tmpdir(), "big.json"),
                                  json.dumps(doc))
        p = self.helper(["--issuer", self.srv.issuer, "--key-file", path,
                         "token"])
        self.one_line(p, 4, "big.json")

    def test_config(self):
        path = write_config("# " + "x" * CONFIG_MAX + "\n")
        p = self.helper(["--config", path, "token"])
        self.one_line(p, 3, "client.conf")

    def test_cache_entry(self):
        home = ztest.tmpdir()
        env = clean_env(home)
        p = ztest.run([HELPER] + self.base() + ["token"], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        cache = os.path.join(home, ".cache", "zitadel")
        entries = [n for n in os.listdir(cache)
                   if n.startswith("token-") and n.endswith(".json")]
        self.assertEqual(len(entries), 1, entries)
        path = os.path.join(cache, entries[0])
        with open(path, "r+") as f:
            entry = json.load(f)
            entry["pad"] = "x" * CACHE_ENTRY_MAX
            f.seek(0)
            f.write(json.dumps(entry))
        # An entry over the bound is corrupt: a miss, replaced by a new one.
        before = self.srv.count("/oauth/v2/token")
        p = ztest.run([HELPER] + self.base() + ["token"], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.srv.count("/oauth/v2/token"), before + 1)
        self.assertLess(os.path.getsize(path), CACHE_ENTRY_MAX)

    def test_response_body(self):
        self.srv.fault("/oauth/v2/token", "status", status=200, count=5,
                       body="{\"pad\":\"" + "x" * HTTP_BODY_MAX + "\"}")
        p = self.helper(self.base() + ["token", "--no-cache"])
        self.one_line(p, 6, "token")

    def test_token_length(self):
        body = json.dumps({"access_token": "a" * (TOKEN_MAX + 1),
                           "token_type": "Bearer", "expires_in": 3600})
        self.srv.fault("/oauth/v2/token", "status", status=200, count=5,
                       body=body)
        p = self.helper(self.base() + ["token", "--no-cache"])
        self.one_line(p, 6, "%d" % TOKEN_MAX)

    def test_git_line(self):
        conf = write_config("[profile p]\nissuer = %s\nkey_file = %s\n"
                            "git_hosts = git.example\n"
                            % (self.srv.issuer, self.m["key_file"]))
        p = self.helper(["--config", conf, "git", "get"],
                        input="protocol=https\nhost=" +
                        "h" * GIT_LINE_MAX + "\n\n")
        self.one_line(p, 1, "%d" % GIT_LINE_MAX)

    def test_exec_info(self):
        info = json.dumps({"apiVersion": "client.authentication.k8s.io/v1",
                           "kind": "ExecCredential",
                           "pad": "x" * EXEC_INFO_MAX})
        p = self.helper(self.base() + ["kubectl"],
                        env={"KUBERNETES_EXEC_INFO": info})
        self.one_line(p, 2, "KUBERNETES_EXEC_INFO")
        self.assertEqual(p.stdout, "")

    def test_docker_input(self):
        p = self.helper(["docker", "get"],
                        input="https://" + "r" * DOCKER_URL_MAX + "\n")
        self.one_line(p, 1, "%d" % DOCKER_URL_MAX, stream="stdout")
        p = self.helper(["docker", "store"],
                        input=json.dumps({"ServerURL": "r", "Username": "u",
                                          "Secret": "s" * DOCKER_STORE_MAX}))
        self.one_line(p, 1, "%d" % DOCKER_STORE_MAX, stream="stdout")

    def test_pat_file(self):
        path = ztest.write_secret(os.path.join(ztest.tmpdir(), "pat"),
                                  "p" * (TOKEN_MAX + 1))
        p = ztest.run([CTL, "--issuer", self.srv.issuer, "--ca-file",
                       self.srv.ca_file, "--pat-file", path, "key", "list",
                       self.m["user_id"]], env=clean_env())
        self.one_line(p, 3, "pat")


if __name__ == "__main__":
    unittest.main()
