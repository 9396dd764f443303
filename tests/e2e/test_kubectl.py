"""zitadel-credential kubectl: the client-go exec plugin protocol
(protocols.md section 1.3) fed directly, and a real kubectl using the
helper as its exec plugin against the test server's kube API stand-in."""

import calendar
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_helper_util import (HELPER, clean_env, helper, profile,  # noqa: E402
                              users_me, write_config, ztest)

KUBECTL = "/usr/bin/kubectl"
V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"

srv = None
machine = None


def setUpModule():
    global srv, machine
    srv = ztest.Server()
    machine = srv.create_machine()


def tearDownModule():
    srv.stop()


def exec_info(version, server=None, kind="ExecCredential"):
    doc = {"apiVersion": version, "kind": kind,
           "spec": {"interactive": False}}
    if server is not None:
        doc["spec"]["cluster"] = {"server": server,
                                  "certificate-authority-data": "AAAA"}
    return json.dumps(doc)


class KubectlProtocolTest(unittest.TestCase):
    def setUp(self):
        self.other = srv.create_machine()
        self.config = write_config(
            "[defaults]\nprofile = main\n" +
            profile("main", srv, machine) +
            profile("cluster", srv, self.other,
                    kube_clusters="https://cluster.example:6443"))
        self.env = clean_env(ZITADEL_CONFIG=self.config)

    def kube(self, info, args=(), env=None):
        env = dict(env or self.env)
        env["KUBERNETES_EXEC_INFO"] = info
        return helper(list(args) + ["kubectl"], env)

    def token_of(self, prof):
        r = helper(["--profile", prof, "token"], self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def assert_credential(self, r, version):
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        self.assertTrue(r.stdout.endswith("}\n"))
        doc = json.loads(r.stdout)
        self.assertEqual(list(doc), ["apiVersion", "kind", "status"])
        self.assertEqual(doc["apiVersion"], version)
        self.assertEqual(doc["kind"], "ExecCredential")
        self.assertEqual(sorted(doc["status"]),
                         ["expirationTimestamp", "token"])
        stamp = doc["status"]["expirationTimestamp"]
        self.assertRegex(stamp, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        exp = calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
        self.assertGreater(exp, time.time())
        return doc["status"]["token"]

    def assert_refused(self, r, code, needle):
        self.assertEqual(r.returncode, code, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertIn(needle, r.stderr)

    def test_v1_and_v1beta1(self):
        for version in (V1, V1BETA1):
            with self.subTest(version=version):
                token = self.assert_credential(
                    self.kube(exec_info(version)), version)
                self.assertEqual(users_me(srv, token), 200)
                self.assertEqual(token, self.token_of("main"))

    def test_profile_by_cluster_server(self):
        token = self.assert_credential(
            self.kube(exec_info(V1, "https://cluster.example:6443")), V1)
        self.assertEqual(token, self.token_of("cluster"))
        token = self.assert_credential(
            self.kube(exec_info(V1, "https://unknown.example:6443"),
                      args=["--profile", "cluster"]), V1)
        self.assertEqual(token, self.token_of("cluster"))
        token = self.assert_credential(
            self.kube(exec_info(V1, "https://cluster.example:6443"),
                      args=["--profile", "main"]), V1)
        self.assertEqual(token, self.token_of("main"))

    def test_unknown_cluster_gets_no_default_token(self):
        # Cluster info given and no profile lists the server: refused,
        # not answered with the default profile's token.
        for server in ("https://unknown.example:6443", ""):
            with self.subTest(server=server):
                r = self.kube(exec_info(V1, server))
                self.assert_refused(r, 3, "'%s'" % server)
                self.assertIn("kube_clusters", r.stderr)
        # A null cluster is no cluster info: the default profile answers.
        info = json.dumps({"apiVersion": V1, "kind": "ExecCredential",
                           "spec": {"interactive": False, "cluster": None}})
        token = self.assert_credential(self.kube(info), V1)
        self.assertEqual(token, self.token_of("main"))
        # --issuer and --key-file name the credential themselves.
        r = self.kube(exec_info(V1, "https://unknown.example:6443"),
                      env=clean_env(),
                      args=["--issuer", srv.issuer, "--key-file",
                            machine["key_file"], "--ca-file", srv.ca_file])
        self.assert_credential(r, V1)

    def test_malformed_cluster_info(self):
        for spec in ({"cluster": {"server": 123}},
                     {"cluster": {"server": None}},
                     {"cluster": {"certificate-authority-data": "AAAA"}},
                     {"cluster": "https://cluster.example:6443"},
                     "spec"):
            with self.subTest(spec=spec):
                info = json.dumps({"apiVersion": V1,
                                   "kind": "ExecCredential", "spec": spec})
                self.assert_refused(self.kube(info), 2,
                                    "KUBERNETES_EXEC_INFO")

    def test_options_alone_without_config(self):
        env = clean_env()
        r = self.kube(exec_info(V1), env=env,
                      args=["--issuer", srv.issuer, "--key-file",
                            machine["key_file"], "--ca-file", srv.ca_file])
        self.assert_credential(r, V1)

    def test_unknown_api_version_is_refused(self):
        for version in ("client.authentication.k8s.io/v1alpha1",
                        "client.authentication.k8s.io/v2", "", None):
            with self.subTest(version=version):
                doc = {"kind": "ExecCredential", "spec": {}}
                if version is not None:
                    doc["apiVersion"] = version
                self.assert_refused(self.kube(json.dumps(doc)), 2,
                                    "apiVersion")

    def test_missing_or_malformed_exec_info(self):
        env = dict(self.env)
        r = helper(["kubectl"], env)
        self.assert_refused(r, 2, "KUBERNETES_EXEC_INFO")
        for info in ("{", "[]", "\"ExecCredential\"", "x" * 70000):
            with self.subTest(info=info[:20]):
                self.assert_refused(self.kube(info), 2,
                                    "KUBERNETES_EXEC_INFO")
        self.assert_refused(self.kube(exec_info(V1, kind="Pod")), 2,
                            "ExecCredential")

    def test_failure_keeps_stdout_empty(self):
        m = srv.create_machine()
        cfg = write_config(profile("gone", srv, m))
        srv.remove_key(m["user_id"], m["key_id"])
        r = self.kube(exec_info(V1), env=clean_env(ZITADEL_CONFIG=cfg))
        self.assert_refused(r, 1, m["key_id"])

    def test_no_profile_at_all(self):
        cfg = write_config("[defaults]\n")
        r = self.kube(exec_info(V1), env=clean_env(ZITADEL_CONFIG=cfg))
        self.assert_refused(r, 3, "profile")


@unittest.skipUnless(os.access(KUBECTL, os.X_OK), "no kubectl at " + KUBECTL)
class RealKubectlTest(unittest.TestCase):
    def kubeconfig(self, version, config, home):
        user = {"exec": {"apiVersion": version, "command": HELPER,
                         "args": ["kubectl", "--config", config],
                         "env": [{"name": "HOME", "value": home}],
                         "provideClusterInfo": True}}
        if version == V1:
            user["exec"]["interactiveMode"] = "Never"
        doc = {"apiVersion": "v1", "kind": "Config",
               "clusters": [{"name": "test", "cluster": {
                   "server": srv.kube_server,
                   "certificate-authority": srv.ca_file}}],
               "users": [{"name": "zitadel", "user": user}],
               "contexts": [{"name": "test", "context": {
                   "cluster": "test", "user": "zitadel"}}],
               "current-context": "test"}
        path = os.path.join(ztest.tmpdir(), "kubeconfig")
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def kubectl(self, m, version):
        home = ztest.tmpdir()
        config = write_config(profile("k", srv, m,
                                      kube_clusters=srv.kube_server))
        kc = self.kubeconfig(version, config, home)
        return ztest.run([KUBECTL, "--kubeconfig", kc, "get", "pods"],
                         env=clean_env(home=home, KUBECONFIG=None),
                         timeout=120)

    def test_get_pods(self):
        m = srv.create_machine()
        for version in (V1, V1BETA1):
            with self.subTest(version=version):
                r = self.kubectl(m, version)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("No resources found", r.stdout + r.stderr)

    def test_removed_key_fails(self):
        m = srv.create_machine()
        srv.remove_key(m["user_id"], m["key_id"])
        r = self.kubectl(m, V1)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(m["key_id"], r.stderr)


if __name__ == "__main__":
    unittest.main()
