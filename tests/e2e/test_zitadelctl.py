"""zitadelctl against the test server, as an admin runs it: each of the
twelve calls with success, not found, bad input, no permission and the
wrong org; paging; UpdateMachine's full replace and "not changed"; that a
PAT, a client secret and a key made through the tool work and stop working
when removed; and that secrets only go where they were sent."""

import base64
import json
import os
import re
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "lib"))
import ztest  # noqa: E402

CTL = ztest.build_path("admin/zitadelctl")
HELPER = ztest.build_path("helper/zitadel-credential")

# Exit codes of zitadelctl(1).
REFUSED, USAGE, CONFIG, NOT_FOUND, NETWORK, SERVER, LOCAL, DENIED, EXISTS = \
    1, 2, 3, 4, 5, 6, 7, 8, 9

srv = None
SECRETS = []   # every secret the tests saw, for the leak checks
STDERR = []    # every stderr zitadelctl wrote


def setUpModule():
    global srv
    srv = ztest.Server()


def tearDownModule():
    srv.stop()


def clean_env(home):
    env = {k: None for k in ("ZITADEL_ISSUER", "ZITADEL_KEY_FILE",
                             "ZITADEL_PAT_FILE", "ZITADEL_CA_FILE",
                             "ZITADEL_ORG", "ZITADEL_CONFIG",
                             "ZITADEL_PROFILE", "XDG_CONFIG_HOME",
                             "XDG_CACHE_HOME")}
    env["HOME"] = home
    return env


class Ctl(unittest.TestCase):
    def setUp(self):
        self.dir = ztest.tmpdir()
        self.conf = os.path.join(self.dir, "empty.conf")
        open(self.conf, "w").close()

    def ctl(self, *args, cred=None, org=None, env=None, base=True):
        argv = [CTL]
        if base:
            argv += ["--issuer", srv.issuer, "--ca-file", srv.ca_file,
                     "--config", self.conf]
            argv += cred if cred is not None else \
                ["--key-file", srv.admin_key_file]
        if org is not None:
            argv += ["--org", org]
        argv += list(args)
        e = clean_env(self.dir)
        e.update(env or {})
        p = ztest.run(argv, env=e)
        STDERR.append(p.stderr)
        return p

    def ok(self, *args, **kw):
        """Run with --output json, expect success, return the parsed object."""
        p = self.ctl("--output", "json", *args, **kw)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        return json.loads(p.stdout)

    def fails(self, code, *args, ident=None, **kw):
        p = self.ctl(*args, **kw)
        self.assertEqual(p.returncode, code, (p.stdout, p.stderr))
        self.assertEqual(p.stdout, "")
        lines = p.stderr.strip().splitlines()
        self.assertTrue(lines and lines[-1].startswith("zitadelctl: "),
                        p.stderr)
        if ident is not None:
            self.assertIn(ident, p.stderr)
        return p

    def machine(self, **kw):
        kw.setdefault("key", False)
        return srv.create_machine(**kw)

    def path(self, name):
        return os.path.join(self.dir, name)


class MachineUsers(Ctl):
    def test_add(self):
        r = self.ok("machine", "add", "robot-add", "--name", "Robot",
                    "--description", "Calls the billing API",
                    "--access-token-type", "jwt")
        self.assertTrue(r["userId"])
        self.assertEqual(r["details"]["resourceOwner"], srv.org_id)
        self.assertIn("changeDate", r["details"])
        st, _, me = srv.request("GET", "/auth/v1/users/me",
                                token=srv.issue_token(r["userId"]))
        self.assertEqual(st, 200)
        self.assertEqual(me["user"]["machine"]["accessTokenType"],
                         "ACCESS_TOKEN_TYPE_JWT")
        self.assertEqual(me["user"]["machine"]["description"],
                         "Calls the billing API")

    def test_add_custom_id_and_duplicates(self):
        r = self.ok("machine", "add", "robot-id", "--name", "R",
                    "--user-id", "my-own-id-42")
        self.assertEqual(r["userId"], "my-own-id-42")
        self.fails(EXISTS, "machine", "add", "robot-id", "--name", "R",
                   ident="V3-DKcYh")
        self.fails(EXISTS, "machine", "add", "robot-id2", "--name", "R",
                   "--user-id", "my-own-id-42", ident="COMMAND-k2una")

    def test_add_bad_input(self):
        self.fails(USAGE, "machine", "add", "robot-x")           # no --name
        self.fails(USAGE, "machine", "add", "x" * 201, "--name", "R")
        self.fails(USAGE, "machine", "add", "r", "--name", "")
        self.fails(USAGE, "machine", "add", "r", "--name", "R",
                   "--description", "d" * 501)
        self.fails(USAGE, "machine", "add", "r", "--name", "R",
                   "--access-token-type", "saml")
        self.fails(USAGE, "machine", "add", "r", "--name", "R", "--expires",
                   "2030-01-01")
        self.fails(USAGE, "machine", "add")

    def test_control_characters_refused_before_any_request(self):
        m = self.machine()
        bad = ("a\nb", "a\rb", "a\tb", "a\x1b[31mb", "a\x7fb",
               "a\u0085b", "a\u009bb")
        srv.reset_counts()
        for text in bad:
            with self.subTest(text=text):
                p = self.fails(USAGE, "machine", "add", text, "--name", "x",
                               ident="the user name")
                self.assertNotIn(text, p.stderr)
                self.fails(USAGE, "machine", "add", "ok-" + m["user_id"],
                           "--name", text, ident="--name")
                self.fails(USAGE, "machine", "add", "ok-" + m["user_id"],
                           "--name", "x", "--description", text,
                           ident="--description")
                self.fails(USAGE, "machine", "update", m["user_id"],
                           "--name", text, ident="--name")
                self.fails(USAGE, "machine", "update", m["user_id"],
                           "--name", "x", "--description", text,
                           ident="--description")
        self.assertEqual(srv.requests(), [])
        # other non-ASCII text is fine
        r = self.ok("machine", "add", "robot-ctl-ü", "--name", "Rößli",
                    "--description", "für Überweisungen")
        self.assertTrue(r["userId"])

    def test_table_output(self):
        p = self.ctl("machine", "add", "robot-table", "--name", "R")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(),
                         ["USER_ID", "SEQUENCE", "CHANGED", "RESOURCE_OWNER"])
        self.assertEqual(len(lines), 2)
        # the second column starts where its header does (by position: the
        # sequence number may also occur inside the user id)
        starts = [m.start() for m in re.finditer(r"\S+", lines[1])]
        self.assertEqual(lines[0].index("SEQUENCE"), starts[1])

    def test_update_full_replace_and_not_changed(self):
        m = self.machine(name="Old", description="keep me?",
                         access_token_type="jwt")
        uid = m["user_id"]
        r = self.ok("machine", "update", uid, "--name", "New")
        self.assertIn("changeDate", r["details"])
        st, _, me = srv.request("GET", "/auth/v1/users/me",
                                token=srv.issue_token(uid))
        machine = me["user"]["machine"]
        self.assertEqual(machine["name"], "New")
        # full replace: the omitted description is cleared, type is bearer
        self.assertNotIn("description", machine)
        self.assertNotIn("accessTokenType", machine)
        p = self.fails(EXISTS, "machine", "update", uid, "--name", "New",
                       ident="COMMAND-2n8vs")
        self.assertIn("HTTP 400", p.stderr)
        self.ok("machine", "update", uid, "--name", "New", "--description",
                "again", "--access-token-type", "jwt")

    def test_update_errors(self):
        m = self.machine()
        self.fails(NOT_FOUND, "machine", "update", "290000000000000001",
                   "--name", "N", ident="COMMAND-5M0od")
        self.fails(USAGE, "machine", "update", m["user_id"])
        self.fails(USAGE, "machine", "update", m["user_id"], "--name",
                   "n" * 201)


class Keys(Ctl):
    def test_add_get_list_remove(self):
        m = self.machine()
        uid = m["user_id"]
        out = self.path("k.json")
        r = self.ok("key", "add", uid, "--expires", "2099-12-31",
                    "--output-file", out)
        kid = r["keyId"]
        self.assertEqual(r["outputFile"], out)
        self.assertNotIn("keyDetails", r)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        with open(out) as f:
            kf = json.load(f)
        SECRETS.append(kf["key"])
        self.assertEqual(list(kf), ["type", "keyId", "key", "expirationDate",
                                    "userId"])
        self.assertEqual((kf["keyId"], kf["userId"]), (kid, uid))

        g = self.ok("key", "get", uid, kid)
        self.assertEqual(g["id"], kid)
        self.assertEqual(g["type"], "KEY_TYPE_JSON")
        self.assertEqual(g["expirationDate"], "2099-12-31T00:00:00Z")
        ids = [k["id"] for k in self.ok("key", "list", uid)["result"]]
        self.assertEqual(ids, [kid])

        # the key works with the credential helper, then stops
        helper = [HELPER, "token", "--no-cache", "--issuer", srv.issuer,
                  "--ca-file", srv.ca_file, "--key-file", out]
        env = clean_env(self.dir)
        p = ztest.run(helper, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(srv.token_active(p.stdout.strip()))
        r = self.ok("key", "remove", uid, kid)
        self.assertIn("changeDate", r["details"])
        p = ztest.run(helper, env=env)
        self.assertNotEqual(p.returncode, 0)
        self.fails(NOT_FOUND, "key", "get", uid, kid, ident="QUERY-Dgr3g")
        self.fails(NOT_FOUND, "key", "remove", uid, kid,
                   ident="COMMAND-4m77G")
        self.assertEqual(self.ok("key", "list", uid)["result"], [])
        self.assertEqual(self.ok("key", "list", uid)["details"]
                         ["totalResult"], "0")

    def test_add_public_key(self):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        m = self.machine()
        priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pub = self.path("pub.pem")
        with open(pub, "wb") as f:
            f.write(priv.public_key().public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo))
        srv.reset_counts()
        r = self.ok("key", "add", m["user_id"], "--public-key", pub)
        self.assertNotIn("keyDetails", r)
        adds = [q for q in srv.requests() if q["method"] == "POST" and
                q["path"].endswith("/keys")]
        self.assertEqual(len(adds), 1)
        self.assertIn("publicKey", adds[0]["json_keys"])
        # a PKCS#1 public key is what the server refuses
        bad = self.path("bad.pem")
        with open(bad, "wb") as f:
            f.write(priv.public_key().public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.PKCS1))
        self.fails(REFUSED, "key", "add", m["user_id"], "--public-key", bad,
                   ident="COMMAND-5F3h1")
        self.fails(USAGE, "key", "add", m["user_id"], "--public-key", pub,
                   "--show-secret")

    def test_add_errors(self):
        m = self.machine()
        uid = m["user_id"]
        self.fails(NOT_FOUND, "key", "add", "290000000000000001",
                   "--show-secret", ident="COMMAND-bnipwm1")
        self.fails(REFUSED, "key", "add", uid, "--expires", "2001-01-01",
                   "--show-secret", ident="DOMAIN-dv3t5")
        self.fails(USAGE, "key", "add", uid, "--expires", "tomorrow",
                   "--show-secret")
        self.fails(USAGE, "key", "add", uid, "--expires", "2030-02-30",
                   "--show-secret")
        self.fails(USAGE, "key", "get", uid)
        self.fails(USAGE, "key", "get", uid, "k" * 201)
        self.fails(USAGE, "key", "remove", uid, "")

    def test_show_secret(self):
        m = self.machine()
        r = self.ok("key", "add", m["user_id"], "--show-secret")
        self.assertEqual(r["keyDetails"]["type"], "serviceaccount")
        self.assertEqual(r["keyDetails"]["keyId"], r["keyId"])
        SECRETS.append(r["keyDetails"]["key"])
        p = self.ctl("key", "add", m["user_id"], "--show-secret")
        self.assertEqual(p.returncode, 0)
        self.assertIn("BEGIN RSA PRIVATE KEY", p.stdout)
        self.assertNotIn("PRIVATE", p.stderr)

    def test_paging(self):
        m = self.machine()
        uid = m["user_id"]
        for _ in range(7):
            srv.add_key(uid)
        every = self.ok("key", "list", uid)
        self.assertEqual(len(every["result"]), 7)
        self.assertEqual(every["details"]["totalResult"], "7")
        seen = []
        for offset in (0, 3, 6):
            page = self.ok("key", "list", uid, "--offset", str(offset),
                           "--limit", "3", "--asc")
            self.assertEqual(page["details"]["totalResult"], "7")
            seen += [k["id"] for k in page["result"]]
        self.assertEqual(len(seen), 7)
        self.assertEqual(sorted(seen), sorted(k["id"]
                                              for k in every["result"]))
        self.fails(USAGE, "key", "list", uid, "--all", "--limit", "3")
        self.fails(USAGE, "key", "list", uid, "--limit", "0")
        self.fails(USAGE, "key", "list", uid, "--offset", "-1")

    def test_asc_needs_a_single_page(self):
        """Every page is asked for in one fixed order: --asc there would
        be dropped without a word, so it is refused before any request."""
        m = self.machine()
        uid = m["user_id"]
        srv.reset_counts()
        for cmd in ("key", "pat"):
            for extra in ((), ("--all",)):
                with self.subTest(cmd=cmd, extra=extra):
                    p = self.fails(USAGE, cmd, "list", uid, "--asc", *extra,
                                   ident="--asc orders a single page "
                                   "(--offset/--limit)")
                    self.assertEqual(len(p.stderr.strip().splitlines()), 1)
        self.assertEqual(srv.count("/oauth/v2/token"), 0)
        self.assertEqual(srv.count("/management/v1/users/%s/keys/_search"
                                   % uid), 0)
        self.assertEqual(srv.count("/management/v1/users/%s/pats/_search"
                                   % uid), 0)
        page = self.ok("pat", "list", uid, "--limit", "5", "--asc")
        self.assertEqual(page["result"], [])
        for cmd in ("key", "pat"):
            p = self.ctl(cmd, "list", "--help", base=False)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("--asc orders", p.stdout)


class Pats(Ctl):
    def test_pat_lifecycle(self):
        m = self.machine()
        uid = m["user_id"]
        out = self.path("pat")
        r = self.ok("pat", "add", uid, "--expires", "2099-01-01T12:00:00Z",
                    "--output-file", out)
        tid = r["tokenId"]
        self.assertNotIn("token", r)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        with open(out) as f:
            pat = f.read()
        self.assertTrue(pat.endswith("\n"))
        pat = pat.strip()
        SECRETS.append(pat)
        st, _, me = srv.request("GET", "/auth/v1/users/me", token=pat)
        self.assertEqual(st, 200)
        self.assertEqual(me["user"]["id"], uid)

        g = self.ok("pat", "get", uid, tid)
        self.assertEqual(g["id"], tid)
        self.assertEqual(g["expirationDate"], "2099-01-01T12:00:00Z")
        self.assertIn("openid", g["scopes"])
        self.assertEqual([p["id"] for p in
                          self.ok("pat", "list", uid)["result"]], [tid])

        # the PAT is usable as the tool's own credential too
        m2 = self.machine(pat=True)
        pf = ztest.write_secret(self.path("caller-pat"), m2["pat"] + "\n")
        SECRETS.append(m2["pat"])
        self.ok("pat", "list", uid, cred=["--pat-file", pf])

        self.ok("pat", "remove", uid, tid)
        self.assertFalse(srv.token_active(pat))
        st, _, _ = srv.request("GET", "/auth/v1/users/me", token=pat)
        self.assertEqual(st, 401)
        self.fails(NOT_FOUND, "pat", "get", uid, tid, ident="QUERY-fRunu")
        self.fails(NOT_FOUND, "pat", "remove", uid, tid,
                   ident="COMMAND-4m77G")

    def test_pat_errors(self):
        m = self.machine()
        self.fails(NOT_FOUND, "pat", "add", "290000000000000001",
                   "--show-secret", ident="COMMAND-Dggw2")
        self.fails(REFUSED, "pat", "add", m["user_id"], "--show-secret",
                   "--expires", "2000-01-01", ident="DOMAIN-dv3t5")
        self.fails(USAGE, "pat", "get", m["user_id"])
        self.fails(USAGE, "pat", "get", m["user_id"], "t" * 201)

    def test_show_secret(self):
        m = self.machine()
        r = self.ok("pat", "add", m["user_id"], "--show-secret")
        SECRETS.append(r["token"])
        self.assertTrue(srv.token_active(r["token"]))

    def test_pat_paging_every_page(self):
        """More PATs than one page of the library's "every page" mode."""
        m = self.machine()
        uid = m["user_id"]
        admin = srv.admin_pat()
        for _ in range(103):
            st, _, r = srv.request("POST", "/management/v1/users/%s/pats"
                                   % uid, body={}, token=admin)
            self.assertEqual(st, 200, r)
        srv.reset_counts()
        r = self.ok("pat", "list", uid)
        self.assertEqual(len(r["result"]), 103)
        self.assertEqual(len({p["id"] for p in r["result"]}), 103)
        # one page of the library's 1000
        self.assertEqual(srv.count("/management/v1/users/%s/pats/_search"
                                   % uid), 1)
        page = self.ok("pat", "list", uid, "--offset", "100", "--limit", "50")
        self.assertEqual(len(page["result"]), 3)

    def test_key_paging_every_page(self):
        """More keys than one page (1000) of the "every page" mode."""
        m = self.machine()
        uid = m["user_id"]
        total = srv.bulk_keys(uid, 1003)["keys"]
        self.assertGreater(total, 1000)
        srv.reset_counts()
        r = self.ok("key", "list", uid)
        self.assertEqual(len(r["result"]), total)
        self.assertEqual(len({k["id"] for k in r["result"]}), total)
        self.assertEqual(srv.count("/management/v1/users/%s/keys/_search"
                                   % uid), 2)


class Secrets(Ctl):
    def token_by_secret(self, client_id, secret):
        auth = base64.b64encode(("%s:%s" % (client_id, secret)).encode())
        st, _, r = srv.request(
            "POST", "/oauth/v2/token",
            form={"grant_type": "client_credentials",
                  "scope": ztest.DEFAULT_SCOPE},
            headers={"Authorization": "Basic " + auth.decode()})
        return st, r

    def test_generate_and_remove(self):
        m = self.machine(username="secret-robot")
        uid = m["user_id"]
        out = self.path("secret")
        r = self.ok("secret", "generate", uid, "--output-file", out)
        self.assertEqual(r["clientId"], "secret-robot")
        self.assertNotIn("clientSecret", r)
        with open(out) as f:
            secret = f.read().strip()
        SECRETS.append(secret)
        self.assertEqual(len(secret), 64)
        st, tok = self.token_by_secret(r["clientId"], secret)
        self.assertEqual(st, 200, tok)
        self.assertTrue(srv.token_active(tok["access_token"]))

        # the tool itself can run on client credentials
        sf = ztest.write_secret(self.path("caller-secret"), secret + "\n")
        m2 = self.machine()
        self.ok("key", "list", m2["user_id"],
                cred=["--client-id", r["clientId"], "--client-secret-file",
                      sf])

        self.ok("secret", "remove", uid)
        st, _ = self.token_by_secret(r["clientId"], secret)
        self.assertNotEqual(st, 200)
        self.fails(EXISTS, "secret", "remove", uid, ident="COMMAND-coi82n")

    def test_show_secret(self):
        m = self.machine()
        r = self.ok("secret", "generate", m["user_id"], "--show-secret")
        SECRETS.append(r["clientSecret"])
        self.assertEqual(len(r["clientSecret"]), 64)

    def test_errors(self):
        self.fails(NOT_FOUND, "secret", "generate", "290000000000000001",
                   "--show-secret", ident="MANAG-fpo4B")
        self.fails(NOT_FOUND, "secret", "remove", "290000000000000001",
                   ident="COMMAND-x8910n")
        self.fails(USAGE, "secret", "remove", "u" * 201)
        self.fails(USAGE, "secret", "remove")


class SecretHandling(Ctl):
    def test_refuse_without_destination(self):
        m = self.machine()
        srv.reset_counts()
        for cmd in (("key", "add"), ("pat", "add"), ("secret", "generate")):
            p = self.fails(USAGE, *cmd, m["user_id"])
            self.assertIn("--output-file", p.stderr)
        # refused before the server was asked
        self.assertEqual(srv.requests(), [])
        self.assertEqual(self.ok("key", "list", m["user_id"])["result"], [])

    def test_output_file_refuses_overwrite(self):
        m = self.machine()
        out = self.path("exists")
        with open(out, "w") as f:
            f.write("precious")
        srv.reset_counts()
        for cmd in (("key", "add"), ("pat", "add"), ("secret", "generate")):
            self.fails(EXISTS, *cmd, m["user_id"], "--output-file", out)
        self.assertEqual(srv.requests(), [])
        with open(out) as f:
            self.assertEqual(f.read(), "precious")
        self.assertEqual(self.ok("pat", "list", m["user_id"])["result"], [])
        r = self.ok("pat", "add", m["user_id"], "--output-file", out,
                    "--force")
        with open(out) as f:
            SECRETS.append(f.read().strip())
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        self.assertEqual(os.listdir(self.dir).count("exists"), 1)
        self.assertTrue(r["tokenId"])

    def test_output_file_unwritable_dir(self):
        m = self.machine()
        # a path whose parent is a regular file fails even for root
        out = os.path.join(self.conf, "pat")
        self.fails(LOCAL, "pat", "add", m["user_id"], "--output-file", out)
        self.assertEqual(self.ok("pat", "list", m["user_id"])["result"], [])

    def test_disk_full_takes_the_secret_back_and_says_so(self):
        """A tiny tmpfs, full: the secret cannot be stored, so the new
        credential is removed on the server again, in so many words."""
        mnt = self.path("full")
        os.mkdir(mnt)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k",
                            "tmpfs", mnt], capture_output=True)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs here: %s" %
                          r.stderr.decode().strip())
        try:
            fd = os.open(os.path.join(mnt, "filler"),
                         os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                while os.write(fd, b"x" * 512) > 0:
                    pass
            except OSError:
                pass
            os.close(fd)
            m = self.machine()
            uid = m["user_id"]
            out = os.path.join(mnt, "secret")
            cases = (("key", "add", r"key \d+ removed again"),
                     ("pat", "add", r"token \d+ removed again"),
                     ("secret", "generate",
                      "the new secret was removed again; the machine "
                      "user now has no secret"))
            for group, verb, said in cases:
                with self.subTest(cmd=group + " " + verb):
                    p = self.fails(LOCAL, group, verb, uid,
                                   "--output-file", out)
                    self.assertIn("No space left", p.stderr)
                    self.assertRegex(p.stderr, said)
                    self.assertEqual(sorted(os.listdir(mnt)), ["filler"])
            self.assertEqual(self.ok("key", "list", uid)["result"], [])
            self.assertEqual(self.ok("pat", "list", uid)["result"], [])
            # no secret left: removing it again finds none
            self.fails(EXISTS, "secret", "remove", uid,
                       ident="COMMAND-coi82n")
        finally:
            subprocess.run(["umount", mnt])

    def test_no_secret_on_argv_or_stderr(self):
        self.fails(USAGE, "pat", "add", "1", "--token", "x")
        self.fails(USAGE, "--pat-token", "abc", "key", "list", "1")


class Access(Ctl):
    """No permission, the wrong org, bad credentials."""

    CALLS = [
        ("machine", "add", "{new}", "--name", "N"),
        ("machine", "update", "{uid}", "--name", "Other"),
        ("key", "add", "{uid}", "--show-secret"),
        ("key", "get", "{uid}", "{kid}"),
        ("key", "list", "{uid}"),
        ("key", "remove", "{uid}", "{kid}"),
        ("pat", "add", "{uid}", "--show-secret"),
        ("pat", "get", "{uid}", "{pid}"),
        ("pat", "list", "{uid}"),
        ("pat", "remove", "{uid}", "{pid}"),
        ("secret", "generate", "{uid}", "--show-secret"),
        ("secret", "remove", "{uid}"),
    ]

    def target(self):
        m = self.machine(key=True, pat=True)
        srv.generate_secret(m["user_id"])
        return {"uid": m["user_id"], "kid": m["key_id"], "pid": m["pat_id"],
                "new": "new-" + m["user_id"]}

    def args(self, call, t):
        return [a.format(**t) for a in call]

    def test_no_permission(self):
        t = self.target()
        weak = srv.create_machine(roles=())
        for call in self.CALLS:
            self.fails(DENIED, *self.args(call, t),
                       cred=["--key-file", weak["key_file"]],
                       ident="AUTH-5mWD2")
        # nothing changed
        self.ok("key", "get", t["uid"], t["kid"])
        self.ok("pat", "get", t["uid"], t["pid"])

    def test_wrong_org(self):
        t = self.target()
        # an org owner has no rights in another org
        for call in self.CALLS:
            self.fails(DENIED, *self.args(call, t), org=srv.other_org_id,
                       ident="AUTH-5mWD2")
        # an instance owner may act there, but the user is not in it
        iam = srv.create_machine(roles=("IAM_OWNER",))
        cred = ["--key-file", iam["key_file"]]
        expect = {"machine update": NOT_FOUND, "key add": NOT_FOUND,
                  "key get": NOT_FOUND, "key remove": NOT_FOUND,
                  "pat add": NOT_FOUND, "pat get": NOT_FOUND,
                  "pat remove": NOT_FOUND, "secret generate": NOT_FOUND,
                  "secret remove": NOT_FOUND}
        for call in self.CALLS[1:]:
            name = " ".join(call[:2])
            if name in ("key list", "pat list"):
                r = self.ok(*self.args(call, t), cred=cred,
                            org=srv.other_org_id)
                self.assertEqual(r["result"], [])
                continue
            self.fails(expect[name], *self.args(call, t), cred=cred,
                       org=srv.other_org_id)
        # the same user added in the other org really lands there
        r = self.ok(*self.args(self.CALLS[0], t), cred=cred,
                    org=srv.other_org_id)
        self.assertEqual(r["details"]["resourceOwner"], srv.other_org_id)
        self.ok("key", "get", t["uid"], t["kid"])
        self.fails(DENIED, "key", "list", t["uid"], org="no-such-org",
                   ident="AUTH-Bs7Ds")

    def test_credentials(self):
        self.fails(CONFIG, "key", "list", "1",
                   cred=["--key-file", self.path("missing.json")])
        loose = self.path("loose.json")
        with open(srv.admin_key_file) as f, open(loose, "w") as g:
            g.write(f.read())
        os.chmod(loose, 0o644)
        self.fails(CONFIG, "key", "list", "1", cred=["--key-file", loose])
        pf = self.path("loose-pat")
        with open(pf, "w") as f:
            f.write(srv.admin_pat())
        os.chmod(pf, 0o640)
        p = self.fails(CONFIG, "key", "list", "1", cred=["--pat-file", pf])
        self.assertIn("0640", p.stderr)
        bad = ztest.write_secret(self.path("bad-pat"), "not-a-token")
        self.fails(DENIED, "key", "list", "1", cred=["--pat-file", bad],
                   ident="AUTH-7fs1e")
        self.fails(CONFIG, "key", "list", "1", cred=[])
        self.fails(USAGE, "key", "list", "1",
                   cred=["--key-file", srv.admin_key_file, "--pat-file", bad])
        self.fails(CONFIG, "key", "list", "1", base=False)

    def test_environment_and_network(self):
        m = self.machine()
        p = self.ctl("--output", "json", "key", "list", m["user_id"],
                     base=False,
                     env={"ZITADEL_ISSUER": srv.issuer,
                          "ZITADEL_CA_FILE": srv.ca_file,
                          "ZITADEL_PAT_FILE": srv.admin_pat_file,
                          "ZITADEL_CONFIG": self.conf})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["result"], [])
        # the server's certificate is not trusted without the test CA
        self.fails(NETWORK, "key", "list", m["user_id"], base=False,
                   env={"ZITADEL_ISSUER": srv.issuer,
                        "ZITADEL_PAT_FILE": srv.admin_pat_file,
                        "ZITADEL_CONFIG": self.conf})
        srv.fault("/management/v1/users/*", "status", status=500, count=10)
        try:
            self.fails(SERVER, "key", "get", m["user_id"], "1", "--timeout",
                       "20")
        finally:
            srv.clear_faults()
        srv.fault("/management/v1/users/*", "malformed", count=10)
        try:
            self.fails(SERVER, "key", "get", m["user_id"], "1")
        finally:
            srv.clear_faults()


class Cli(Ctl):
    def test_help_and_version(self):
        p = self.ctl("--help", base=False)
        self.assertEqual(p.returncode, 0)
        self.assertIn("Exit codes", p.stdout)
        p = self.ctl("key", "add", "--help", base=False)
        self.assertEqual(p.returncode, 0)
        self.assertIn("--output-file", p.stdout)
        self.assertTrue(p.stdout.startswith("Usage: zitadelctl [OPTIONS] "
                                            "key add"))
        p = self.ctl("help", "pat", "list", base=False)
        self.assertEqual(p.returncode, 0)
        self.assertIn("ListPersonalAccessTokens", p.stdout)
        p = self.ctl("--version", base=False)
        self.assertEqual(p.returncode, 0)
        self.assertTrue(p.stdout.startswith("zitadelctl "))
        self.assertEqual(self.ctl("version", base=False).returncode, 0)
        self.fails(USAGE, base=False)
        self.fails(USAGE, "frobnicate", base=False)
        self.fails(USAGE, "key", "frob", base=False)
        self.fails(USAGE, "key", "get", "1", "2", "--name", "x")
        self.fails(USAGE, "--output", "yaml", "key", "list", "1")
        self.fails(USAGE, "--timeout", "0", "key", "list", "1")

    def test_timeout_range_matches_the_config_file(self):
        for bad in ("601", "86400", " 5", "5 ", "+5", "5s"):
            with self.subTest(timeout=bad):
                p = self.fails(USAGE, "--timeout", bad, "key", "list", "1")
                self.assertIn("1 to 600", p.stderr)
        m = self.machine()
        for good in ("1", "600"):
            self.ok("--timeout", good, "key", "list", m["user_id"])
        self.assertRegex(self.ctl("--help", base=False).stdout,
                         r"--timeout SECONDS .*\(1-600\)")

    def test_group_usage(self):
        groups = {"machine": ("machine add", "machine update"),
                  "key": ("key add", "key get", "key list", "key remove",
                          "key rotate"),
                  "pat": ("pat add", "pat get", "pat list", "pat remove"),
                  "secret": ("secret generate", "secret remove")}
        for group, cmds in groups.items():
            with self.subTest(group=group):
                for args in ((group, "--help"), ("--help", group),
                             ("help", group)):
                    p = self.ctl(*args, base=False)
                    self.assertEqual((p.returncode, p.stderr), (0, ""))
                    self.assertTrue(p.stdout.startswith(
                        "Usage: zitadelctl [OPTIONS] %s COMMAND" % group),
                        p.stdout)
                    for cmd in cmds:
                        self.assertIn("\n  %s " % cmd, p.stdout)
                    self.assertNotIn("enroll", p.stdout)
                p = self.ctl(group, base=False)
                self.assertEqual((p.returncode, p.stdout), (USAGE, ""))
                self.assertTrue(p.stderr.startswith(
                    "zitadelctl: %s: which command?\n" % group), p.stderr)
                for cmd in cmds:
                    self.assertIn("\n  %s " % cmd, p.stderr)
        # an unknown verb in a group stays an unknown command
        p = self.fails(USAGE, "help", "key", "frob", base=False)
        self.assertIn("key frob", p.stderr)

    def shell(self, redirect, *args):
        """Run zitadelctl with a shell redirection applied first."""
        argv = ["sh", "-c", 'exec "$@" ' + redirect, "sh", CTL,
                "--issuer", srv.issuer, "--ca-file", srv.ca_file,
                "--config", self.conf, "--key-file", srv.admin_key_file]
        p = ztest.run(argv + list(args), env=clean_env(self.dir))
        STDERR.append(p.stderr)
        return p

    def test_closed_or_full_stdout_fails(self):
        m = self.machine()
        for redirect, why in ((">&-", "Bad file descriptor"),
                              (">/dev/full", "No space left on device")):
            for args in (("--help",), ("help", "key", "list"),
                         ("version",), ("key", "list", m["user_id"]),
                         ("--output", "json", "key", "list", m["user_id"])):
                with self.subTest(redirect=redirect, args=args):
                    p = self.shell(redirect, *args)
                    self.assertEqual(p.returncode, LOCAL, p.stderr)
                    self.assertEqual(len(p.stderr.splitlines()), 1,
                                     p.stderr)
                    self.assertIn("writing the output: " + why, p.stderr)
        p = self.shell(">/dev/full", "--help")
        self.assertEqual(p.stderr, "zitadelctl: writing the output: "
                         "No space left on device\n")

    def test_closed_stdin_and_stderr(self):
        m = self.machine()
        p = self.shell("<&- 2>&-", "--output", "json", "key", "list",
                       m["user_id"])
        self.assertEqual(p.returncode, 0)
        self.assertEqual(json.loads(p.stdout)["result"], [])
        p = self.shell("<&- 2>&-", "key", "frob")
        self.assertEqual((p.returncode, p.stdout), (USAGE, ""))

    def test_options_after_command(self):
        m = self.machine()
        p = ztest.run([CTL, "key", "list", m["user_id"], "--issuer",
                       srv.issuer, "--output", "json", "--ca-file",
                       srv.ca_file, "--pat-file", srv.admin_pat_file,
                       "--config", self.conf], env=clean_env(self.dir))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["result"], [])

    def test_profile(self):
        conf = self.path("client.conf")
        with open(conf, "w") as f:
            f.write("[profile admin]\nissuer = %s\nkey_file = %s\n"
                    "ca_file = %s\n" % (srv.issuer, srv.admin_key_file,
                                        srv.ca_file))
        m = self.machine()
        p = ztest.run([CTL, "--config", conf, "--profile", "admin",
                       "--output", "json", "key", "list", m["user_id"]],
                      env=clean_env(self.dir))
        self.assertEqual(p.returncode, 0, p.stderr)
        p = ztest.run([CTL, "--config", conf, "--profile", "nope", "key",
                       "list", m["user_id"]], env=clean_env(self.dir))
        self.assertEqual(p.returncode, CONFIG, p.stderr)

    def test_verbose_logs_no_secret(self):
        m = self.machine()
        out = self.path("v-pat")
        p = self.ctl("--verbose", "--pat-file", srv.admin_pat_file, "pat",
                     "add", m["user_id"], "--output-file", out, cred=[])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("/pats", p.stderr)
        with open(out) as f:
            SECRETS.append(f.read().strip())
        SECRETS.append(srv.admin_pat())
        self.assertEqual(ztest.find_leaks(SECRETS, texts=[p.stderr,
                                                          p.stdout]), [])


class ZZLeaks(unittest.TestCase):
    """Runs last: no secret seen by any test reached any stderr."""

    def test_no_secret_on_stderr(self):
        self.assertEqual(ztest.find_leaks(SECRETS, texts=STDERR), [])


if __name__ == "__main__":
    unittest.main()
