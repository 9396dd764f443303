"""The man pages against the source they describe: every config key of
src/config.c's tables is in zitadel.conf(5) (and the [pam] ones in
pam_zitadel(8)), every exit code the programs define is in their EXIT
STATUS, and every page passes mandoc -Tlint."""
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "lib"))
import ztest  # noqa: E402


def read(rel):
    with open(ztest.src_path(rel)) as f:
        return f.read()


def key_table(source, name):
    """The key names of one `static const struct key_def NAME[] = {...}`."""
    m = re.search(r"\b%s\[\]\s*=\s*\{(.*?)\n\};" % name, source, re.S)
    if m is None:
        raise AssertionError("no table %s in src/config.c" % name)
    return re.findall(r'\{"([a-z_]+)",\s*K_', m.group(1))


def section(page, title):
    m = re.search(r"^\.Sh %s\n(.*?)(?=^\.Sh |\Z)" % re.escape(title), page, re.S | re.M)
    if m is None:
        raise AssertionError("no section %s" % title)
    return m.group(1)


class ConfigKeys(unittest.TestCase):
    def setUp(self):
        self.src = read("src/config.c")
        self.conf5 = read("man/zitadel.conf.5")

    def documented(self, page, keys):
        return [k for k in keys if not re.search(r"\bCm %s\b" % k, page)]

    def test_profile_keys(self):
        keys = key_table(self.src, "profile_keys")
        self.assertIn("issuer", keys)
        self.assertEqual(self.documented(self.conf5, keys), [])

    def test_pam_keys(self):
        keys = key_table(self.src, "pam_keys")
        self.assertIn("map_file", keys)
        self.assertEqual(self.documented(self.conf5, keys), [])
        self.assertEqual(self.documented(read("man/pam_zitadel.8"), keys), [])

    def test_defaults_keys(self):
        for k in re.findall(r'strcmp\(key, "([a-z_]+)"\) == 0', self.src):
            self.assertRegex(self.conf5, r"\bCm %s\b" % k)


class ExitCodes(unittest.TestCase):
    def check(self, header, pattern, page):
        codes = sorted(set(int(n) for n in re.findall(pattern, read(header))))
        self.assertTrue(codes, header)
        text = section(read(page), "EXIT STATUS")
        listed = sorted(int(n) for n in re.findall(r"^\.It (\d+)$", text, re.M))
        self.assertEqual(listed, codes, page)

    def test_helper(self):
        self.check("helper/helper.h", r"\bZH_EXIT_[A-Z]+ = (\d+)",
                   "man/zitadel-credential.1")

    def test_zitadelctl(self):
        if not os.path.exists(ztest.src_path("admin/zitadelctl.h")):
            self.skipTest("admin/zitadelctl.h not there")
        self.check("admin/zitadelctl.h", r"\bEXIT_[A-Z_]+ = (\d+)", "man/zitadelctl.1")


class Lint(unittest.TestCase):
    def test_mandoc_lint(self):
        if shutil.which("mandoc") is None:
            self.skipTest("mandoc not installed")
        pages = ["zitadel-credential.1", "zitadelctl.1", "libzitadel.3",
                 "zitadel.conf.5", "pam_zitadel.8"]
        p = subprocess.run(["mandoc", "-Tlint", "-W", "warning"] +
                           [ztest.src_path("man/" + n) for n in pages],
                           capture_output=True, text=True)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))


if __name__ == "__main__":
    unittest.main()
