"""The bash completion files, sourced in a real bash: subcommands, options
and profile names complete; and every option the programs' --help lists is
offered by the completion and described in the man page, so neither can
lag behind the code."""
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "lib"))
import ztest  # noqa: E402

COMP = ztest.src_path("completion")
BASH = shutil.which("bash")

PROGRAMS = {
    "zitadel-credential": ("helper/zitadel-credential", "_zitadel_credential",
                           "man/zitadel-credential.1"),
    "zitadelctl": ("admin/zitadelctl", "_zitadelctl", "man/zitadelctl.1"),
}


def complete(words, cword=None, env=None, files=("zitadel-credential", "zitadelctl")):
    """COMPREPLY for the command line `words`, cursor on words[cword]."""
    if cword is None:
        cword = len(words) - 1
    func = PROGRAMS.get(os.path.basename(words[0]), (None, "_zitadel_credential"))[1]
    script = "".join('source "%s"\n' % os.path.join(COMP, f) for f in files)
    script += 'COMP_WORDS=("$@"); COMP_CWORD=%d; COMPREPLY=(); %s\n' % (cword, func)
    script += 'printf "%s\\n" "${COMPREPLY[@]}"\n'
    p = subprocess.run([BASH, "--norc", "--noprofile", "-c", script, "bash"] + list(words),
                       capture_output=True, text=True, env=env, timeout=30)
    if p.returncode != 0 or p.stderr:
        raise AssertionError("bash: %d %s" % (p.returncode, p.stderr))
    return sorted(w for w in p.stdout.splitlines() if w)


@unittest.skipIf(BASH is None, "bash not installed")
class Credential(unittest.TestCase):
    def test_commands(self):
        self.assertEqual(complete(["zitadel-credential", ""]),
                         sorted("token erase git docker kubectl help version".split()))
        self.assertEqual(complete(["zitadel-credential", "--no-cache", "d"]), ["docker"])

    def test_operations_by_face(self):
        self.assertEqual(complete(["zitadel-credential", "git", ""]),
                         sorted(["get", "store", "erase", "capability"]))
        self.assertEqual(complete(["zitadel-credential", "--profile", "x", "docker", ""]),
                         sorted(["get", "store", "erase", "list"]))
        self.assertEqual(complete(["git-credential-zitadel", ""]),
                         sorted(["get", "store", "erase", "capability"]))
        self.assertEqual(complete(["docker-credential-zitadel", "l"]), ["list"])
        self.assertEqual(complete(["zitadel-credential", "token", ""]), [])

    def test_options(self):
        self.assertEqual(complete(["zitadel-credential", "token", "--cache-"]),
                         ["--cache-dir", "--cache-margin"])

    def test_profiles_from_the_config(self):
        d = ztest.tmpdir()
        conf = os.path.join(d, "client.conf")
        with open(conf, "w") as f:
            f.write("[defaults]\nprofile = ci\n[profile ci]\n[ profile  kube-prod ]\n"
                    "[pam]\n")
        env = dict(os.environ, ZITADEL_CONFIG=conf)
        self.assertEqual(complete(["zitadel-credential", "--profile", ""], env=env),
                         ["ci", "kube-prod"])
        self.assertEqual(complete(["zitadelctl", "--profile", "k"], env=env,
                                  files=("zitadelctl",)), ["kube-prod"])

    def test_file_options_complete_files(self):
        d = ztest.tmpdir()
        open(os.path.join(d, "key.json"), "w").close()
        got = complete(["zitadel-credential", "--key-file", os.path.join(d, "ke")])
        self.assertEqual(got, [os.path.join(d, "key.json")])


@unittest.skipIf(BASH is None, "bash not installed")
class Ctl(unittest.TestCase):
    def test_commands(self):
        self.assertEqual(complete(["zitadelctl", ""], files=("zitadelctl",)),
                         sorted("machine key pat secret enroll help version".split()))
        self.assertEqual(complete(["zitadelctl", "--output", "json", "key", ""]),
                         sorted("add get list remove rotate".split()))
        self.assertEqual(complete(["zitadelctl", "pat", ""]),
                         sorted("add get list remove".split()))
        self.assertEqual(complete(["zitadelctl", "secret", "g"]), ["generate"])

    def test_option_values(self):
        self.assertEqual(complete(["zitadelctl", "--output", ""]), ["json", "table"])
        self.assertEqual(complete(["zitadelctl", "machine", "add", "u",
                                   "--access-token-type", ""]), ["bearer", "jwt"])

    def test_command_options(self):
        got = complete(["zitadelctl", "enroll", "123", "--e"])
        self.assertEqual(got, ["--expires"])
        got = complete(["zitadelctl", "key", "list", "123", "--a"])
        self.assertEqual(got, ["--admin-key-file", "--all", "--asc"])
        got = complete(["zitadelctl", "key", "get", "123", "--a"])
        self.assertEqual(got, ["--admin-key-file"])


def help_options(prog):
    exe = ztest.build_path(PROGRAMS[prog][0])
    if not os.path.exists(exe):
        return None
    p = ztest.run([exe, "--help"])
    if p.returncode != 0:
        raise AssertionError("%s --help: %d %s" % (prog, p.returncode, p.stderr))
    return sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", p.stdout)))


class HelpAgreement(unittest.TestCase):
    """Each long option of --help appears in the completion and the man
    page (as Fl -name)."""

    def check(self, prog):
        opts = help_options(prog)
        if opts is None:
            self.skipTest("%s not built" % prog)
        self.assertTrue(opts)
        with open(ztest.src_path(PROGRAMS[prog][2])) as f:
            page = f.read()
        with open(os.path.join(COMP, prog)) as f:
            comp = f.read()
        missing_man = [o for o in opts if not re.search(r"Fl %s\b(?!-)" % re.escape(o[1:]), page)]
        missing_comp = [o for o in opts if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), comp)]
        self.assertEqual(missing_man, [], "%s(1) lacks options of --help" % prog)
        self.assertEqual(missing_comp, [], "completion/%s lacks options of --help" % prog)

    def test_credential(self):
        self.check("zitadel-credential")

    def test_ctl(self):
        self.check("zitadelctl")


if __name__ == "__main__":
    unittest.main()
