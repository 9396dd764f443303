"""Tests of the test Zitadel server itself (tests/server/zitadel_server.py).

The product's end-to-end tests trust this server to behave like Zitadel, so
each rule it mimics (assertion checks, error bodies, orgs, permissions,
faults) is checked here against the reference, with PyJWT as the client.
"""

import base64
import concurrent.futures
import http.client
import json
import os
import socket
import ssl
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.environ.get("ZT_SRCDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", ".."), "tests", "lib"))
import ztest  # noqa: E402

import jwt  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
INTERNAL = {"error": "server_error", "error_description": "Errors.Internal"}

srv = None


def setUpModule():
    global srv
    srv = ztest.Server()


def tearDownModule():
    srv.stop()


def load(path):
    with open(path) as f:
        return json.load(f)


def assertion(keyfile, aud=None, iat_delta=0.0, exp_delta=60.0, kid=None, iss=None,
              sub=None, claims=None, key=None):
    k = load(keyfile) if isinstance(keyfile, str) else keyfile
    who = k.get("userId") or k.get("clientId")
    now = time.time()
    body = {"iss": who if iss is None else iss, "sub": who if sub is None else sub,
            "aud": srv.issuer if aud is None else aud,
            "iat": int(now + iat_delta) if float(iat_delta).is_integer()
            else now + iat_delta,
            "exp": int(now + exp_delta)}
    body.update(claims or {})
    return jwt.encode(body, key or k["key"], algorithm="RS256",
                      headers={"kid": k["keyId"] if kid is None else kid})


def token_request(a, scope=ztest.DEFAULT_SCOPE):
    form = {"grant_type": JWT_BEARER, "assertion": a}
    if scope is not None:
        form["scope"] = scope
    return srv.request("POST", "/oauth/v2/token", form=form)


def basic(client_id, secret):
    raw = "%s:%s" % (urllib.parse.quote_plus(client_id), urllib.parse.quote_plus(secret))
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


def app_basic():
    with open(srv.app_client_secret_file) as f:
        return basic(srv.app_client_id, f.read())


def admin_token():
    return srv.issue_token(srv.admin_user_id)


def mgmt(method, path, body=None, token=None, org=None, headers=None):
    h = dict(headers or {})
    if org:
        h["x-zitadel-orgid"] = org
    return srv.request(method, "/management/v1" + path, body=body,
                       token=admin_token() if token is None else token, headers=h)


class Bootstrap(unittest.TestCase):
    def test_files_and_modes(self):
        for p in (srv.admin_key_file, srv.admin_pat_file, srv.app_key_file,
                  srv.app_client_secret_file):
            self.assertEqual(os.stat(p).st_mode & 0o777, 0o600, p)
        self.assertEqual(os.stat(srv.dir).st_mode & 0o777, 0o700)
        self.assertTrue(srv.issuer.startswith("https://127.0.0.1:"))
        self.assertFalse(srv.issuer.endswith("/"))
        self.assertEqual(srv.issuer, "https://127.0.0.1:%d" % srv.port)
        for i in (srv.org_id, srv.other_org_id, srv.project_id, srv.admin_user_id):
            self.assertRegex(i, r"^\d{18}$")

    def test_key_file_format(self):
        with open(srv.admin_key_file) as f:
            text = f.read()
        k = json.loads(text)
        self.assertEqual(list(k), ["type", "keyId", "key", "expirationDate", "userId"])
        self.assertEqual(k["type"], "serviceaccount")
        self.assertEqual(k["userId"], srv.admin_user_id)
        self.assertEqual(k["expirationDate"], "9999-12-31T23:59:59Z")
        self.assertTrue(k["key"].startswith("-----BEGIN RSA PRIVATE KEY-----\n"))
        key = serialization.load_pem_private_key(k["key"].encode(), None)
        self.assertEqual(key.key_size, 2048)
        a = load(srv.app_key_file)
        self.assertEqual(list(a), ["type", "keyId", "key", "appId", "clientId"])
        self.assertEqual(a["type"], "application")
        self.assertEqual(a["clientId"], srv.app_client_id)
        with open(srv.admin_pat_file) as f:
            self.assertNotIn("\n", f.read())

    def test_tls_and_discovery(self):
        st, _, d = srv.request("GET", "/.well-known/openid-configuration")
        self.assertEqual(st, 200)
        self.assertEqual(d["issuer"], srv.issuer)
        for k, p in (("token_endpoint", "/oauth/v2/token"),
                     ("introspection_endpoint", "/oauth/v2/introspect"),
                     ("jwks_uri", "/oauth/v2/keys"),
                     ("revocation_endpoint", "/oauth/v2/revoke"),
                     ("userinfo_endpoint", "/oidc/v1/userinfo")):
            self.assertEqual(d[k], srv.issuer + p)
        # The certificate is for 127.0.0.1 and localhost, signed by ca.pem only.
        ctx = ssl.create_default_context(cafile=srv.ca_file)
        for host in ("127.0.0.1", "localhost"):
            with socket.create_connection(("127.0.0.1", srv.port)) as s:
                with ctx.wrap_socket(s, server_hostname=host):
                    pass
        with socket.create_connection(("127.0.0.1", srv.port)) as s:
            with self.assertRaises(ssl.SSLCertVerificationError):
                ssl.create_default_context().wrap_socket(s, server_hostname="127.0.0.1")

    def test_routing_errors(self):
        self.assertEqual(srv.request("GET", "/nope")[::2], (404, {"code": 5,
                                                                "message": "Not Found"}))
        st, _, d = srv.request("GET", "/oauth/v2/token")
        self.assertEqual((st, d["code"]), (405, 12))
        st, _, d = mgmt("GET", "/users/%s/keys" % srv.admin_user_id)
        self.assertEqual((st, d), (405, {"code": 12, "message": "Method Not Allowed"}))
        st, _, d = mgmt("GET", "/orgs/me")
        self.assertEqual((st, d), (404, {"code": 5, "message": "Not Found"}))


class Assertion(unittest.TestCase):
    """Zitadel's JWT-profile rules (reference §4.3); failures are 500."""

    @classmethod
    def setUpClass(cls):
        cls.m = srv.create_machine()

    def ok(self, a):
        st, _, d = token_request(a)
        self.assertEqual(st, 200, d)
        return d

    def bad(self, a):
        st, _, d = token_request(a)
        self.assertEqual((st, d), (500, INTERNAL))

    def test_valid(self):
        d = self.ok(assertion(self.m["key_file"]))
        self.assertEqual(d["token_type"], "Bearer")
        self.assertEqual(d["expires_in"], 43200)
        self.assertIn("id_token", d)
        self.assertTrue(srv.token_active(d["access_token"]))
        idt = jwt.decode(d["id_token"], options={"verify_signature": False})
        self.assertEqual(idt["sub"], self.m["user_id"])

    def test_aud_array_and_iat_in_past(self):
        self.ok(assertion(self.m["key_file"], aud=["other", srv.issuer]))
        self.ok(assertion(self.m["key_file"], iat_delta=-3500))

    def test_wrong_kid(self):
        self.bad(assertion(self.m["key_file"], kid="12345"))
        self.bad(assertion(self.m["key_file"], kid=srv.info["admin_key_id"]))

    def test_no_kid(self):
        k = load(self.m["key_file"])
        now = int(time.time())
        self.bad(jwt.encode({"iss": k["userId"], "sub": k["userId"], "aud": srv.issuer,
                             "iat": now, "exp": now + 60}, k["key"], algorithm="RS256"))

    def test_iss_sub(self):
        self.bad(assertion(self.m["key_file"], sub=srv.admin_user_id))
        self.bad(assertion(self.m["key_file"], iss=srv.admin_user_id,
                           sub=srv.admin_user_id))
        self.bad(assertion(self.m["key_file"], iss=self.m["username"],
                           sub=self.m["username"]))

    def test_aud(self):
        self.bad(assertion(self.m["key_file"], aud=srv.issuer + "/"))
        self.bad(assertion(self.m["key_file"], aud=srv.issuer + "/oauth/v2/token"))
        self.bad(assertion(self.m["key_file"], aud=[]))

    def test_iat(self):
        self.bad(assertion(self.m["key_file"], iat_delta=3))
        self.ok(assertion(self.m["key_file"], iat_delta=0.5))
        self.bad(assertion(self.m["key_file"], iat_delta=-7200, exp_delta=60))
        k = load(self.m["key_file"])
        now = int(time.time())
        self.bad(jwt.encode({"iss": k["userId"], "sub": k["userId"], "aud": srv.issuer,
                             "exp": now + 60}, k["key"], algorithm="RS256",
                            headers={"kid": k["keyId"]}))

    def test_exp(self):
        self.bad(assertion(self.m["key_file"], exp_delta=-10))
        self.bad(assertion(self.m["key_file"], exp_delta=0))
        self.ok(assertion(self.m["key_file"], exp_delta=10 * 365 * 86400))

    def test_server_clock(self):
        srv.set_clock_offset(-600)
        try:
            self.bad(assertion(self.m["key_file"]))
            self.ok(assertion(self.m["key_file"], iat_delta=-600))
        finally:
            srv.set_clock_offset(0)

    def test_removed_key(self):
        m = srv.create_machine()
        a = assertion(m["key_file"])
        self.ok(a)
        srv.remove_key(m["user_id"], m["key_id"])
        self.bad(a)

    def test_expired_key(self):
        m = srv.create_machine(key_expires=-60)
        self.bad(assertion(m["key_file"]))
        m = srv.create_machine(key_expires=3600)
        self.ok(assertion(m["key_file"]))

    def test_bad_signature(self):
        a = assertion(self.m["key_file"])
        head, body, sig = a.split(".")
        sig = ("A" if sig[0] != "A" else "B") + sig[1:]
        self.bad("%s.%s.%s" % (head, body, sig))
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.bad(assertion(self.m["key_file"], key=other))
        self.bad("not.a.jwt")
        self.bad(assertion(self.m["key_file"], claims={"iat": float("nan")}))
        # alg none and HS256 keyed with the public key are refused.
        k = load(self.m["key_file"])
        now = int(time.time())
        claims = {"iss": k["userId"], "sub": k["userId"], "aud": srv.issuer,
                  "iat": now, "exp": now + 60}
        self.bad(jwt.encode(claims, None, algorithm="none", headers={"kid": k["keyId"]}))

    def test_application_key_refused(self):
        self.bad(assertion(srv.app_key_file))

    def test_parameter_errors(self):
        st, _, d = token_request(assertion(self.m["key_file"]), scope=None)
        self.assertEqual(st, 400)
        self.assertEqual(d["error"], "invalid_request")
        self.assertTrue(d["error_description"].startswith(
            "The scope of your request is missing"))
        st, _, d = token_request(assertion(self.m["key_file"]), scope="")
        self.assertEqual((st, d["error"]), (400, "invalid_request"))
        st, _, d = srv.request("POST", "/oauth/v2/token",
                               form={"grant_type": JWT_BEARER, "scope": "openid"})
        self.assertEqual((st, d), (400, {"error": "invalid_request",
                                         "error_description": "assertion missing"}))
        st, _, d = srv.request("POST", "/oauth/v2/token", form={"grant_type": "password"})
        self.assertEqual((st, d["error"]), (400, "unsupported_grant_type"))
        st, _, d = srv.request("POST", "/oauth/v2/token", form={"scope": "openid"})
        self.assertEqual((st, d["error"]), (400, "invalid_request"))

    def test_scopes_and_audience(self):
        d = self.ok(assertion(self.m["key_file"]))
        self.assertTrue(self.introspect(d["access_token"]) is False)
        # Own-project audience makes the token introspectable.
        st, _, d = token_request(assertion(self.m["key_file"]),
                                 scope="profile urn:zitadel:iam:org:project:id:%s:aud"
                                 % srv.project_id)
        self.assertEqual(st, 200)
        self.assertNotIn("id_token", d)
        r = self.introspect(d["access_token"])
        self.assertEqual(r["aud"], [srv.project_id])
        # Without the zitadel audience the Management API refuses it.
        st, _, e = srv.request("GET", "/auth/v1/users/me", token=d["access_token"])
        self.assertEqual((st, e["details"][0]["id"]), (401, "AUTH-7fs1e"))

    def introspect(self, token):
        st, _, d = srv.request("POST", "/oauth/v2/introspect", form={"token": token},
                               headers=app_basic())
        self.assertEqual(st, 200)
        return d if d.get("active") else False

    def test_jwt_access_token(self):
        m = srv.create_machine(access_token_type="jwt")
        d = self.ok(assertion(m["key_file"]))
        claims = jwt.decode(d["access_token"], options={"verify_signature": False})
        self.assertEqual(claims["sub"], m["user_id"])
        self.assertEqual(claims["client_id"], m["username"])
        # Verifiable with the published JWKS.
        st, _, jwks = srv.request("GET", "/oauth/v2/keys")
        key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwks["keys"][0]))
        jwt.decode(d["access_token"], key, algorithms=["RS256"],
                   audience=srv.info["zitadel_project_id"], issuer=srv.issuer)
        st, _, me = srv.request("GET", "/auth/v1/users/me", token=d["access_token"])
        self.assertEqual((st, me["user"]["id"]), (200, m["user_id"]))

    def test_token_lifetime(self):
        srv.set_token_lifetime(120)
        try:
            d = self.ok(assertion(self.m["key_file"]))
            self.assertEqual(d["expires_in"], 120)
        finally:
            srv.set_token_lifetime(43200)


class ClientCredentials(unittest.TestCase):
    def test_flow(self):
        m = srv.create_machine()
        st, _, d = mgmt("PUT", "/users/%s/secret" % m["user_id"], body={})
        self.assertEqual(st, 200, d)
        self.assertEqual(d["clientId"], m["username"])
        self.assertRegex(d["clientSecret"], r"^[A-Za-z0-9]{64}$")
        self.assertIn("creationDate", d["details"])
        form = {"grant_type": "client_credentials", "scope": ztest.DEFAULT_SCOPE}
        st, _, t = srv.request("POST", "/oauth/v2/token", form=form,
                               headers=basic(d["clientId"], d["clientSecret"]))
        self.assertEqual(st, 200, t)
        st, _, me = srv.request("GET", "/auth/v1/users/me", token=t["access_token"])
        self.assertEqual(me["user"]["id"], m["user_id"])
        # Form fields work too.
        st, _, t = srv.request("POST", "/oauth/v2/token", form=dict(
            form, client_id=d["clientId"], client_secret=d["clientSecret"]))
        self.assertEqual(st, 200, t)
        # Wrong secret, unknown client.
        st, _, e = srv.request("POST", "/oauth/v2/token", form=form,
                               headers=basic(d["clientId"], "x" * 64))
        self.assertEqual((st, e), (400, {"error": "invalid_request", "error_description":
                                         "Errors.User.Machine.Secret.Invalid"}))
        st, _, e = srv.request("POST", "/oauth/v2/token", form=form,
                               headers=basic("nobody", "x"))
        self.assertEqual((st, e["error"]), (400, "invalid_client"))
        # Remove: the secret stops working; removing again is code 9.
        st, _, r = mgmt("DELETE", "/users/%s/secret" % m["user_id"])
        self.assertEqual(st, 200)
        self.assertIn("changeDate", r["details"])
        st, _, e = srv.request("POST", "/oauth/v2/token", form=form,
                               headers=basic(d["clientId"], d["clientSecret"]))
        self.assertEqual((st, e["error_description"]),
                         (400, "Errors.User.Machine.Secret.NotExisting"))
        st, _, e = mgmt("DELETE", "/users/%s/secret" % m["user_id"])
        self.assertEqual((st, e["code"], e["details"][0]["id"]), (400, 9, "COMMAND-coi82n"))

    def test_basic_halves_are_url_decoded(self):
        m = srv.create_machine(username="robot+1@acme.example.com")
        cid, sec = srv.generate_secret(m["user_id"])
        form = {"grant_type": "client_credentials", "scope": "openid"}
        st, _, _ = srv.request("POST", "/oauth/v2/token", form=form,
                               headers=basic(cid, sec))
        self.assertEqual(st, 200)
        raw = base64.b64encode(("%s:%s" % (cid, sec)).encode()).decode()
        st, _, e = srv.request("POST", "/oauth/v2/token", form=form,
                               headers={"Authorization": "Basic " + raw})
        self.assertEqual((st, e["error"]), (400, "invalid_client"))


class Introspection(unittest.TestCase):
    def test_basic_and_fields(self):
        m = srv.create_machine()
        tok = srv.issue_token(m["user_id"])
        st, _, d = srv.request("POST", "/oauth/v2/introspect", form={"token": tok},
                               headers=app_basic())
        self.assertEqual(st, 200)
        self.assertTrue(d["active"])
        self.assertEqual(d["sub"], m["user_id"])
        self.assertEqual(d["client_id"], m["username"])
        self.assertEqual(d["username"], m["username"] + "@acme.localhost")
        self.assertEqual(d["iss"], srv.issuer)
        self.assertEqual(d["token_type"], "Bearer")
        self.assertIn(srv.project_id, d["aud"])
        # the org claims only with their scope (reference §6.2)
        self.assertNotIn("urn:zitadel:iam:user:resourceowner:id", d)
        for k in ("exp", "iat", "nbf"):
            self.assertIsInstance(d[k], int)

        tok = srv.issue_token(m["user_id"], scope=ztest.PAM_SCOPE)
        st, _, d = srv.request("POST", "/oauth/v2/introspect", form={"token": tok},
                               headers=app_basic())
        self.assertEqual(d["urn:zitadel:iam:user:resourceowner:id"], srv.org_id)

    def test_inactive(self):
        m = srv.create_machine()
        for tok in ("unknown-token", srv.issue_token(m["user_id"], project_aud=False),
                    srv.issue_token(m["user_id"], lifetime=-1)):
            st, _, d = srv.request("POST", "/oauth/v2/introspect", form={"token": tok},
                                   headers=app_basic())
            self.assertEqual((st, d), (200, {"active": False}))
        tok = srv.issue_token(m["user_id"])
        srv.revoke_token(tok)
        st, _, d = srv.request("POST", "/oauth/v2/introspect", form={"token": tok},
                               headers=app_basic())
        self.assertEqual(d, {"active": False})
        self.assertFalse(srv.token_active(tok))

    def test_pat(self):
        m = srv.create_machine(pat=True)
        st, _, d = srv.request("POST", "/oauth/v2/introspect", form={"token": m["pat"]},
                               headers=app_basic())
        self.assertTrue(d["active"])
        self.assertEqual(d["sub"], m["user_id"])

    def test_private_key_jwt(self):
        tok = srv.issue_token(srv.admin_user_id)
        form = {"token": tok, "client_assertion_type":
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion(srv.app_key_file)}
        st, _, d = srv.request("POST", "/oauth/v2/introspect", form=form)
        self.assertEqual((st, d["active"]), (200, True))
        form["client_assertion"] = assertion(srv.app_key_file, aud=srv.issuer + "/")
        st, _, d = srv.request("POST", "/oauth/v2/introspect", form=form)
        self.assertEqual((st, d["error"]), (400, "unauthorized_client"))
        form["client_assertion"] = assertion(srv.admin_key_file)
        st, _, d = srv.request("POST", "/oauth/v2/introspect", form=form)
        self.assertEqual((st, d["error"]), (400, "unauthorized_client"))

    def test_errors(self):
        st, _, d = srv.request("POST", "/oauth/v2/introspect", form={},
                               headers=app_basic())
        self.assertEqual((st, d["error"]), (400, "invalid_request"))
        st, _, d = srv.request("POST", "/oauth/v2/introspect", form={"token": "x"},
                               headers=basic(srv.app_client_id, "wrong"))
        self.assertEqual((st, d["error"]), (400, "unauthorized_client"))
        st, _, d = srv.request("POST", "/oauth/v2/introspect", form={"token": "x"})
        self.assertEqual((st, d["error"]), (400, "invalid_request"))


class UsersMe(unittest.TestCase):
    def test_auth_errors(self):
        st, _, d = srv.request("GET", "/auth/v1/users/me")
        self.assertEqual((st, d), (401, {"code": 16, "message": "auth header missing"}))
        tok = admin_token()
        for h in ("bearer " + tok, "Bearer %s Bearer x" % tok, "Token " + tok):
            st, _, d = srv.request("GET", "/auth/v1/users/me",
                                   headers={"Authorization": h})
            self.assertEqual((st, d["details"][0]["id"]), (401, "AUTH-toLo1"))
        st, _, d = srv.request("GET", "/auth/v1/users/me", token="nope")
        self.assertEqual((st, d), (401, {
            "code": 16, "message": "Errors.Token.Invalid (AUTH-7fs1e)",
            "details": [{"@type": "type.googleapis.com/zitadel.v1.ErrorDetail",
                         "id": "AUTH-7fs1e", "message": "Errors.Token.Invalid"}]}))
        st, _, d = srv.request("GET", "/auth/v1/users/me", token=tok)
        self.assertEqual(d["user"]["id"], srv.admin_user_id)
        self.assertEqual(d["user"]["userName"], "admin-robot")

    def test_pat_lifecycle(self):
        st, _, d = srv.request("GET", "/auth/v1/users/me", token=srv.admin_pat())
        self.assertEqual(st, 200)
        m = srv.create_machine(pat=True, pat_expires=-5)
        st, _, d = srv.request("GET", "/auth/v1/users/me", token=m["pat"])
        self.assertEqual(st, 401)


class Management(unittest.TestCase):
    def test_add_update_user(self):
        st, _, d = mgmt("POST", "/users/machine", body={
            "userName": "billing", "name": "Billing", "description": "d",
            "accessTokenType": "ACCESS_TOKEN_TYPE_JWT"})
        self.assertEqual(st, 200, d)
        uid = d["userId"]
        self.assertEqual(set(d["details"]), {"sequence", "changeDate", "resourceOwner"})
        self.assertIsInstance(d["details"]["sequence"], str)
        self.assertRegex(d["details"]["changeDate"], r"^\d{4}-\d\d-\d\dT[\d:.]+Z$")
        st, _, d = mgmt("POST", "/users/machine", body={"user_name": "billing",
                                                        "name": "B2"})
        self.assertEqual((st, d["code"], d["details"][0]["id"]), (409, 6, "V3-DKcYh"))
        # Same name in the other org is fine (with an IAM role).
        iam = srv.create_machine(roles=("IAM_OWNER",))
        st, _, d = mgmt("POST", "/users/machine", body={"userName": "billing",
                                                        "name": "B"},
                        token=srv.issue_token(iam["user_id"]), org=srv.other_org_id)
        self.assertEqual(st, 200, d)
        self.assertEqual(d["details"]["resourceOwner"], srv.other_org_id)
        # Custom id, duplicate custom id.
        st, _, d = mgmt("POST", "/users/machine", body={"userName": "c1", "name": "C",
                                                        "userId": "my-uuid-1"})
        self.assertEqual((st, d["userId"]), (200, "my-uuid-1"))
        st, _, d = mgmt("POST", "/users/machine", body={"userName": "c2", "name": "C",
                                                        "userId": "my-uuid-1"})
        self.assertEqual((st, d["code"], d["details"][0]["id"]), (400, 9, "COMMAND-k2una"))
        # Update is a full replace; no change is an error.
        body = {"name": "Billing", "description": "d",
                "accessTokenType": "ACCESS_TOKEN_TYPE_JWT"}
        st, _, d = mgmt("PUT", "/users/%s/machine" % uid, body=body)
        self.assertEqual((st, d["details"][0]["id"]), (400, "COMMAND-2n8vs"))
        self.assertEqual(d["code"], 9)
        st, _, d = mgmt("PUT", "/users/%s/machine" % uid, body={"name": "Billing"})
        self.assertEqual(st, 200, d)
        self.assertIn("changeDate", d["details"])
        st, _, d = mgmt("PUT", "/users/%s/machine" % uid, body={"name": "Billing",
                                                                "accessTokenType": 0})
        self.assertEqual((st, d["details"][0]["id"]), (400, "COMMAND-2n8vs"))
        st, _, d = mgmt("PUT", "/users/12345/machine", body={"name": "x"})
        self.assertEqual((st, d["details"][0]["id"]), (404, "COMMAND-5M0od"))

    def test_validation(self):
        cases = [
            ("POST", "/users/machine", {"name": "x"}),
            ("POST", "/users/machine", {"userName": "x" * 201, "name": "x"}),
            ("POST", "/users/machine", {"userName": "x", "name": ""}),
            ("POST", "/users/machine", {"userName": "x", "name": "x",
                                        "description": "d" * 501}),
            ("POST", "/users/machine", {"userName": "x", "name": "x",
                                        "accessTokenType": 7}),
            ("POST", "/users/machine", {"userName": "x", "name": "x",
                                        "accessTokenType": "NOPE"}),
            ("POST", "/users/machine", {"userName": 5, "name": "x"}),
            ("POST", "/users/%s/keys" % srv.admin_user_id, {}),
            ("POST", "/users/%s/keys" % srv.admin_user_id, {"type": "KEY_TYPE_UNSPECIFIED"}),
            ("PUT", "/users/%s/machine" % srv.admin_user_id, {}),
            ("POST", "/users/machine", b"{not json"),
        ]
        for method, path, body in cases:
            st, _, d = mgmt(method, path, body=body)
            self.assertEqual((st, d["code"]), (400, 3), (path, body, d))
            self.assertNotIn("details", d, d)
        st, _, d = mgmt("POST", "/users/machine", body={"name": "x"})
        self.assertEqual(d["message"], "invalid AddMachineUserRequest.UserName: value "
                         "length must be between 1 and 200 runes, inclusive")

    def test_unknown_fields_ignored(self):
        st, _, d = mgmt("POST", "/users/machine", body={"userName": "u-unk", "name": "x",
                                                        "bogus": 1})
        self.assertEqual(st, 200, d)

    def test_keys(self):
        m = srv.create_machine(key=False)
        u = "/users/%s/keys" % m["user_id"]
        st, _, d = mgmt("POST", u + "/_search", body={})
        self.assertEqual(st, 200)
        self.assertEqual(set(d), {"details"})
        self.assertNotIn("totalResult", d["details"])
        st, _, d = mgmt("POST", u, body={"type": "KEY_TYPE_JSON",
                                         "expirationDate": "2099-12-31T00:00:00Z"})
        self.assertEqual(st, 200, d)
        self.assertEqual(set(d["details"]), {"sequence", "creationDate", "resourceOwner"})
        kf = json.loads(base64.b64decode(d["keyDetails"]))
        self.assertEqual(list(kf), ["type", "keyId", "key", "expirationDate", "userId"])
        self.assertEqual((kf["keyId"], kf["userId"]), (d["keyId"], m["user_id"]))
        self.assertEqual(kf["expirationDate"], "2099-12-31T00:00:00Z")
        st, _, t = token_request(assertion(kf))
        self.assertEqual(st, 200)
        kid = d["keyId"]
        st, _, d = mgmt("POST", u, body={"type": 1})
        self.assertEqual(st, 200)
        st, _, d = mgmt("GET", "%s/%s" % (u, kid))
        self.assertEqual(d["key"]["id"], kid)
        self.assertEqual(d["key"]["type"], "KEY_TYPE_JSON")
        self.assertEqual(d["key"]["expirationDate"], "2099-12-31T00:00:00Z")
        self.assertEqual(set(d["key"]["details"]),
                         {"sequence", "creationDate", "changeDate", "resourceOwner"})
        st, _, d = mgmt("POST", u + "/_search", body={"query": {"offset": "1",
                                                                "limit": 1}})
        self.assertEqual(d["details"]["totalResult"], "2")
        self.assertEqual(len(d["result"]), 1)
        st, _, d = mgmt("POST", u + "/_search", body={"query": {"offset": 0, "limit": 0}})
        self.assertEqual(len(d["result"]), 2)
        st, _, d = mgmt("DELETE", "%s/%s" % (u, kid))
        self.assertEqual(st, 200)
        self.assertEqual(set(d["details"]), {"sequence", "changeDate", "resourceOwner"})
        st, _, _ = token_request(assertion(kf))
        self.assertEqual(st, 500)
        st, _, d = mgmt("DELETE", "%s/%s" % (u, kid))
        self.assertEqual((st, d["code"], d["details"][0]["id"]), (404, 5, "COMMAND-4m77G"))
        st, _, d = mgmt("GET", "%s/%s" % (u, kid))
        self.assertEqual((st, d["details"][0]["id"]), (404, "QUERY-Dgr3g"))
        st, _, d = mgmt("POST", u, body={"type": "KEY_TYPE_JSON",
                                         "expirationDate": "2001-01-01T00:00:00Z"})
        self.assertEqual((st, d["code"], d["details"][0]["id"]), (400, 3, "DOMAIN-dv3t5"))
        st, _, d = mgmt("POST", "/users/123456/keys", body={"type": "KEY_TYPE_JSON"})
        self.assertEqual((st, d["code"], d["details"][0]["id"]), (400, 9, "COMMAND-bnipwm1"))

    def test_public_key_upload(self):
        m = srv.create_machine(key=False)
        priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pub = priv.public_key()
        pkix = pub.public_bytes(serialization.Encoding.PEM,
                                serialization.PublicFormat.SubjectPublicKeyInfo)
        st, _, d = mgmt("POST", "/users/%s/keys" % m["user_id"], body={
            "type": "KEY_TYPE_JSON", "publicKey": base64.b64encode(pkix).decode()})
        self.assertEqual(st, 200, d)
        self.assertNotIn("keyDetails", d)
        pem = priv.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()
        kf = {"userId": m["user_id"], "keyId": d["keyId"], "key": pem}
        self.assertEqual(token_request(assertion(kf))[0], 200)
        # URL-safe unpadded base64 is accepted as well.
        st, _, d = mgmt("POST", "/users/%s/keys" % m["user_id"], body={
            "type": "KEY_TYPE_JSON",
            "publicKey": base64.urlsafe_b64encode(pkix).decode().rstrip("=")})
        self.assertEqual(st, 200, d)
        pkcs1 = pub.public_bytes(serialization.Encoding.PEM,
                                 serialization.PublicFormat.PKCS1)
        for bad in (pkcs1, b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                    b"hello"):
            st, _, d = mgmt("POST", "/users/%s/keys" % m["user_id"], body={
                "type": "KEY_TYPE_JSON", "publicKey": base64.b64encode(bad).decode()})
            self.assertEqual((st, d["code"], d["details"][0]["id"]),
                             (400, 3, "COMMAND-5F3h1"))
        # Zitadel's quirk: a non-RSA PKIX key is accepted but can never sign in.
        eck = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        st, _, d = mgmt("POST", "/users/%s/keys" % m["user_id"], body={
            "type": "KEY_TYPE_JSON", "publicKey": base64.b64encode(eck).decode()})
        self.assertEqual(st, 200)

    def test_pats(self):
        m = srv.create_machine(key=False, roles=())
        u = "/users/%s/pats" % m["user_id"]
        st, _, d = mgmt("POST", u, body={})
        self.assertEqual(st, 200, d)
        pat, pid = d["token"], d["tokenId"]
        self.assertIn("creationDate", d["details"])
        st, _, me = srv.request("GET", "/auth/v1/users/me", token=pat)
        self.assertEqual((st, me["user"]["id"]), (200, m["user_id"]))
        # No roles: management refuses with AUTH-5mWD2.
        st, _, e = mgmt("POST", u + "/_search", body={}, token=pat)
        self.assertEqual((st, e["code"], e["details"][0]["id"]), (403, 7, "AUTH-5mWD2"))
        st, _, d = mgmt("GET", "%s/%s" % (u, pid))
        self.assertEqual(d["token"]["id"], pid)
        self.assertEqual(d["token"]["expirationDate"], "9999-12-31T23:59:59Z")
        self.assertEqual(d["token"]["scopes"], ["openid", "profile",
                                                "urn:zitadel:iam:user:metadata",
                                                "urn:zitadel:iam:user:resourceowner"])
        self.assertNotIn(pat, json.dumps(d))
        st, _, d = mgmt("POST", u + "/_search", body={})
        self.assertEqual((d["details"]["totalResult"], len(d["result"])), ("1", 1))
        st, _, d = mgmt("POST", u, body={"expirationDate": "2000-01-01T00:00:00Z"})
        self.assertEqual((st, d["code"]), (400, 3))
        st, _, d = mgmt("DELETE", "%s/%s" % (u, pid))
        self.assertEqual(st, 200)
        self.assertEqual(srv.request("GET", "/auth/v1/users/me", token=pat)[0], 401)
        st, _, d = mgmt("DELETE", "%s/%s" % (u, pid))
        self.assertEqual((st, d["details"][0]["id"]), (404, "COMMAND-4m77G"))
        st, _, d = mgmt("GET", "%s/%s" % (u, pid))
        self.assertEqual((st, d["details"][0]["id"]), (404, "QUERY-fRunu"))
        st, _, d = mgmt("POST", "/users/42/pats", body={})
        self.assertEqual((st, d["code"], d["details"][0]["id"]), (400, 9, "COMMAND-Dggw2"))

    def test_orgs_and_permissions(self):
        st, _, d = mgmt("POST", "/users/%s/keys/_search" % srv.admin_user_id, body={},
                        org="999999999999999999")
        self.assertEqual((st, d["code"], d["details"][0]["id"]), (403, 7, "AUTH-Bs7Ds"))
        # ORG_OWNER of org_id has no rights in other_org_id.
        st, _, d = mgmt("POST", "/users/machine", body={"userName": "z", "name": "z"},
                        org=srv.other_org_id)
        self.assertEqual((st, d["details"][0]["id"]), (403, "AUTH-5mWD2"))
        # A user of the other org looks not found from org_id.
        o = srv.create_machine(org=srv.other_org_id)
        st, _, d = mgmt("GET", "/users/%s/keys/%s" % (o["user_id"], o["key_id"]))
        self.assertEqual(st, 404)
        st, _, d = mgmt("POST", "/users/%s/keys/_search" % o["user_id"], body={})
        self.assertEqual((st, d["details"].get("totalResult")), (200, None))
        iam = srv.create_machine(roles=("IAM_OWNER",))
        st, _, d = mgmt("GET", "/users/%s/keys/%s" % (o["user_id"], o["key_id"]),
                        token=srv.issue_token(iam["user_id"]), org=srv.other_org_id)
        self.assertEqual(st, 200, d)
        # Read-only role: reads work, writes are refused.
        v = srv.create_machine(roles=("ORG_OWNER_VIEWER",))
        tv = srv.issue_token(v["user_id"])
        self.assertEqual(mgmt("POST", "/users/%s/keys/_search" % v["user_id"],
                              body={}, token=tv)[0], 200)
        self.assertEqual(mgmt("POST", "/users/%s/keys" % v["user_id"],
                              body={"type": 1}, token=tv)[0], 403)
        # Token without the zitadel audience is refused; a PAT is not.
        t = srv.issue_token(srv.admin_user_id, scope="openid")
        st, _, d = mgmt("POST", "/users/machine", body={"userName": "q", "name": "q"},
                        token=t)
        self.assertEqual((st, d["details"][0]["id"]), (401, "AUTH-7fs1e"))
        st, _, d = mgmt("POST", "/users/%s/keys/_search" % srv.admin_user_id, body={},
                        token=srv.admin_pat())
        self.assertEqual(st, 200)


class Faults(unittest.TestCase):
    def tearDown(self):
        srv.clear_faults()

    def raw(self, path, timeout=10):
        """One raw HTTPS GET; returns (status, body) or raises."""
        conn = http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=timeout,
                                           context=srv.ssl_context())
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def test_status_and_count(self):
        srv.fault("/oauth/v2/token", "status", status=429, retry_after=3, count=2)
        for _ in range(2):
            st, h, d = srv.request("POST", "/oauth/v2/token", form={})
            self.assertEqual((st, h["retry-after"]), (429, "3"))
            self.assertEqual(d["error"], "invalid_request")
        self.assertEqual(srv.request("POST", "/oauth/v2/token", form={})[0], 400)
        srv.fault("/auth/v1/users/me", "status", status=503)
        st, _, d = srv.request("GET", "/auth/v1/users/me")
        self.assertEqual((st, d["code"]), (503, 14))
        srv.fault("/auth/v1/users/me", "status", status=502, body={"x": 1})
        self.assertEqual(srv.request("GET", "/auth/v1/users/me")[::2], (502, {"x": 1}))

    def test_malformed_truncate_drop(self):
        srv.fault("/.well-known/openid-configuration", "malformed")
        self.assertEqual(self.raw("/.well-known/openid-configuration"),
                         (200, b"not json{"))
        srv.fault("/.well-known/openid-configuration", "truncate")
        with self.assertRaises(http.client.IncompleteRead):
            self.raw("/.well-known/openid-configuration")
        srv.fault("/.well-known/openid-configuration", "drop")
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError,
                                ssl.SSLError)):
            self.raw("/.well-known/openid-configuration")
        self.assertEqual(self.raw("/.well-known/openid-configuration")[0], 200)

    def test_delay_and_hang(self):
        srv.fault("/oauth/v2/keys", "delay", delay=0.2)
        self.assertEqual(self.raw("/oauth/v2/keys")[0], 200)
        srv.fault("/oauth/v2/keys", "hang")
        with self.assertRaises((socket.timeout, TimeoutError)):
            self.raw("/oauth/v2/keys", timeout=0.5)
        # Other requests still work while one hangs.
        self.assertEqual(self.raw("/oauth/v2/keys")[0], 200)

    def test_prefix(self):
        srv.fault("/management/*", "status", status=500, count=1)
        st, _, d = mgmt("POST", "/users/x/keys/_search", body={})
        self.assertEqual((st, d["code"]), (500, 13))

    def test_counts_and_log(self):
        srv.reset_counts()
        tok = admin_token()
        srv.request("GET", "/auth/v1/users/me", token=tok)
        srv.request("GET", "/auth/v1/users/me?x=1", token=tok)
        srv.request("POST", "/oauth/v2/token", form={"grant_type": "x",
                                                     "client_secret": "s3cr3t"})
        self.assertEqual(srv.count("/auth/v1/users/me"), 2)
        self.assertEqual(srv.counts(), {"/auth/v1/users/me": 2, "/oauth/v2/token": 1})
        log = srv.requests()
        self.assertEqual(log[1]["query"], "x=1")
        self.assertEqual(log[0]["headers"]["Authorization"], "<redacted>")
        self.assertEqual(log[2]["form_keys"], ["grant_type", "client_secret"])
        self.assertEqual(ztest.find_leaks([tok, "s3cr3t"], texts=[json.dumps(log)]), [])
        self.assertEqual(ztest.find_leaks([tok], texts=["a " + tok]), [("text[0]", tok)])


class Harness(unittest.TestCase):
    def test_hang_released_by_stop(self):
        other = ztest.Server()
        try:
            other.fault("/oauth/v2/keys", "hang")
            conn = http.client.HTTPSConnection("127.0.0.1", other.port, timeout=30,
                                               context=other.ssl_context())
            conn.request("GET", "/oauth/v2/keys")
            other.stop()
            with self.assertRaises((http.client.RemoteDisconnected, ConnectionError,
                                    ssl.SSLError)):
                conn.getresponse()
            conn.close()
        finally:
            other.stop()
        self.assertIsNotNone(other.proc.returncode)

    def test_secrets_stay_out_of_log_and_files(self):
        tok = admin_token()
        m = srv.create_machine(pat=True)
        srv.request("GET", "/auth/v1/users/me", token=tok)
        srv.request("GET", "/auth/v1/users/me", token=m["pat"])
        token_request(assertion(m["key_file"], aud="wrong"))
        with open(m["key_file"]) as f:
            key = json.load(f)["key"]
        self.assertEqual(ztest.find_leaks([tok, m["pat"], key],
                                          texts=[srv.log_text()]), [])
        self.assertEqual(os.stat(m["key_file"]).st_mode & 0o777, 0o600)
        d = ztest.tmpdir()
        with open(os.path.join(d, "f"), "w") as f:
            f.write("x%sx" % urllib.parse.quote(tok, safe=""))
        self.assertEqual(ztest.find_leaks([tok, ""], files=[d]),
                         [(os.path.join(d, "f"), tok)])

    def test_run_and_paths(self):
        r = ztest.run(["sh", "-c", 'echo "$ZT_A${HOME:-unset}"; cat'], input="in",
                      env={"ZT_A": "a", "HOME": None})
        self.assertEqual((r.returncode, r.stdout), (0, "aunset\nin"))
        self.assertTrue(os.path.isfile(ztest.src_path("tests/server/zitadel_server.py")))
        self.assertTrue(os.path.isabs(ztest.build_path("src")))
        self.assertEqual(ztest.DEFAULT_SCOPE,
                         "openid urn:zitadel:iam:org:project:id:zitadel:aud")


class Concurrency(unittest.TestCase):
    def test_128_clients(self):
        m = srv.create_machine()
        srv.reset_counts()

        def one(i):
            return token_request(assertion(m["key_file"]))[0]

        with concurrent.futures.ThreadPoolExecutor(128) as ex:
            results = list(ex.map(one, range(128)))
        self.assertEqual(results, [200] * 128)
        self.assertEqual(srv.count("/oauth/v2/token"), 128)


class Git(unittest.TestCase):
    def setUp(self):
        self.home = ztest.tmpdir()
        self.env = {"HOME": self.home, "GIT_CONFIG_NOSYSTEM": "1",
                    "GIT_TERMINAL_PROMPT": "0", "GIT_SSL_CAINFO": srv.ca_file,
                    "GIT_ASKPASS": None, "SSH_ASKPASS": None}

    def test_clone_with_token(self):
        tok = srv.issue_token(srv.admin_user_id)
        tokfile = ztest.write_secret(os.path.join(self.home, "tok"), tok)
        askpass = os.path.join(self.home, "askpass.sh")
        with open(askpass, "w") as f:
            f.write('#!/bin/sh\ncase "$1" in\n  Username*) echo x ;;\n'
                    '  *) cat "%s" ;;\nesac\n' % tokfile)
        os.chmod(askpass, 0o700)
        url = srv.git_url("repo")
        self.assertEqual(url, srv.issuer + "/git/repo.git")
        srv.reset_counts()
        dest = os.path.join(self.home, "clone")
        r = ztest.run(["git", "clone", "-q", url, dest],
                      env=dict(self.env, GIT_ASKPASS=askpass))
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(dest, "README")) as f:
            self.assertEqual(f.read(), "hello from repo\n")
        self.assertGreaterEqual(srv.count("/git/repo.git/info/refs"), 2)
        self.assertEqual(ztest.find_leaks([tok], texts=[r.stdout, r.stderr]), [])
        # Push works too (receive-pack behind the same auth).
        run = lambda *a: ztest.run(["git", "-C", dest] + list(a),
                                   env=dict(self.env, GIT_ASKPASS=askpass))
        with open(os.path.join(dest, "new"), "w") as f:
            f.write("x\n")
        run("add", "new")
        self.assertEqual(run("-c", "user.name=t", "-c", "user.email=t@t", "commit",
                             "-qm", "c").returncode, 0)
        r = run("push", "-q", "origin", "main")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_bearer_header_and_refusal(self):
        tok = srv.issue_token(srv.admin_user_id)
        cfg = os.path.join(self.home, ".gitconfig")
        with open(cfg, "w") as f:
            f.write('[http]\n\textraHeader = Authorization: Bearer %s\n' % tok)
        os.chmod(cfg, 0o600)
        url = srv.git_url("other")
        r = ztest.run(["git", "ls-remote", url], env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("refs/heads/main", r.stdout)
        os.unlink(cfg)
        r = ztest.run(["git", "ls-remote", url], env=self.env)
        self.assertNotEqual(r.returncode, 0)
        st, h, _ = srv.request("GET", "/git/repo.git/info/refs?service=git-upload-pack")
        self.assertEqual((st, h["www-authenticate"]), (401, 'Basic realm="zitadel-test"'))
        st, _, _ = srv.request("GET", "/git/repo.git/info/refs?service=git-upload-pack",
                               headers=basic("x", "not-a-token"))
        self.assertEqual(st, 401)


class Kube(unittest.TestCase):
    def kubeconfig(self, token):
        d = ztest.tmpdir()
        path = os.path.join(d, "config")
        ztest.write_secret(path, json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "t",
            "clusters": [{"name": "t", "cluster": {"server": srv.kube_server,
                                                   "certificate-authority": srv.ca_file}}],
            "users": [{"name": "t", "user": {"token": token}}],
            "contexts": [{"name": "t", "context": {"cluster": "t", "user": "t",
                                                   "namespace": "default"}}]}))
        return path, d

    @unittest.skipUnless(os.access("/usr/bin/kubectl", os.X_OK), "no kubectl")
    def test_get_pods(self):
        cfg, d = self.kubeconfig(srv.issue_token(srv.admin_user_id))
        env = {"HOME": d, "KUBECONFIG": None}
        r = ztest.run(["/usr/bin/kubectl", "--kubeconfig", cfg, "--cache-dir",
                       os.path.join(d, "cache"), "get", "pods"], env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("No resources found", r.stdout + r.stderr)
        cfg, d = self.kubeconfig("wrong-token")
        r = ztest.run(["/usr/bin/kubectl", "--kubeconfig", cfg, "--cache-dir",
                       os.path.join(d, "cache"), "get", "pods"], env=env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("provide credentials", r.stderr)

    def test_unauthorized_status(self):
        st, _, d = srv.request("GET", "/api/v1/namespaces/default/pods")
        self.assertEqual((st, d["kind"], d["code"]), (401, "Status", 401))
        st, _, d = srv.request("GET", "/api/v1/namespaces/default/pods",
                               token=srv.admin_pat())
        self.assertEqual((st, d["kind"], d["items"]), (200, "PodList", []))


if __name__ == "__main__":
    unittest.main(verbosity=2)
