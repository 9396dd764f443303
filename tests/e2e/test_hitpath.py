"""Issue 10: on a cache hit zitadel-credential loads neither libcurl nor
libcrypto/libssl nor libjwt, in every face and for a machine key as for a
client secret; on a miss it does (which shows the check can fail); a PAT
never does. The loader itself reports what it maps
(LD_DEBUG=files, written to LD_DEBUG_OUTPUT files), so the helper needs no
test switch."""

import glob
import json
import os
import re
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_helper_util import (clean_env, helper, profile,  # noqa: E402
                              token_requests, write_config, ztest)

HEAVY = re.compile(r"lib(curl|crypto|ssl|jwt)\b[^ ]*\.so")

srv = None
machine = None
secret_file = None
pat_file = None


def setUpModule():
    global srv, machine, secret_file, pat_file
    srv = ztest.Server()
    machine = srv.create_machine(pat=True)
    machine["client_id"], secret = srv.generate_secret(machine["user_id"])
    d = ztest.tmpdir()
    secret_file = ztest.write_secret(os.path.join(d, "secret"), secret)
    pat_file = ztest.write_secret(os.path.join(d, "pat"), machine["pat"])


def tearDownModule():
    srv.stop()


def loaded_objects(debug_prefix):
    """Every shared object the loader mapped, from its LD_DEBUG files."""
    names = set()
    for path in glob.glob(debug_prefix + ".*"):
        with open(path, errors="replace") as f:
            for line in f:
                m = re.search(r"\bfile=(\S+)", line)
                if m:
                    names.add(m.group(1))
    return names


def credential_config(host, cred):
    """One profile serving every face with the credential lines cred."""
    return write_config(
        "[profile main]\nissuer = %s\nca_file = %s\n%s"
        "git_hosts = %s\ndocker_registries = registry.example\n"
        "kube_clusters = %s\n" % (srv.issuer, srv.ca_file, cred, host,
                                   srv.kube_server))


class HitPathTest(unittest.TestCase):
    def setUp(self):
        host = urllib.parse.urlsplit(srv.issuer).netloc
        self.config = write_config(profile(
            "main", srv, machine, git_hosts=host,
            docker_registries="registry.example",
            kube_clusters=srv.kube_server))
        self.secret_config = credential_config(
            host, "client_id = %s\nclient_secret_file = %s\n"
            % (machine["client_id"], secret_file))
        self.pat_config = credential_config(host, "pat_file = %s\n"
                                            % pat_file)
        self.host = host
        self.env = clean_env(ZITADEL_CONFIG=self.config)

    def faces(self):
        """(name, args, stdin, extra env, check of stdout) per face."""
        kube_info = json.dumps({
            "apiVersion": "client.authentication.k8s.io/v1",
            "kind": "ExecCredential",
            "spec": {"interactive": False,
                     "cluster": {"server": srv.kube_server}}})
        return [
            ("token", ["token"], None, {},
             lambda out: out.strip()),
            ("git get", ["git", "get"],
             "protocol=https\nhost=%s\n\n" % self.host, {},
             lambda out: dict(l.split("=", 1) for l in
                              out.splitlines())["password"]),
            ("git-credential-zitadel get", ["get"],
             "protocol=https\nhost=%s\n\n" % self.host, {},
             lambda out: dict(l.split("=", 1) for l in
                              out.splitlines())["password"]),
            ("docker get", ["docker", "get"], "https://registry.example\n",
             {}, lambda out: json.loads(out)["Secret"]),
            ("kubectl", ["kubectl"], None,
             {"KUBERNETES_EXEC_INFO": kube_info},
             lambda out: json.loads(out)["status"]["token"]),
        ]

    def run_face(self, name, args, stdin, extra, env):
        argv0 = "git-credential-zitadel" if name.startswith("git-") else None
        prefix = os.path.join(ztest.tmpdir(), "ld")
        traced = dict(env, LD_DEBUG="files", LD_DEBUG_OUTPUT=prefix, **extra)
        r = helper(args, traced, input=stdin, argv0=argv0)
        return r, loaded_objects(prefix)

    def assert_light(self, env, token, what):
        """Every face answers token without loading a heavy library."""
        before = token_requests(srv)
        for name, args, stdin, extra, extract in self.faces():
            with self.subTest(credential=what, face=name):
                r, objs = self.run_face(name, args, stdin, extra, env)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(extract(r.stdout), token)
                self.assertTrue(objs, "LD_DEBUG reported nothing")
                self.assertTrue(any("libjansson" in o for o in objs), objs)
                heavy = sorted(o for o in objs if HEAVY.search(o))
                self.assertEqual(heavy, [], "%s loaded %s" % (what, heavy))
        self.assertEqual(token_requests(srv), before)

    def assert_miss_loads_them(self, config, what):
        for name, args, stdin, extra, extract in self.faces():
            with self.subTest(credential=what, face=name):
                env = clean_env(ZITADEL_CONFIG=config)
                r, objs = self.run_face(name, args, stdin, extra, env)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(extract(r.stdout))
                found = {m.group(1) for o in objs
                         for m in [HEAVY.search(o)] if m}
                self.assertTrue({"curl", "jwt"} <= found, objs)
                self.assertTrue(found & {"crypto", "ssl"}, objs)

    def test_hit_loads_no_network_or_crypto_library(self):
        r = helper(["token"], self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_light(self.env, r.stdout.strip(), "a key's cache hit")

    def test_miss_loads_them(self):
        self.assert_miss_loads_them(self.config, "key")

    def test_client_secret_hit_loads_none_either(self):
        # The hit must look under the identity the library stored with
        # (grant client_credentials, subject client id, key id ""), or
        # every call would be a miss and load libcurl.
        env = clean_env(ZITADEL_CONFIG=self.secret_config)
        r = helper(["token"], env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_light(env, r.stdout.strip(), "a client secret's hit")

    def test_client_secret_miss_loads_them(self):
        self.assert_miss_loads_them(self.secret_config, "client secret")

    def test_pat_never_loads_them(self):
        # A PAT is never exchanged: even a cold start stays light.
        env = clean_env(ZITADEL_CONFIG=self.pat_config)
        self.assert_light(env, machine["pat"], "a PAT")

    def test_miss_without_a_loadable_library_is_one_clear_line(self):
        env = dict(self.env, ZITADEL_LIBZITADEL="/nonexistent/libzitadel.so.0",
                   HOME=ztest.tmpdir())
        r = helper(["token"], env)
        self.assertEqual(r.returncode, 7)
        self.assertEqual(r.stdout, "")
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertIn("/nonexistent/libzitadel.so.0", r.stderr)

    def test_executable_exports_no_library_symbols(self):
        # Two copies of the core live in one process on a miss; the
        # executable must not export its copy for the library to bind to.
        r = ztest.run(["nm", "-D", "--defined-only",
                       ztest.build_path("helper/zitadel-credential")])
        if r.returncode != 0:
            self.skipTest("nm not usable: %s" % r.stderr.strip())
        exported = [l.split()[-1] for l in r.stdout.splitlines()
                    if re.match(r"(zitadel|zt)_", l.split()[-1])]
        self.assertEqual(exported, [])

    def test_token_free_is_in_the_core_and_exported_once(self):
        # A hit frees its token with the core's zitadel_token_free; the
        # full library must still export exactly one of it.
        core = ztest.build_path("src/.libs/libzitadel-core.a")
        lib = ztest.build_path("src/.libs/libzitadel.so")
        r = ztest.run(["nm", "--defined-only", core])
        if r.returncode != 0:
            self.skipTest("nm not usable: %s" % r.stderr.strip())
        defined = [l.split()[-1] for l in r.stdout.splitlines()
                   if l.strip() and l.split()[-1] == "zitadel_token_free"]
        self.assertEqual(defined, ["zitadel_token_free"], r.stdout)
        r = ztest.run(["nm", "-D", "--defined-only", lib])
        self.assertEqual(r.returncode, 0, r.stderr)
        exported = [l.split()[-1] for l in r.stdout.splitlines()
                    if l.strip() and l.split()[-1] == "zitadel_token_free"]
        self.assertEqual(exported, ["zitadel_token_free"])


if __name__ == "__main__":
    unittest.main()
