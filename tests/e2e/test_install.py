"""What `make install` puts where, and that it is usable as installed: a
program built with only the installed zitadel.h and the flags of
`pkg-config --cflags --libs libzitadel` gets a token from the test server
with the installed library; `make uninstall` takes every file back.

Two modes:
- make check: installs the build tree with DESTDIR into a temp dir and
  points pkg-config there (PKG_CONFIG_SYSROOT_DIR).
- make installcheck (tests/install.am sets ZT_INSTALLED_LIBDIR and
  ZT_INSTALLED_PKGCONFIG): uses the real installed prefix, as distcheck
  lays it out; the layout and uninstall checks are distcheck's own then.
"""
import os
import shutil
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "lib"))
import ztest  # noqa: E402

BUILD = os.environ["ZT_BUILDDIR"]
INSTALLED = "ZT_INSTALLED_LIBDIR" in os.environ

SRV = None


def setUpModule():
    global SRV
    SRV = ztest.Server()
    SRV.__enter__()


def tearDownModule():
    SRV.__exit__(None, None, None)


def make(*args):
    """A nested make with the outer make's jobserver and flags dropped."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    return subprocess.run(["make", "-s", "-C", BUILD] + list(args), env=env,
                          capture_output=True, text=True, timeout=600)


def files_under(root):
    out = set()
    for d, _, names in os.walk(root):
        for n in names:
            out.add(os.path.relpath(os.path.join(d, n), root))
    return out


class Installed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("pkg-config") is None:
            raise unittest.SkipTest("pkg-config not installed")
        cls.tmp = ztest.tmpdir()
        cls.env = dict(os.environ)
        cls.env.pop("ZITADEL_LIBZITADEL", None)
        if INSTALLED:
            cls.libdir = os.environ["ZT_INSTALLED_LIBDIR"]
            cls.env["PKG_CONFIG_PATH"] = os.environ["ZT_INSTALLED_PKGCONFIG"]
            cls.dest = None
            return
        # A nested make install must not rebuild what other tests are
        # running at the same time; a stale tree is left alone.
        for d in ("src", "helper", "admin", "pam"):
            if make("-C", d, "-q", "all").returncode != 0:
                raise unittest.SkipTest("build tree out of date in %s/: run make first" % d)
        cls.dest = os.path.join(cls.tmp, "dest")
        p = make("install", "DESTDIR=" + cls.dest)
        if p.returncode != 0:
            raise AssertionError("make install failed:\n" + p.stdout + p.stderr)
        pcs = [f for f in files_under(cls.dest) if f.endswith("/pkgconfig/libzitadel.pc")]
        if len(pcs) != 1:
            raise AssertionError("libzitadel.pc installed %d times" % len(pcs))
        pcdir = os.path.join(cls.dest, os.path.dirname(pcs[0]))
        cls.libdir = os.path.dirname(pcdir)
        cls.prefix = os.path.dirname(cls.libdir)
        cls.env.update(PKG_CONFIG_PATH=pcdir, PKG_CONFIG_LIBDIR=pcdir,
                       PKG_CONFIG_SYSROOT_DIR=cls.dest)

    def pkg_config(self, *args):
        p = subprocess.run(["pkg-config"] + list(args) + ["libzitadel"], env=self.env,
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.split()

    def build(self):
        cflags = self.pkg_config("--cflags")
        libs = self.pkg_config("--libs")
        if not INSTALLED:
            # The flags must lead into the installed tree, not the build's.
            self.assertIn("-I" + os.path.join(self.prefix, "include"), cflags)
            self.assertIn("-L" + self.libdir, libs)
        exe = os.path.join(self.tmp, "get_token")
        cc = os.environ.get("CC") or "cc"
        p = subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-o", exe,
                            ztest.src_path("tests/install/get_token.c")] + cflags + libs,
                           env=self.env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        return exe

    def test_program_built_with_pkg_config_gets_a_token(self):
        exe = self.build()
        env = dict(self.env, LD_LIBRARY_PATH=self.libdir, HOME=self.tmp,
                   XDG_CACHE_HOME=os.path.join(self.tmp, "cache"))
        # The loader must pick the installed library.
        p = subprocess.run(["ldd", exe], env=env, capture_output=True, text=True)
        line = [l for l in p.stdout.splitlines() if "libzitadel.so" in l]
        self.assertEqual(len(line), 1, p.stdout)
        self.assertIn("=> " + os.path.join(self.libdir, "libzitadel.so.0"), line[0])

        m = SRV.create_machine()
        p = subprocess.run([exe, SRV.issuer, SRV.ca_file, m["key_file"]], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(SRV.token_active(p.stdout.strip()))

        # And a refusal comes back as a status and a one-line message.
        SRV.remove_key(m["user_id"], m["key_id"])
        p = subprocess.run([exe, SRV.issuer, SRV.ca_file, m["key_file"]], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, "")
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)

    @unittest.skipIf(INSTALLED, "distcheck checks the layout itself")
    def test_layout(self):
        rel = os.path.relpath(self.prefix, self.dest)
        got = files_under(self.dest)

        def has(path):
            self.assertIn(os.path.join(rel, path), got)

        for f in ("include/zitadel.h", "lib/pkgconfig/libzitadel.pc",
                  "lib/libzitadel.so.0", "lib/libzitadel.so",
                  "bin/zitadel-credential", "bin/zitadelctl",
                  "lib/security/pam_zitadel.so",
                  "share/man/man1/zitadel-credential.1", "share/man/man1/zitadelctl.1",
                  "share/man/man1/git-credential-zitadel.1",
                  "share/man/man1/docker-credential-zitadel.1",
                  "share/man/man3/libzitadel.3", "share/man/man5/zitadel.conf.5",
                  "share/man/man8/pam_zitadel.8",
                  "share/bash-completion/completions/zitadel-credential",
                  "share/bash-completion/completions/zitadelctl"):
            has(f)
        bindir = os.path.join(self.prefix, "bin")
        for name in ("git-credential-zitadel", "docker-credential-zitadel"):
            link = os.path.join(bindir, name)
            self.assertTrue(os.path.islink(link), name)
            self.assertEqual(os.readlink(link), "zitadel-credential")
        comp = os.path.join(self.prefix, "share/bash-completion/completions")
        for name in ("git-credential-zitadel", "docker-credential-zitadel"):
            self.assertEqual(os.readlink(os.path.join(comp, name)), "zitadel-credential")
        for f in ("bin/zitadel-credential", "bin/zitadelctl"):
            mode = os.stat(os.path.join(self.prefix, f)).st_mode
            self.assertTrue(mode & stat.S_IXOTH, f)
            self.assertFalse(mode & (stat.S_ISUID | stat.S_ISGID), f)

    @unittest.skipIf(INSTALLED, "distcheck checks uninstall itself")
    def test_uninstall_leaves_no_file(self):
        dest = os.path.join(self.tmp, "dest2")
        p = make("install", "DESTDIR=" + dest)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(files_under(dest))
        p = make("uninstall", "DESTDIR=" + dest)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(files_under(dest), set())


if __name__ == "__main__":
    unittest.main()
