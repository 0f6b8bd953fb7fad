#!/usr/bin/python3
"""A local stand-in for Azure Key Vault, the Entra ID token endpoint and IMDS.

Written for keyring_locker's tests because Lowkey Vault (the independent
Key Vault test server) could not be had here: its server is published to
GitHub Packages, not Maven Central. It follows Microsoft's published REST
contracts (Key Vault 7.4 keys API; OAuth 2.0 client credentials with a
client secret or a PS256 client assertion; IMDS managed identity tokens),
over TLS with its own CA so the client keeps verification on.

One TLS port serves Key Vault (/keys/...) and the token endpoint
(/{tenant}/oauth2/v2.0/token); a plain-HTTP port serves IMDS (as Azure's
169.254.169.254 does). Tests steer it through /_standin/<command> (JSON):
create_key, rotate, set_enabled, revoke, throttle, hang, expire_tokens,
fail_login, imds_identity, stats.

State (CA, certificates, the service principal's secret and certificate,
RSA keys with their versions) lives in --state DIR and survives restarts;
DIR/ports.json is written once both ports listen.

--owner-pid P (default: the parent that started it): the stand-in exits
once P is gone, so a test program or scripts/mtr.sh killed with SIGKILL
leaves no stand-in behind. It is one process (no helpers, never paused by
the tests), so the owner check of tests/support/server_group.py runs in it
rather than in a watchdog process of its own.
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import server_group  # noqa: E402

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
import ipaddress

API_VERSION_REQUIRED = "api-version"
RESOURCE = "https://vault.azure.net"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def new_rsa(bits=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_cert(key, cn, issuer_cert=None, issuer_key=None, ca=False, san=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    b = (x509.CertificateBuilder().subject_name(subject)
         .issuer_name(issuer_cert.subject if issuer_cert else subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return b.sign(issuer_key or key, hashes.SHA256())


class State:
    """Everything the stand-in knows; one lock guards it."""

    def __init__(self, directory, tenant, client_id, token_lifetime):
        self.dir = directory
        self.tenant = tenant
        self.client_id = client_id
        self.token_lifetime = token_lifetime
        self.key_size = 4096
        self.lock = threading.Lock()
        self.tokens = {}  # token -> expiry (epoch seconds)
        self.revoked = False
        self.throttle = 0
        self.retry_after = 1
        self.hang_until = 0.0
        self.login_down = False
        self.imds_identity = True
        self.stats = {"tokens_issued": 0, "token_secret": 0, "token_assertion": 0, "token_imds": 0,
                      "get": 0, "wrap": 0, "unwrap": 0, "throttled": 0, "unauthorized": 0, "hung": 0, "connections": 0}
        self._setup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def _setup(self):
        if not os.path.exists(self.path("ca.pem")):
            # TLS keys on EC P-256 (quick to make); the service principal's is RSA (PS256).
            ca_key = ec.generate_private_key(ec.SECP256R1())
            ca = make_cert(ca_key, "keyring_locker azure stand-in CA", ca=True)
            server_key = ec.generate_private_key(ec.SECP256R1())
            server = make_cert(server_key, "localhost", ca, ca_key,
                               san=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
            client_key = new_rsa()
            client = make_cert(client_key, "keyring_locker service principal")
            with open(self.path("ca.pem"), "wb") as f:
                f.write(ca.public_bytes(serialization.Encoding.PEM))
            write_private(self.path("server.pem"), pem_key(server_key) + server.public_bytes(serialization.Encoding.PEM))
            # The service principal's credential: key and certificate in one PEM, as Azure exports it.
            write_private(self.path("client.pem"), pem_key(client_key) + client.public_bytes(serialization.Encoding.PEM))
            write_private(self.path("secret"), (secrets.token_urlsafe(24) + "\n").encode())
        with open(self.path("client.pem"), "rb") as f:
            self.client_cert = x509.load_pem_x509_certificate(f.read())
        with open(self.path("secret")) as f:
            self.secret = f.read().strip()
        self.keys = {}
        if os.path.exists(self.path("keys.json")):
            with open(self.path("keys.json")) as f:
                self.keys = json.load(f)
        self._loaded = {}

    def save(self):
        tmp = self.path("keys.json.tmp")
        write_private(tmp, json.dumps(self.keys).encode())
        os.replace(tmp, self.path("keys.json"))

    def private_key(self, pem):
        if pem not in self._loaded:
            self._loaded[pem] = serialization.load_pem_private_key(pem.encode(), None)
        return self._loaded[pem]

    def add_version(self, name, bits=None):
        bits = bits or self.key_size
        version = secrets.token_hex(16)
        entry = {"version": version, "enabled": True, "pem": pem_key(new_rsa(bits)).decode(),
                 "created": int(time.time())}
        self.keys.setdefault(name, []).append(entry)
        self.save()
        return version

    def find(self, name, version):
        versions = self.keys.get(name)
        if not versions:
            return None
        if not version:
            return versions[-1]
        for v in versions:
            if v["version"] == version:
                return v
        return None

    def issue_token(self, kind):
        token = secrets.token_urlsafe(32)
        self.tokens[token] = time.time() + self.token_lifetime
        self.stats["tokens_issued"] += 1
        self.stats[kind] += 1
        return token


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client reuses connections
    # Headers and body go out in two writes: with Nagle on, the body waits
    # for the client's delayed ACK (~40 ms a response on a kept-alive
    # connection).
    disable_nagle_algorithm = True
    state = None  # set per server

    def setup(self):
        super().setup()
        if not getattr(self.server, "imds", False):
            with self.state.lock:
                self.state.stats["connections"] += 1

    def log_message(self, fmt, *args):
        if os.environ.get("AZURE_STANDIN_LOG"):
            sys.stderr.write("standin: " + fmt % args + "\n")

    def send_json(self, status, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def vault_error(self, status, code, message, inner=None, headers=()):
        err = {"code": code, "message": message}
        if inner:
            err["innererror"] = {"code": inner}
        self.send_json(status, {"error": err}, headers)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # ------------------------------------------------------------- routing
    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def route(self, method):
        url = urllib.parse.urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        query = urllib.parse.parse_qs(url.query)
        s = self.state
        if getattr(self.server, "imds", False):
            return self.imds(url.path, query)
        if parts and parts[0] == "_standin" and method == "POST" and len(parts) == 2:
            return self.admin(parts[1], json.loads(self.body() or b"{}"))
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"] and method == "POST":
            return self.token(parts[0], urllib.parse.parse_qs(self.body().decode()))
        if parts and parts[0] == "keys":
            data = self.body()
            if not self.authorized():
                return
            with s.lock:
                hang = s.hang_until - time.time()
                throttled = s.throttle > 0
                if throttled:
                    s.throttle -= 1
                    s.stats["throttled"] += 1
                if hang > 0:
                    s.stats["hung"] += 1
            if hang > 0:
                end = time.time() + min(hang, 60)
                while time.time() < end and s.hang_until > time.time():
                    time.sleep(0.05)
            if throttled:
                return self.vault_error(429, "Throttled", "Rate limit exceeded. Try again later.",
                                        headers=[("Retry-After", str(s.retry_after))])
            if API_VERSION_REQUIRED not in query:
                return self.vault_error(400, "BadParameter", "The 'api-version' query parameter is missing.")
            return self.keys_api(method, parts[1:], data)
        self.vault_error(404, "NotFound", "no such route " + url.path)

    # ------------------------------------------------------------ Key Vault
    def authorized(self):
        s = self.state
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        with s.lock:
            ok = token and s.tokens.get(token, 0) > time.time()
            if not ok:
                s.stats["unauthorized"] += 1
        if ok:
            return True
        challenge = ('Bearer authorization="https://login.microsoftonline.com/%s", resource="%s"'
                     % (s.tenant, RESOURCE))
        self.vault_error(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token." if not token
                         else "AKV10022: Invalid audience or expired token.",
                         headers=[("WWW-Authenticate", challenge)])
        return False

    def kid(self, name, version):
        return "https://%s/keys/%s/%s" % (self.headers.get("Host", "localhost"), name, version)

    def keys_api(self, method, parts, data):
        s = self.state
        if not parts or len(parts) > 3:
            return self.vault_error(400, "BadParameter", "bad key path")
        name = parts[0]
        version = parts[1] if len(parts) >= 2 else ""
        op = parts[2] if len(parts) == 3 else ""
        with s.lock:
            if s.revoked:
                return self.vault_error(403, "Forbidden",
                                        "The user, group or application does not have keys %s permission on key "
                                        "vault; or the key vault's access was revoked." % (op or "get"),
                                        inner="ForbiddenByPolicy")
            entry = s.find(name, version)
            if entry is None:
                return self.vault_error(404, "KeyNotFound", "A key with (name/id) %s was not found in this key vault."
                                        % (name + ("/" + version if version else "")))
            key = s.private_key(entry["pem"])
            enabled = entry["enabled"]
            version = entry["version"]
        if method == "GET" and not op:
            with s.lock:
                s.stats["get"] += 1
            numbers = key.public_key().public_numbers()
            n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
            return self.send_json(200, {
                "key": {"kid": self.kid(name, version), "kty": "RSA",
                        "key_ops": ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"],
                        "n": b64url(n), "e": b64url(numbers.e.to_bytes(3, "big"))},
                "attributes": {"enabled": enabled, "created": entry["created"], "updated": entry["created"],
                               "recoveryLevel": "Recoverable+Purgeable"}})
        if method != "POST" or op not in ("wrapkey", "unwrapkey"):
            return self.vault_error(405, "MethodNotAllowed", "not served by the stand-in")
        try:
            req = json.loads(data)
            alg = req["alg"]
            value = unb64url(req["value"])
        except Exception:
            return self.vault_error(400, "BadParameter", "Property 'alg' or 'value' is missing or invalid.")
        hash_alg = {"RSA-OAEP-256": hashes.SHA256(), "RSA-OAEP": hashes.SHA1()}.get(alg)
        if hash_alg is None:
            return self.vault_error(400, "BadParameter", "Invalid algorithm " + str(alg)[:40])
        oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hash_alg), algorithm=hash_alg, label=None)
        if op == "wrapkey":
            with s.lock:
                s.stats["wrap"] += 1
            try:
                out = key.public_key().encrypt(value, oaep)
            except ValueError:
                return self.vault_error(400, "BadParameter", "Value is too long for the key.")
        else:
            if not enabled:
                return self.vault_error(403, "Forbidden", "Operation unwrapKey is not allowed on a disabled key.",
                                        inner="KeyDisabled")
            with s.lock:
                s.stats["unwrap"] += 1
            try:
                out = key.decrypt(value, oaep)
            except ValueError:
                return self.vault_error(400, "BadParameter", "Unwrap failed: the ciphertext is not for this key.")
        self.send_json(200, {"kid": self.kid(name, version), "value": b64url(out)})

    # ------------------------------------------------------- token endpoint
    def token(self, tenant, form):
        s = self.state
        field = lambda k: (form.get(k) or [""])[0]
        if s.login_down:
            return self.send_json(503, {"error": "temporarily_unavailable", "error_description": "AADSTS90033"})
        if tenant != s.tenant:
            return self.send_json(400, {"error": "invalid_request",
                                        "error_description": "AADSTS90002: Tenant '%s' not found." % tenant[:64]})
        if field("grant_type") != "client_credentials" or field("scope") != RESOURCE + "/.default":
            return self.send_json(400, {"error": "invalid_scope" if field("scope") != RESOURCE + "/.default"
                                        else "unsupported_grant_type", "error_description": "AADSTS70011"})
        if field("client_id") != s.client_id:
            return self.send_json(400, {"error": "unauthorized_client",
                                        "error_description": "AADSTS700016: Application not found in the directory."})
        if field("client_secret"):
            if not secrets.compare_digest(field("client_secret"), s.secret):
                return self.send_json(401, {"error": "invalid_client",
                                            "error_description": "AADSTS7000215: Invalid client secret provided."})
            kind = "token_secret"
        elif field("client_assertion"):
            if field("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                return self.send_json(400, {"error": "invalid_request", "error_description": "AADSTS50027"})
            problem = self.check_assertion(field("client_assertion"), tenant)
            if problem:
                return self.send_json(401, {"error": "invalid_client", "error_description": problem})
            kind = "token_assertion"
        else:
            return self.send_json(401, {"error": "invalid_client", "error_description": "AADSTS7000216: "
                                        "'client_assertion', 'client_secret' or 'request' is required."})
        with s.lock:
            token = s.issue_token(kind)
        self.send_json(200, {"token_type": "Bearer", "expires_in": s.token_lifetime,
                             "ext_expires_in": s.token_lifetime, "access_token": token})

    def check_assertion(self, jwt, tenant):
        s = self.state
        try:
            head64, claims64, sig64 = jwt.split(".")
            head = json.loads(unb64url(head64))
            claims = json.loads(unb64url(claims64))
            sig = unb64url(sig64)
        except Exception:
            return "AADSTS50027: JWT token is invalid or malformed."
        thumb = b64url(hashlib.sha256(s.client_cert.public_bytes(serialization.Encoding.DER)).digest())
        if head.get("alg") != "PS256" or head.get("x5t#S256") != thumb:
            return "AADSTS700027: the certificate with identifier used to sign the client assertion is not " \
                   "registered on application."
        try:
            s.client_cert.public_key().verify(
                sig, (head64 + "." + claims64).encode(),
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
        except InvalidSignature:
            return "AADSTS700027: Client assertion contains an invalid signature."
        audience = "https://%s/%s/oauth2/v2.0/token" % (self.headers.get("Host", ""), tenant)
        now = time.time()
        if claims.get("aud") != audience:
            return "AADSTS700212: No matching federated identity record found for presented assertion audience."
        if claims.get("iss") != s.client_id or claims.get("sub") != s.client_id:
            return "AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter."
        if not (claims.get("nbf", now + 1e9) <= now + 60 and claims.get("exp", 0) > now and claims.get("jti")):
            return "AADSTS700024: Client assertion is not within its valid time range."
        return ""

    # ------------------------------------------------------------------ IMDS
    def imds(self, path, query):
        s = self.state
        if path != "/metadata/identity/oauth2/token":
            return self.send_json(404, {"error": "not_found"})
        if self.headers.get("Metadata") != "true":
            return self.send_json(400, {"error": "invalid_request",
                                        "error_description": "Required metadata header not specified"})
        if (query.get("resource") or [""])[0] != RESOURCE or "api-version" not in query:
            return self.send_json(400, {"error": "invalid_resource", "error_description": "AADSTS500011"})
        if not s.imds_identity:
            return self.send_json(400, {"error": "invalid_request", "error_description": "Identity not found"})
        with s.lock:
            token = s.issue_token("token_imds")
        self.send_json(200, {"access_token": token, "expires_in": str(s.token_lifetime),
                             "expires_on": str(int(time.time()) + s.token_lifetime),
                             "resource": RESOURCE, "token_type": "Bearer"})

    # ----------------------------------------------------------------- admin
    def admin(self, command, args):
        s = self.state
        with s.lock:
            if command == "create_key":
                if args["name"] not in s.keys:
                    s.add_version(args["name"], args.get("size"))
                result = {"version": s.keys[args["name"]][-1]["version"]}
            elif command == "rotate":
                result = {"version": s.add_version(args["name"], args.get("size"))}
            elif command == "set_enabled":
                entry = s.find(args["name"], args.get("version", ""))
                entry["enabled"] = bool(args["enabled"])
                s.save()
                result = {"version": entry["version"]}
            elif command == "revoke":
                s.revoked = bool(args.get("on", True))
                result = {}
            elif command == "throttle":
                s.throttle = int(args.get("count", 1))
                s.retry_after = int(args.get("retry_after", 1))
                result = {}
            elif command == "hang":
                s.hang_until = time.time() + float(args.get("seconds", 0))
                result = {}
            elif command == "expire_tokens":
                s.tokens.clear()
                result = {}
            elif command == "fail_login":
                s.login_down = bool(args.get("on", True))
                result = {}
            elif command == "imds_identity":
                s.imds_identity = bool(args.get("on", True))
                result = {}
            elif command == "stats":
                result = dict(s.stats)
            else:
                return self.send_json(404, {"error": "unknown command " + command[:40]})
        self.send_json(200, result)


def serve(server):
    server.serve_forever(poll_interval=0.2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--state", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--imds-port", type=int, default=0)
    ap.add_argument("--tenant", default="00000000-0000-0000-0000-0000000000aa")
    ap.add_argument("--client-id", default="11111111-2222-3333-4444-555555555555")
    ap.add_argument("--token-lifetime", type=int, default=6)
    ap.add_argument("--owner-pid", type=int, default=0,
                    help="exit when this process is gone (default: the parent)")
    ap.add_argument("--key", action="append", default=[], help="create this RSA key if it does not exist")
    ap.add_argument("--key-size", type=int, default=4096, help="bits of the RSA keys made (4096: room for 446 bytes)")
    a = ap.parse_args()
    owner_pid = a.owner_pid or os.getppid()
    os.makedirs(a.state, exist_ok=True)
    state = State(a.state, a.tenant, a.client_id, a.token_lifetime)
    state.key_size = a.key_size
    for name in a.key:
        if name not in state.keys:
            state.add_version(name)
    Handler.state = state

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True

        def handle_error(self, request, client_address):
            # Clients that hang up (timeouts, refused certificates) are what
            # the tests do on purpose: no traceback unless asked.
            if os.environ.get("AZURE_STANDIN_LOG"):
                super().handle_error(request, client_address)

    tls = Server(("127.0.0.1", a.port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(state.path("server.pem"))
    # The handshake runs in the request's thread, not in accept(): a client
    # that connects and says nothing cannot stall the others.
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True, do_handshake_on_connect=False)
    imds = Server(("127.0.0.1", a.imds_port), Handler)
    imds.imds = True
    for server in (tls, imds):
        threading.Thread(target=serve, args=(server,), daemon=True).start()
    ports = {"tls": tls.server_address[1], "imds": imds.server_address[1], "pid": os.getpid()}
    tmp = state.path("ports.json.tmp")
    with open(tmp, "w") as f:
        json.dump(ports, f)
    os.replace(tmp, state.path("ports.json"))
    try:
        while server_group.alive(owner_pid):
            time.sleep(server_group.WATCHDOG_POLL_S)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
