"""The installed zitadel-credential's cache-miss path (issue 10): run from
helper/'s installcheck-local after `make install` into a real prefix, with
ZITADEL_LIBZITADEL unset, so the helper must dlopen the libzitadel that
`make install` put in LIBDIR. Also checks the git and docker links."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_helper_util import clean_env, users_me, ztest  # noqa: E402

INSTALLED = os.environ.get("ZT_INSTALLED_HELPER", "")
LIBDIR = os.environ.get("ZT_INSTALLED_LIBDIR", "")


@unittest.skipUnless(INSTALLED, "run through make installcheck")
class InstalledHelperTest(unittest.TestCase):
    def test_miss_loads_the_installed_library(self):
        self.assertTrue(os.access(INSTALLED, os.X_OK), INSTALLED)
        with ztest.Server() as srv:
            m = srv.create_machine()
            trace = os.path.join(ztest.tmpdir(), "ld")
            env = clean_env(ZITADEL_LIBZITADEL=None, LD_LIBRARY_PATH=None,
                            LD_DEBUG="files", LD_DEBUG_OUTPUT=trace)
            r = ztest.run([INSTALLED, "--issuer", srv.issuer, "--key-file",
                           m["key_file"], "--ca-file", srv.ca_file, "token"],
                          env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(users_me(srv, r.stdout.strip()), 200)
            loaded = ""
            for name in os.listdir(os.path.dirname(trace)):
                with open(os.path.join(os.path.dirname(trace), name)) as f:
                    loaded += f.read()
            self.assertIn(os.path.join(LIBDIR, "libzitadel.so.0"), loaded)

    def test_links(self):
        bindir = os.path.dirname(INSTALLED)
        for name in ("git-credential-zitadel", "docker-credential-zitadel"):
            path = os.path.join(bindir, name)
            self.assertEqual(os.readlink(path), "zitadel-credential")
        r = ztest.run([os.path.join(bindir, "git-credential-zitadel"),
                       "capability"], env=clean_env())
        self.assertEqual(r.stdout, "version 0\ncapability authtype\n")


if __name__ == "__main__":
    unittest.main()
