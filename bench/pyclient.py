#!/usr/bin/python3
"""The usual alternative to zitadel-credential: a Python script doing the
same jwt-bearer exchange with Debian's python3-jwt and python3-requests,
optionally with its own file cache. Used by bench.py only."""
import argparse
import json
import os
import time

import jwt
import requests

p = argparse.ArgumentParser()
p.add_argument("--issuer", required=True)
p.add_argument("--key-file", required=True)
p.add_argument("--ca-file", required=True)
p.add_argument("--cache")
p.add_argument("--scope", default="openid urn:zitadel:iam:org:project:id:zitadel:aud")
a = p.parse_args()

if a.cache and os.path.exists(a.cache):
    with open(a.cache) as f:
        c = json.load(f)
    if c["expires_at"] - time.time() > 60:
        print(c["access_token"])
        raise SystemExit(0)

with open(a.key_file) as f:
    key = json.load(f)
disc = requests.get(a.issuer + "/.well-known/openid-configuration", verify=a.ca_file).json()
now = int(time.time())
assertion = jwt.encode({"iss": key["userId"], "sub": key["userId"], "aud": a.issuer,
                        "iat": now - 60, "exp": now + 300},
                       key["key"], algorithm="RS256", headers={"kid": key["keyId"]})
r = requests.post(disc["token_endpoint"], verify=a.ca_file,
                  data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                        "assertion": assertion, "scope": a.scope})
r.raise_for_status()
t = r.json()
if a.cache:
    fd = os.open(a.cache + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"access_token": t["access_token"], "expires_at": now + t["expires_in"]}, f)
    os.rename(a.cache + ".tmp", a.cache)
print(t["access_token"])
