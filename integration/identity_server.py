"""A local Microsoft Entra ID stand-in for the Azure credential tests, on 127.0.0.1 over HTTPS.

It speaks the two protocols azure_identity uses, at the addresses the SDK's documented overrides
point to:
  - OAuth 2.0 client credentials (AZURE_AUTHORITY_HOST): POST /<tenant>/oauth2/v2.0/token with a
    client secret (EnvironmentCredential) or a federated client assertion (workload identity);
  - the App Service / Functions managed-identity endpoint (IDENTITY_ENDPOINT + IDENTITY_HEADER):
    GET /msi/token?api-version=2019-08-01&resource=...&client_id=...

Tokens are JWTs with the claims Azure Storage checks (aud, iss, nbf, exp, tid, appid, oid), so
Azurite in OAuth mode accepts them until they expire. Azurite's OAuth needs HTTPS, so this
script also makes the test CA and the 127.0.0.1 certificate both servers use.

    python identity_server.py DIR --client-secret S --federated-token T --identity-header H
        [--lifetime SECONDS] [--short-lifetime SECONDS]

writes DIR/ca.pem (trust it with SSL_CERT_FILE), DIR/cert.pem, DIR/key.pem, then DIR/port
once it listens, and appends one JSON line per token request to DIR/requests.log.
"""

import argparse
import base64
import datetime
import ipaddress
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_certificates(folder):
    """A CA and a certificate for 127.0.0.1 and localhost that it signs."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lakeroute test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    with open(os.path.join(folder, "ca.pem"), "wb") as f:
        f.write(ca.public_bytes(pem))
    with open(os.path.join(folder, "cert.pem"), "wb") as f:
        f.write(cert.public_bytes(pem))
    with open(os.path.join(folder, "key.pem"), "wb") as f:
        f.write(
            key.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(tenant, client_id, lifetime):
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {
        "aud": "https://storage.azure.com",
        "iss": f"https://sts.windows.net/{tenant}/",
        "iat": now,
        "nbf": now - 60,
        "exp": now + lifetime,
        "tid": tenant,
        "appid": client_id,
        "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
        "uti": uuid.uuid4().hex,
    }
    parts = [b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode())]
    # Not a real signature: Azurite's basic OAuth mode checks the claims, not the signature.
    return ".".join(parts + [b64url(b"lakeroute-test-signature")])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--client-secret", required=True)
    p.add_argument("--federated-token", required=True)
    p.add_argument("--identity-header", required=True)
    p.add_argument("--lifetime", type=int, default=3600)
    p.add_argument("--short-lifetime", type=int, default=12,
                   help="the lifetime of tokens for client ids that start with short-")
    p.add_argument("--tenant", default="72f988bf-86f1-41af-91ab-2d7cd011db47")
    args = p.parse_args()
    make_certificates(args.dir)
    log_lock = threading.Lock()
    lifetime = lambda client_id: args.short_lifetime if client_id.startswith("short-") else args.lifetime

    def log(entry):
        entry["time"] = time.time()
        with log_lock, open(os.path.join(args.dir, "requests.log"), "a") as f:
            f.write(json.dumps(entry) + "\n")

    class Handler(BaseHTTPRequestHandler):
        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            parts = self.path.strip("/").split("/")
            length = int(self.headers.get("Content-Length", "0"))
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            one = lambda k: (form.get(k) or [""])[0]
            if len(parts) != 4 or parts[1:] != ["oauth2", "v2.0", "token"]:
                return self.reply(404, {"error": "not_found"})
            tenant, client_id = parts[0], one("client_id")
            if one("grant_type") != "client_credentials" or one("scope") != "https://storage.azure.com/.default":
                log({"kind": "bad_request", "client_id": client_id})
                return self.reply(400, {"error": "invalid_request", "error_description": "AADSTS900144: bad grant or scope", "error_codes": [900144]})
            if one("client_secret"):
                kind, ok = "client_secret", one("client_secret") == args.client_secret
            elif one("client_assertion"):
                kind = "client_assertion"
                ok = (one("client_assertion") == args.federated_token
                      and one("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            else:
                kind, ok = "none", False
            log({"kind": kind, "client_id": client_id, "tenant": tenant, "ok": ok})
            if not ok:
                return self.reply(401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": [7000215]})
            life = lifetime(client_id)
            self.reply(200, {"token_type": "Bearer", "expires_in": life, "ext_expires_in": life,
                             "access_token": jwt(tenant, client_id, life)})

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            q = urllib.parse.parse_qs(url.query)
            one = lambda k: (q.get(k) or [""])[0]
            if url.path != "/msi/token":
                return self.reply(404, {"error": "not_found"})
            client_id = one("client_id") or "system-assigned"
            ok = (self.headers.get("X-IDENTITY-HEADER") == args.identity_header
                  and one("api-version") == "2019-08-01" and one("resource") == "https://storage.azure.com")
            log({"kind": "managed_identity", "client_id": client_id, "ok": ok})
            if not ok:
                return self.reply(400, {"error": "invalid_request", "error_description": "bad identity header, api-version or resource"})
            life = lifetime(client_id)
            expires = int(time.time()) + life
            self.reply(200, {"access_token": jwt(args.tenant, client_id, life), "expires_on": str(expires),
                             "resource": "https://storage.azure.com", "token_type": "Bearer", "client_id": client_id})

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(args.dir, "cert.pem"), os.path.join(args.dir, "key.pem"))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    with open(os.path.join(args.dir, "port.tmp"), "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(os.path.join(args.dir, "port.tmp"), os.path.join(args.dir, "port"))
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
