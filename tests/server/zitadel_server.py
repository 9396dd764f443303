#!/usr/bin/python3
"""Zitadel stand-in for libzitadel's end-to-end tests.

One HTTPS server on 127.0.0.1 (port 0) that speaks the parts of Zitadel the
product uses (OIDC discovery, /oauth/v2/token, /oauth/v2/introspect,
/auth/v1/users/me, the twelve /management/v1 machine-user calls), plus a
smart-HTTP git remote (/git/...) and a kube API stand-in (/version, /api,
/apis, /api/v1/...), all behind the same test CA.  Test control lives under
/__test__/ (see tests/server/README.md).  Behaviour follows
/work/shared/reference/zitadel-api.md; the section numbers quoted in the
comments (§4.3 ...) refer to that document.

Run:  /usr/bin/python3 tests/server/zitadel_server.py --dir DIR
It writes DIR/server.json atomically once it answers requests and prints one
line "READY <path of server.json>" on stdout.  Stdlib + python3-jwt +
python3-cryptography only; assertions are verified with PyJWT, never trusted.
"""

import argparse
import base64
import binascii
import datetime
import hashlib
import hmac
import http.server
import itertools
import json
import math
import os
import re
import secrets
import signal
import socket
import socketserver
import ssl
import string
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_JWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ZITADEL_AUD_SCOPE = "urn:zitadel:iam:org:project:id:zitadel:aud"
# Timestamp used by Zitadel when no expirationDate is given (§8).
MAX_EXPIRY = 253402300799.0  # 9999-12-31T23:59:59Z
PAT_SCOPES = ["openid", "profile", "urn:zitadel:iam:user:metadata",
              "urn:zitadel:iam:user:resourceowner"]
MAX_BODY = 16 * 1024 * 1024

# gRPC code -> HTTP status, as grpc-gateway maps it (§7.1).
GRPC_HTTP = {0: 200, 1: 408, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403,
             8: 429, 9: 400, 10: 409, 11: 400, 12: 501, 13: 500, 14: 503,
             15: 500, 16: 401}

# Default role -> permission mapping (subset of cmd/defaults.yaml).  ORG_*
# roles act in the user's own org only, IAM_* roles instance-wide.
ROLE_PERMISSIONS = {
    "IAM_OWNER": {"user.read", "user.write"},
    "IAM_ORG_MANAGER": {"user.read", "user.write"},
    "IAM_USER_MANAGER": {"user.read", "user.write"},
    "IAM_LOGIN_CLIENT": {"user.read", "user.write"},
    "IAM_OWNER_VIEWER": {"user.read"},
    "ORG_OWNER": {"user.read", "user.write"},
    "ORG_USER_MANAGER": {"user.read", "user.write"},
    "ORG_OWNER_VIEWER": {"user.read"},
}

ACCESS_TOKEN_TYPES = {"ACCESS_TOKEN_TYPE_BEARER": 0, "ACCESS_TOKEN_TYPE_JWT": 1}
KEY_TYPES = {"KEY_TYPE_UNSPECIFIED": 0, "KEY_TYPE_JSON": 1}

_ids = itertools.count(1)


def new_id():
    """An 18-digit numeric id like Zitadel's snowflake ids."""
    return str(290000000000000000 + next(_ids) * 7919 + secrets.randbelow(7919))


def log(fmt, *args):
    sys.stderr.write("[zitadel-test %s] %s\n" % (
        time.strftime("%H:%M:%S"), fmt % args if args else fmt))
    sys.stderr.flush()


# ---------------------------------------------------------------- encodings

def ts(t):
    """protojson Timestamp: RFC 3339 UTC with Z and 0/3/6 fraction digits."""
    if t >= MAX_EXPIRY:
        return "9999-12-31T23:59:59Z"
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    base = d.strftime("%Y-%m-%dT%H:%M:%S")
    us = d.microsecond
    if us == 0:
        return base + "Z"
    if us % 1000 == 0:
        return "%s.%03dZ" % (base, us // 1000)
    return "%s.%06dZ" % (base, us)


def go_time(t):
    """Go time.Time MarshalJSON: RFC 3339 with the fraction's trailing zeros
    trimmed (".1Z", not ".100Z")."""
    text = ts(t)
    if "." in text:
        text = text[:-1].rstrip("0").rstrip(".") + "Z"
    return text


def parse_ts(value, field):
    """protojson Timestamp input: RFC 3339, any offset, years 0001-9999."""
    if not isinstance(value, str) or "T" not in value:
        raise gateway_error("proto: invalid google.protobuf.Timestamp value "
                            "for field %s" % field)
    v = value
    if v.endswith(("Z", "z")):
        v = v[:-1] + "+00:00"
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d{1,9})?([+-]\d\d:\d\d)$", v)
    if not m:
        raise gateway_error("proto: invalid google.protobuf.Timestamp value "
                            "for field %s" % field)
    frac = (m.group(2) or ".0")[:7]
    try:
        d = datetime.datetime.fromisoformat(m.group(1) + frac + m.group(3))
    except ValueError:
        raise gateway_error("proto: invalid google.protobuf.Timestamp value "
                            "for field %s" % field)
    return d.timestamp()


def prune(value):
    """Drop zero values the way protojson does when marshalling (§1.1)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = prune(v)
            if v in (None, "", 0, False, [], {}) and v is not True:
                continue
            out[k] = v
        return out
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def b64decode_any(s):
    """protojson bytes input: standard or URL-safe, padded or not."""
    s = s.strip().replace("-", "+").replace("_", "/")
    s += "=" * (-len(s) % 4)
    return base64.b64decode(s, validate=True)


def b64url_json(segment):
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def go_round(x):
    """Go's time.Round(time.Second): half away from zero."""
    return math.floor(x + 0.5)


def pem_private_pkcs1(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def write_secret_file(path, data):
    """Create with mode 0600 from the start, then rename into place."""
    tmp = "%s.tmp%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(data)
    os.rename(tmp, path)


# ------------------------------------------------------------------- errors

class ApiError(Exception):
    """A complete HTTP error answer: status, JSON body, extra headers."""

    def __init__(self, status, body, headers=None):
        super().__init__("%d %s" % (status, body))
        self.status = status
        self.body = body
        self.headers = headers or {}


def zerr(code, text, err_id=None):
    """A Zitadel business/authz error as grpc-gateway renders it (§7.1).

    The message is "<text> (<id>)" and details carries one ErrorDetail; plain
    gRPC errors (err_id None) have no details array.
    """
    body = {"code": code, "message": "%s (%s)" % (text, err_id) if err_id else text}
    if err_id:
        body["details"] = [{"@type": "type.googleapis.com/zitadel.v1.ErrorDetail",
                            "id": err_id, "message": text}]
    return ApiError(GRPC_HTTP[code], body)


def validation_error(msg, field, reason):
    """protoc-gen-validate failure: 400, code 3, no details (§2)."""
    return zerr(3, "invalid %s.%s: %s" % (msg, field, reason))


def gateway_error(message):
    """JSON decoding failure inside grpc-gateway: 400, code 3, no details."""
    return zerr(3, message)


def oerr(status, error, description):
    """OAuth error body (§7.2)."""
    return ApiError(status, {"error": error, "error_description": description})


def assertion_error(reason):
    """Every assertion problem surfaces as 500 Errors.Internal (§7.2); the
    real reason only goes to the server log."""
    e = oerr(500, "server_error", "Errors.Internal")
    e.reason = reason
    return e


# -------------------------------------------------------------------- state

class Key:
    def __init__(self, key_id, public_key, expires, created, seq):
        self.id = key_id
        self.public_key = public_key
        self.expires = expires
        self.created = created
        self.seq = seq


class Pat:
    def __init__(self, pat_id, token, expires, created, seq):
        self.id = pat_id
        self.token = token
        self.expires = expires
        self.created = created
        self.changed = created
        self.seq = seq


class User:
    def __init__(self, user_id, org, username, name, description="",
                 token_type="ACCESS_TOKEN_TYPE_BEARER", roles=()):
        self.id = user_id
        self.org = org
        self.username = username
        self.name = name
        self.description = description
        self.token_type = token_type
        self.roles = set(roles)
        self.keys = {}      # key id -> Key (insertion order = creation order)
        self.pats = {}      # pat id -> Pat
        self.secret = None  # sha256 of the machine secret
        self.secret_created = None


class App:
    """An API application (introspection client)."""

    def __init__(self, app_id, client_id, project_id, secret):
        self.id = app_id
        self.client_id = client_id
        self.project_id = project_id
        self.secret_hash = hashlib.sha256(secret.encode()).digest()
        self.keys = {}


class Token:
    def __init__(self, value, user, scopes, audience, iat, exp, jti):
        self.value = value
        self.user_id = user.id
        self.client_id = user.username
        self.scopes = scopes
        self.audience = audience
        self.iat = iat
        self.exp = exp
        self.jti = jti
        self.revoked = False


class State:
    """Everything the server knows; one lock guards all of it."""

    def __init__(self, issuer):
        self.lock = threading.RLock()
        self.issuer = issuer
        self.clock_offset = 0.0
        self.token_lifetime = 43200
        self.seq = itertools.count(1)
        self.orgs = {}        # org id -> {"id","name","domain"}
        self.users = {}       # user id -> User
        self.apps = {}        # client id -> App
        self.tokens = {}      # access token string -> Token
        self.zitadel_project_id = new_id()
        self.project_id = new_id()
        self.web_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.web_key_id = new_id()
        self.orgs_default = None

    def now(self):
        return time.time() + self.clock_offset

    def next_seq(self):
        return next(self.seq)

    def add_org(self, name, domain):
        org_id = new_id()
        self.orgs[org_id] = {"id": org_id, "name": name, "domain": domain}
        return org_id

    def login_name(self, user):
        return "%s@%s" % (user.username, self.orgs[user.org]["domain"])

    def permissions(self, user, org_id):
        perms = set()
        for role in user.roles:
            if role.startswith("IAM_") or user.org == org_id:
                perms |= ROLE_PERMISSIONS.get(role, set())
        return perms

    def add_user(self, org, username, name, description="", token_type=None,
                 roles=(), user_id=None):
        user = User(user_id or new_id(), org, username, name, description,
                    token_type or "ACCESS_TOKEN_TYPE_BEARER", roles)
        self.users[user.id] = user
        return user

    def add_key(self, user, expires=None, public_key=None):
        """Returns (Key, key-file JSON text or None when public_key given)."""
        now = self.now()
        private = None
        if public_key is None:
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public_key = private.public_key()
        key = Key(new_id(), public_key, expires or MAX_EXPIRY, now, self.next_seq())
        user.keys[key.id] = key
        if private is None:
            return key, None
        # Field order of MachineKeyMarshalJSON (§3.1).
        doc = {"type": "serviceaccount", "keyId": key.id,
               "key": pem_private_pkcs1(private),
               "expirationDate": go_time(key.expires), "userId": user.id}
        return key, json.dumps(doc, separators=(",", ":"))

    def add_pat(self, user, expires=None):
        now = self.now()
        pat = Pat(new_id(), base64.urlsafe_b64encode(secrets.token_bytes(48))
                  .decode().rstrip("="), expires or MAX_EXPIRY, now, self.next_seq())
        user.pats[pat.id] = pat
        return pat

    def find_pat(self, value):
        for user in self.users.values():
            for pat in user.pats.values():
                if hmac.compare_digest(pat.token, value):
                    return user, pat
        return None, None

    def audience_for(self, scopes):
        aud = []
        for s in scopes:
            m = re.fullmatch(r"urn:zitadel:iam:org:project:id:(.+):aud", s)
            if m:
                pid = self.zitadel_project_id if m.group(1) == "zitadel" else m.group(1)
                if pid not in aud:
                    aud.append(pid)
        return aud

    def allowed_scopes(self, user, scope_str):
        """Silently drop scopes Zitadel would drop for a machine user (§4.4)."""
        out = []
        for s in scope_str.split():
            if s in ("openid", "profile", "email", "phone", "address", "offline_access"):
                pass
            elif s.startswith("urn:zitadel:iam:org:id:"):
                if s[len("urn:zitadel:iam:org:id:"):] != user.org:
                    continue
            elif s.startswith("urn:zitadel:iam:org:domain:primary:"):
                if s.rsplit(":", 1)[1] != self.orgs[user.org]["domain"]:
                    continue
            elif not s.startswith("urn:zitadel:iam:"):
                continue
            if s not in out:
                out.append(s)
        return out

    def issue(self, user, scopes, lifetime=None):
        """Mint an access token (opaque or JWT per the user's type)."""
        now = self.now()
        lifetime = self.token_lifetime if lifetime is None else lifetime
        iat = int(now)
        exp = now + lifetime
        audience = self.audience_for(scopes)
        jti = "V2_%s-at_%s" % (new_id(), new_id())
        if user.token_type == "ACCESS_TOKEN_TYPE_JWT":
            value = jwt.encode({"iss": self.issuer, "sub": user.id, "aud": audience,
                                "exp": int(exp), "iat": iat, "nbf": iat,
                                "client_id": user.username, "jti": jti},
                               self.web_key, algorithm="RS256",
                               headers={"kid": self.web_key_id})
        else:
            value = secrets.token_urlsafe(48)
        tok = Token(value, user, scopes, audience, iat, exp, jti)
        self.tokens[value] = tok
        resp = {"access_token": value, "token_type": "Bearer",
                "expires_in": int(lifetime)}
        if "openid" in scopes:
            # Machine "clients" have an ID-token lifetime of 0 (§4.5).
            resp["id_token"] = jwt.encode(
                {"iss": self.issuer, "sub": user.id, "aud": [user.username] + audience,
                 "exp": iat, "iat": iat, "auth_time": iat, "azp": user.username,
                 "client_id": user.username},
                self.web_key, algorithm="RS256", headers={"kid": self.web_key_id})
        return tok, resp

    def lookup_token(self, value):
        """(user, Token or None, is_pat) for an active token, else None."""
        now = self.now()
        tok = self.tokens.get(value)
        if tok is not None:
            user = self.users.get(tok.user_id)
            if tok.revoked or tok.exp <= now or user is None:
                return None
            return user, tok, False
        user, pat = self.find_pat(value)
        if pat is not None and pat.expires > now:
            return user, pat, True
        return None


# ------------------------------------------------------------------- faults

class Faults:
    """Per-path injected failures, each applying to the next `count` hits.

    A path ending in "*" matches every path with that prefix.
    """

    KINDS = ("status", "delay", "hang", "drop", "truncate", "malformed")

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    def add(self, rule):
        if rule.get("kind") not in self.KINDS:
            raise ValueError("unknown fault kind %r" % rule.get("kind"))
        if not isinstance(rule.get("path"), str) or not rule["path"].startswith("/"):
            raise ValueError("fault path must start with /")
        rule.setdefault("count", 1)
        with self.lock:
            self.rules.append(rule)

    def clear(self):
        with self.lock:
            self.rules = []

    def take(self, path):
        with self.lock:
            for rule in self.rules:
                p = rule["path"]
                if p == path or (p.endswith("*") and path.startswith(p[:-1])):
                    rule["count"] -= 1
                    if rule["count"] <= 0:
                        self.rules.remove(rule)
                    return dict(rule)
        return None


# ---------------------------------------------------------------- the server

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, addr, handler, tls):
        super().__init__(addr, handler)
        self.tls = tls
        self.stopping = threading.Event()
        self.faults = Faults()
        self.counts = {}
        self.requests = []
        self.stats_lock = threading.Lock()
        self.state = None
        self.dir = None
        self.git_root = None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "zitadel-test/1"
    # Idle keep-alive connections time out; a hang fault waits on an event,
    # not on the socket, so it is unaffected.
    timeout = 120

    # ---- plumbing

    def setup(self):
        # The TLS handshake runs here, in the worker thread, so one slow
        # client cannot stall accept() for the other 127.
        raw = self.request
        raw.settimeout(30)
        try:
            self.connection = self.server.tls.wrap_socket(raw, server_side=True)
            self.handshake_failed = None
        except (ssl.SSLError, OSError) as e:
            self.handshake_failed = e
            self.connection = raw
        self.request = self.connection
        self.connection.settimeout(self.timeout)
        self.rfile = self.connection.makefile("rb", self.rbufsize)
        self.wfile = socketserver._SocketWriter(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            # socketserver only closes the raw socket it accepted, which the
            # TLS wrapper detached; close the wrapper ourselves.
            try:
                self.connection.close()
            except OSError:
                pass

    def handle(self):
        if self.handshake_failed is not None:
            log("TLS handshake failed: %s", self.handshake_failed)
            return
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
            pass

    def log_message(self, fmt, *args):
        # Only method, path and status: never the query or the headers.
        pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ApiError(413, {"code": 8, "message": "body too large"})
                chunks.append(self.rfile.read(size))
                self.rfile.readline(16)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ApiError(413, {"code": 8, "message": "body too large"})
        return self.rfile.read(n) if n > 0 else b""

    def send(self, status, body=b"", ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            if isinstance(v, list):
                for item in v:
                    self.send_header(k, item)
            else:
                self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body)))
        if self.fault_kind == "truncate":
            # Promise the full length, deliver half, then cut the socket.
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[:len(body) // 2])
            self.drop()
            return
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        log("%s %s -> %d", self.command, self.path.split("?")[0], status)

    def drop(self):
        """Close the TCP connection without a (further) answer."""
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            # SSLSocket.shutdown() skips close_notify: the peer sees a bare EOF.
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def record(self, path, query, body):
        """Count the request and log it with secrets taken out."""
        headers = {}
        for k, v in self.headers.items():
            headers[k] = "<redacted>" if k.lower() in ("authorization",
                                                    "proxy-authorization",
                                                    "cookie") else v
        form_keys, json_keys = [], []
        ctype = self.headers.get("Content-Type", "")
        if body and "application/x-www-form-urlencoded" in ctype:
            form_keys = [k for k, _ in urllib.parse.parse_qsl(
                body.decode("latin-1"), keep_blank_values=True)]
        elif body and "json" in ctype:
            try:
                doc = json.loads(body)
                if isinstance(doc, dict):
                    json_keys = list(doc)
            except ValueError:
                pass
        with self.server.stats_lock:
            self.server.counts[path] = self.server.counts.get(path, 0) + 1
            self.server.requests.append({"method": self.command, "path": path,
                                         "query": query, "headers": headers,
                                         "form_keys": form_keys,
                                         "json_keys": json_keys})

    def dispatch(self):
        self.fault_kind = None
        self.state = self.server.state
        split = urllib.parse.urlsplit(self.path)
        path, query = split.path, split.query
        try:
            body = self.read_body()
        except (ApiError, ValueError) as e:
            self.close_connection = True
            self.send(413 if isinstance(e, ApiError) else 400,
                      {"code": 3, "message": "unreadable body"})
            return
        if path.startswith("/__test__/"):
            self.route_control(path, body)
            return
        self.record(path, query, body)
        fault = self.server.faults.take(path)
        if fault is not None and self.apply_fault(fault, path):
            return
        try:
            self.route(path, query, body)
        except ApiError as e:
            if getattr(e, "reason", None):
                log("%s %s: %s", self.command, path, e.reason)
            self.send(e.status, e.body, headers=e.headers)
        except Exception:
            log("internal error on %s %s:\n%s", self.command, path, traceback.format_exc())
            self.send(500, {"code": 13, "message": "test server bug"})

    # ---- faults

    def apply_fault(self, fault, path):
        """Returns True when the fault fully answered (or killed) the request."""
        kind = fault["kind"]
        log("fault %s on %s", kind, path)
        if kind == "delay":
            self.server.stopping.wait(float(fault.get("delay") or 0))
            return False
        if kind == "hang":
            self.server.stopping.wait()
            self.drop()
            return True
        if kind == "drop":
            self.drop()
            return True
        if kind == "truncate":
            self.fault_kind = "truncate"
            return False
        if kind == "malformed":
            self.send(200, b"not json{")
            return True
        status = int(fault.get("status") or 500)
        headers = {}
        if fault.get("retry_after") is not None:
            headers["Retry-After"] = str(fault["retry_after"])
        body = fault.get("body")
        if body is None:
            body = self.default_error_body(path, status)
        self.send(status, body, headers=headers)
        return True

    @staticmethod
    def default_error_body(path, status):
        if path.startswith("/oauth/") or path.startswith("/oidc/"):
            return {"error": "server_error" if status >= 500 else "invalid_request",
                    "error_description": "injected fault (status %d)" % status}
        code = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 429: 8, 500: 13,
                501: 12, 503: 14, 504: 4}.get(status, 2)
        return zerr(code, "injected fault", "TEST-fault").body

    # ---- routing

    def route(self, path, query, body):
        m = self.command
        if path == "/.well-known/openid-configuration":
            return self.only(m, "GET") or self.discovery()
        if path == "/oauth/v2/keys":
            return self.only(m, "GET") or self.jwks()
        if path == "/oauth/v2/token":
            return self.only(m, "POST") or self.token(body)
        if path == "/oauth/v2/introspect":
            return self.only(m, "POST") or self.introspect(body)
        if path == "/oauth/v2/revoke":
            return self.only(m, "POST") or self.revoke(body)
        if path == "/oidc/v1/userinfo":
            return self.only(m, "GET", "POST") or self.userinfo()
        if path == "/auth/v1/users/me":
            return self.only(m, "GET") or self.users_me()
        if path.startswith("/management/v1/"):
            return self.management(path[len("/management/v1"):], body)
        if path.startswith("/git/"):
            return self.git(path[len("/git"):], query, body)
        if path in ("/version", "/api", "/apis") or path.startswith("/api/"):
            return self.kube(path, query)
        raise ApiError(404, {"code": 5, "message": "Not Found"})

    @staticmethod
    def only(method, *allowed):
        if method not in allowed:
            raise ApiError(405, {"code": 12, "message": "Method Not Allowed"})
        return None

    def form(self, body):
        if "application/x-www-form-urlencoded" not in self.headers.get("Content-Type", ""):
            raise oerr(400, "invalid_request", "content type must be "
                       "application/x-www-form-urlencoded")
        out = {}
        for k, v in urllib.parse.parse_qsl(body.decode("utf-8", "replace"),
                                           keep_blank_values=True):
            out.setdefault(k, v)
        return out

    def basic_auth(self):
        """(client_id, secret) from HTTP Basic, both halves URL-unescaped
        like Go's url.QueryUnescape (§5.1), or None."""
        h = self.headers.get("Authorization", "")
        if not h.startswith("Basic "):
            return None
        try:
            raw = base64.b64decode(h[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        if ":" not in raw:
            return None
        cid, sec = raw.split(":", 1)
        return urllib.parse.unquote_plus(cid), urllib.parse.unquote_plus(sec)

    # ---- OIDC

    def discovery(self):
        i = self.state.issuer
        self.send(200, {
            "issuer": i,
            "authorization_endpoint": i + "/oauth/v2/authorize",
            "token_endpoint": i + "/oauth/v2/token",
            "introspection_endpoint": i + "/oauth/v2/introspect",
            "userinfo_endpoint": i + "/oidc/v1/userinfo",
            "revocation_endpoint": i + "/oauth/v2/revoke",
            "end_session_endpoint": i + "/oidc/v1/end_session",
            "device_authorization_endpoint": i + "/oauth/v2/device_authorization",
            "jwks_uri": i + "/oauth/v2/keys",
            "scopes_supported": ["openid", "profile", "email", "phone", "address",
                                 "offline_access"],
            "response_types_supported": ["code", "id_token", "id_token token"],
            "grant_types_supported": ["authorization_code", "implicit", "refresh_token",
                                      "client_credentials", JWT_BEARER,
                                      "urn:ietf:params:oauth:grant-type:device_code",
                                      "urn:ietf:params:oauth:grant-type:token-exchange"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "request_object_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic",
                                                      "client_secret_post",
                                                      "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic",
                                                           "client_secret_post",
                                                           "private_key_jwt"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic",
                                                              "private_key_jwt"],
            "introspection_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "aud", "exp", "iat", "iss", "auth_time", "nonce",
                                 "acr", "amr", "c_hash", "at_hash", "act", "scopes",
                                 "client_id", "azp", "preferred_username", "name"],
            "code_challenge_methods_supported": ["S256"],
            "ui_locales_supported": ["en"],
            "request_parameter_supported": True,
            "request_uri_parameter_supported": False,
        })

    def jwks(self):
        k = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(
            self.state.web_key.public_key()))
        k.update({"kid": self.state.web_key_id, "use": "sig", "alg": "RS256"})
        self.send(200, {"keys": [k]})

    def verify_assertion(self, assertion, lookup_key):
        """Zitadel's JWT-profile assertion rules (§4.3), via PyJWT.

        lookup_key(iss, kid) returns the public key or None.  Raises the
        500 Errors.Internal ApiError with the real reason for the log.
        Returns the verified claims.
        """
        try:
            header = jwt.get_unverified_header(assertion)
            claims = b64url_json(assertion.split(".")[1])
        except (jwt.PyJWTError, ValueError, IndexError, binascii.Error) as e:
            raise assertion_error("assertion unparsable: %s" % e)
        if not isinstance(claims, dict):
            raise assertion_error("assertion payload is not an object")
        now = self.state.now()
        issuer = self.state.issuer
        aud = claims.get("aud")
        auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if issuer not in auds:
            raise assertion_error("audience %r does not contain %r" % (aud, issuer))
        exp = numeric_date(claims.get("exp"))
        if exp is None or not now + 1 < exp:
            raise assertion_error("token has expired (exp %r, now %.3f)"
                                  % (claims.get("exp"), now))
        iat = numeric_date(claims.get("iat"))
        if iat is None:
            raise assertion_error("iat missing")
        if go_round(iat) > go_round(now + 1):
            raise assertion_error("issuedAt of token is in the future (iat %r, now %.3f)"
                                  % (claims.get("iat"), now))
        if go_round(iat) < go_round(now - 3600):
            raise assertion_error("issuedAt of token is too old")
        iss = claims.get("iss")
        if not isinstance(iss, str) or iss != claims.get("sub"):
            raise assertion_error("delegation not allowed, issuer and sub must be identical")
        kid = header.get("kid")
        key = lookup_key(iss, kid) if isinstance(kid, str) else None
        if key is None:
            raise assertion_error("Errors.AuthNKey.NotFound (kid %r, iss %r)" % (kid, iss))
        try:
            jwt.PyJWS().decode_complete(assertion, key=key, algorithms=["RS256"])
        except jwt.PyJWTError as e:
            raise assertion_error("invalid signature: %s" % e)
        return claims

    def user_key(self, iss, kid):
        user = self.state.users.get(iss)
        if user is None:
            return None
        key = user.keys.get(kid)
        # Expired keys fail like unknown ones (SQL: expiration > now).
        if key is None or key.expires <= self.state.now():
            return None
        if not isinstance(key.public_key, rsa.RSAPublicKey):
            return None
        return key.public_key

    def app_key(self, iss, kid):
        app = self.state.apps.get(iss)
        return app.keys.get(kid) if app else None

    def token(self, body):
        f = self.form(body)
        grant = f.get("grant_type", "")
        with self.state.lock:
            if not grant:
                raise oerr(400, "invalid_request", "grant_type missing")
            if grant == JWT_BEARER:
                if not f.get("assertion"):
                    raise oerr(400, "invalid_request", "assertion missing")
                claims = self.verify_assertion(f["assertion"], self.user_key)
                user = self.state.users[claims["iss"]]
            elif grant == "client_credentials":
                user = self.client_credentials_user(f)
            else:
                raise oerr(400, "unsupported_grant_type",
                           "%s not supported" % grant[:80])
            scopes = self.state.allowed_scopes(user, f.get("scope", ""))
            if not scopes:
                raise oerr(400, "invalid_request",
                           "The scope of your request is missing. Please ensure some "
                           "scopes are requested. If you have any questions, you may "
                           "contact the administrator of the application.")
            _, resp = self.state.issue(user, scopes)
        self.send(200, resp, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def client_credentials_user(self, f):
        creds = self.basic_auth()
        if creds is None:
            if not f.get("client_id"):
                raise oerr(400, "invalid_request", "client_id missing")
            creds = (f.get("client_id"), f.get("client_secret", ""))
        cid, sec = creds
        user = None
        for u in self.state.users.values():
            if cid in (u.username, self.state.login_name(u)):
                user = u
                break
        if user is None:
            raise oerr(400, "invalid_client", "client not found")
        if user.secret is None:
            raise oerr(400, "invalid_request", "Errors.User.Machine.Secret.NotExisting")
        if not hmac.compare_digest(hashlib.sha256(sec.encode()).digest(), user.secret):
            raise oerr(400, "invalid_request", "Errors.User.Machine.Secret.Invalid")
        return user

    def introspect_client(self, f):
        """Authenticate the API app (§6.1); returns the App."""
        ctype = f.get("client_assertion_type")
        if ctype is not None or f.get("client_assertion"):
            if ctype != CLIENT_ASSERTION_JWT:
                raise oerr(400, "invalid_request", "invalid client_assertion_type")
            assertion = f.get("client_assertion", "")
            try:
                jwt.get_unverified_header(assertion)
                b64url_json(assertion.split(".")[1])
            except (jwt.PyJWTError, ValueError, IndexError, binascii.Error):
                # An unparsable assertion falls through to {"active":false}
                # in this Zitadel version (§6.1 code observation).
                return None
            try:
                claims = self.verify_assertion(assertion, self.app_key)
            except ApiError as e:
                log("introspection client assertion rejected: %s", e.reason)
                raise oerr(400, "unauthorized_client", "client assertion invalid")
            return self.state.apps[claims["iss"]]
        creds = self.basic_auth()
        if creds is None:
            if f.get("client_id"):
                if not f.get("client_secret"):
                    raise oerr(400, "invalid_client", "client must be authenticated")
                creds = (f["client_id"], f["client_secret"])
            else:
                raise oerr(400, "invalid_request", "client_id missing")
        app = self.state.apps.get(creds[0])
        if app is None or not hmac.compare_digest(
                hashlib.sha256(creds[1].encode()).digest(), app.secret_hash):
            raise oerr(400, "unauthorized_client", "client authentication failed")
        return app

    def introspect(self, body):
        f = self.form(body)
        with self.state.lock:
            if not f.get("token"):
                raise oerr(400, "invalid_request", "token missing")
            app = self.introspect_client(f)
            found = self.state.lookup_token(f["token"]) if app else None
            if found is None:
                return self.send(200, {"active": False})
            user, tok, is_pat = found
            org = self.state.orgs[user.org]
            if is_pat:
                # Introspecting a PAT appends the app's client and project ids
                # to its audience, so the audience never blocks it (§5.2).
                aud = [app.client_id, app.project_id]
                scope, iat, exp, jti = PAT_SCOPES, int(tok.created), tok.expires, tok.id
                client_id = user.username
            else:
                if app.project_id not in tok.audience and app.client_id not in tok.audience:
                    return self.send(200, {"active": False})
                aud = tok.audience
                scope, iat, exp, jti = tok.scopes, tok.iat, tok.exp, tok.jti
                client_id = tok.client_id
            resp = {"active": True, "scope": " ".join(scope), "client_id": client_id,
                    "token_type": "Bearer", "exp": int(min(exp, MAX_EXPIRY)),
                    "iat": iat, "auth_time": iat, "nbf": iat, "sub": user.id,
                    "aud": aud, "iss": self.state.issuer, "jti": jti,
                    "username": self.state.login_name(user)}
            # The resource-owner claims come only with their scope or an org
            # scope (§6.2); PATs carry that scope by construction.
            if "urn:zitadel:iam:user:resourceowner" in scope or any(
                    s.startswith("urn:zitadel:iam:org:id:") for s in scope):
                resp.update({
                    "urn:zitadel:iam:user:resourceowner:id": user.org,
                    "urn:zitadel:iam:user:resourceowner:name": org["name"],
                    "urn:zitadel:iam:user:resourceowner:primary_domain": org["domain"]})
            if "profile" in scope:
                resp["name"] = user.name
                resp["preferred_username"] = self.state.login_name(user)
        self.send(200, resp)

    def revoke(self, body):
        """RFC 7009: always 200, even for unknown tokens."""
        f = self.form(body)
        if not f.get("token"):
            raise oerr(400, "invalid_request", "token missing")
        with self.state.lock:
            tok = self.state.tokens.get(f["token"])
            if tok is not None:
                tok.revoked = True
        self.send(200, b"", ctype="text/plain")

    def userinfo(self):
        user, _, _ = self.bearer_user(need_zitadel_aud=False)
        self.send(200, {"sub": user.id, "name": user.name,
                        "preferred_username": self.state.login_name(user),
                        "updated_at": int(self.state.now()),
                        "urn:zitadel:iam:user:resourceowner:id": user.org})

    # ---- Zitadel API authentication

    def bearer_user(self, need_zitadel_aud=True):
        """The authz layer (§1): returns (user, token, is_pat) or raises 401."""
        h = self.headers.get("Authorization")
        if h is None:
            raise zerr(16, "auth header missing")
        # Go's strings.Split(header, "Bearer ") must give exactly two parts;
        # "bearer x" or "Bearer a Bearer b" are refused.
        parts = h.split("Bearer ")
        if len(parts) != 2:
            raise zerr(16, "invalid auth header", "AUTH-toLo1")
        with self.state.lock:
            found = self.state.lookup_token(parts[1])
            if found is None:
                raise zerr(16, "Errors.Token.Invalid", "AUTH-7fs1e")
            user, tok, is_pat = found
            # PATs skip the audience check (token_verifier.go).
            if need_zitadel_aud and not is_pat and \
                    self.state.zitadel_project_id not in tok.audience:
                raise zerr(16, "Errors.Token.Invalid", "AUTH-7fs1e")
        return found

    def org_context(self, caller):
        org = None
        for k, v in self.headers.items():
            if k.lower() == "x-zitadel-orgid":
                org = v
                break
        if org is None:
            return caller.org
        if org not in self.state.orgs:
            raise zerr(7, "Organisation doesn't exist", "AUTH-Bs7Ds")
        return org

    def users_me(self):
        user, _, _ = self.bearer_user()
        self.org_context(user)
        with self.state.lock:
            org = self.state.orgs[user.org]
            self.send(200, {"user": prune({
                "id": user.id,
                "details": {"sequence": "1", "creationDate": ts(self.state.now()),
                            "changeDate": ts(self.state.now()), "resourceOwner": user.org},
                "state": "USER_STATE_ACTIVE",
                "userName": user.username,
                "loginNames": [user.username, self.state.login_name(user)],
                "preferredLoginName": self.state.login_name(user),
                "machine": {"name": user.name, "description": user.description,
                            "accessTokenType": user.token_type
                            if user.token_type != "ACCESS_TOKEN_TYPE_BEARER" else None},
                "orgDomain": org["domain"],
            })})

    # ---- management API

    MANAGEMENT_ROUTES = [
        # (path pattern, method, handler name, permission)
        (("users", "machine"), "POST", "add_machine_user", "user.write"),
        (("users", "*", "machine"), "PUT", "update_machine", "user.write"),
        (("users", "*", "secret"), "PUT", "generate_secret", "user.write"),
        (("users", "*", "secret"), "DELETE", "remove_secret", "user.write"),
        (("users", "*", "keys"), "POST", "add_key", "user.write"),
        (("users", "*", "keys", "_search"), "POST", "list_keys", "user.read"),
        (("users", "*", "keys", "*"), "GET", "get_key", "user.read"),
        (("users", "*", "keys", "*"), "DELETE", "remove_key", "user.write"),
        (("users", "*", "pats"), "POST", "add_pat", "user.write"),
        (("users", "*", "pats", "_search"), "POST", "list_pats", "user.read"),
        (("users", "*", "pats", "*"), "GET", "get_pat", "user.read"),
        (("users", "*", "pats", "*"), "DELETE", "remove_pat", "user.write"),
    ]

    def management(self, sub, body):
        segs = sub.strip("/").split("/") if sub.strip("/") else []
        if sub.endswith("/") and segs:
            segs.append("")
        matched_path = False
        target = None
        for pattern, method, name, perm in self.MANAGEMENT_ROUTES:
            if len(pattern) != len(segs):
                continue
            args = []
            ok = True
            for p, s in zip(pattern, segs):
                if p == "*":
                    args.append(urllib.parse.unquote(s))
                elif p != s:
                    ok = False
                    break
            if not ok:
                continue
            matched_path = True
            if method == self.command:
                target = (name, perm, args)
                break
        if target is None:
            if matched_path:
                raise ApiError(405, {"code": 12, "message": "Method Not Allowed"})
            raise ApiError(404, {"code": 5, "message": "Not Found"})

        # grpc-gateway decodes the body before any interceptor runs.
        req = {}
        if self.command in ("POST", "PUT") and body.strip():
            try:
                req = json.loads(body)
            except ValueError:
                raise gateway_error("proto: syntax error (line 1:1): invalid value")
            if not isinstance(req, dict):
                raise gateway_error("proto: syntax error (line 1:1): unexpected token")

        name, perm, args = target
        caller, _, _ = self.bearer_user()
        with self.state.lock:
            org = self.org_context(caller)
            if perm not in self.state.permissions(caller, org):
                raise zerr(7, "No matching permissions found", "AUTH-5mWD2")
            getattr(self, "m_" + name)(org, req, *args)

    # field helpers: accept lowerCamel and snake_case names (§1.1)

    @staticmethod
    def field(req, camel, kind=str, default=None):
        snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel)
        v = req.get(camel, req.get(snake))
        if v is None:
            return default
        if kind is str and not isinstance(v, str):
            raise gateway_error("proto: (line 1:2): invalid value for string field %s"
                                % camel)
        return v

    @staticmethod
    def enum(req, camel, values, msg, gofield, required=False):
        snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel)
        v = req.get(camel, req.get(snake))
        if v is None:
            v = 0
        if isinstance(v, str):
            if v not in values:
                raise gateway_error('proto: (line 1:2): invalid value for enum field '
                                    '%s: "%s"' % (camel, v[:60]))
            v = values[v]
        elif not isinstance(v, int) or isinstance(v, bool):
            raise gateway_error("proto: (line 1:2): invalid value for enum field %s"
                                % camel)
        if v not in values.values():
            raise validation_error(msg, gofield, "value must be one of the defined "
                                   "enum values")
        if required and v == 0:
            raise validation_error(msg, gofield, "value must not be in list [0]")
        return [k for k, n in values.items() if n == v][0]

    @staticmethod
    def check_len(value, lo, hi, msg, gofield):
        if not lo <= len(value) <= hi:
            if lo == 0:
                raise validation_error(msg, gofield, "value length must be at most %d "
                                       "runes" % hi)
            if hi is None or hi > 10000:
                raise validation_error(msg, gofield, "value length must be at least "
                                       "%d runes" % lo)
            raise validation_error(msg, gofield, "value length must be between %d and "
                                   "%d runes, inclusive" % (lo, hi))

    def expiration(self, req, err_id="DOMAIN-dv3t5"):
        v = self.field(req, "expirationDate", kind=object)
        if v is None:
            return MAX_EXPIRY
        t = parse_ts(v, "expirationDate")
        if t <= self.state.now():
            raise zerr(3, "Errors.AuthNKey.ExpireBeforeNow", err_id)
        return t

    def machine(self, org, user_id):
        user = self.state.users.get(user_id)
        if user is None or user.org != org:
            return None
        return user

    def details(self, org, seq, created=None, changed=None):
        return {"sequence": str(seq), "creationDate": ts(created) if created else None,
                "changeDate": ts(changed) if changed else None, "resourceOwner": org}

    def reply(self, obj):
        self.send(200, prune(obj))

    def m_add_machine_user(self, org, req):
        msg = "AddMachineUserRequest"
        username = self.field(req, "userName", default="")
        name = self.field(req, "name", default="")
        description = self.field(req, "description", default="")
        self.check_len(username, 1, 200, msg, "UserName")
        self.check_len(name, 1, 200, msg, "Name")
        self.check_len(description, 0, 500, msg, "Description")
        token_type = self.enum(req, "accessTokenType", ACCESS_TOKEN_TYPES, msg,
                               "AccessTokenType")
        user_id = self.field(req, "userId")
        if user_id is not None:
            self.check_len(user_id, 1, 200, msg, "UserId")
            if user_id in self.state.users:
                raise zerr(9, "Errors.User.AlreadyExisting", "COMMAND-k2una")
        for u in self.state.users.values():
            if u.org == org and u.username == username:
                raise zerr(6, "User already exists", "V3-DKcYh")
        user = self.state.add_user(org, username, name, description, token_type,
                                   user_id=user_id)
        # AddMachineUser uses the "change" converter: changeDate only (§1.2).
        self.reply({"userId": user.id,
                    "details": self.details(org, self.state.next_seq(),
                                            changed=self.state.now())})

    def m_update_machine(self, org, req, user_id):
        msg = "UpdateMachineRequest"
        self.check_len(user_id, 1, 200, msg, "UserId")
        name = self.field(req, "name", default="")
        description = self.field(req, "description", default="")
        self.check_len(name, 1, 200, msg, "Name")
        self.check_len(description, 0, 500, msg, "Description")
        token_type = self.enum(req, "accessTokenType", ACCESS_TOKEN_TYPES, msg,
                               "AccessTokenType")
        user = self.machine(org, user_id)
        if user is None:
            raise zerr(5, "User could not be found", "COMMAND-5M0od")
        # Full replace: omitted fields reset to their zero value (§2.2).
        new = (name, description, token_type)
        if new == (user.name, user.description, user.token_type):
            raise zerr(9, "Errors.User.NotChanged", "COMMAND-2n8vs")
        user.name, user.description, user.token_type = new
        self.reply({"details": self.details(org, self.state.next_seq(),
                                            changed=self.state.now())})

    def m_generate_secret(self, org, req, user_id):
        self.check_len(user_id, 1, 10 ** 9, "GenerateMachineSecretRequest", "UserId")
        user = self.machine(org, user_id)
        if user is None:
            raise zerr(5, "User could not be found", "MANAG-fpo4B")
        alphabet = string.ascii_letters + string.digits
        secret = "".join(secrets.choice(alphabet) for _ in range(64))
        user.secret = hashlib.sha256(secret.encode()).digest()
        user.secret_created = self.state.now()
        self.reply({"clientId": user.username, "clientSecret": secret,
                    "details": self.details(org, self.state.next_seq(),
                                            created=self.state.now())})

    def m_remove_secret(self, org, req, user_id):
        self.check_len(user_id, 1, 200, "RemoveMachineSecretRequest", "UserId")
        user = self.machine(org, user_id)
        if user is None:
            raise zerr(5, "User could not be found", "COMMAND-x8910n")
        if user.secret is None:
            raise zerr(9, "Secret doesn't exist", "COMMAND-coi82n")
        user.secret = None
        self.reply({"details": self.details(org, self.state.next_seq(),
                                            changed=self.state.now())})

    def m_add_key(self, org, req, user_id):
        msg = "AddMachineKeyRequest"
        self.check_len(user_id, 1, 10 ** 9, msg, "UserId")
        self.enum(req, "type", KEY_TYPES, msg, "Type", required=True)
        expires = self.expiration(req)
        public = self.field(req, "publicKey")
        public_key = None
        if public is not None and public != "":
            try:
                pem = b64decode_any(public)
            except (binascii.Error, ValueError):
                raise gateway_error("proto: (line 1:2): invalid value for bytes field "
                                    "publicKey")
            public_key = parse_pkix_pem(pem)
            if public_key is None:
                raise zerr(3, "Public key is not a valid RSA public key in PKIX format "
                           "with PEM encoding", "COMMAND-5F3h1")
        user = self.machine(org, user_id)
        if user is None:
            # Not 404: the command layer reports a precondition failure (§2.5).
            raise zerr(9, "User could not be found", "COMMAND-bnipwm1")
        key, keyfile = self.state.add_key(user, expires, public_key)
        self.reply({"keyId": key.id,
                    "keyDetails": base64.b64encode(keyfile.encode()).decode()
                    if keyfile else None,
                    "details": self.details(org, key.seq, created=key.created)})

    def key_json(self, org, key):
        return {"id": key.id,
                "details": self.details(org, key.seq, key.created, key.created),
                "type": "KEY_TYPE_JSON", "expirationDate": ts(key.expires)}

    def pat_json(self, org, pat):
        return {"id": pat.id,
                "details": self.details(org, pat.seq, pat.created, pat.changed),
                "expirationDate": ts(pat.expires), "scopes": PAT_SCOPES}

    def m_get_key(self, org, req, user_id, key_id):
        msg = "GetMachineKeyByIDsRequest"
        self.check_len(user_id, 1, 200, msg, "UserId")
        self.check_len(key_id, 1, 200, msg, "KeyId")
        user = self.machine(org, user_id)
        key = user.keys.get(key_id) if user else None
        if key is None:
            raise zerr(5, "Errors.AuthNKey.NotFound", "QUERY-Dgr3g")
        self.reply({"key": self.key_json(org, key)})

    def list_query(self, req, msg):
        q = self.field(req, "query", kind=object, default={})
        if not isinstance(q, dict):
            raise gateway_error("proto: (line 1:2): invalid value for message field query")
        try:
            offset = int(q.get("offset", 0) or 0)
            limit = int(q.get("limit", 0) or 0)
        except (TypeError, ValueError):
            raise gateway_error("proto: (line 1:2): invalid value for integer field")
        if offset < 0 or not 0 <= limit < 2 ** 32:
            raise gateway_error("proto: (line 1:2): invalid value for integer field")
        return offset, limit

    def reply_list(self, items, offset, limit):
        page = items[offset:offset + limit] if limit else items[offset:]
        # int64 zero is omitted like any zero value, so an empty list is
        # just {"details":{"viewTimestamp":...}} (§2.7).
        self.reply({"details": {"totalResult": str(len(items)) if items else None,
                                "viewTimestamp": ts(self.state.now())},
                    "result": page})

    def m_list_keys(self, org, req, user_id):
        self.check_len(user_id, 1, 200, "ListMachineKeysRequest", "UserId")
        offset, limit = self.list_query(req, "ListMachineKeysRequest")
        user = self.machine(org, user_id)
        # Expired keys are still listed (no expiry filter in the query).
        items = [self.key_json(org, k) for k in user.keys.values()] if user else []
        self.reply_list(items, offset, limit)

    def m_remove_key(self, org, req, user_id, key_id):
        msg = "RemoveMachineKeyRequest"
        self.check_len(user_id, 1, 200, msg, "UserId")
        self.check_len(key_id, 1, 200, msg, "KeyId")
        user = self.machine(org, user_id)
        if user is None or key_id not in user.keys:
            raise zerr(5, "Machine key not found", "COMMAND-4m77G")
        del user.keys[key_id]
        self.reply({"details": self.details(org, self.state.next_seq(),
                                            changed=self.state.now())})

    def m_add_pat(self, org, req, user_id):
        self.check_len(user_id, 1, 10 ** 9, "AddPersonalAccessTokenRequest", "UserId")
        expires = self.expiration(req)
        user = self.machine(org, user_id)
        if user is None:
            raise zerr(9, "User could not be found", "COMMAND-Dggw2")
        pat = self.state.add_pat(user, expires)
        self.reply({"tokenId": pat.id, "token": pat.token,
                    "details": self.details(org, pat.seq, created=pat.created)})

    def m_get_pat(self, org, req, user_id, pat_id):
        msg = "GetPersonalAccessTokenByIDsRequest"
        self.check_len(user_id, 1, 200, msg, "UserId")
        self.check_len(pat_id, 1, 200, msg, "TokenId")
        user = self.machine(org, user_id)
        pat = user.pats.get(pat_id) if user else None
        if pat is None:
            raise zerr(5, "Errors.PersonalAccessToken.NotFound", "QUERY-fRunu")
        self.reply({"token": self.pat_json(org, pat)})

    def m_list_pats(self, org, req, user_id):
        self.check_len(user_id, 1, 200, "ListPersonalAccessTokensRequest", "UserId")
        offset, limit = self.list_query(req, "ListPersonalAccessTokensRequest")
        user = self.machine(org, user_id)
        items = [self.pat_json(org, p) for p in user.pats.values()] if user else []
        self.reply_list(items, offset, limit)

    def m_remove_pat(self, org, req, user_id, pat_id):
        msg = "RemovePersonalAccessTokenRequest"
        self.check_len(user_id, 1, 200, msg, "UserId")
        self.check_len(pat_id, 1, 200, msg, "TokenId")
        user = self.machine(org, user_id)
        if user is None or pat_id not in user.pats:
            raise zerr(5, "Personal Access Token not found", "COMMAND-4m77G")
        del user.pats[pat_id]
        self.reply({"details": self.details(org, self.state.next_seq(),
                                            changed=self.state.now())})

    # ---- git smart HTTP

    def token_from_request(self):
        """An active token from Basic (password) or Bearer, else None."""
        h = self.headers.get("Authorization", "")
        value = None
        if h.startswith("Bearer "):
            value = h[7:].strip()
        else:
            creds = self.basic_auth_raw()
            if creds:
                value = creds[1]
        if not value:
            return None
        with self.state.lock:
            return self.state.lookup_token(value)

    def basic_auth_raw(self):
        h = self.headers.get("Authorization", "")
        if not h.startswith("Basic "):
            return None
        try:
            raw = base64.b64decode(h[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return raw.split(":", 1) if ":" in raw else None

    def git(self, sub, query, body):
        found = self.token_from_request()
        if found is None:
            return self.send(401, b"authentication required\n", ctype="text/plain",
                             headers={"WWW-Authenticate": 'Basic realm="zitadel-test"'})
        user = found[0]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.server.dir,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_PROJECT_ROOT": self.server.git_root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": sub,
            "REQUEST_METHOD": self.command,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user.username,
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "GATEWAY_INTERFACE": "CGI/1.1",
        }
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
            env["HTTP_GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        p = subprocess.run(["git", "http-backend"], input=body, env=env,
                           capture_output=True, timeout=120)
        out = p.stdout
        sep = out.find(b"\r\n\r\n")
        sep_len = 4
        if sep < 0 or (out.find(b"\n\n") >= 0 and out.find(b"\n\n") < sep):
            sep, sep_len = out.find(b"\n\n"), 2
        if sep < 0:
            log("git http-backend failed (%d): %s", p.returncode,
                p.stderr.decode(errors="replace")[:500])
            return self.send(500, b"git http-backend failed\n", ctype="text/plain")
        status, ctype, headers = 200, "text/plain", {}
        for line in out[:sep].decode("latin-1").splitlines():
            k, _, v = line.partition(":")
            k, v = k.strip(), v.strip()
            if k.lower() == "status":
                status = int(v.split()[0])
            elif k.lower() == "content-type":
                ctype = v
            elif k:
                headers[k] = v
        self.send(status, out[sep + sep_len:], ctype=ctype, headers=headers)

    # ---- kube API stand-in

    def kube(self, path, query):
        found = self.token_from_request() if self.headers.get(
            "Authorization", "").startswith("Bearer ") else None
        if found is None:
            return self.send(401, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                   "status": "Failure", "message": "Unauthorized",
                                   "reason": "Unauthorized", "code": 401})
        if self.command != "GET":
            raise ApiError(405, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                 "status": "Failure", "message": "method not allowed",
                                 "reason": "MethodNotAllowed", "code": 405})
        if path == "/version":
            return self.send(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0",
                                   "gitCommit": "0" * 40, "gitTreeState": "clean",
                                   "buildDate": "2025-01-01T00:00:00Z",
                                   "goVersion": "go1.23.0", "compiler": "gc",
                                   "platform": "linux/amd64"})
        if path == "/api":
            return self.send(200, {"kind": "APIVersions", "versions": ["v1"],
                                   "serverAddressByClientCIDRs": [
                                       {"clientCIDR": "0.0.0.0/0",
                                        "serverAddress": "127.0.0.1:%d"
                                        % self.server.server_address[1]}]})
        if path == "/apis":
            return self.send(200, {"kind": "APIGroupList", "apiVersion": "v1",
                                   "groups": []})
        if path == "/api/v1":
            return self.send(200, {
                "kind": "APIResourceList", "groupVersion": "v1",
                "resources": [
                    {"name": "pods", "singularName": "pod", "namespaced": True,
                     "kind": "Pod", "verbs": ["get", "list"], "shortNames": ["po"],
                     "categories": ["all"]},
                    {"name": "namespaces", "singularName": "namespace",
                     "namespaced": False, "kind": "Namespace",
                     "verbs": ["get", "list"], "shortNames": ["ns"]}]})
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods", path)
        if m or path == "/api/v1/pods":
            return self.send(200, {"kind": "PodList", "apiVersion": "v1",
                                   "metadata": {"resourceVersion": "1"}, "items": []})
        self.send(404, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Failure", "message": "the server could not find the "
                        "requested resource", "reason": "NotFound", "code": 404})

    # ---- test control

    def route_control(self, path, body):
        try:
            req = json.loads(body) if body.strip() else {}
            name = path[len("/__test__/"):]
            fn = getattr(self, "c_" + name, None)
            if fn is None or not isinstance(req, dict):
                return self.send(404, {"error": "unknown control call %s" % name})
            with self.state.lock:
                resp = fn(req)
            self.send(200, resp if resp is not None else {})
        except (ValueError, KeyError, TypeError) as e:
            log("control %s failed: %s", path, e)
            self.send(400, {"error": "%s: %s" % (type(e).__name__, e)})

    def when(self, value):
        """Expiry input: None, RFC 3339 string, epoch seconds, or (abs < 1e9)
        seconds relative to the server clock (negative = in the past)."""
        if value is None:
            return None
        if isinstance(value, str):
            return parse_ts(value, "expires")
        value = float(value)
        return self.state.now() + value if abs(value) < 1e9 else value

    def c_machine(self, req):
        st = self.state
        org = req.get("org") or st.orgs_default
        if org not in st.orgs:
            raise ValueError("unknown org %s" % org)
        username = req.get("username") or "robot-%d" % next(_ids)
        tt = {"bearer": "ACCESS_TOKEN_TYPE_BEARER",
              "jwt": "ACCESS_TOKEN_TYPE_JWT"}.get(str(req.get("access_token_type",
                                                              "bearer")).lower())
        if tt is None:
            raise ValueError("access_token_type must be bearer or jwt")
        roles = req.get("roles")
        roles = ["ORG_OWNER"] if roles is None else list(roles)
        user = st.add_user(org, username, req.get("name") or username,
                           req.get("description", ""), tt, roles)
        out = {"user_id": user.id, "username": user.username, "org": org,
               "key_id": None, "key_json": None, "pat": None, "pat_id": None}
        if req.get("key", True):
            key, text = st.add_key(user, self.when(req.get("key_expires")))
            out["key_id"], out["key_json"] = key.id, text
        if req.get("pat"):
            pat = st.add_pat(user, self.when(req.get("pat_expires")))
            out["pat"], out["pat_id"] = pat.token, pat.id
        return out

    def c_add_key(self, req):
        user = self.state.users[req["user_id"]]
        key, text = self.state.add_key(user, self.when(req.get("expires")))
        return {"key_id": key.id, "key_json": text}

    def c_bulk_keys(self, req):
        """Add count keys sharing one public key, for list benchmarks:
        generating thousands of RSA keys would measure this server."""
        user = self.state.users[req["user_id"]]
        count = int(req["count"])
        if count < 0 or count > 100000:
            raise ValueError("count must be 0..100000")
        public = rsa.generate_private_key(public_exponent=65537,
                                          key_size=2048).public_key()
        for _ in range(count):
            self.state.add_key(user, None, public)
        return {"keys": len(user.keys)}

    def c_remove_key(self, req):
        del self.state.users[req["user_id"]].keys[req["key_id"]]

    def c_set_roles(self, req):
        self.state.users[req["user_id"]].roles = set(req["roles"])

    def c_secret(self, req):
        user = self.state.users[req["user_id"]]
        alphabet = string.ascii_letters + string.digits
        secret = "".join(secrets.choice(alphabet) for _ in range(64))
        user.secret = hashlib.sha256(secret.encode()).digest()
        return {"client_id": user.username, "client_secret": secret}

    def c_issue_token(self, req):
        user = self.state.users[req["user_id"]]
        scope = req.get("scope") or ("openid " + ZITADEL_AUD_SCOPE)
        if req.get("project_aud", True):
            scope += " urn:zitadel:iam:org:project:id:%s:aud" % self.state.project_id
        tok, resp = self.state.issue(user, self.state.allowed_scopes(user, scope),
                                     req.get("lifetime"))
        return {"token": tok.value, "expires_in": resp["expires_in"]}

    def c_token_active(self, req):
        return {"active": self.state.lookup_token(req["token"]) is not None}

    def c_revoke_token(self, req):
        tok = self.state.tokens.get(req["token"])
        if tok is not None:
            tok.revoked = True
        return {"found": tok is not None}

    def c_fault(self, req):
        self.server.faults.add(req)

    def c_clear_faults(self, req):
        self.server.faults.clear()

    def c_counts(self, req):
        with self.server.stats_lock:
            return dict(self.server.counts)

    def c_reset_counts(self, req):
        with self.server.stats_lock:
            self.server.counts.clear()
            self.server.requests.clear()

    def c_requests(self, req):
        with self.server.stats_lock:
            return {"requests": list(self.server.requests)}

    def c_clock(self, req):
        self.state.clock_offset = float(req["offset"])

    def c_token_lifetime(self, req):
        self.state.token_lifetime = int(req["seconds"])

    def c_git_repo(self, req):
        name = req["name"]
        if not re.fullmatch(r"[A-Za-z0-9._-]+", name) or name.startswith("."):
            raise ValueError("bad repo name")
        make_repo(self.server.git_root, name, self.server.dir)
        return {"url": "%s/git/%s.git" % (self.state.issuer, name)}


def numeric_date(v):
    """NumericDate as Zitadel's parser reads it: number or RFC 3339 string."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        # Python's json accepts NaN/Infinity; Go's decoder does not.
        return float(v) if math.isfinite(v) else None
    if isinstance(v, str):
        try:
            return parse_ts(v, "date")
        except ApiError:
            return None
    return None


def parse_pkix_pem(pem):
    """First PEM block, DER must be SubjectPublicKeyInfo (label unchecked).

    cryptography would also accept a PKCS#1 RSAPublicKey, which Go's
    x509.ParsePKIXPublicKey refuses; re-encoding and comparing keeps us as
    strict as Zitadel.  A non-RSA PKIX key passes, as in Zitadel (§3.3).
    """
    m = re.search(rb"-----BEGIN [^-]*-----(.*?)-----END [^-]*-----", pem, re.S)
    if not m:
        return None
    try:
        der = base64.b64decode(b"".join(m.group(1).split()), validate=True)
        key = serialization.load_der_public_key(der)
        spki = key.public_bytes(serialization.Encoding.DER,
                                serialization.PublicFormat.SubjectPublicKeyInfo)
    except (ValueError, binascii.Error, TypeError):
        return None
    return key if spki == der else None


# ----------------------------------------------------------------- bootstrap

def git_env(home):
    return dict(os.environ, HOME=home, GIT_CONFIG_NOSYSTEM="1",
                GIT_AUTHOR_NAME="Test", GIT_AUTHOR_EMAIL="test@example.invalid",
                GIT_COMMITTER_NAME="Test", GIT_COMMITTER_EMAIL="test@example.invalid",
                GIT_AUTHOR_DATE="2025-01-01T00:00:00Z",
                GIT_COMMITTER_DATE="2025-01-01T00:00:00Z")


def make_repo(root, name, home):
    """A bare repo with one commit on main holding README (idempotent)."""
    path = os.path.join(root, name + ".git")
    if os.path.isdir(path):
        return path
    env = git_env(home)
    tmp = path + ".tmp%d" % threading.get_ident()
    run = lambda *a, **kw: subprocess.run(["git", "--git-dir", tmp] + list(a),
                                          env=env, check=True, capture_output=True,
                                          **kw).stdout.decode().strip()
    subprocess.run(["git", "init", "-q", "--bare", tmp], env=env, check=True,
                   capture_output=True)
    blob = run("hash-object", "-w", "--stdin", input=b"hello from %s\n" % name.encode())
    tree = run("mktree", input=("100644 blob %s\tREADME\n" % blob).encode())
    commit = run("commit-tree", tree, "-m", "initial commit")
    run("update-ref", "refs/heads/main", commit)
    run("symbolic-ref", "HEAD", "refs/heads/main")
    run("config", "http.receivepack", "true")
    try:
        os.rename(tmp, path)
    except OSError:
        pass  # made concurrently by another request
    return path


def make_tls(d):
    """Test CA + server cert for 127.0.0.1/localhost; returns an SSLContext."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                            "libzitadel test CA %d" % os.getpid())])
    ca = (x509.CertificateBuilder()
          .subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                       False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                         False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file = os.path.join(d, "ca.pem")
    with open(ca_file, "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    cert_file = os.path.join(d, "server-cert.pem")
    with open(cert_file, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    key_file = os.path.join(d, "server-key.pem")
    write_secret_file(key_file, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode())
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_file, key_file)
    return ctx, ca_file


def bootstrap(server, d):
    """Orgs, project, admin machine user, API app and their files."""
    st = server.state
    org_id = st.add_org("ACME", "acme.localhost")
    other_org_id = st.add_org("Other", "other.localhost")
    st.orgs_default = org_id

    admin = st.add_user(org_id, "admin-robot", "Admin Robot", "test admin",
                        roles=["ORG_OWNER"])
    key, keyfile = st.add_key(admin)
    admin_key_file = os.path.join(d, "admin-key.json")
    write_secret_file(admin_key_file, keyfile)
    pat = st.add_pat(admin)
    admin_pat_file = os.path.join(d, "admin.pat")
    write_secret_file(admin_pat_file, pat.token)  # no trailing newline

    client_secret = "".join(secrets.choice(string.ascii_letters + string.digits)
                            for _ in range(64))
    app = App(new_id(), "%s@test-project" % new_id(), st.project_id, client_secret)
    st.apps[app.client_id] = app
    app_private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    app_key_id = new_id()
    app.keys[app_key_id] = app_private.public_key()
    app_key_file = os.path.join(d, "app-key.json")
    write_secret_file(app_key_file, json.dumps(
        {"type": "application", "keyId": app_key_id, "key": pem_private_pkcs1(app_private),
         "appId": app.id, "clientId": app.client_id}, separators=(",", ":")))
    app_secret_file = os.path.join(d, "app-client-secret")
    write_secret_file(app_secret_file, client_secret)

    server.git_root = os.path.join(d, "git")
    os.makedirs(server.git_root, exist_ok=True)
    make_repo(server.git_root, "repo", d)

    return {
        "issuer": st.issuer, "port": server.server_address[1], "pid": os.getpid(),
        "dir": d, "org_id": org_id, "other_org_id": other_org_id,
        "org_domain": "acme.localhost", "other_org_domain": "other.localhost",
        "project_id": st.project_id, "zitadel_project_id": st.zitadel_project_id,
        "admin_user_id": admin.id, "admin_username": admin.username,
        "admin_key_id": key.id, "admin_key_file": admin_key_file,
        "admin_pat_id": pat.id, "admin_pat_file": admin_pat_file,
        "app_id": app.id, "app_client_id": app.client_id, "app_key_id": app_key_id,
        "app_key_file": app_key_file, "app_client_secret_file": app_secret_file,
        "git_base": st.issuer + "/git", "kube_server": st.issuer,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, help="state directory (created 0700)")
    args = ap.parse_args()
    d = os.path.abspath(args.dir)
    os.makedirs(d, mode=0o700, exist_ok=True)
    os.chmod(d, 0o700)

    tls, ca_file = make_tls(d)
    server = Server(("127.0.0.1", 0), Handler, tls)
    port = server.server_address[1]
    server.dir = d
    server.state = State("https://127.0.0.1:%d" % port)
    info = bootstrap(server, d)
    info["ca_file"] = ca_file

    def stop(signum, frame):
        server.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    # Listening already (bound in the constructor): publish, then serve.
    path = os.path.join(d, "server.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(info, f, indent=1)
    os.rename(tmp, path)
    log("listening on %s (dir %s)", server.state.issuer, d)
    print("READY %s" % path, flush=True)
    server.serve_forever(poll_interval=0.2)
    server.stopping.set()
    server.server_close()
    log("stopped")


if __name__ == "__main__":
    main()
