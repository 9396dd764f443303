"""pam_zitadel.so defines all six pam_sm_* entry points and exports nothing
else (a missing one breaks stacks; extra ones clash with other modules)."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "pam"))
import pamlib  # noqa: E402

WANT = {"pam_sm_authenticate", "pam_sm_setcred", "pam_sm_acct_mgmt",
        "pam_sm_open_session", "pam_sm_close_session", "pam_sm_chauthtok"}


class Symbols(unittest.TestCase):
    def test_exactly_the_six(self):
        if not os.path.exists(pamlib.MODULE):
            self.skipTest("module not built")
        out = subprocess.run(["nm", "-D", "--defined-only", pamlib.MODULE],
                             capture_output=True, text=True, check=True).stdout
        names = set()
        for line in out.splitlines():
            parts = line.split()
            # "ADDR TYPE NAME"; linker-made version nodes are type A
            if len(parts) == 3 and parts[1] != "A":
                names.add(parts[2].split("@")[0])
        self.assertEqual(names, WANT)


if __name__ == "__main__":
    unittest.main()
