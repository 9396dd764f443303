"""Every file in examples/ is read by the real parser that will read it on a
host (libzitadel's config loader, kubectl, git, systemd, libpam with the
module), and the config examples are also used against the test server
with only the host names swapped for the server's."""
import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "lib"))
import ztest  # noqa: E402

EX = ztest.src_path("examples")
HELPER = ztest.build_path("helper/zitadel-credential")
ISSUER = "https://id.example.com"

SRV = None


def setUpModule():
    global SRV
    SRV = ztest.Server()
    SRV.__enter__()


def tearDownModule():
    SRV.__exit__(None, None, None)


def example(name):
    with open(os.path.join(EX, name)) as f:
        return f.read()


def write(path, text, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


# ---- libzitadel's config parser through ctypes ---------------------------

class Error(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("http_status", ctypes.c_long),
                ("grpc_code", ctypes.c_int), ("error_id", ctypes.c_char * 64),
                ("message", ctypes.c_char * 512)]


class Profile(ctypes.Structure):
    _fields_ = [(n, ctypes.c_char_p) for n in (
        "name", "issuer", "key_file", "key_credential", "pat_file", "client_id",
        "client_secret_file", "scope", "org", "ca_file", "username")] + [
        ("connect_timeout_ms", ctypes.c_long), ("timeout_ms", ctypes.c_long),
        ("git_bearer", ctypes.c_int),
        ("git_hosts", ctypes.POINTER(ctypes.c_char_p)),
        ("docker_registries", ctypes.POINTER(ctypes.c_char_p)),
        ("kube_clusters", ctypes.POINTER(ctypes.c_char_p))]


class PamConfig(ctypes.Structure):
    _fields_ = [(n, ctypes.c_char_p) for n in (
        "issuer", "ca_file", "app_key_file", "client_id", "client_secret_file",
        "admin_key_file", "admin_pat_file", "org", "user_claim", "map_file",
        "require_role", "require_org", "token_dir")] + [
        ("session_lifetime_s", ctypes.c_long), ("timeout_ms", ctypes.c_long),
        ("required_credential", ctypes.c_int), ("debug", ctypes.c_int)]


def libzitadel():
    lib = ctypes.CDLL(os.environ["ZITADEL_LIBZITADEL"])
    lib.zitadel_config_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p),
                                        ctypes.POINTER(Error)]
    lib.zitadel_config_free.argtypes = [ctypes.c_void_p]
    for fn in ("zitadel_config_profile_for_git_host",
               "zitadel_config_profile_for_docker_registry",
               "zitadel_config_profile_for_kube_cluster", "zitadel_config_profile"):
        getattr(lib, fn).argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        getattr(lib, fn).restype = ctypes.POINTER(Profile)
    lib.zitadel_config_default_profile.argtypes = [ctypes.c_void_p]
    lib.zitadel_config_default_profile.restype = ctypes.POINTER(Profile)
    lib.zitadel_config_pam.argtypes = [ctypes.c_void_p]
    lib.zitadel_config_pam.restype = ctypes.POINTER(PamConfig)
    return lib


def strlist(p):
    out = []
    i = 0
    while p and p[i] is not None:
        out.append(p[i].decode())
        i += 1
    return out


class ClientConf(unittest.TestCase):
    """examples/client.conf through zitadel_config_load."""

    def load(self, path):
        lib = libzitadel()
        cfg = ctypes.c_void_p()
        err = Error(0, 0, -1, b"", b"")
        st = lib.zitadel_config_load(path.encode(), ctypes.byref(cfg), ctypes.byref(err))
        return lib, st, cfg, err.message.decode()

    def test_parses_with_two_profiles(self):
        lib, st, cfg, msg = self.load(os.path.join(EX, "client.conf"))
        self.assertEqual(st, 0, msg)
        try:
            build = lib.zitadel_config_profile(cfg, b"build")
            cluster = lib.zitadel_config_profile(cfg, b"cluster")
            self.assertTrue(build and cluster)
            self.assertEqual(lib.zitadel_config_default_profile(cfg).contents.name, b"build")
            git = lib.zitadel_config_profile_for_git_host(cfg, b"git.example.com")
            self.assertEqual(git.contents.name, b"build")
            reg = lib.zitadel_config_profile_for_docker_registry(
                cfg, b"https://registry.example.com/v1/")
            self.assertEqual(reg.contents.name, b"build")
            kube = lib.zitadel_config_profile_for_kube_cluster(
                cfg, b"https://k8s.example.com:6443")
            self.assertEqual(kube.contents.name, b"cluster")
            self.assertEqual(kube.contents.key_credential, b"zitadel-key")
            self.assertEqual(strlist(build.contents.git_hosts), ["git.example.com"])
            pam = lib.zitadel_config_pam(cfg).contents
            self.assertEqual(pam.issuer, ISSUER.encode())
            self.assertEqual(pam.session_lifetime_s, 28800)
        finally:
            lib.zitadel_config_free(cfg)

    def test_a_typo_is_refused_with_file_and_line(self):
        # The parser really checks the example: the same file with one key
        # misspelt must fail, naming the file and the line.
        d = ztest.tmpdir()
        text = example("client.conf")
        line = text.splitlines().index("key_file = /etc/zitadel/keys/build.json") + 1
        path = write(os.path.join(d, "client.conf"),
                     text.replace("key_file = /etc/zitadel/keys/build.json",
                                  "keyfile = /etc/zitadel/keys/build.json"), 0o644)
        lib, st, cfg, msg = self.load(path)
        lib.zitadel_config_free(cfg)
        self.assertNotEqual(st, 0)
        self.assertIn("%s:%d:" % (path, line), msg)

    def test_helper_lists_its_registries(self):
        # zitadel-credential reads the same file and answers docker's list
        # without a network call.
        p = ztest.run([HELPER, "--config", os.path.join(EX, "client.conf"), "docker", "list"])
        self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
        self.assertEqual(json.loads(p.stdout), {"registry.example.com": "build-bot"})


def localized_conf(d, key_file):
    """examples/client.conf pointed at the test server: issuer, CA and the
    key paths swapped, everything else as shipped."""
    text = example("client.conf").replace(ISSUER, SRV.issuer)
    text = re.sub(r"^(issuer = .*)$", r"\1\nca_file = %s" % SRV.ca_file, text, flags=re.M)
    text = text.replace("/etc/zitadel/keys/build.json", key_file)
    text = text.replace("/etc/zitadel/keys/pam-app.json", SRV.app_key_file)
    text = text.replace("/etc/zitadel/keys/pam-admin.json", SRV.admin_key_file)
    text = text.replace("/etc/zitadel/users.map", write(os.path.join(d, "users.map"),
                                                        "# none\n", 0o644))
    text = text.replace("git.example.com", "127.0.0.1:%d" % SRV.port)
    text = text.replace("https://k8s.example.com:6443", SRV.kube_server)
    return write(os.path.join(d, "client.conf"), text, 0o644)


class Env:
    def __init__(self):
        self.dir = ztest.tmpdir()
        self.m = SRV.create_machine()
        self.conf = localized_conf(self.dir, self.m["key_file"])
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("ZITADEL_") and k != "ZITADEL_LIBZITADEL":
                del self.env[k]
        self.env.update(HOME=self.dir, XDG_CACHE_HOME=os.path.join(self.dir, "cache"),
                        XDG_CONFIG_HOME=os.path.join(self.dir, "config"),
                        ZITADEL_CONFIG=self.conf, GIT_CONFIG_NOSYSTEM="1",
                        GIT_TERMINAL_PROMPT="0")


class Docker(unittest.TestCase):
    def test_config_json(self):
        cfg = json.loads(example("docker-config.json"))
        helpers = cfg["credHelpers"]
        self.assertEqual(helpers, {"registry.example.com": "zitadel"})

    def test_helper_answers_for_the_registry(self):
        # docker runs docker-credential-<value> with the registry on stdin.
        e = Env()
        name = "docker-credential-" + json.loads(example("docker-config.json"))[
            "credHelpers"]["registry.example.com"]
        bindir = os.path.join(e.dir, "bin")
        os.mkdir(bindir)
        os.symlink(HELPER, os.path.join(bindir, name))
        p = ztest.run([os.path.join(bindir, name), "get"], input="https://registry.example.com\n",
                      env=e.env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        ans = json.loads(p.stdout)
        self.assertEqual(ans["Username"], "build-bot")
        self.assertTrue(SRV.token_active(ans["Secret"]))


class Kubeconfig(unittest.TestCase):
    def setUp(self):
        if shutil.which("kubectl") is None:
            self.skipTest("kubectl not installed")

    def test_kubectl_reads_it(self):
        p = ztest.run(["kubectl", "--kubeconfig", os.path.join(EX, "kubeconfig"),
                       "config", "view", "-o", "json"])
        self.assertEqual(p.returncode, 0, p.stderr)
        cfg = json.loads(p.stdout)
        user = cfg["users"][0]["user"]["exec"]
        self.assertEqual(user["command"], "zitadel-credential")
        self.assertEqual(user["apiVersion"], "client.authentication.k8s.io/v1")
        self.assertEqual(user["args"][-1], "kubectl")
        self.assertEqual(cfg["current-context"], "example")

    def test_kubectl_gets_through_with_it(self):
        # The example as shipped, with the cluster swapped for the test
        # server's kube stand-in; the key arrives as a systemd credential,
        # as the cluster profile expects.
        e = Env()
        creds = os.path.join(e.dir, "creds")
        os.mkdir(creds, 0o700)
        shutil.copy(self.m_key(e), os.path.join(creds, "zitadel-key"))
        os.chmod(os.path.join(creds, "zitadel-key"), 0o600)
        text = example("kubeconfig").replace("https://k8s.example.com:6443", SRV.kube_server)
        text = text.replace("/etc/kubernetes/example-ca.crt", SRV.ca_file)
        text = text.replace("command: zitadel-credential", "command: " + HELPER)
        kc = write(os.path.join(e.dir, "kubeconfig"), text)
        e.env["CREDENTIALS_DIRECTORY"] = creds
        p = ztest.run(["kubectl", "--kubeconfig", kc, "get", "--raw", "/version"],
                      env=e.env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("gitVersion", p.stdout)

    def m_key(self, e):
        return e.m["key_file"]


class Git(unittest.TestCase):
    def test_git_reads_it(self):
        p = ztest.run(["git", "config", "-f", os.path.join(EX, "gitconfig"),
                       "--get", "credential.https://git.example.com.helper"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), "zitadel")

    def test_git_gets_a_token_with_it(self):
        # git turns helper = zitadel into git-credential-zitadel on PATH.
        e = Env()
        bindir = os.path.join(e.dir, "bin")
        os.mkdir(bindir)
        os.symlink(HELPER, os.path.join(bindir, "git-credential-zitadel"))
        host = "127.0.0.1:%d" % SRV.port
        write(os.path.join(e.dir, ".gitconfig"),
              example("gitconfig").replace("git.example.com", host), 0o644)
        e.env["PATH"] = bindir + os.pathsep + e.env["PATH"]
        p = ztest.run(["git", "credential", "fill"],
                      input="protocol=https\nhost=%s\n\n" % host, env=e.env)
        self.assertEqual(p.returncode, 0, p.stderr)
        got = dict(l.split("=", 1) for l in p.stdout.splitlines() if "=" in l)
        self.assertEqual(got["username"], "build-bot")
        self.assertTrue(SRV.token_active(got["password"]))


class Systemd(unittest.TestCase):
    def test_unit_verifies(self):
        if shutil.which("systemd-analyze") is None:
            self.skipTest("systemd-analyze not installed")
        d = ztest.tmpdir()
        unit = os.path.join(d, "backup-upload.service")
        shutil.copy(os.path.join(EX, "backup-upload.service"), unit)
        p = ztest.run(["systemd-analyze", "verify", unit])
        # Unknown keys are only warned about (exit 0), so any word about
        # this unit counts as a failure.
        ours = [l for l in (p.stdout + p.stderr).splitlines() if "backup-upload" in l]
        self.assertEqual((p.returncode, ours), (0, []), p.stderr)

    def test_unit_hands_the_key_over_as_a_credential(self):
        text = example("backup-upload.service")
        m = re.search(r"^LoadCredential=([^:\n]+):(\S+)$", text, re.M)
        self.assertIsNotNone(m)
        self.assertIn("Environment=ZITADEL_KEY_FILE=%%d/%s" % m.group(1), text)
        # The token must never be on a command line.
        self.assertIn("-H @-", text)

    def test_service_command_gets_a_token(self):
        # What ExecStart runs, with the key in a credential directory as
        # systemd would lay it out, minus the upload.
        e = Env()
        creds = os.path.join(e.dir, "creds")
        os.mkdir(creds, 0o700)
        shutil.copy(e.m["key_file"], os.path.join(creds, "zitadel-key"))
        os.chmod(os.path.join(creds, "zitadel-key"), 0o600)
        env = dict(e.env)
        del env["ZITADEL_CONFIG"]
        env.update(CREDENTIALS_DIRECTORY=creds, ZITADEL_ISSUER=SRV.issuer,
                   ZITADEL_CA_FILE=SRV.ca_file,
                   ZITADEL_KEY_FILE=os.path.join(creds, "zitadel-key"))
        p = ztest.run([HELPER, "token"], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(SRV.token_active(p.stdout.strip()))


class PamSnippets(unittest.TestCase):
    """Each pam_zitadel.so line of examples/pam.d, with its arguments as
    written, loaded by libpam (pam_wrapper) with the example [pam] section:
    a wrong token must be denied as such (PAM_AUTH_ERR), which only happens
    when the module accepted every argument and the config."""

    def setUp(self):
        sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "pam"))
        try:
            import pamlib
        except ImportError as exc:
            self.skipTest("tests/pam/pamlib.py: %s" % exc)
        for what, path in (("pam_wrapper", pamlib.WRAPPER), ("the module", pamlib.MODULE),
                           ("the driver", pamlib.DRIVER)):
            if path is None or not os.path.exists(path):
                self.skipTest("%s not found" % what)
        self.pamlib = pamlib

    def lines(self, name):
        out = []
        for line in example("pam.d/" + name).splitlines():
            words = line.split()
            if len(words) >= 3 and words[2] == "pam_zitadel.so":
                out.append(words)
        return out

    def check(self, name):
        lines = self.lines(name)
        self.assertTrue(lines, "no pam_zitadel.so line in pam.d/" + name)
        e = Env()
        pam = self.pamlib.Pam(SRV)
        for words in lines:
            args = " ".join(["config=" + e.conf] + words[3:])
            svc = pam.service(["auth required MODULE " + args])
            res, p = pam.run(svc, "nobody", ["auth"], reply="not-a-valid-token")
            self.assertEqual(res.get("auth"), "PAM_AUTH_ERR", (words, p.stdout, p.stderr))
        # The control: an argument the module does not know is a service
        # error, so the check above can tell the two apart.
        svc = pam.service(["auth required MODULE config=%s no_such_option" % e.conf])
        res, p = pam.run(svc, "nobody", ["auth"], reply="not-a-valid-token")
        self.assertEqual(res.get("auth"), "PAM_SERVICE_ERR", (p.stdout, p.stderr))

    def test_sshd(self):
        self.check("sshd")

    def test_sudo(self):
        self.check("sudo")


if __name__ == "__main__":
    unittest.main()
