"""zitadel-credential with the two credentials besides a machine key
(issue 5): a client id with a client secret file (the client_credentials
grant, cached under the same identity src/token.c uses) and a PAT file (the
PAT is the bearer token: no exchange, no cache, no expiry announced), in
every face, against the test server; and the refusals: a secret the server
no longer knows, files others can read, a PAT that is not one word."""

import glob
import json
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_helper_util import (HELPER, cache_dir, clean_env,  # noqa: E402
                              helper, token_requests, users_me, write_config,
                              ztest)

KUBECTL = "/usr/bin/kubectl"
V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"

srv = None
machine = None  # has a key, a PAT and a client secret
client_id = None
client_secret = None
secret_file = None
pat_file = None


def setUpModule():
    global srv, machine, client_id, client_secret, secret_file, pat_file
    srv = ztest.Server()
    machine = srv.create_machine(pat=True)
    client_id, client_secret = srv.generate_secret(machine["user_id"])
    d = ztest.tmpdir()
    secret_file = ztest.write_secret(os.path.join(d, "secret"),
                                     client_secret + "\n")
    pat_file = ztest.write_secret(os.path.join(d, "pat"), machine["pat"])


def tearDownModule():
    srv.stop()


def section(name, cred, **keys):
    """A [profile] of srv with cred = the credential's key lines."""
    lines = ["[profile %s]" % name, "issuer = %s" % srv.issuer,
             "ca_file = %s" % srv.ca_file]
    lines += ["%s = %s" % kv for kv in cred.items()]
    lines += ["%s = %s" % kv for kv in keys.items()]
    return "\n".join(lines) + "\n"


def secret_cred(cid=None, path=None):
    return {"client_id": cid or client_id,
            "client_secret_file": path or secret_file}


def pat_cred(path=None):
    return {"pat_file": path or pat_file}


def git_attrs(out):
    return dict(line.split("=", 1) for line in out.splitlines())


def exec_info(version=V1):
    return json.dumps({"apiVersion": version, "kind": "ExecCredential",
                       "spec": {"interactive": False,
                                "cluster": {"server": srv.kube_server}}})


class Base(unittest.TestCase):
    def setUp(self):
        srv.clear_faults()
        self.host = urllib.parse.urlsplit(srv.issuer).netloc
        targets = {"git_hosts": self.host,
                   "docker_registries": "registry.example",
                   "kube_clusters": srv.kube_server}
        self.kinds = {"secret": secret_cred(), "pat": pat_cred()}
        self.configs = {k: write_config(section(k, cred, **targets))
                        for k, cred in self.kinds.items()}

    def env(self, kind, **extra):
        return clean_env(ZITADEL_CONFIG=self.configs[kind], **extra)

    def token(self, env):
        r = helper(["token"], env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        return r.stdout.strip()

    def git_get(self, env, extra=""):
        return helper(["git", "get"], env,
                      input="%sprotocol=https\nhost=%s\n\n"
                      % (extra, self.host))


class EveryFaceTest(Base):
    def test_token(self):
        for kind in self.kinds:
            with self.subTest(kind=kind):
                before = token_requests(srv)
                tok = self.token(self.env(kind))
                self.assertEqual(users_me(srv, tok), 200)
                if kind == "pat":
                    self.assertEqual(tok, machine["pat"])
                    self.assertEqual(token_requests(srv), before)
                else:
                    self.assertEqual(token_requests(srv), before + 1)

    def test_git(self):
        for kind in self.kinds:
            with self.subTest(kind=kind):
                env = self.env(kind)
                r = self.git_get(env)
                self.assertEqual(r.returncode, 0, r.stderr)
                attrs = git_attrs(r.stdout)
                self.assertEqual(attrs["username"], "zitadel")
                self.assertEqual(attrs["password"], self.token(env))
                self.assertEqual(users_me(srv, attrs["password"]), 200)
                if kind == "pat":
                    self.assertEqual(sorted(attrs), ["password", "username"])
                else:
                    self.assertGreater(int(attrs["password_expiry_utc"]),
                                       0)

    def test_git_bearer(self):
        for kind, cred in self.kinds.items():
            with self.subTest(kind=kind):
                cfg = write_config(section(kind, cred, git_hosts=self.host,
                                           git_bearer="true"))
                r = self.git_get(clean_env(ZITADEL_CONFIG=cfg),
                                 extra="capability[]=authtype\n")
                self.assertEqual(r.returncode, 0, r.stderr)
                attrs = git_attrs(r.stdout)
                self.assertEqual(attrs["authtype"], "Bearer")
                self.assertEqual(attrs["ephemeral"], "true")
                self.assertEqual(users_me(srv, attrs["credential"]), 200)
                self.assertEqual("password_expiry_utc" in attrs,
                                 kind != "pat", r.stdout)

    def test_docker(self):
        for kind in self.kinds:
            with self.subTest(kind=kind):
                env = self.env(kind)
                r = helper(["get"], env, input="https://registry.example\n",
                           argv0="docker-credential-zitadel")
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                doc = json.loads(r.stdout)
                self.assertEqual(sorted(doc),
                                 ["Secret", "ServerURL", "Username"])
                self.assertEqual(doc["Username"], "zitadel")
                self.assertEqual(doc["Secret"], self.token(env))
                self.assertEqual(users_me(srv, doc["Secret"]), 200)

    def test_kubectl(self):
        for kind in self.kinds:
            for version in (V1, V1BETA1):
                with self.subTest(kind=kind, version=version):
                    env = self.env(kind,
                                   KUBERNETES_EXEC_INFO=exec_info(version))
                    r = helper(["kubectl"], env)
                    self.assertEqual((r.returncode, r.stderr), (0, ""))
                    doc = json.loads(r.stdout)
                    self.assertEqual(doc["apiVersion"], version)
                    status = doc["status"]
                    self.assertEqual(users_me(srv, status["token"]), 200)
                    if kind == "pat":
                        self.assertEqual(list(status), ["token"])
                    else:
                        self.assertEqual(list(status),
                                         ["token", "expirationTimestamp"])

    def test_key_file_option_replaces_the_profiles_credential(self):
        for kind in self.kinds:
            with self.subTest(kind=kind):
                env = self.env(kind, ZITADEL_KEY_FILE=machine["key_file"])
                before = token_requests(srv)
                tok = self.token(env)
                self.assertNotEqual(tok, machine["pat"])
                self.assertEqual(token_requests(srv), before + 1)
                entries = glob.glob(os.path.join(cache_dir(env), "token-*.json"))
                with open(entries[0]) as f:
                    self.assertEqual(json.load(f)["grant"], "jwt-bearer")


class ClientSecretTest(Base):
    def test_cache_entry_has_token_c_identity_and_is_hit(self):
        # The library writes the entry on the miss; the helper's own lookup
        # must find it, so the second call makes no request.
        env = self.env("secret")
        before = token_requests(srv)
        first = self.token(env)
        self.assertEqual(token_requests(srv), before + 1)
        entries = glob.glob(os.path.join(cache_dir(env), "token-*.json"))
        self.assertEqual(len(entries), 1, entries)
        with open(entries[0]) as f:
            entry = json.load(f)
        self.assertEqual(
            (entry["issuer"], entry["grant"], entry["subject"],
             entry["key_id"], entry["scope"]),
            (srv.issuer, "client_credentials", client_id, "",
             " ".join(sorted(ztest.DEFAULT_SCOPE.split()))))
        r = helper(["-v", "token"], env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), first)
        self.assertIn("cache hit", r.stderr)
        self.assertNotIn("cache miss", r.stderr)
        self.assertEqual(token_requests(srv), before + 1)

    def test_no_cache_fetches_every_time(self):
        env = self.env("secret")
        before = token_requests(srv)
        for _ in range(2):
            r = helper(["--no-cache", "token"], env)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(token_requests(srv), before + 2)
        self.assertFalse(glob.glob(os.path.join(cache_dir(env), "token-*.json")))

    def test_erase_drops_the_entry(self):
        env = self.env("secret")
        first = self.token(env)
        for args, stdin, argv0 in (
                (["erase"], None, None),
                (["erase"], "protocol=https\nhost=%s\n\n" % self.host,
                 "git-credential-zitadel"),
                (["erase"], "registry.example\n",
                 "docker-credential-zitadel")):
            with self.subTest(face=argv0 or "erase"):
                r = helper(args, env, input=stdin, argv0=argv0)
                self.assertEqual((r.returncode, r.stdout, r.stderr),
                                 (0, "", ""))
                self.assertFalse(
                    glob.glob(os.path.join(cache_dir(env), "token-*.json")))
                before = token_requests(srv)
                self.assertNotEqual(self.token(env), first)
                self.assertEqual(token_requests(srv), before + 1)

    def test_secret_never_shown_or_stored(self):
        env = self.env("secret")
        runs = [helper(["-v", "token"], env), helper(["-v", "token"], env),
                self.git_get(env), helper(["-v", "erase"], env)]
        texts = [t for r in runs for t in (r.stdout, r.stderr)]
        self.assertEqual(ztest.find_leaks([client_secret], texts,
                                          [cache_dir(env)]), [])

    def test_removed_secret_is_refused(self):
        m = srv.create_machine(key=False)
        cid, sec = srv.generate_secret(m["user_id"])
        path = ztest.write_secret(os.path.join(ztest.tmpdir(), "s"), sec)
        cfg = write_config(section("gone", secret_cred(cid, path),
                                   docker_registries="registry.example"))
        self.token(clean_env(ZITADEL_CONFIG=cfg))
        status, _, _ = srv.request(
            "DELETE", "/management/v1/users/%s/secret" % m["user_id"],
            token=srv.admin_pat())
        self.assertEqual(status, 200)
        env = clean_env(ZITADEL_CONFIG=cfg)  # a cold cache
        r = helper(["token"], env)
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertIn("Errors.User.Machine.Secret.NotExisting", r.stderr)
        r = helper(["get"], env, input="registry.example",
                   argv0="docker-credential-zitadel")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stdout.splitlines()), 1, r.stdout)
        self.assertIn("Secret.NotExisting", r.stdout)
        self.assertEqual(ztest.find_leaks([sec], [r.stdout, r.stderr]), [])

    def test_wrong_client_id_is_refused(self):
        cfg = write_config(section("x", secret_cred("nobody")))
        r = helper(["token"], clean_env(ZITADEL_CONFIG=cfg))
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertIn("invalid_client", r.stderr)

    def test_secret_file_checks_even_on_a_hit(self):
        env = self.env("secret")
        self.token(env)  # warm cache
        d = ztest.tmpdir()
        loose = os.path.join(d, "loose")
        with open(loose, "w") as f:
            f.write(client_secret)
        os.chmod(loose, 0o644)
        empty = ztest.write_secret(os.path.join(d, "empty"), "\n")
        two = ztest.write_secret(os.path.join(d, "two"), "a\nb\n")
        for path, needle in ((loose, "0644"),
                             (os.path.join(d, "missing"), "missing"),
                             (empty, "one line"), (two, "one line")):
            with self.subTest(path=os.path.basename(path)):
                cfg = write_config(section("secret", secret_cred(path=path)))
                r = helper(["token"], dict(env, ZITADEL_CONFIG=cfg))
                self.assertEqual((r.returncode, r.stdout), (4, ""))
                self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
                self.assertIn("client secret file", r.stderr)
                self.assertIn(needle, r.stderr)


class PatTest(Base):
    def test_never_cached_and_never_loads_libzitadel(self):
        env = self.env("pat", ZITADEL_LIBZITADEL="/nonexistent/libzitadel")
        before = token_requests(srv)
        r = helper(["-v", "token"], env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, machine["pat"] + "\n")
        self.assertNotIn("cache miss", r.stderr)
        self.assertEqual(token_requests(srv), before)
        self.assertFalse(os.path.exists(cache_dir(env)))
        self.assertEqual(ztest.find_leaks([machine["pat"]], [r.stderr]), [])

    def test_erase_is_a_no_op(self):
        env = self.env("pat")
        for args, stdin, argv0 in (
                (["erase"], None, None),
                (["erase"], "protocol=https\nhost=%s\n\n" % self.host,
                 "git-credential-zitadel"),
                (["erase"], "registry.example\n",
                 "docker-credential-zitadel")):
            with self.subTest(face=argv0 or "erase"):
                r = helper(args, env, input=stdin, argv0=argv0)
                self.assertEqual((r.returncode, r.stdout, r.stderr),
                                 (0, "", ""))
        self.assertFalse(os.path.exists(cache_dir(env)))
        self.assertEqual(self.token(env), machine["pat"])

    def test_a_removed_pat_is_refused_by_the_server_not_us(self):
        # The helper cannot tell; the caller sees the server's 401.
        m = srv.create_machine(key=False, pat=True)
        path = ztest.write_secret(os.path.join(ztest.tmpdir(), "p"), m["pat"])
        cfg = write_config(section("p", pat_cred(path)))
        env = clean_env(ZITADEL_CONFIG=cfg)
        self.assertEqual(users_me(srv, self.token(env)), 200)
        status, _, _ = srv.request(
            "DELETE", "/management/v1/users/%s/pats/%s"
            % (m["user_id"], m["pat_id"]), token=srv.admin_pat())
        self.assertEqual(status, 200)
        self.assertEqual(users_me(srv, self.token(env)), 401)

    def test_bad_pat_files(self):
        d = ztest.tmpdir()
        loose = os.path.join(d, "loose")
        with open(loose, "w") as f:
            f.write(machine["pat"])
        os.chmod(loose, 0o640)
        cases = [
            (loose, "0640"),
            (os.path.join(d, "missing"), "missing"),
            (ztest.write_secret(os.path.join(d, "empty"), ""), "one line"),
            (ztest.write_secret(os.path.join(d, "space"), "ab cd\n"),
             "visible ASCII"),
            (ztest.write_secret(os.path.join(d, "cr"), "ab\rcd"),
             "visible ASCII"),
            (ztest.write_secret(os.path.join(d, "long"), "a" * 20000),
             "more than the"),
        ]
        link = os.path.join(d, "link")
        os.symlink(pat_file, link)
        cases.append((link, "symbolic link"))
        for path, needle in cases:
            with self.subTest(path=os.path.basename(path)):
                cfg = write_config(section(
                    "p", pat_cred(path),
                    docker_registries="registry.example",
                    git_hosts=self.host))
                env = clean_env(ZITADEL_CONFIG=cfg)
                r = helper(["token"], env)
                self.assertEqual((r.returncode, r.stdout), (4, ""))
                self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
                self.assertIn("PAT file", r.stderr)
                self.assertIn(needle, r.stderr)
                r = self.git_get(env)
                self.assertEqual((r.returncode, r.stdout), (4, ""))
                r = helper(["get"], env, input="registry.example",
                           argv0="docker-credential-zitadel")
                self.assertEqual(r.returncode, 1)
                self.assertIn("PAT file", r.stdout)
                self.assertEqual(
                    ztest.find_leaks([machine["pat"], "ab cd", "ab\rcd"],
                                     [r.stdout, r.stderr]), [])


class RealCallersTest(Base):
    def git_env(self, kind):
        home = ztest.tmpdir()
        bindir = ztest.tmpdir()
        os.symlink(HELPER, os.path.join(bindir, "git-credential-zitadel"))
        with open(os.path.join(home, ".gitconfig"), "w") as f:
            f.write("[credential]\n\thelper = zitadel\n"
                    "[http]\n\tsslCAInfo = %s\n" % srv.ca_file)
        return clean_env(home=home, ZITADEL_CONFIG=self.configs[kind],
                         PATH=bindir + os.pathsep + os.environ["PATH"],
                         GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0",
                         GIT_ASKPASS=None, SSH_ASKPASS=None)

    def test_git_ls_remote(self):
        url = srv.git_url("repo")
        for kind in self.kinds:
            with self.subTest(kind=kind):
                r = ztest.run(["git", "ls-remote", url],
                              env=self.git_env(kind))
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertRegex(r.stdout, r"[0-9a-f]{40}\tHEAD")

    @unittest.skipUnless(os.access(KUBECTL, os.X_OK), "no kubectl")
    def test_kubectl_get_pods(self):
        # client-go takes a credential without expirationTimestamp (the
        # PAT's) and keeps it until a 401.
        for kind in self.kinds:
            with self.subTest(kind=kind):
                home = ztest.tmpdir()
                user = {"exec": {
                    "apiVersion": V1, "command": HELPER,
                    "args": ["kubectl", "--config", self.configs[kind]],
                    "env": [{"name": "HOME", "value": home}],
                    "provideClusterInfo": True, "interactiveMode": "Never"}}
                doc = {"apiVersion": "v1", "kind": "Config",
                       "clusters": [{"name": "t", "cluster": {
                           "server": srv.kube_server,
                           "certificate-authority": srv.ca_file}}],
                       "users": [{"name": "z", "user": user}],
                       "contexts": [{"name": "t", "context": {
                           "cluster": "t", "user": "z"}}],
                       "current-context": "t"}
                kc = os.path.join(ztest.tmpdir(), "kubeconfig")
                with open(kc, "w") as f:
                    json.dump(doc, f)
                r = ztest.run([KUBECTL, "--kubeconfig", kc, "get", "pods"],
                              env=clean_env(home=home, KUBECONFIG=None),
                              timeout=120)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("No resources found", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
