"""zitadel-credential token end to end (issue 2): a token from a real key
file that the server accepts, and every failure with its one-line error
and exit code, nothing leaked."""

import json
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_helper_util import (HELPER, cache_dir, clean_env, helper, users_me,  # noqa: E402
                              token_requests, ztest)

srv = None


def setUpModule():
    global srv
    srv = ztest.Server()


def tearDownModule():
    srv.stop()


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class TokenTest(unittest.TestCase):
    def setUp(self):
        srv.clear_faults()
        self.m = srv.create_machine()
        self.env = clean_env()

    def args(self, key_file=None, issuer=None, extra=()):
        return (["--issuer", issuer or srv.issuer,
                 "--key-file", key_file or self.m["key_file"],
                 "--ca-file", srv.ca_file] + list(extra) + ["token"])

    def assert_token(self, r):
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        self.assertTrue(r.stdout.endswith("\n"))
        token = r.stdout[:-1]
        self.assertNotIn("\n", token)
        self.assertGreater(len(token), 10)
        return token

    def assert_fails(self, r, code, *needles):
        self.assertEqual(r.returncode, code, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertTrue(r.stderr.startswith("zitadel-credential: "),
                        r.stderr)
        for n in needles:
            self.assertIn(n, r.stderr)
        return r.stderr

    def rewrite_key(self, **changes):
        """A copy of the machine's key file with some fields changed."""
        with open(self.m["key_file"]) as f:
            doc = json.load(f)
        doc.update(changes)
        path = os.path.join(ztest.tmpdir(), "key.json")
        ztest.write_secret(path, json.dumps(doc))
        return path

    def test_token_is_accepted(self):
        r = helper(self.args(), self.env)
        token = self.assert_token(r)
        self.assertEqual(users_me(srv, token), 200)
        self.assertTrue(srv.token_active(token))

    def test_discovery_is_kept_for_the_next_miss(self):
        """A miss costs one request once the discovery document is kept;
        --no-cache touches no file and so asks for discovery every time."""
        disc = "/.well-known/openid-configuration"
        srv.reset_counts()
        self.assert_token(helper(self.args(), self.env))
        self.assertEqual((srv.count(disc), srv.count("/oauth/v2/token")), (1, 1))
        docs = [n for n in os.listdir(cache_dir(self.env)) if n.startswith("discovery-")]
        self.assertEqual(len(docs), 1)
        st = os.stat(os.path.join(cache_dir(self.env), docs[0]))
        self.assertEqual(st.st_mode & 0o777, 0o600)

        self.assertEqual(helper(self.args()[:-1] + ["erase"], self.env).returncode, 0)
        self.assert_token(helper(self.args(), self.env))
        self.assertEqual((srv.count(disc), srv.count("/oauth/v2/token")), (1, 2))

        env = clean_env()
        for _ in range(2):
            self.assert_token(helper(self.args(extra=["--no-cache"]), env))
        self.assertEqual((srv.count(disc), srv.count("/oauth/v2/token")), (3, 4))
        self.assertFalse(os.path.exists(cache_dir(env)))

    def test_kept_discovery_for_another_issuer_is_refetched(self):
        """A kept document that names another issuer is not trusted."""
        self.assert_token(helper(self.args(), self.env))
        d = cache_dir(self.env)
        name = [n for n in os.listdir(d) if n.startswith("discovery-")][0]
        with open(os.path.join(d, name)) as f:
            doc = json.load(f)
        doc["issuer"] = "https://elsewhere.example"
        doc["token_endpoint"] = "https://elsewhere.example/oauth/v2/token"
        with open(os.path.join(d, name), "w") as f:
            json.dump(doc, f)
        self.assertEqual(helper(self.args()[:-1] + ["erase"], self.env).returncode, 0)
        srv.reset_counts()
        self.assert_token(helper(self.args(), self.env))
        self.assertEqual(srv.count("/.well-known/openid-configuration"), 1)

    def test_environment_stands_in_for_options(self):
        env = dict(self.env, ZITADEL_ISSUER=srv.issuer,
                   ZITADEL_KEY_FILE=self.m["key_file"],
                   ZITADEL_CA_FILE=srv.ca_file)
        token = self.assert_token(helper(["token"], env))
        self.assertEqual(users_me(srv, token), 200)

    def test_options_win_over_environment(self):
        env = dict(self.env, ZITADEL_ISSUER="https://127.0.0.1:1",
                   ZITADEL_KEY_FILE="/nonexistent/key.json")
        self.assert_token(helper(self.args(), env))

    def test_options_after_the_command(self):
        r = helper(["token", "--issuer", srv.issuer, "--key-file",
                    self.m["key_file"], "--ca-file", srv.ca_file], self.env)
        self.assert_token(r)

    def test_second_call_is_served_from_the_cache(self):
        first = self.assert_token(helper(self.args(), self.env))
        before = token_requests(srv)
        second = self.assert_token(helper(self.args(), self.env))
        self.assertEqual(first, second)
        self.assertEqual(token_requests(srv), before)

    def test_timeout_range_matches_the_config_file(self):
        self.assert_token(helper(self.args(extra=["--timeout", "600"]),
                                 self.env))
        self.assert_token(helper(self.args(extra=["--timeout", "1"]),
                                 self.env))
        r = helper(["--help"], self.env)
        self.assertRegex(r.stdout, r"--timeout SECONDS .*\(1-600\)")

    def test_no_cache_fetches_every_time(self):
        self.assert_token(helper(self.args(), self.env))
        before = token_requests(srv)
        self.assert_token(helper(self.args(extra=["--no-cache"]), self.env))
        self.assertEqual(token_requests(srv), before + 1)

    def test_erase_drops_the_cached_token(self):
        first = self.assert_token(helper(self.args(), self.env))
        a = self.args()[:-1]
        r = helper(a + ["erase"], self.env)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))
        before = token_requests(srv)
        second = self.assert_token(helper(self.args(), self.env))
        self.assertEqual(token_requests(srv), before + 1)
        self.assertNotEqual(first, second)

    def test_verbose_erase_tells_whether_an_entry_was_there(self):
        self.assert_token(helper(self.args(), self.env))
        a = self.args(extra=["-v"])[:-1]
        r = helper(a + ["erase"], self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("cache entry erased in", r.stderr)
        self.assertNotIn("no cache entry", r.stderr)
        r = helper(a + ["erase"], self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("no cache entry to erase in", r.stderr)
        self.assertNotIn("cache entry erased", r.stderr)

    def test_verbose_says_what_happens_without_the_token(self):
        r = helper(self.args(extra=["--verbose"]), self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        token = r.stdout.strip()
        self.assertIn("cache miss", r.stderr)
        self.assertEqual(ztest.find_leaks([token], texts=[r.stderr]), [])
        r = helper(self.args(extra=["-v"]), self.env)
        self.assertIn("cache hit", r.stderr)
        self.assertEqual(ztest.find_leaks([token], texts=[r.stderr]), [])

    def test_no_cache_verbose_says_cache_not_used(self):
        r = helper(self.args(extra=["--no-cache", "-v"]), self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("cache not used: loaded ", r.stderr)
        self.assertNotIn("cache miss", r.stderr)

    def test_face_names_prefix_their_messages(self):
        for argv0 in ("git-credential-zitadel", "docker-credential-zitadel"):
            with self.subTest(argv0=argv0):
                r = helper(["--frobnicate", "get"], self.env, argv0=argv0)
                self.assertEqual(r.returncode, 2)
                self.assertTrue(r.stderr.startswith(argv0 + ": unknown "
                                                    "option"), r.stderr)
                r = helper(["-v", "get"], self.env, argv0=argv0,
                           input="https://nowhere.example\n" if "docker"
                           in argv0 else "protocol=https\nhost=x\n\n")
                self.assertIn(argv0 + ": debug: ", r.stderr)
                self.assertNotIn("zitadel-credential:", r.stderr)
        r = helper(["--frobnicate", "token"], self.env)
        self.assertTrue(r.stderr.startswith("zitadel-credential: "))

    def test_help_and_version(self):
        for args in (["--help"], ["-h"], ["help"]):
            r = helper(args, self.env)
            self.assertEqual(r.returncode, 0)
            self.assertIn("Usage: zitadel-credential", r.stdout)
            self.assertIn("Exit status", r.stdout)
            self.assertIn("--key-file", r.stdout)
        for args in (["--version"], ["-V"], ["version"]):
            r = helper(args, self.env)
            self.assertEqual(r.returncode, 0)
            self.assertRegex(r.stdout, r"^zitadel-credential \d+\.\d+\.\d+\n$")

    def shell(self, redirect, args):
        """Run the helper with a shell redirection applied first."""
        return ztest.run(["sh", "-c", 'exec "$@" ' + redirect, "sh",
                          HELPER] + list(args), env=self.env)

    def test_closed_stdout_is_a_failure_not_a_lost_answer(self):
        for args in (["--help"], ["version"], self.args(), self.args()):
            with self.subTest(args=args[-1]):
                r = self.shell(">&-", args)
                self.assertEqual(r.returncode, 7, r.stderr)
                self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
                self.assertTrue(r.stderr.startswith("zitadel-credential: "),
                                r.stderr)
        # Nothing landed in the cache in place of stdout.
        for name in os.listdir(cache_dir(self.env)):
            if name.endswith(".json"):
                with open(os.path.join(cache_dir(self.env), name)) as f:
                    json.load(f)

    def test_full_stdout_is_a_failure(self):
        for args in (["--help"], ["version"], self.args()):
            with self.subTest(args=args[-1]):
                r = self.shell(">/dev/full", args)
                self.assertEqual(r.returncode, 7, r.stderr)
                self.assertIn("No space left on device", r.stderr)

    def test_closed_stdin_and_stderr(self):
        # Debug lines for a closed stderr must go nowhere, not into a file
        # the helper opens; the answer is unharmed.
        for _ in range(2):
            r = self.shell("<&- 2>&-", self.args(extra=["-v"]))
            token = self.assert_token(r)
        self.assertEqual(users_me(srv, token), 200)
        for name in os.listdir(cache_dir(self.env)):
            if name.endswith(".json"):
                with open(os.path.join(cache_dir(self.env), name)) as f:
                    json.load(f)

    def test_usage_errors(self):
        cases = [(["--frobnicate", "token"], "--frobnicate"),
                 (["token", "--issuer"], "--issuer"),
                 (["--timeout", "soon", "token"], "--timeout"),
                 (["--timeout", "0", "token"], "--timeout"),
                 (["--timeout", "601", "token"], "1 to 600"),
                 (["--timeout", "3600", "token"], "1 to 600"),
                 (["--timeout", " 5", "token"], "--timeout"),
                 (["--timeout", "5 ", "token"], "--timeout"),
                 (["--timeout", "+5", "token"], "--timeout"),
                 (["--cache-margin", " 5", "token"], "--cache-margin"),
                 (["--cache-margin", "-5", "token"], "--cache-margin"),
                 (["frobnicate"], "frobnicate"),
                 ([], "no command"),
                 (["token", "extra"], "extra")]
        for args, needle in cases:
            with self.subTest(args=args):
                self.assert_fails(helper(args, self.env), 2, needle)

    def test_no_issuer_or_key_is_a_config_error(self):
        self.assert_fails(helper(["--key-file", self.m["key_file"], "token"],
                                 self.env), 3, "issuer")
        self.assert_fails(helper(["--issuer", srv.issuer, "token"],
                                 dict(self.env, ZITADEL_CONFIG=None)),
                          3, "key")

    def test_wrong_key_is_refused_naming_the_key_id(self):
        other = srv.create_machine()
        with open(other["key_file"]) as f:
            other_pem = json.load(f)["key"]
        path = self.rewrite_key(key=other_pem)
        r = helper(self.args(key_file=path), self.env)
        err = self.assert_fails(r, 1, self.m["key_id"])
        self.assertEqual(ztest.find_leaks([other_pem], texts=[err]), [])

    def test_unknown_key_id_is_refused(self):
        path = self.rewrite_key(keyId="999999999999999999")
        self.assert_fails(helper(self.args(key_file=path), self.env), 1,
                          "999999999999999999")

    def test_removed_key_is_refused(self):
        srv.remove_key(self.m["user_id"], self.m["key_id"])
        self.assert_fails(helper(self.args(), self.env), 1,
                          self.m["key_id"])

    def test_world_readable_key_file(self):
        os.chmod(self.m["key_file"], 0o644)
        self.assert_fails(helper(self.args(), self.env), 4,
                          self.m["key_file"], "0644")

    def test_world_readable_key_file_even_with_a_warm_cache(self):
        self.assert_token(helper(self.args(), self.env))
        os.chmod(self.m["key_file"], 0o644)
        self.assert_fails(helper(self.args(), self.env), 4,
                          self.m["key_file"], "0644")

    def test_missing_key_file(self):
        path = os.path.join(ztest.tmpdir(), "absent.json")
        self.assert_fails(helper(self.args(key_file=path), self.env), 4,
                          path)

    def test_malformed_key_file(self):
        path = os.path.join(ztest.tmpdir(), "bad.json")
        ztest.write_secret(path, "{\"type\": \"serviceaccount\", \"keyId\": ")
        self.assert_fails(helper(self.args(key_file=path), self.env), 4,
                          path)

    def test_server_down(self):
        issuer = "https://127.0.0.1:%d" % closed_port()
        self.assert_fails(helper(self.args(issuer=issuer), self.env), 5,
                          "127.0.0.1")

    def test_untrusted_certificate(self):
        r = helper(["--issuer", srv.issuer, "--key-file", self.m["key_file"],
                    "token"], dict(self.env, SSL_CERT_FILE=None,
                                   CURL_CA_BUNDLE=None))
        err = self.assert_fails(r, 5)
        self.assertRegex(err, r"(?i)tls|certificate|ssl")

    def test_server_that_never_answers(self):
        srv.fault("/oauth/v2/token", "hang", count=100)
        try:
            r = helper(self.args(extra=["--timeout", "2"]), self.env,
                       timeout=30)
        finally:
            srv.clear_faults()
        self.assert_fails(r, 5, "timed out")

    def test_secrets_never_reach_stderr(self):
        token = self.assert_token(helper(self.args(), self.env))
        with open(self.m["key_file"]) as f:
            pem = json.load(f)["key"]
        srv.remove_key(self.m["user_id"], self.m["key_id"])
        r = helper(self.args(extra=["--no-cache", "-v"]), self.env)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(ztest.find_leaks([token, pem],
                                          texts=[r.stdout, r.stderr]), [])

    def test_helper_exists(self):
        self.assertTrue(os.access(HELPER, os.X_OK), HELPER)


if __name__ == "__main__":
    unittest.main()
