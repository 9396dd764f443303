"""Shared pieces of the zitadel-credential end-to-end tests (a module, not a
test): where the helper is, a clean environment per test, config files,
and a check that the server accepts a token."""

import json
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.environ["ZT_SRCDIR"], "tests", "lib"))
import ztest  # noqa: E402

HELPER = ztest.build_path("helper/zitadel-credential")

# Variables a caller's shell could leak into a test run.
_SCRUB = ("ZITADEL_ISSUER", "ZITADEL_KEY_FILE", "ZITADEL_CA_FILE",
          "ZITADEL_CONFIG", "ZITADEL_PROFILE", "KUBERNETES_EXEC_INFO",
          "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "LD_DEBUG", "POSIXLY_CORRECT",
          "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
          "ALL_PROXY", "all_proxy", "GIT_SSL_CAINFO", "GIT_CONFIG_GLOBAL",
          "GIT_CONFIG_PARAMETERS", "GIT_DIR", "GIT_EXEC_PATH")


def clean_env(home=None, **extra):
    """An environment with a fresh HOME (so a fresh cache and no user
    config) and nothing of ours set; extra is merged on top."""
    home = home or ztest.tmpdir()
    env = {k: None for k in _SCRUB}
    env["HOME"] = home
    env["NO_PROXY"] = "127.0.0.1"
    env.update(extra)
    return env


def cache_dir(env):
    return os.path.join(env["HOME"], ".cache", "zitadel")


def helper(args, env, input=None, timeout=60, argv0=None):
    """Run the helper; argv0 runs it through a symlink of that name."""
    exe = HELPER
    if argv0 is not None:
        d = ztest.tmpdir()
        exe = os.path.join(d, argv0)
        os.symlink(HELPER, exe)
    return ztest.run([exe] + list(args), input=input, env=env,
                     timeout=timeout)


def write_config(text):
    d = ztest.tmpdir()
    path = os.path.join(d, "client.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def profile(name, srv, m, **keys):
    """One [profile] section for machine m of server srv."""
    lines = ["[profile %s]" % name, "issuer = %s" % srv.issuer,
             "key_file = %s" % m["key_file"], "ca_file = %s" % srv.ca_file]
    for k, v in keys.items():
        lines.append("%s = %s" % (k, v))
    return "\n".join(lines) + "\n"


def users_me(srv, token):
    """HTTP status of GET /auth/v1/users/me with the token."""
    req = urllib.request.Request(srv.issuer + "/auth/v1/users/me",
                                 headers={"Authorization": "Bearer " + token})
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPSHandler(context=srv.ssl_context()))
    try:
        with opener.open(req, timeout=30) as r:
            json.load(r)
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def token_requests(srv):
    return srv.count("/oauth/v2/token")
