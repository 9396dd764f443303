"""git-credential-zitadel with real git (credential fill, clone, ls-remote
against the test server's smart-HTTP remote) and git's protocol edge cases
fed straight to the helper (protocols.md section 1.1)."""

import os
import re
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_helper_util import (HELPER, clean_env, helper, profile,  # noqa: E402
                              token_requests, users_me, write_config, ztest)

srv = None
machine = None


def setUpModule():
    global srv, machine
    srv = ztest.Server()
    machine = srv.create_machine()


def tearDownModule():
    srv.stop()


def git_version():
    out = subprocess.run(["git", "--version"], capture_output=True,
                         text=True).stdout
    m = re.search(r"(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def parse(out):
    pairs = [l.split("=", 1) for l in out.splitlines()]
    return dict(pairs), [k for k, _ in pairs]


class GitTest(unittest.TestCase):
    def setUp(self):
        self.host = urllib.parse.urlsplit(srv.issuer).netloc
        self.config = write_config(
            profile("main", srv, machine, git_hosts=self.host) +
            profile("bearer", srv, machine, git_hosts="bearer.example",
                    git_bearer="true", username="robot"))
        self.env = clean_env(ZITADEL_CONFIG=self.config)

    def get(self, text, verb="get", env=None):
        return helper(["git", verb], env or self.env, input=text)

    def assert_answer(self, r):
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        attrs, keys = parse(r.stdout)
        self.assertEqual(keys, ["username", "password",
                                "password_expiry_utc"])
        return attrs

    def assert_no_answer(self, r, code=0):
        self.assertEqual(r.returncode, code, r.stderr)
        self.assertEqual(r.stdout, "")
        if code:
            self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
            self.assertTrue(r.stderr.startswith("git-credential-zitadel")
                            or r.stderr.startswith("zitadel-credential"))

    # ---- the answer

    def test_get_answers_with_a_working_token(self):
        attrs = self.assert_answer(self.get(
            "protocol=https\nhost=%s\n\n" % self.host))
        self.assertEqual(attrs["username"], "zitadel")
        self.assertEqual(users_me(srv, attrs["password"]), 200)
        expiry = int(attrs["password_expiry_utc"])
        now = time.time()
        self.assertGreater(expiry, now)
        self.assertLess(expiry, now + 43200 + 5)

    def test_url_attribute_and_eof_without_blank_line(self):
        attrs = self.assert_answer(self.get(
            "url=https://someone@%s/git/repo.git" % self.host))
        self.assertTrue(attrs["password"])

    def test_host_matches_without_regard_to_case(self):
        self.assert_answer(self.get(
            "protocol=https\nhost=%s\n" % self.host.upper()))

    def test_bearer_only_when_offered_and_configured(self):
        r = self.get("capability[]=authtype\nprotocol=https\n"
                     "host=bearer.example\n\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        attrs, keys = parse(r.stdout)
        self.assertEqual(keys, ["capability[]", "authtype", "credential",
                                "ephemeral", "password_expiry_utc"])
        self.assertEqual(attrs["capability[]"], "authtype")
        self.assertEqual(attrs["authtype"], "Bearer")
        self.assertEqual(attrs["ephemeral"], "true")
        self.assertEqual(users_me(srv, attrs["credential"]), 200)
        # Not offered by git: plain username and password.
        attrs = self.assert_answer(self.get(
            "protocol=https\nhost=bearer.example\n\n"))
        self.assertEqual(attrs["username"], "robot")
        # Offered, but the profile does not say the server takes bearer.
        self.assert_answer(self.get(
            "capability[]=authtype\nprotocol=https\nhost=%s\n\n"
            % self.host))
        # An empty capability[] clears what came before.
        self.assert_answer(self.get(
            "capability[]=authtype\ncapability[]=\nprotocol=https\n"
            "host=bearer.example\n\n"))

    # ---- no answer at all

    def test_no_answer_without_protocol_host_or_https(self):
        cases = ["host=%s\n\n" % self.host,
                 "protocol=https\n\n",
                 "protocol=https\nhost=\n\n",
                 "protocol=http\nhost=%s\n\n" % self.host,
                 "url=https:///repo.git\n\n",
                 "url=http://%s/repo.git\n\n" % self.host,
                 "protocol=https\nhost=unconfigured.example\n\n",
                 ""]
        for text in cases:
            with self.subTest(text=text):
                self.assert_no_answer(self.get(text))

    def test_encoded_newline_in_url_host_never_matches(self):
        # Decoded, "%0a" would end the host line and start a new one.
        for url in ["https://evil.example%%0ahost=%s/" % self.host,
                    "https://%s%%0a/repo" % self.host]:
            with self.subTest(url=url):
                self.assert_no_answer(self.get("url=%s\n\n" % url))

    def test_raw_second_host_line_wins(self):
        # Like git, the last host= counts; never answer for the first.
        self.assert_no_answer(self.get(
            "protocol=https\nhost=%s\nhost=evil.example\n\n" % self.host))
        self.assert_answer(self.get(
            "protocol=https\nhost=evil.example\nhost=%s\n\n" % self.host))
        self.assert_no_answer(self.get(
            "url=https://%s/\nhost=evil.example\n\n" % self.host))

    def test_input_after_the_blank_line_is_not_read(self):
        self.assert_no_answer(self.get(
            "protocol=https\n\nhost=%s\n" % self.host))

    def test_malformed_requests_are_refused(self):
        long_value = "x" * 65535
        cases = [("CR in a value",
                  "protocol=https\nhost=%s\rhost=evil.example\n\n"
                  % self.host),
                 ("CR at the end", "protocol=https\r\nhost=%s\n\n"
                  % self.host),
                 ("NUL", "protocol=https\nhost=%s\0evil\n\n" % self.host),
                 ("no =", "protocol=https\nhost %s\n\n" % self.host),
                 ("line over 65535 bytes",
                  "protocol=https\nhost=%s\npath=%s\n\n"
                  % (self.host, long_value)),
                 ("url without scheme", "url=%s/repo\n\n" % self.host)]
        for name, text in cases:
            with self.subTest(case=name):
                self.assert_no_answer(self.get(text), code=1)

    def test_longest_allowed_line_is_fine(self):
        # 65535 bytes with the LF: "path=" + 65529 + "\n".
        text = "protocol=https\nhost=%s\npath=%s\n\n" % (self.host,
                                                        "p" * 65529)
        self.assert_answer(self.get(text))

    def test_profile_option_narrows_never_widens(self):
        env = dict(self.env, ZITADEL_PROFILE="bearer")
        self.assert_no_answer(self.get(
            "protocol=https\nhost=%s\n\n" % self.host, env=env))
        self.assert_no_answer(helper(
            ["--profile", "nosuch", "git", "get"], self.env,
            input="protocol=https\nhost=%s\n\n" % self.host), code=3)

    # ---- the other verbs

    def test_store_unknown_and_capability(self):
        secret_in = "protocol=https\nhost=%s\nusername=u\npassword=p\n\n" \
            % self.host
        for verb in ("store", "frobnicate"):
            with self.subTest(verb=verb):
                r = self.get(secret_in, verb=verb)
                self.assertEqual((r.returncode, r.stdout, r.stderr),
                                 (0, "", ""))
        r = self.get("", verb="capability")
        self.assertEqual((r.returncode, r.stdout),
                         (0, "version 0\ncapability authtype\n"))

    def test_erase_then_get_fetches_a_new_token(self):
        home = ztest.tmpdir()
        env = clean_env(home=home, ZITADEL_CONFIG=self.config)
        req = "protocol=https\nhost=%s\n\n" % self.host
        first = self.assert_answer(self.get(req, env=env))["password"]
        self.assertEqual(self.assert_answer(self.get(req, env=env))
                         ["password"], first)
        r = self.get(req, verb="erase", env=env)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))
        before = token_requests(srv)
        second = self.assert_answer(self.get(req, env=env))["password"]
        self.assertEqual(token_requests(srv), before + 1)
        self.assertNotEqual(first, second)

    def test_erase_for_other_hosts_does_nothing(self):
        r = self.get("protocol=https\nhost=evil.example\n\n", verb="erase")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))

    def test_usage(self):
        r = helper(["git"], self.env)
        self.assertEqual(r.returncode, 2)
        r = helper([], self.env, argv0="git-credential-zitadel")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, "")

    # ---- real git

    def git_env(self):
        """HOME with a git config that names the helper, and a PATH dir
        holding git-credential-zitadel."""
        home = ztest.tmpdir()
        bindir = ztest.tmpdir()
        os.symlink(HELPER, os.path.join(bindir, "git-credential-zitadel"))
        with open(os.path.join(home, ".gitconfig"), "w") as f:
            f.write("[credential]\n\thelper = zitadel\n"
                    "[http]\n\tsslCAInfo = %s\n" % srv.ca_file)
        return clean_env(home=home, ZITADEL_CONFIG=self.config,
                         PATH=bindir + os.pathsep + os.environ["PATH"],
                         GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0",
                         GIT_ASKPASS=None, SSH_ASKPASS=None)

    def test_git_credential_fill(self):
        env = self.git_env()
        r = ztest.run(["git", "credential", "fill"], env=env,
                      input="protocol=https\nhost=%s\n\n" % self.host)
        self.assertEqual(r.returncode, 0, r.stderr)
        attrs, _ = parse(r.stdout)
        self.assertEqual(attrs["username"], "zitadel")
        self.assertEqual(users_me(srv, attrs["password"]), 200)

    def test_git_credential_fill_other_host_gets_nothing(self):
        r = ztest.run(["git", "credential", "fill"], env=self.git_env(),
                      input="protocol=https\nhost=evil.example\n\n")
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn("password=", r.stdout)

    def test_git_ignores_an_expired_password_and_asks_us(self):
        if git_version() < (2, 40):
            self.skipTest("git before 2.40 ignores password_expiry_utc")
        env = self.git_env()
        stale = ("!f() { echo username=stale; echo password=stale; "
                 "echo password_expiry_utc=1; }; f")
        r = ztest.run(["git", "-c", "credential.helper=", "-c",
                       "credential.helper=" + stale, "-c",
                       "credential.helper=zitadel", "credential", "fill"],
                      env=env, input="protocol=https\nhost=%s\n\n"
                      % self.host)
        self.assertEqual(r.returncode, 0, r.stderr)
        attrs, _ = parse(r.stdout)
        self.assertNotEqual(attrs["password"], "stale")

    def test_git_clone_and_ls_remote(self):
        env = self.git_env()
        url = srv.git_url("repo")
        work = ztest.tmpdir()
        r = ztest.run(["git", "ls-remote", url], env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"[0-9a-f]{40}\tHEAD")
        r = ztest.run(["git", "clone", "-q", url, os.path.join(work, "c")],
                      env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.isdir(os.path.join(work, "c", ".git")))

    def test_git_clone_without_a_profile_is_refused(self):
        env = self.git_env()
        env["ZITADEL_CONFIG"] = write_config(
            profile("other", srv, machine, git_hosts="elsewhere.example"))
        r = ztest.run(["git", "ls-remote", srv.git_url("repo")], env=env)
        self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    unittest.main()
