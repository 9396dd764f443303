"""Shared by the pam_zitadel tests: service files, config files and runs of
tests/pam/pamdriver under pam_wrapper. Secrets go through files, never argv."""
import glob
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "lib"))
import ztest  # noqa: E402

BUILD = os.environ["ZT_BUILDDIR"]
MODULE = os.path.join(BUILD, "pam", ".libs", "pam_zitadel.so")
DRIVER = os.path.join(BUILD, "tests", "pam", "pamdriver")


def find_one(patterns):
    for p in patterns:
        hits = glob.glob(p)
        if hits:
            return hits[0]
    return None


WRAPPER = find_one(["/usr/lib/*/libpam_wrapper.so", "/usr/lib/libpam_wrapper.so",
                    "/usr/lib64/libpam_wrapper.so"])
PAM_SET_ITEMS = find_one(["/usr/lib/*/pam_wrapper/pam_set_items.so",
                          "/usr/lib/pam_wrapper/pam_set_items.so"])
PAM_DENY = find_one(["/usr/lib/*/security/pam_deny.so", "/lib/*/security/pam_deny.so",
                     "/usr/lib/security/pam_deny.so"])


def skip_unless_ready():
    """Exit 77 when a real prerequisite is missing."""
    for what, path in (("pam_wrapper", WRAPPER), ("pam_deny.so", PAM_DENY),
                       ("pam_set_items.so", PAM_SET_ITEMS),
                       ("the module", MODULE), ("the driver", DRIVER)):
        if path is None or not os.path.exists(path):
            print("skip: %s not found" % what)
            sys.exit(77)


def dead_issuer():
    """An https URL on 127.0.0.1 where nothing listens."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "https://127.0.0.1:%d" % port


def write(path, text, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(text if isinstance(text, bytes) else text.encode())
    os.chmod(path, mode)
    return path


class Pam:
    """A directory of service files and config for one server."""

    def __init__(self, srv=None, issuer=None):
        self.dir = ztest.tmpdir()
        self.services = os.path.join(self.dir, "services")
        os.mkdir(self.services)
        self.srv = srv
        self.issuer = issuer or (srv.issuer if srv else dead_issuer())
        self.n = 0

    def config(self, **keys):
        """A config file with a [pam] section; None values are left out."""
        base = {"issuer": self.issuer}
        if self.srv is not None:
            base.update(ca_file=self.srv.ca_file, app_key_file=self.srv.app_key_file)
        base.update(keys)
        lines = ["[pam]"] + ["%s = %s" % (k, v) for k, v in base.items() if v is not None]
        self.n += 1
        return write(os.path.join(self.dir, "client%d.conf" % self.n),
                     "\n".join(lines) + "\n", 0o644)

    def service(self, lines):
        """A service file; lines use MODULE for the built module."""
        self.n += 1
        name = "svc%d" % self.n
        text = "\n".join(l.replace("MODULE", MODULE).replace("PAM_DENY", PAM_DENY)
                         for l in lines) + "\n"
        write(os.path.join(self.services, name), text, 0o644)
        return name

    def simple(self, args, conf=None, stacks=("auth", "account", "session", "password")):
        conf = conf or self.config()
        arg = "config=%s %s" % (conf, args)
        return self.service(["%s required MODULE %s" % (s, arg) for s in stacks])

    def env(self, reply=None, conv=None, extra=None):
        env = dict(os.environ)
        # pam_wrapper dlopens libpam with RTLD_DEEPBIND, which ASan refuses;
        # Debian's pam_wrapper 1.1.4 turns that off under this variable's name.
        env.update(LD_PRELOAD=WRAPPER, PAM_WRAPPER="1",
                   PAM_WRAPPER_SERVICE_DIR=self.services,
                   PAM_WRAPPER_DEBUGLEVEL="2",
                   UID_WRAPPER_DISABLE_DEEPBIND="1")
        env.pop("PAMDRIVER_REPLY_FILE", None)
        env.pop("PAMDRIVER_CONV", None)
        if reply is not None:
            self.n += 1
            env["PAMDRIVER_REPLY_FILE"] = write(
                os.path.join(self.dir, "reply%d" % self.n), reply)
        if conv is not None:
            env["PAMDRIVER_CONV"] = conv
        env.update(extra or {})
        return env

    def run(self, service, user, ops, reply=None, conv=None, count=None,
            prefix=(), timeout=120, extra=None):
        """Run the driver; returns (results dict, process)."""
        argv = list(prefix) + [DRIVER]
        if count:
            argv += ["-n", str(count)]
        argv += [service, user] + list(ops)
        p = subprocess.run(argv, env=self.env(reply, conv, extra), timeout=timeout,
                           capture_output=True, text=True, errors="replace")
        res = {}
        for line in p.stdout.splitlines():
            k, _, v = line.partition(" ")
            res[k] = v
        return res, p

