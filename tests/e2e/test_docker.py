"""docker-credential-zitadel: every verb byte for byte as docker's protocol
has it (protocols.md section 1.2), and 20 parallel gets on a cold cache
making exactly one token request."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_helper_util import (HELPER, clean_env, helper, profile,  # noqa: E402
                              token_requests, users_me, write_config, ztest)

NOT_FOUND = "credentials not found in native keychain\n"

srv = None
machine = None


def setUpModule():
    global srv, machine
    srv = ztest.Server()
    machine = srv.create_machine()


def tearDownModule():
    srv.stop()


def compact(obj):
    return json.dumps(obj, separators=(",", ":")) + "\n"


class DockerTest(unittest.TestCase):
    def setUp(self):
        srv.clear_faults()
        self.config = write_config(
            "[defaults]\nprofile = main\n" +
            profile("main", srv, machine,
                    docker_registries="registry.example, "
                    "https://other.example:5000") +
            profile("robot", srv, machine, docker_registries="robot.example",
                    username="robot") +
            profile("bad", srv, machine, docker_registries="bad.example",
                    username="<token>"))
        self.env = clean_env(ZITADEL_CONFIG=self.config)

    def docker(self, verb, text, env=None):
        return helper([verb], env or self.env, input=text,
                      argv0="docker-credential-zitadel")

    def token(self, env=None):
        r = helper(["token"], env or self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def test_get_byte_for_byte(self):
        r = self.docker("get", "https://registry.example\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        secret = json.loads(r.stdout)["Secret"]
        self.assertEqual(r.stdout, compact({
            "ServerURL": "https://registry.example",
            "Username": "zitadel", "Secret": secret}))
        self.assertEqual(users_me(srv, secret), 200)
        self.assertEqual(secret, self.token())

    def test_get_trims_whitespace_and_keeps_the_url_as_given(self):
        r = self.docker("get", "  \thttps://registry.example/v2/ \n\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["ServerURL"], "https://registry.example/v2/")
        r = self.docker("get", "other.example:5000")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["ServerURL"],
                         "other.example:5000")

    def test_profile_username_and_never_token(self):
        r = self.docker("get", "robot.example")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["Username"], "robot")
        r = self.docker("get", "bad.example")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stdout.splitlines()), 1, r.stdout)
        self.assertIn("<token>", r.stdout)
        self.assertNotIn("Secret", r.stdout)

    def test_not_found_exactly(self):
        for url in ("https://unknown.example", "registry.example.evil",
                    "https://index.docker.io/v1/"):
            with self.subTest(url=url):
                r = self.docker("get", url + "\n")
                self.assertEqual((r.returncode, r.stdout, r.stderr),
                                 (1, NOT_FOUND, ""))

    def test_plain_http_is_not_served(self):
        # docker uses https for a bare host; an explicit other scheme gets
        # the unknown-registry answer, stdout exactly as docker wants it.
        for url in ("http://registry.example", "HTTP://registry.example/v2/",
                    "ftp://registry.example", "evil.example/x://registry."
                    "example", "://registry.example"):
            for verb in ("get", "erase"):
                with self.subTest(url=url, verb=verb):
                    r = self.docker(verb, url + "\n")
                    self.assertEqual((r.returncode, r.stdout, r.stderr),
                                     (1, NOT_FOUND, ""))
        for url in ("registry.example", "https://registry.example",
                    "HTTPS://registry.example"):
            with self.subTest(url=url):
                r = self.docker("get", url)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertEqual(json.loads(r.stdout)["ServerURL"], url)

    def test_no_server_url(self):
        for text in ("", "  \n"):
            r = self.docker("get", text)
            self.assertEqual((r.returncode, r.stdout),
                             (1, "no credentials server URL\n"))

    def test_list(self):
        # Every profile's registries, in config order; the <token> profile
        # that get refuses lists nothing.
        r = self.docker("list", "unused")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertEqual(r.stdout, compact({
            "registry.example": "zitadel",
            "https://other.example:5000": "zitadel",
            "robot.example": "robot"}))
        r = helper(["--profile", "robot", "docker", "list"], self.env,
                   input="unused")
        self.assertEqual(r.stdout, compact({"robot.example": "robot"}))
        r = helper(["--profile", "main", "docker", "list"], self.env,
                   input="unused")
        self.assertEqual(r.stdout, compact({
            "registry.example": "zitadel",
            "https://other.example:5000": "zitadel"}))

    def test_list_names_the_profile_get_uses(self):
        # Two profiles naming one registry host: get answers with the
        # first, and list shows that one's user name only.
        cfg = write_config(
            profile("first", srv, machine, docker_registries="shared.example",
                    username="first") +
            profile("second", srv, machine,
                    docker_registries="https://shared.example/v2/ "
                    "own.example", username="second") +
            profile("none", srv, machine))
        env = clean_env(ZITADEL_CONFIG=cfg)
        r = self.docker("list", "unused", env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, compact({"shared.example": "first",
                                            "own.example": "second"}))
        r = self.docker("get", "https://shared.example/v2/", env)
        self.assertEqual(json.loads(r.stdout)["Username"], "first")
        empty = write_config("[defaults]\ncache_margin = 60\n")
        r = self.docker("list", "unused", clean_env(ZITADEL_CONFIG=empty))
        self.assertEqual((r.returncode, r.stdout), (0, "{}\n"))
        r = helper(["--profile", "nosuch", "docker", "list"], env,
                   input="unused")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no profile named 'nosuch'", r.stdout)

    def test_store_is_a_no_op(self):
        text = json.dumps({"ServerURL": "https://registry.example",
                           "Username": "u", "Secret": "docker-secret"})
        r = self.docker("store", text)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))

    def test_erase_drops_the_cached_token(self):
        env = clean_env(ZITADEL_CONFIG=self.config)
        first = self.token(env)
        r = self.docker("erase", "https://registry.example\n", env)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))
        before = token_requests(srv)
        r = self.docker("get", "https://registry.example\n", env)
        self.assertEqual(token_requests(srv), before + 1)
        self.assertNotEqual(json.loads(r.stdout)["Secret"], first)
        r = self.docker("erase", "https://unknown.example\n", env)
        self.assertEqual((r.returncode, r.stdout), (1, NOT_FOUND))

    def test_version_and_usage(self):
        r = self.docker("version", "")
        self.assertEqual(r.returncode, 0)
        self.assertIn("docker-credential-zitadel", r.stdout)
        for args in ([], ["frobnicate"]):
            r = helper(args, self.env, argv0="docker-credential-zitadel")
            self.assertEqual(r.returncode, 1)
            self.assertTrue(r.stdout.startswith("Usage:"), r.stdout)

    def test_subcommand_face_is_the_same(self):
        r = helper(["docker", "get"], self.env, input="registry.example")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["Username"], "zitadel")

    def test_failure_is_one_line_on_stdout(self):
        m = srv.create_machine()
        cfg = write_config(profile("gone", srv, m,
                                   docker_registries="registry.example"))
        srv.remove_key(m["user_id"], m["key_id"])
        r = self.docker("get", "registry.example",
                        clean_env(ZITADEL_CONFIG=cfg))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stdout.splitlines()), 1, r.stdout)
        self.assertIn(m["key_id"], r.stdout)
        self.assertTrue(r.stdout.startswith("docker-credential-zitadel: "),
                        r.stdout)
        self.assertEqual(r.stderr, "")

    def test_twenty_parallel_gets_make_one_token_request(self):
        m = srv.create_machine()
        cfg = write_config(profile("p", srv, m,
                                   docker_registries="registry.example"))
        env = dict(os.environ)
        for k, v in clean_env(ZITADEL_CONFIG=cfg).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        d = ztest.tmpdir()
        exe = os.path.join(d, "docker-credential-zitadel")
        os.symlink(HELPER, exe)
        before = token_requests(srv)
        procs = [subprocess.Popen([exe, "get"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env, text=True)
                 for _ in range(20)]
        # Feed stdin only once all are started, so they miss together.
        outs = [p.communicate("registry.example\n", timeout=120)
                for p in procs]
        for p, (out, err) in zip(procs, outs):
            self.assertEqual(p.returncode, 0, out + err)
        secrets = {json.loads(out)["Secret"] for out, _ in outs}
        self.assertEqual(len(secrets), 1)
        self.assertEqual(token_requests(srv), before + 1)


if __name__ == "__main__":
    unittest.main()
