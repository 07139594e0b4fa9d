"""Authenticated and encrypted clusters: TLS material and a cluster token, for servers and clients.

A `Settings` holds what one process presents and checks: TLS (a certificate and key, and a CA that verifies
the other side: a server given a CA requires client certificates, i.e. mutual TLS) and a cluster token (a
shared secret sent as `authorization: Bearer <token>` metadata on every call and compared in constant time).
Servers and clients read it from the same environment variables, so TensorFlow-style code needs no change:

    TFMINI_TLS_CERT, TFMINI_TLS_KEY, TFMINI_TLS_CA    PEM files
    TFMINI_TLS_SERVER_NAME                            the name to check in the servers' certificates, when it is
                                                      not the host of the address (one name for a whole cluster)
    TFMINI_CLUSTER_TOKEN_FILE, or TFMINI_CLUSTER_TOKEN  the token (never a command-line argument: /proc shows those)

`tfmini-server certs` (generate()) makes a throwaway CA, one certificate for every task and client, and a
token. See docs/security.md for the threat model.
"""
import dataclasses
import datetime
import hmac
import ipaddress
import logging
import os
import pathlib
import secrets
import threading
import time

import grpc

log = logging.getLogger("tfmini.server")

TOKEN_METADATA = "authorization"
TOKEN_SCHEME = "Bearer "
MIN_TOKEN_CHARS = 16
ENV_CERT, ENV_KEY, ENV_CA = "TFMINI_TLS_CERT", "TFMINI_TLS_KEY", "TFMINI_TLS_CA"
ENV_SERVER_NAME = "TFMINI_TLS_SERVER_NAME"
ENV_TOKEN, ENV_TOKEN_FILE = "TFMINI_CLUSTER_TOKEN", "TFMINI_CLUSTER_TOKEN_FILE"
# What generate() writes (the key names of a Kubernetes TLS Secret, plus the CA and the token).
CA_FILE, CERT_FILE, KEY_FILE, TOKEN_FILE = "ca.crt", "tls.crt", "tls.key", "token"


@dataclasses.dataclass(frozen=True)
class Settings:
    """One process's security material (hashable: channels are cached per address and settings).
    `tls`: a client wants TLS even with no CA of its own (a grpcs:// target; the system's roots verify).
    `insecure`: a server open on purpose (for TensorFlow's own clients): it does not warn."""
    token: str = dataclasses.field(default=None, repr=False)
    cert: bytes = None
    key: bytes = dataclasses.field(default=None, repr=False)
    ca: bytes = None
    server_name: str = None
    tls: bool = False
    insecure: bool = False

    def __post_init__(self):
        if self.insecure and (self.secured or self.ca is not None):
            raise ValueError("--insecure cannot go with TLS material or a cluster token (TFMINI_TLS_*, "
                             "TFMINI_CLUSTER_TOKEN*): choose one")
        if (self.cert is None) != (self.key is None):
            raise ValueError("TLS needs both a certificate and its private key (TFMINI_TLS_CERT, TFMINI_TLS_KEY)")
        if self.token is not None:
            check_token(self.token)

    @property
    def secured(self):
        """A server with TLS or a token (else it warns at start)."""
        return self.cert is not None or self.token is not None

    @property
    def client_tls(self):
        return self.tls or self.ca is not None or self.cert is not None

    @classmethod
    def from_env(cls, env=None, cert=None, key=None, ca=None, token_file=None, insecure=False):
        """The settings the environment gives, each file argument (a path) taking the place of its variable."""
        env = os.environ if env is None else env
        token_file = token_file or env.get(ENV_TOKEN_FILE)
        token = read_token(token_file) if token_file else (env.get(ENV_TOKEN) or None)
        return cls(token=token, cert=_read(cert or env.get(ENV_CERT)), key=_read(key or env.get(ENV_KEY)),
                   ca=_read(ca or env.get(ENV_CA)), server_name=env.get(ENV_SERVER_NAME) or None,
                   insecure=insecure)


def _read(path):
    if not path:
        return None
    try:
        return pathlib.Path(path).read_bytes()
    except OSError as e:
        raise ValueError(f"Cannot read TLS file {path}: {e.strerror}") from None


def check_token(token):
    """A token must be long enough to guess at no better than chance, and valid gRPC metadata."""
    if not isinstance(token, str) or len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"The cluster token must be at least {MIN_TOKEN_CHARS} characters")
    if not all(0x21 <= ord(c) <= 0x7e for c in token):
        raise ValueError("The cluster token must be printable ASCII without spaces")
    return token


def read_token(path):
    try:
        return check_token(pathlib.Path(path).read_text().strip())
    except OSError as e:
        raise ValueError(f"Cannot read the cluster token file {path}: {e.strerror}") from None


def current():
    """The settings this process's clients use unless told otherwise: the environment's (cached by its values)."""
    key = tuple(os.environ.get(k) for k in (ENV_CERT, ENV_KEY, ENV_CA, ENV_SERVER_NAME, ENV_TOKEN, ENV_TOKEN_FILE))
    with _current_lock:
        if _current.get(key) is None:
            _current.clear()
            _current[key] = Settings.from_env()
        return _current[key]


_current, _current_lock = {}, threading.Lock()


# -- server side --------------------------------------------------------------
def add_port(server, bind, settings):
    """Binds `server` to `bind`: TLS when the settings have a certificate (mutual when they have a CA)."""
    if settings is None or settings.cert is None:
        return server.add_insecure_port(bind)
    credentials = grpc.ssl_server_credentials([(settings.key, settings.cert)], root_certificates=settings.ca,
                                              require_client_auth=settings.ca is not None)
    return server.add_secure_port(bind, credentials)


def server_interceptors(settings):
    return [TokenCheck(settings.token)] if settings is not None and settings.token is not None else []


class TokenCheck(grpc.ServerInterceptor):
    """Every call of every service (master, worker, their Link streams, health) must carry the token;
    others are answered UNAUTHENTICATED before any handler runs or any request is read."""

    def __init__(self, token):
        self._expected = (TOKEN_SCHEME + token).encode()
        self._refused, self._last_log = 0, 0.0

    def intercept_service(self, continuation, details):
        presented = None
        for key, value in details.invocation_metadata or ():
            if key == TOKEN_METADATA:
                presented = value.encode() if isinstance(value, str) else value
        if presented is not None and hmac.compare_digest(presented, self._expected):
            return continuation(details)
        return self._refuse(details.method, "missing" if presented is None else "wrong")

    def _refuse(self, method, why):
        self._refused += 1
        now = time.monotonic()
        if now - self._last_log > 5.0:  # a flood of bad calls must not flood the log
            log.warning("refused %d call(s) with a %s cluster token (latest: %s)", self._refused, why, method)
            self._refused, self._last_log = 0, now
        message = f"{method}: {why} cluster token (the server requires one: see docs/security.md)"

        def deny(request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        # A stream-shaped refusal for every method: grpc ends the call at the abort, whatever its shape.
        return grpc.stream_stream_rpc_method_handler(deny)


def warn_if_open(settings, task, address):
    if settings.insecure:
        log.info("task %s at %s serves without TLS or a cluster token, as --insecure asks", task, address)
    elif not settings.secured:
        log.warning("task %s at %s serves WITHOUT TLS OR A CLUSTER TOKEN: anyone who can reach this port can run "
                    "graphs, read and overwrite its variables and reset it. Give TLS material and a token "
                    "(docs/security.md), or --insecure for TensorFlow clients on a trusted network.", task, address)
    elif settings.cert is None:
        log.warning("task %s at %s checks a cluster token but has no TLS: the token and tensors travel in "
                    "clear text", task, address)
    elif settings.token is None:
        log.warning("task %s at %s uses TLS but no cluster token: %s", task, address,
                    "any holder of a certificate from its CA may call it" if settings.ca is not None else
                    "anyone who can reach it may call it (no client certificates, no token)")


# -- client side --------------------------------------------------------------
def channel(address, settings, options=()):
    """A grpc channel to `address` that speaks TLS and presents the token as the settings say."""
    settings = settings or Settings()
    options = list(options)
    if settings.client_tls:
        credentials = grpc.ssl_channel_credentials(root_certificates=settings.ca, private_key=settings.key,
                                                   certificate_chain=settings.cert)
        if settings.server_name:
            options.append(("grpc.ssl_target_name_override", settings.server_name))
        ch = grpc.secure_channel(address, credentials, options=options)
    else:
        ch = grpc.insecure_channel(address, options=options)
    if settings.token is None:
        return ch
    return grpc.intercept_channel(ch, TokenSender(settings.token))


class _Details(grpc.ClientCallDetails):
    def __init__(self, details, metadata):
        self.method, self.timeout, self.credentials = details.method, details.timeout, details.credentials
        self.wait_for_ready, self.compression = details.wait_for_ready, details.compression
        self.metadata = metadata


class TokenSender(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                  grpc.StreamStreamClientInterceptor, grpc.StreamUnaryClientInterceptor):
    """Adds the token to the metadata of every call made on a channel."""

    def __init__(self, token):
        self._entry = (TOKEN_METADATA, TOKEN_SCHEME + token)

    def _with_token(self, details):
        return _Details(details, [*(details.metadata or ()), self._entry])

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._with_token(details), requests)

    def intercept_stream_unary(self, continuation, details, requests):
        return continuation(self._with_token(details), requests)


def split_target(target):
    """"grpc://h:p", "grpcs://h:p" or "h:p" -> (address, whether the target asks for TLS)."""
    for scheme, tls in (("grpcs://", True), ("grpc://", False)):
        if target.startswith(scheme):
            return target[len(scheme):], tls
    return target, False


# -- material for local clusters ------------------------------------------------
def generate(out_dir, hosts=(), days=365, keep=False):
    """Writes a throwaway CA's certificate, one certificate and key for every task and client of a cluster
    (server and client auth; names: localhost, 127.0.0.1, ::1 and `hosts`, which may be wildcards such as
    *.ps.default.svc.cluster.local) and a random token into `out_dir`. The CA's key is not kept: to change
    anything, generate everything again. With `keep`, complete material already there is left as it is.
    Returns the environment a client or server needs to use it."""
    out = pathlib.Path(out_dir)
    env = {ENV_CA: str(out / CA_FILE), ENV_CERT: str(out / CERT_FILE), ENV_KEY: str(out / KEY_FILE),
           ENV_TOKEN_FILE: str(out / TOKEN_FILE)}
    if keep and all(pathlib.Path(p).is_file() for p in env.values()):
        return env
    from cryptography import x509  # only the certs command and `tfmini-server local` need it
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"tfmini cluster CA {secrets.token_hex(4)}")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    names = []
    for host in ("localhost", "127.0.0.1", "::1", *hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tfmini task")]))
            .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(list(dict.fromkeys(names))), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    out.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    _write(out / CA_FILE, ca.public_bytes(pem))
    _write(out / CERT_FILE, leaf.public_bytes(pem))
    _write(out / KEY_FILE, leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()), secret=True)
    _write(out / TOKEN_FILE, (secrets.token_urlsafe(32) + "\n").encode(), secret=True)
    return env


def _write(path, data, secret=False):
    """Writes a file; a secret one is never readable by others, not even for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    if secret:
        os.chmod(path, 0o600)


ENV_NAMES = (ENV_CERT, ENV_KEY, ENV_CA, ENV_SERVER_NAME, ENV_TOKEN, ENV_TOKEN_FILE)


def local_material(tls_dir, hosts):
    """(environment, folder to remove at exit or None) for `tfmini-server local`: material generated into
    `tls_dir` (kept there, and reused when complete) or into a fresh private temporary folder."""
    import tempfile
    temporary = tls_dir is None
    folder = tempfile.mkdtemp(prefix="tfmini-local-tls-") if temporary else tls_dir
    return generate(folder, hosts, days=30, keep=not temporary), folder if temporary else None


def task_env(material):
    """This process's environment for a task or client: no security variables but those of `material`."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    return {**env, **(material or {})}


def exports(material):
    """Shell lines that give a client the material (file paths only: the token stays in its file)."""
    return " ".join(f"{k}={v}" for k, v in material.items())
