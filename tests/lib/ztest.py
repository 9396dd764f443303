"""Harness for libzitadel's Python end-to-end tests.

Starts tests/server/zitadel_server.py (a Zitadel stand-in over real HTTPS
with a test CA) in a fresh temp dir and drives it through its /__test__/
control API.  Usage:

    import os, sys
    sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "lib"))
    import ztest
    with ztest.Server() as srv:
        m = srv.create_machine()
        ...

Server attributes: issuer, port, ca_file, dir, org_id, other_org_id,
project_id, admin_user_id, admin_key_file, admin_pat_file, app_client_id,
app_key_file, app_client_secret_file, kube_server.
Methods: create_machine, remove_key, issue_token, token_active, fault,
clear_faults, counts, count, reset_counts, set_clock_offset,
set_token_lifetime, requests, git_url, stop.

Additions beyond the team briefing:
    srv.info                  the whole server.json (also zitadel_project_id,
                              org_domain, admin_username, admin_key_id,
                              admin_pat_id, app_id, app_key_id)
    srv.zitadel_project_id, srv.org_domain, srv.admin_username
    srv.admin_pat()           -> the admin PAT string
    srv.add_key(user_id, expires=None) -> dict key_id, key_file
    srv.set_roles(user_id, roles)
    srv.generate_secret(user_id) -> (client_id, client_secret)
    srv.revoke_token(token)
    srv.request(method, path, body=None, headers=None, form=None, token=None)
        -> (status, headers dict (lower-case names), parsed JSON or bytes)
    srv.ssl_context()         an SSLContext trusting only the test CA
    srv.log_text()            the server's stderr log so far
    srv.dump_log()            print it to stderr.  stop() does this by itself
                              when a `with` block ends in an exception, when
                              a unittest test failed or erred while the
                              server ran (ztest counts unittest failures),
                              when the server died early, or when
                              ZT_SERVER_LOG is set in the environment.
    fault paths ending in "*" match every path with that prefix;
    create_machine(..., pat_expires=None, name=None, description=None)
    key_expires / pat_expires: RFC 3339 string, epoch seconds, or a number of
        seconds relative to the server clock when its magnitude is < 1e9
        (so key_expires=-60 gives a key that expired a minute ago).
    reset_counts() also clears the request log.
    requests() entries also carry "json_keys" (top-level names of a JSON body).
    ztest.run(..., env=...) merges env over os.environ; a None value unsets.
    ztest.write_secret(path, text) creates a 0600 file.
    ztest.python() is the interpreter the suite uses (ZT_PYTHON).
    ztest.ServerError is raised when the server does not start or a control
    call fails.
The admin PAT file holds the token with no trailing newline.
"""

import atexit
import json
import os
import select
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_SCOPE = "openid urn:zitadel:iam:org:project:id:zitadel:aud"
# What a token for pam_zitadel with require_org asks for (pam_zitadel(8)):
# the org claims come only with this scope; the project audience is added
# by issue_token(project_aud=True).
PAM_SCOPE = DEFAULT_SCOPE + " urn:zitadel:iam:user:resourceowner"

_HERE = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.dirname(os.path.dirname(_HERE))
_cleanup_dirs = []
_servers = []
_failures = [0]


def _count_failures(name, err_index):
    # Servers started in setUpClass/setUpModule are stopped after unittest
    # has recorded the failure, so counting failures lets stop() decide
    # whether the server log is worth printing.
    orig = getattr(unittest.TestResult, name)

    def wrapper(self, *args, **kwargs):
        if err_index is None or (len(args) > err_index and args[err_index] is not None):
            _failures[0] += 1
        return orig(self, *args, **kwargs)

    setattr(unittest.TestResult, name, wrapper)


_count_failures("addError", None)
_count_failures("addFailure", None)
_count_failures("addUnexpectedSuccess", None)
_count_failures("addSubTest", 2)  # (test, subtest, err): err None = passed


def src_path(rel=""):
    """Path inside the source tree (ZT_SRCDIR, else this checkout)."""
    return os.path.join(os.environ.get("ZT_SRCDIR") or _REPO, rel)


def build_path(rel=""):
    """Path inside the build tree (ZT_BUILDDIR, else this checkout)."""
    return os.path.join(os.environ.get("ZT_BUILDDIR") or _REPO, rel)


def python():
    return os.environ.get("ZT_PYTHON") or "/usr/bin/python3"


def tmpdir():
    """A new 0700 temp dir, removed at exit."""
    d = tempfile.mkdtemp(prefix="zt-")
    os.chmod(d, 0o700)
    _cleanup_dirs.append(d)
    return d


def write_secret(path, text):
    """Create path with mode 0600 (fails if it exists)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def run(argv, input=None, env=None, timeout=60):
    """Run argv, capture text stdout/stderr; never raises on exit status."""
    full = dict(os.environ)
    for k, v in (env or {}).items():
        if v is None:
            full.pop(k, None)
        else:
            full[k] = v
    return subprocess.run(argv, input=input, env=full, capture_output=True,
                          text=True, timeout=timeout)


def find_leaks(secrets, texts=(), files=()):
    """Where any of `secrets` shows up, raw or percent-encoded.

    texts: strings/bytes (reported as "text[i]"); files: paths, a directory is
    searched recursively.  Returns a list of (where, secret).
    """
    needles = []
    for s in secrets:
        if not s:
            continue
        forms = {s, urllib.parse.quote(s, safe=""), urllib.parse.quote_plus(s)}
        needles.append((s, [f.encode() for f in forms]))

    found = []

    def scan(where, data):
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        for s, forms in needles:
            if any(f in data for f in forms):
                found.append((where, s))

    for i, t in enumerate(texts):
        if t:
            scan("text[%d]" % i, t)
    paths = []
    for f in files:
        if os.path.isdir(f):
            for root, _, names in os.walk(f):
                paths.extend(os.path.join(root, n) for n in names)
        else:
            paths.append(f)
    for p in paths:
        try:
            with open(p, "rb") as fh:
                scan(p, fh.read())
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            continue
    return found


class ServerError(Exception):
    pass


class Server:
    """A running zitadel_server.py; stop() or leave the `with` block."""

    READY_TIMEOUT = 60

    def __init__(self):
        self._failures_at_start = _failures[0]
        self._exc_seen = False
        self._stopped = False
        self.dir = tmpdir()
        self._log_path = os.path.join(self.dir, "server.log")
        self._log = open(self._log_path, "wb")
        script = src_path("tests/server/zitadel_server.py")
        self.proc = subprocess.Popen([python(), script, "--dir", self.dir],
                                     stdout=subprocess.PIPE, stderr=self._log,
                                     stdin=subprocess.DEVNULL)
        _servers.append(self)
        try:
            self._wait_ready()
        except BaseException:
            self._exc_seen = True
            self.stop()
            raise
        with open(os.path.join(self.dir, "server.json")) as f:
            self.info = json.load(f)
        for k, v in self.info.items():
            setattr(self, k, v)
        self._ctx = self.ssl_context()
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=self._ctx))

    def _wait_ready(self):
        # The server prints "READY <path>" once server.json is in place.
        deadline = time.monotonic() + self.READY_TIMEOUT
        buf = b""
        fd = self.proc.stdout.fileno()
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ServerError("test server not ready after %ds" % self.READY_TIMEOUT)
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise ServerError("test server exited with %s before it was "
                                      "ready" % self.proc.wait())
                buf += chunk
        if not buf.startswith(b"READY "):
            raise ServerError("unexpected test server output: %r" % buf[:200])

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self._exc_seen = True
        self.stop()
        return False

    def stop(self):
        if self._stopped:
            return
        self._stopped = True
        died = self.proc.poll() is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()
        if (self._exc_seen or died or os.environ.get("ZT_SERVER_LOG")
                or _failures[0] > self._failures_at_start):
            self.dump_log()

    def log_text(self):
        try:
            with open(self._log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def dump_log(self):
        sys.stderr.write("---- test server log (%s) ----\n%s---- end of server log ----\n"
                         % (self._log_path, self.log_text()))
        sys.stderr.flush()

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.info["ca_file"])

    # ---- HTTP helpers

    def request(self, method, path, body=None, headers=None, form=None, token=None,
                timeout=30):
        """One HTTPS request to the server.  body: dict (sent as JSON) or
        bytes/str; form: dict (form-encoded).  Returns (status, headers, data)
        where data is parsed JSON when it parses, else bytes."""
        hdrs = dict(headers or {})
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif body is not None:
            data = body.encode() if isinstance(body, str) else body
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        req = urllib.request.Request(self.issuer + path, data=data, method=method,
                                     headers=hdrs)
        try:
            with self._opener.open(req, timeout=timeout) as r:
                status, rh, raw = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, rh, raw = e.code, e.headers, e.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw
        return status, {k.lower(): v for k, v in rh.items()}, parsed

    def _control(self, name, payload=None):
        status, _, data = self.request("POST", "/__test__/" + name, body=payload or {})
        if status != 200:
            raise ServerError("control call %s failed: %s %r" % (name, status, data))
        return data

    # ---- briefing API

    def create_machine(self, username=None, org=None, roles=("ORG_OWNER",), key=True,
                       key_expires=None, pat=False, access_token_type="bearer",
                       pat_expires=None, name=None, description=None):
        r = self._control("machine", {
            "username": username, "org": org,
            "roles": list(roles) if roles is not None else [],
            "key": bool(key), "key_expires": key_expires, "pat": bool(pat),
            "pat_expires": pat_expires, "access_token_type": access_token_type,
            "name": name, "description": description or ""})
        out = {"user_id": r["user_id"], "username": r["username"], "org": r["org"],
               "key_id": r["key_id"], "key_file": None, "pat": r["pat"],
               "pat_id": r["pat_id"]}
        if r["key_json"]:
            out["key_file"] = write_secret(os.path.join(tmpdir(), "key.json"),
                                           r["key_json"])
        return out

    def add_key(self, user_id, expires=None):
        r = self._control("add_key", {"user_id": user_id, "expires": expires})
        return {"key_id": r["key_id"],
                "key_file": write_secret(os.path.join(tmpdir(), "key.json"),
                                         r["key_json"])}

    def bulk_keys(self, user_id, count):
        """Add count keys (sharing one public key) to a user; for benchmarks."""
        return self._control("bulk_keys", {"user_id": user_id, "count": count})

    def remove_key(self, user_id, key_id):
        self._control("remove_key", {"user_id": user_id, "key_id": key_id})

    def set_roles(self, user_id, roles):
        self._control("set_roles", {"user_id": user_id, "roles": list(roles)})

    def generate_secret(self, user_id):
        r = self._control("secret", {"user_id": user_id})
        return r["client_id"], r["client_secret"]

    def issue_token(self, user_id, lifetime=3600, scope=DEFAULT_SCOPE, project_aud=True):
        return self._control("issue_token", {"user_id": user_id, "lifetime": lifetime,
                                             "scope": scope,
                                             "project_aud": project_aud})["token"]

    def token_active(self, token):
        return self._control("token_active", {"token": token})["active"]

    def revoke_token(self, token):
        self._control("revoke_token", {"token": token})

    def fault(self, path, kind, status=None, delay=None, retry_after=None, count=1,
              body=None):
        self._control("fault", {"path": path, "kind": kind, "status": status,
                                "delay": delay, "retry_after": retry_after,
                                "count": count, "body": body})

    def clear_faults(self):
        self._control("clear_faults")

    def counts(self):
        return self._control("counts")

    def count(self, path):
        return self.counts().get(path, 0)

    def reset_counts(self):
        self._control("reset_counts")

    def set_clock_offset(self, seconds):
        self._control("clock", {"offset": seconds})

    def set_token_lifetime(self, seconds):
        self._control("token_lifetime", {"seconds": seconds})

    def requests(self):
        return self._control("requests")["requests"]

    def git_url(self, repo="repo"):
        return self._control("git_repo", {"name": repo})["url"]

    def admin_pat(self):
        with open(self.admin_pat_file) as f:
            return f.read().strip()


@atexit.register
def _atexit():
    for s in _servers:
        try:
            s.stop()
        except Exception:
            pass
    for d in _cleanup_dirs:
        shutil.rmtree(d, ignore_errors=True)
