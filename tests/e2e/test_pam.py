"""pam_zitadel.so through real libpam (pam_wrapper) against the test server:
auth results for good, bad and broken cases, option handling, and session
PATs with their files."""
import json
import os
import pwd
import ssl
import stat
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "pam"))
import pamlib  # noqa: E402
from pamlib import ztest  # noqa: E402

pamlib.skip_unless_ready()

SRV = None


def setUpModule():
    global SRV
    SRV = ztest.Server()
    SRV.__enter__()


def tearDownModule():
    SRV.__exit__(None, None, None)


def mgmt(method, path, body=None):
    """A management call with the admin's PAT, for checking server state."""
    with open(SRV.admin_pat_file) as f:
        pat = f.read().strip()
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(SRV.issuer + "/management/v1" + path, data=data,
                                 method=method)
    req.add_header("Authorization", "Bearer " + pat)
    req.add_header("x-zitadel-orgid", SRV.org_id)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    ctx = ssl.create_default_context(cafile=SRV.ca_file)
    with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def pat_ids(user_id):
    return {p["id"] for p in mgmt("POST", "/users/%s/pats/_search" % user_id, {})
            .get("result", [])}


class Auth(unittest.TestCase):
    def setUp(self):
        SRV.clear_faults()
        SRV.set_clock_offset(0)
        self.pam = pamlib.Pam(SRV)
        self.m = SRV.create_machine()
        self.user = self.m["username"]
        self.token = SRV.issue_token(self.m["user_id"], scope=ztest.PAM_SCOPE)
        # Login names are username@domain; the local part counts only when
        # require_org pins the org.
        self.conf = self.pam.config(require_org=SRV.org_id)
        self.svc = self.pam.simple("", self.conf)

    def auth(self, svc=None, user=None, reply=None, conv=None, ops=("auth",),
             **kw):
        if reply is None and conv is None:
            reply = self.token
        res, p = self.pam.run(svc or self.svc, user or self.user, ops, reply=reply,
                              conv=conv, **kw)
        secrets = [self.token, reply if isinstance(reply, str) and len(reply) > 8
                   else self.token]
        with open(SRV.app_client_secret_file) as f:
            secrets.append(f.read().strip())
        self.assertEqual(ztest.find_leaks(secrets, texts=(p.stdout, p.stderr)),
                         [], "secret leaked")
        return res, p

    def assertAuth(self, code, **kw):
        res, p = self.auth(**kw)
        self.assertEqual(res.get("auth"), code, p.stdout + p.stderr)
        return res, p

    def test_valid_token_admits(self):
        res, p = self.assertAuth("PAM_SUCCESS", ops=("auth", "acct", "setcred"))
        self.assertEqual(res["acct"], "PAM_SUCCESS")
        self.assertEqual(res["setcred"], "PAM_SUCCESS")

    def test_require_org_needs_the_resourceowner_scope(self):
        """An active token whose scope lacks urn:zitadel:iam:user:resourceowner
        carries no org claim, so require_org cannot hold (pam_zitadel(8))."""
        tok = SRV.issue_token(self.m["user_id"], scope=ztest.DEFAULT_SCOPE)
        self.assertTrue(SRV.token_active(tok))
        self.assertAuth("PAM_AUTH_ERR", reply=tok)

    def test_debug_logs_facts_not_secrets(self):
        svc = self.pam.simple("debug", self.conf)
        res, p = self.assertAuth("PAM_SUCCESS", svc=svc)
        self.assertIn("active=1 sub=%s" % self.m["user_id"], p.stderr)
        res, p = self.assertAuth("PAM_AUTH_ERR", svc=svc, reply="unknown-token-123")
        self.assertIn("token not active", p.stderr)

    def test_pat_admits_and_removed_pat_denies(self):
        m = SRV.create_machine(pat=True)
        self.assertAuth("PAM_SUCCESS", user=m["username"], reply=m["pat"])
        for pid in pat_ids(m["user_id"]):
            mgmt("DELETE", "/users/%s/pats/%s" % (m["user_id"], pid))
        self.assertAuth("PAM_AUTH_ERR", user=m["username"], reply=m["pat"])

    def test_full_login_name_without_org(self):
        svc = self.pam.simple("")
        self.assertAuth("PAM_AUTH_ERR", svc=svc)  # local part not enough

    def test_other_user_denied(self):
        res, p = self.assertAuth("PAM_AUTH_ERR", user="root", ops=("auth", "acct"))
        self.assertNotEqual(res["acct"], "PAM_SUCCESS")
        self.assertIn("does not name this user", p.stderr)

    def test_unknown_token_denied(self):
        self.assertAuth("PAM_AUTH_ERR", reply="not-a-token-at-all")

    def test_expired_token_denied(self):
        m = SRV.create_machine(pat=True, pat_expires=-60)
        self.assertAuth("PAM_AUTH_ERR", user=m["username"], reply=m["pat"])
        # Moving the server clock would also expire our client assertion,
        # so introspect with client_secret_basic here.
        conf = self.pam.config(app_key_file=None, require_org=SRV.org_id,
                               client_id=SRV.app_client_id,
                               client_secret_file=SRV.app_client_secret_file)
        tok = SRV.issue_token(self.m["user_id"], lifetime=1,
                               scope=ztest.PAM_SCOPE)
        svc = self.pam.simple("", conf)
        self.assertAuth("PAM_SUCCESS", svc=svc, reply=tok)
        SRV.set_clock_offset(3600)
        self.assertAuth("PAM_AUTH_ERR", svc=svc, reply=tok)
        SRV.set_clock_offset(0)

    def test_wrong_org_and_missing_role_denied(self):
        svc = self.pam.simple("", self.pam.config(require_org=SRV.other_org_id))
        self.assertAuth("PAM_AUTH_ERR", svc=svc)
        svc = self.pam.simple("require_role=nosuchrole", self.conf)
        self.assertAuth("PAM_AUTH_ERR", svc=svc)

    def test_client_secret_basic(self):
        conf = self.pam.config(app_key_file=None, require_org=SRV.org_id,
                               client_id=SRV.app_client_id,
                               client_secret_file=SRV.app_client_secret_file)
        self.assertAuth("PAM_SUCCESS", svc=self.pam.simple("", conf))

    def test_map_file(self):
        mapf = pamlib.write(os.path.join(self.pam.dir, "map"),
                            "# zitadel id  local user\n%s alice\n%s bob\n"
                            % (self.m["user_id"], "999"), 0o644)
        svc = self.pam.simple("map_file=%s" % mapf)
        self.assertAuth("PAM_SUCCESS", svc=svc, user="alice")
        self.assertAuth("PAM_AUTH_ERR", svc=svc, user="bob")
        self.assertAuth("PAM_USER_UNKNOWN", svc=svc, user="carol")
        os.chmod(mapf, 0o666)
        self.assertAuth("PAM_AUTHINFO_UNAVAIL", svc=svc, user="alice")
        os.chmod(mapf, 0o644)
        pamlib.write(mapf, "just-one-field\n", 0o644)
        self.assertAuth("PAM_SERVICE_ERR", svc=svc, user="alice")

    def test_server_failures_unavailable(self):
        path = "/oauth/v2/introspect"
        for kind, kw in (("status", {"status": 500}), ("malformed", {}),
                         ("drop", {}), ("truncate", {})):
            with self.subTest(kind=kind):
                SRV.clear_faults()
                SRV.fault(path, kind, count=100, **kw)
                self.assertAuth("PAM_AUTHINFO_UNAVAIL")
        SRV.clear_faults()

    def test_slower_than_budget_unavailable(self):
        svc = self.pam.simple("timeout=2", self.conf)
        SRV.fault("/oauth/v2/introspect", "hang", count=100)
        # The driver's own timeout (60 s) is far above the budget: a hang
        # past the budget fails the test by TimeoutExpired.
        self.assertAuth("PAM_AUTHINFO_UNAVAIL", svc=svc, timeout=60)
        SRV.clear_faults()

    def test_server_down_unavailable(self):
        pam = pamlib.Pam(None)
        conf = pam.config(ca_file=SRV.ca_file, app_key_file=SRV.app_key_file)
        res, p = pam.run(pam.simple("", conf), self.user, ["auth"], reply=self.token)
        self.assertEqual(res["auth"], "PAM_AUTHINFO_UNAVAIL", p.stderr)

    def test_missing_credential_file_unavailable(self):
        conf = self.pam.config(app_key_file="/nonexistent/key.json")
        self.assertAuth("PAM_AUTHINFO_UNAVAIL", svc=self.pam.simple("", conf))

    def test_conversation_oddities_deny_without_asking_server(self):
        SRV.reset_counts()
        cases = [("PAM_AUTH_ERR", {"reply": ""}),
                 ("PAM_AUTH_ERR", {"reply": "a" * (64 * 1024)}),
                 ("PAM_AUTH_ERR", {"reply": self.token.encode() + b"\xff\xfe"}),
                 ("PAM_AUTH_ERR", {"reply": "\u00e9" + self.token}),
                 ("PAM_AUTH_ERR", {"reply": self.token + " "}),
                 ("PAM_CONV_ERR", {"conv": "null-string"}),
                 ("PAM_CONV_ERR", {"conv": "null-array"}),
                 ("PAM_CONV_ERR", {"conv": "error"})]
        for code, kw in cases:
            with self.subTest(kw=str(kw)[:40]):
                self.assertAuth(code, **kw)
        self.assertEqual(SRV.count("/oauth/v2/introspect"), 0)

    def stacked(self, args):
        """pam_wrapper's pam_set_items sets PAM_AUTHTOK from its environment
        before our module runs, as a password module would."""
        return self.pam.service([
            "auth required %s" % pamlib.PAM_SET_ITEMS,
            "auth required MODULE config=%s %s" % (self.conf, args)])

    def test_use_first_pass(self):
        svc = self.pam.simple("use_first_pass", self.conf)
        self.assertAuth("PAM_AUTH_ERR", svc=svc)  # nothing stacked: no prompt
        svc = self.stacked("use_first_pass")
        self.assertAuth("PAM_SUCCESS", svc=svc, conv="error",
                        extra={"PAM_AUTHTOK": self.token})
        self.assertAuth("PAM_AUTH_ERR", svc=svc, conv="error",
                        extra={"PAM_AUTHTOK": "wrong"})

    def test_try_first_pass(self):
        svc = self.pam.simple("try_first_pass", self.conf)
        self.assertAuth("PAM_SUCCESS", svc=svc)  # prompts when none stacked
        svc = self.stacked("try_first_pass")
        self.assertAuth("PAM_SUCCESS", svc=svc, conv="error",
                        extra={"PAM_AUTHTOK": self.token})

    def test_sufficient_then_deny_never_admits_on_error(self):
        def stack(args, conf=None):
            return self.pam.service([
                "auth sufficient MODULE config=%s %s" % (conf or self.conf, args),
                "auth required PAM_DENY"])
        good = stack("")
        self.assertAuth("PAM_SUCCESS", svc=good)
        pam_down = pamlib.Pam(None)
        down = stack("", pam_down.config(ca_file=SRV.ca_file,
                                         app_key_file=SRV.app_key_file))
        cases = [dict(user="root"), dict(reply="bogus"), dict(reply=""),
                 dict(conv="null-string"), dict(conv="null-array"), dict(conv="error"),
                 dict(reply="x" * 70000), dict(reply=b"\xff" * 10),
                 dict(svc=stack("bogus_option")), dict(svc=stack("timeout=notanumber")),
                 dict(svc=stack("use_first_pass")), dict(svc=down),
                 dict(svc=stack("require_org=%s" % SRV.other_org_id))]
        for kw in cases:
            with self.subTest(kw=str(kw)[:60]):
                kw.setdefault("svc", good)
                res, p = self.auth(**kw)
                self.assertNotEqual(res.get("auth"), "PAM_SUCCESS", p.stderr)
                self.assertNotEqual(res.get("auth"), "PAM_IGNORE", p.stderr)
        for kind in ("status", "malformed"):
            SRV.fault("/oauth/v2/introspect", kind, status=500, count=100)
            res, p = self.auth(svc=good)
            self.assertNotEqual(res.get("auth"), "PAM_SUCCESS", p.stderr)
            SRV.clear_faults()

    def test_bad_options_service_error(self):
        for args in ("bogus", "nosuchkey=1", "timeout=abc", "config=/nonexistent/x.conf",
                     "use_first_pass try_first_pass"):
            with self.subTest(args=args):
                if args.startswith("config="):
                    svc = self.pam.service(["%s required MODULE %s" % (st, args)
                                            for st in ("auth", "account",
                                                       "session")])
                else:
                    svc = self.pam.simple(args, self.conf)
                res, p = self.auth(svc=svc, ops=("auth", "acct", "setcred", "open"))
                for op in ("auth", "acct", "setcred", "open"):
                    self.assertEqual(res[op], "PAM_SERVICE_ERR", (op, p.stderr))

    def test_insecure_config_file_refused(self):
        os.chmod(self.conf, 0o666)
        self.assertAuth("PAM_SERVICE_ERR")

    def test_chauthtok_and_unauthenticated_account(self):
        res, p = self.auth(ops=("chauthtok",))
        self.assertEqual(res["chauthtok"], "PAM_SERVICE_ERR")
        # No auth through the module in this handle: no opinion, and a
        # stack with nothing else in it fails.
        res, p = self.auth(ops=("acct",))
        self.assertNotEqual(res["acct"], "PAM_SUCCESS")


class Session(unittest.TestCase):
    USER = "nobody"

    def setUp(self):
        SRV.clear_faults()
        SRV.set_clock_offset(0)
        self.pam = pamlib.Pam(SRV)
        self.m = SRV.create_machine()
        self.pw = pwd.getpwnam(self.USER)
        self.tokdir = os.path.join(self.pam.dir, "run-zitadel")
        self.mapf = pamlib.write(os.path.join(self.pam.dir, "map"),
                                 "%s %s\n" % (self.m["user_id"], self.USER), 0o644)
        self.conf = self.pam.config(admin_pat_file=SRV.admin_pat_file,
                                    org=SRV.org_id, map_file=self.mapf,
                                    token_dir=self.tokdir)

    def run_ops(self, ops, svc=None, **kw):
        res, p = self.pam.run(svc or self.pam.simple("", self.conf), self.USER, ops,
                              conv="error", **kw)
        return res, p

    def test_open_then_close_in_other_process(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to give files to another user")
        svc = self.pam.simple("", self.conf)
        res, p = self.run_ops(["open"], svc=svc)
        self.assertEqual(res["open"], "PAM_SUCCESS", p.stderr)
        path = os.path.join(self.tokdir, str(self.pw.pw_uid), "token")
        self.assertEqual(res["env"], "ZITADEL_TOKEN_FILE=" + path)
        st = os.lstat(path)
        self.assertTrue(stat.S_ISREG(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_uid, self.pw.pw_uid)
        dst = os.lstat(os.path.dirname(path))
        self.assertEqual(stat.S_IMODE(dst.st_mode), 0o700)
        self.assertEqual(dst.st_uid, self.pw.pw_uid)
        self.assertEqual(os.lstat(self.tokdir).st_uid, 0)
        with open(path) as f:
            pat = f.read().strip()
        self.assertTrue(SRV.token_active(pat))
        self.assertEqual(len(pat_ids(self.m["user_id"])), 1)
        self.assertEqual(ztest.find_leaks([pat], texts=(p.stdout, p.stderr)), [])

        res, p = self.run_ops(["close"], svc=svc)
        self.assertEqual(res["close"], "PAM_SUCCESS", p.stderr)
        self.assertEqual(pat_ids(self.m["user_id"]), set())
        self.assertFalse(SRV.token_active(pat))
        self.assertFalse(os.path.exists(path))

    def test_open_close_one_handle(self):
        res, p = self.run_ops(["open", "close"])
        self.assertEqual(res["open"], "PAM_SUCCESS", p.stderr)
        self.assertEqual(res["close"], "PAM_SUCCESS", p.stderr)
        self.assertEqual(pat_ids(self.m["user_id"]), set())

    def test_open_close_with_admin_key(self):
        conf = self.pam.config(admin_key_file=SRV.admin_key_file, org=SRV.org_id,
                               map_file=self.mapf, token_dir=self.tokdir)
        res, p = self.run_ops(["open", "close"], svc=self.pam.simple(
            "required_credential", conf))
        self.assertEqual(res["open"], "PAM_SUCCESS", p.stderr)
        self.assertEqual(res["close"], "PAM_SUCCESS", p.stderr)
        self.assertIn("env", res)
        self.assertEqual(pat_ids(self.m["user_id"]), set())

    def test_forged_session_record_ignored(self):
        """The user owns token_dir/<uid>; a token.id they wrote must not make
        close_session revoke somebody else's PAT."""
        if os.geteuid() != 0:
            self.skipTest("needs root to give files to another user")
        victim = SRV.create_machine(pat=True)
        (victim_pat,) = pat_ids(victim["user_id"])
        svc = self.pam.simple("", self.conf)
        res, p = self.run_ops(["open"], svc=svc)
        self.assertEqual(res["open"], "PAM_SUCCESS", p.stderr)
        side = os.path.join(self.tokdir, str(self.pw.pw_uid), "token.id")
        os.unlink(side)
        pamlib.write(side, "%s %s\n" % (victim["user_id"], victim_pat))
        os.chown(side, self.pw.pw_uid, self.pw.pw_gid)
        res, p = self.run_ops(["close"], svc=svc)
        self.assertEqual(res["close"], "PAM_SUCCESS", p.stderr)
        self.assertEqual(pat_ids(victim["user_id"]), {victim_pat})
        # even root-owned, a record naming another zitadel user is refused
        os.chown(side, 0, 0)
        res, p = self.run_ops(["close"], svc=svc)
        self.assertEqual(pat_ids(victim["user_id"]), {victim_pat})
        self.assertIn("names another zitadel user", p.stderr)

    def test_symlinked_user_dir_refused(self):
        os.mkdir(self.tokdir, 0o755)
        target = ztest.tmpdir()
        os.symlink(target, os.path.join(self.tokdir, str(self.pw.pw_uid)))
        svc = self.pam.simple("required_credential", self.conf)
        res, p = self.run_ops(["open"], svc=svc)
        self.assertEqual(res["open"], "PAM_SESSION_ERR", p.stderr)
        self.assertEqual(os.listdir(target), [])
        self.assertEqual(pat_ids(self.m["user_id"]), set())

    def test_server_down(self):
        pam = pamlib.Pam(None)
        conf = pam.config(ca_file=SRV.ca_file, admin_pat_file=SRV.admin_pat_file,
                          map_file=self.mapf, token_dir=self.tokdir)
        res, p = pam.run(pam.simple("required_credential", conf), self.USER,
                         ["open"], conv="error")
        self.assertEqual(res["open"], "PAM_SESSION_ERR", p.stderr)
        res, p = pam.run(pam.simple("", conf), self.USER, ["open"], conv="error")
        self.assertEqual(res["open"], "PAM_SUCCESS", p.stderr)
        self.assertNotIn("env", res)

    def test_unmapped_user_opens_plainly(self):
        res, p = self.pam.run(self.pam.simple("required_credential", self.conf),
                              "root", ["open", "close"], conv="error")
        self.assertEqual(res["open"], "PAM_SUCCESS", p.stderr)
        self.assertEqual(res["close"], "PAM_SUCCESS", p.stderr)
        self.assertNotIn("env", res)


if __name__ == "__main__":
    unittest.main()
