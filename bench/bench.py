#!/usr/bin/python3
"""The speed that matters, side by side with what users would use instead.

Runs against the bundled test server over HTTPS on 127.0.0.1 and prints a
Markdown table of medians and ratios (also written to --out). Timings of
whole processes come from hyperfine; nothing here asserts a speed.

  1. cached token: zitadel-credential vs cat of the cache file, a Python
     jwt-bearer client with its own file cache, and gke-gcloud-auth-plugin's
     cache hit where installed
  2. cold exchange: zitadel-credential --no-cache vs one curl POST of a
     pre-signed assertion plus one RSA-2048 signature
  3. single flight: N concurrent cold calls, wall time and token requests
  4. signing: assertions per second vs openssl speed rsa2048
  5. memory: peak RSS on a hit and a miss, and of the Python client
  6. management: zitadelctl key list over growing lists
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--srcdir", default=os.path.dirname(HERE))
    p.add_argument("--builddir", default=os.path.join(os.path.dirname(HERE), "build"))
    p.add_argument("--runs", type=int, default=40)
    p.add_argument("--out", default=None, help="also write the table here")
    p.add_argument("--quick", action="store_true", help="fewer runs and sizes")
    return p.parse_args()


ARGS = parse_args()
sys.path.insert(0, os.path.join(ARGS.srcdir, "tests", "lib"))
os.environ.setdefault("ZT_SRCDIR", ARGS.srcdir)
os.environ.setdefault("ZT_BUILDDIR", ARGS.builddir)
os.environ["ZITADEL_LIBZITADEL"] = os.path.join(
    ARGS.builddir, "src", ".libs", "libzitadel.so.0")
import ztest  # noqa: E402

HELPER = os.path.join(ARGS.builddir, "helper", "zitadel-credential")
CTL = os.path.join(ARGS.builddir, "admin", "zitadelctl")
SIGN = os.path.join(ARGS.builddir, "bench", "zt-sign-bench")
PYCLIENT = os.path.join(HERE, "pyclient.py")
RUNS = 10 if ARGS.quick else ARGS.runs
ROWS = []


def row(section, what, median, unit, ratio="", note=""):
    ROWS.append((section, what, median, unit, ratio, note))
    print(f"  {section} | {what} | {median} {unit} | {ratio} | {note}", flush=True)


def hyperfine(commands, env=None, prepare=None):
    """Median wall seconds of each command (list of argv), no shell."""
    out = tempfile.mktemp(suffix=".json")
    argv = ["hyperfine", "-N", "--warmup", "3", "--runs", str(RUNS),
            "--export-json", out, "--style", "none"]
    if prepare:
        argv += ["--prepare", prepare]
    for c in commands:
        argv.append(" ".join(shlex_quote(a) for a in c))
    subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL)
    with open(out) as f:
        data = json.load(f)
    os.unlink(out)
    return [r["median"] for r in data["results"]]


def shlex_quote(s):
    import shlex
    return shlex.quote(s)


def ms(x):
    return f"{x * 1000:.2f}"


def peak_rss_kib(argv, env=None):
    """Peak resident set of one run of argv, by GNU time (which forks from a
    small process, so the child's size before exec does not count)."""
    out = tempfile.mktemp()
    subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out] + argv, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    with open(out) as f:
        kib = int(f.read().split()[-1])
    os.unlink(out)
    return kib


def gke_plugin_hit(tmp, token):
    """Arrange a cache hit for gke-gcloud-auth-plugin; None when absent."""
    plugin = shutil.which("gke-gcloud-auth-plugin")
    if plugin is None:
        return None
    kube = os.path.join(tmp, "kube")
    gcloud = os.path.join(tmp, "gcloud")
    os.makedirs(os.path.join(gcloud, "configurations"))
    os.makedirs(kube)
    with open(os.path.join(gcloud, "active_config"), "w") as f:
        f.write("default")
    conf = os.path.join(gcloud, "configurations", "config_default")
    with open(conf, "w") as f:
        f.write("[core]\naccount = bench@example.invalid\n")
    kubeconfig = os.path.join(kube, "config")
    with open(kubeconfig, "w") as f:
        f.write("apiVersion: v1\nkind: Config\ncurrent-context: bench\n"
                "clusters: [{name: bench, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                "users: [{name: bench, user: {token: x}}]\n"
                "contexts: [{name: bench, context: {cluster: bench, user: bench}}]\n")
    expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    with open(os.path.join(kube, "gke_gcloud_auth_plugin_cache"), "w") as f:
        json.dump({"current_context": "bench", "access_token": token,
                   "token_expiry": expiry,
                   "gcloud_config": {"user_config_directory": gcloud,
                                     "active_user_config": "default",
                                     "active_configuration_path": conf,
                                     "active_configuration": open(conf).read()}}, f)
    env = dict(os.environ, KUBECONFIG=kubeconfig, HOME=tmp)
    r = subprocess.run([plugin], env=env, capture_output=True, text=True)
    if r.returncode != 0 or token not in r.stdout:
        print("  gke-gcloud-auth-plugin: no cache hit arranged; skipped", flush=True)
        return None
    return [plugin], env


def main():
    tmp = ztest.tmpdir()
    with ztest.Server() as srv:
        m = srv.create_machine()
        cache = os.path.join(tmp, "cache")
        base = [HELPER, "token", "--issuer", srv.issuer, "--ca-file", srv.ca_file,
                "--key-file", m["key_file"]]
        hit = base + ["--cache-dir", cache]
        tok = subprocess.run(hit, check=True, capture_output=True, text=True).stdout.strip()
        entry = [os.path.join(cache, n) for n in os.listdir(cache) if n.endswith(".json")][0]

        # 1. cached token
        print("1. cached token", flush=True)
        pycache = os.path.join(tmp, "pycache.json")
        py = ["/usr/bin/python3", PYCLIENT, "--issuer", srv.issuer, "--ca-file",
              srv.ca_file, "--key-file", m["key_file"]]
        subprocess.run(py + ["--cache", pycache], check=True, capture_output=True)
        cmds = [["cat", entry], hit, py + ["--cache", pycache]]
        gke = gke_plugin_hit(tmp, tok)
        if gke:
            cmds.append(gke[0])
        t = hyperfine(cmds[:3])
        g = hyperfine([gke[0]], env=gke[1])[0] if gke else None
        row("cached token", "cat of the cache file (floor)", ms(t[0]), "ms", "1.00x")
        row("cached token", "zitadel-credential token", ms(t[1]), "ms",
            f"{t[1] / t[0]:.2f}x", "target <= 1.5x cat")
        row("cached token", "Python jwt+requests, own file cache", ms(t[2]), "ms",
            f"{t[2] / t[0]:.2f}x")
        if g is not None:
            row("cached token", "gke-gcloud-auth-plugin cache hit (Go)", ms(g), "ms",
                f"{g / t[0]:.2f}x")

        # 2. cold exchange
        print("2. cold exchange", flush=True)
        # A cache miss as users meet it: the entry erased before each run,
        # the discovery document kept (docs/CACHE.md).
        cold_dir = os.path.join(tmp, "cold")
        cold = base + ["--cache-dir", cold_dir]
        erase = [a if a != "token" else "erase" for a in cold]
        subprocess.run(cold, check=True, capture_output=True)
        form = os.path.join(tmp, "form")
        assertion = subprocess.run([SIGN, "--print", m["key_file"], srv.issuer],
                                   check=True, capture_output=True, text=True).stdout.strip()
        with open(form, "w") as f:
            f.write("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
                    "&scope=openid%20urn%3Azitadel%3Aiam%3Aorg%3Aproject%3Aid%3Azitadel%3Aaud"
                    "&assertion=" + assertion)
        curl = ["curl", "-sS", "-o", "/dev/null", "--cacert", srv.ca_file,
                "--data-binary", "@" + form, srv.issuer + "/oauth/v2/token"]
        speed = subprocess.run(["openssl", "speed", "-seconds", "2", "rsa2048"],
                               capture_output=True, text=True).stdout
        mt = re.search(r"^rsa 2048 bits\s+([\d.]+)s\s+([\d.]+)s\s+([\d.]+)\s+([\d.]+)",
                       speed, re.M)
        sign_s = float(mt.group(1)) if mt else 0.0
        signs_per_s = float(mt.group(3)) if mt else 0.0
        t = hyperfine([curl, cold, py],
                      prepare=" ".join(shlex_quote(a) for a in erase))
        nocache = hyperfine([base + ["--no-cache"]])[0]
        floor = t[0] + sign_s
        row("cold exchange", "curl POST of a pre-signed assertion + 1 RSA sign (floor)",
            ms(floor), "ms", "1.00x")
        row("cold exchange", "zitadel-credential token, cache miss", ms(t[1]), "ms",
            f"{t[1] / floor:.2f}x", "target <= 1.3x")
        row("cold exchange", "zitadel-credential token --no-cache", ms(nocache), "ms",
            f"{nocache / floor:.2f}x", "also fetches discovery")
        row("cold exchange", "Python jwt+requests, no cache", ms(t[2]), "ms",
            f"{t[2] / floor:.2f}x", "also fetches discovery")

        # 3. single flight
        print("3. single flight", flush=True)
        for n in (1, 16, 64, 128):
            d = tempfile.mkdtemp(dir=tmp)
            srv.reset_counts()
            t0 = time.monotonic()
            procs = [subprocess.Popen(base + ["--cache-dir", d], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE) for _ in range(n)]
            outs = [p.communicate() for p in procs]
            wall = time.monotonic() - t0
            ok = sum(1 for p in procs if p.returncode == 0)
            tokens = len({o[0] for o in outs if o[0]})
            row("single flight", f"N={n} concurrent cold calls", ms(wall), "ms wall", "",
                f"{srv.count('/oauth/v2/token')} token request(s), {ok}/{n} ok, "
                f"{tokens} distinct token(s); target 1 request")

        # 4. signing
        print("4. signing", flush=True)
        r = subprocess.run([SIGN, m["key_file"], srv.issuer, "3"], check=True,
                           capture_output=True, text=True)
        ours = float(r.stdout.split()[0])
        row("signing", "openssl speed rsa2048 (floor)", f"{signs_per_s:.0f}", "signs/s", "1.00x")
        row("signing", "zt_assertion_build in one process", f"{ours:.0f}", "assertions/s",
            f"{ours / signs_per_s:.2f}x" if signs_per_s else "", "target >= 0.90x")

        # 5. memory
        print("5. memory", flush=True)
        row("memory", "zitadel-credential, cache hit", str(peak_rss_kib(hit)), "KiB peak RSS")
        subprocess.run(erase, check=True)
        row("memory", "zitadel-credential, miss", str(peak_rss_kib(cold)), "KiB peak RSS")
        row("memory", "Python jwt+requests, miss", str(peak_rss_kib(py)), "KiB peak RSS")

        # 6. management lists
        print("6. zitadelctl key list", flush=True)
        sizes = (100, 1000) if ARGS.quick else (100, 1000, 10000)
        made = 0
        for size in sizes:
            srv.bulk_keys(m["user_id"], size - made)
            made = size
            ctl = [CTL, "--issuer", srv.issuer, "--ca-file", srv.ca_file, "--key-file",
                   srv.admin_key_file, "--output", "json", "key", "list", m["user_id"]]
            t = statistics.median(timed(ctl) for _ in range(3))
            rss = peak_rss_kib(ctl)
            row("management", f"zitadelctl key list, {size} keys", ms(t), "ms", "",
                f"{rss} KiB peak RSS")

    table = render()
    print()
    print(table)
    if ARGS.out:
        with open(ARGS.out, "w") as f:
            f.write(table)


def timed(argv):
    t0 = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def render():
    head = ("| section | what | median | unit | vs floor | note |\n"
            "|---|---|---:|---|---:|---|\n")
    lines = "".join(f"| {s} | {w} | {m} | {u} | {r} | {n} |\n" for s, w, m, u, r, n in ROWS)
    info = subprocess.run(["uname", "-srm"], capture_output=True, text=True).stdout.strip()
    return (f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, {info}; "
            f"medians of {RUNS} runs (hyperfine).\n\n" + head + lines)


if __name__ == "__main__":
    main()
