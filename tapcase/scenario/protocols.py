"""Application payloads in their real wire formats: DNS, TLS 1.2/1.3 handshakes, HTTP/1.1, SSH.

Everything is deterministic for a given :class:`random.Random`: random fields (TLS randoms, key
shares, SSH cookies, encrypted records) come from the caller's generator, certificates are signed
with Ed25519 keys derived from the server name (Ed25519 signatures are deterministic).
"""

from __future__ import annotations

import hashlib
import random
import socket
import struct
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from functools import lru_cache
from typing import cast

# ---------------------------------------------------------------------------------------------------
# DNS (RFC 1035) with name compression, as a recursive resolver answers
# ---------------------------------------------------------------------------------------------------

QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}
RCODES = {"NOERROR": 0, "SERVFAIL": 2, "NXDOMAIN": 3}


class _NameWriter:
    """Encodes names, compressing against every suffix already written (offsets < 0x4000)."""

    def __init__(self) -> None:
        self.buf = bytearray(12)  # header written last
        self.offsets: dict[str, int] = {}

    def name(self, name: str) -> None:
        labels = [label for label in name.rstrip(".").split(".") if label]
        for i in range(len(labels)):
            suffix = ".".join(labels[i:]).lower()
            if suffix in self.offsets:
                self.buf += struct.pack("!H", 0xC000 | self.offsets[suffix])
                return
            if len(self.buf) < 0x4000:
                self.offsets[suffix] = len(self.buf)
            raw = labels[i].encode("ascii")
            if not 0 < len(raw) < 64:
                raise ValueError(f"bad DNS label {labels[i]!r}")
            self.buf += bytes([len(raw)]) + raw
        self.buf += b"\0"


def dns_message(
    txid: int,
    qname: str,
    qtype: str,
    *,
    response: bool = False,
    rcode: str = "NOERROR",
    answers: list[tuple[str, str, int, object]] | None = None,
    authority: list[tuple[str, str, int, object]] | None = None,
) -> bytes:
    """A DNS query (``response=False``) or a recursive resolver's response.

    Records are ``(owner, type, ttl, rdata)``; rdata is an address string for A/AAAA, a name for
    CNAME/PTR/NS, a list of strings for TXT, and ``(mname, rname, serial, refresh, retry, expire,
    minimum)`` for SOA.
    """
    writer = _NameWriter()
    writer.name(qname)
    writer.buf += struct.pack("!HH", QTYPES[qtype], 1)
    answers = answers or []
    authority = authority or []
    for owner, rtype, ttl, rdata in answers + authority:
        writer.name(owner)
        writer.buf += struct.pack("!HHI", QTYPES[rtype], 1, ttl)
        length_at = len(writer.buf)
        writer.buf += b"\0\0"
        if rtype == "A":
            writer.buf += socket.inet_pton(socket.AF_INET, str(rdata))
        elif rtype == "AAAA":
            writer.buf += socket.inet_pton(socket.AF_INET6, str(rdata))
        elif rtype in ("CNAME", "PTR", "NS"):
            writer.name(str(rdata))
        elif rtype == "TXT":
            for text in cast("Sequence[str | bytes]", rdata):
                raw = text.encode() if isinstance(text, str) else bytes(text)
                writer.buf += bytes([len(raw)]) + raw
        elif rtype == "SOA":
            mname, rname, *numbers = cast("tuple[str, str, int, int, int, int, int]", rdata)
            writer.name(mname)
            writer.name(rname)
            writer.buf += struct.pack("!IIIII", *numbers)
        else:
            raise ValueError(f"unsupported record type {rtype}")
        struct.pack_into("!H", writer.buf, length_at, len(writer.buf) - length_at - 2)
    if response:
        flags = 0x8000 | 0x0100 | 0x0080 | RCODES[rcode]  # QR, RD, RA
    else:
        flags = 0x0100  # RD
    struct.pack_into("!HHHHHH", writer.buf, 0, txid, flags, 1, len(answers), len(authority), 0)
    return bytes(writer.buf)


# SOA records a resolver returns with NXDOMAIN (negative caching, RFC 2308), per TLD.
TLD_SOA = {
    "com": ("a.gtld-servers.net", "nstld.verisign-grs.com", 1717423170, 1800, 900, 604800, 86400),
    "net": ("a.gtld-servers.net", "nstld.verisign-grs.com", 1717423172, 1800, 900, 604800, 86400),
    "org": ("a0.org.afilias-nst.info", "hostmaster.donuts.email", 1717423199, 7200, 900, 1209600, 3600),
    "info": ("a0.info.afilias-nst.info", "hostmaster.donuts.email", 1717423188, 7200, 900, 1209600, 3600),
    "biz": ("a.gtld.biz", "hostmaster.donuts.email", 1717423181, 7200, 900, 1209600, 3600),
}


# ---------------------------------------------------------------------------------------------------
# TLS (RFC 5246 / RFC 8446) records and handshake messages
# ---------------------------------------------------------------------------------------------------

CT_CHANGE_CIPHER_SPEC, CT_ALERT, CT_HANDSHAKE, CT_APPLICATION_DATA = 20, 21, 22, 23
HS_CLIENT_HELLO, HS_SERVER_HELLO, HS_CERTIFICATE, HS_SERVER_KEY_EXCHANGE = 1, 2, 11, 12
HS_SERVER_HELLO_DONE, HS_CLIENT_KEY_EXCHANGE = 14, 16

TLS_MAX_FRAGMENT = 16384
GCM12_OVERHEAD = 8 + 16  # explicit nonce + tag (TLS 1.2 AES-GCM)
TLS13_OVERHEAD = 1 + 16  # inner content type + tag


def tls_record(content_type: int, payload: bytes, version: int = 0x0303) -> bytes:
    return struct.pack("!BHH", content_type, version, len(payload)) + payload


def _handshake(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def _ext(ext_type: int, body: bytes) -> bytes:
    return struct.pack("!HH", ext_type, len(body)) + body


def _vec8(data: bytes) -> bytes:
    return bytes([len(data)]) + data


def _vec16(data: bytes) -> bytes:
    return struct.pack("!H", len(data)) + data


def _u16s(values: tuple[int, ...]) -> bytes:
    return b"".join(struct.pack("!H", v) for v in values)


# Cipher suites, groups and signature algorithms of two common clients: OpenSSL 3 (curl, Python)
# and Go's crypto/tls (many upload tools are Go binaries).
CLIENT_PROFILES = {
    "openssl": {
        "suites": (0x1302, 0x1303, 0x1301, 0xC02C, 0xC030, 0x009F, 0xCCA9, 0xCCA8, 0xCCAA, 0xC02B, 0xC02F,
                   0x009E, 0xC024, 0xC028, 0x006B, 0xC023, 0xC027, 0x0067, 0xC00A, 0xC014, 0x0039, 0xC009,
                   0xC013, 0x0033, 0x009D, 0x009C, 0x003D, 0x003C, 0x0035, 0x002F, 0x00FF),
        "groups": (0x001D, 0x0017, 0x001E, 0x0019, 0x0018),
        "sigalgs": (0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0809, 0x080A, 0x080B, 0x0804, 0x0805, 0x0806,
                    0x0401, 0x0501, 0x0601, 0x0303, 0x0301, 0x0302, 0x0402, 0x0502, 0x0602),
        "extensions": ("sni", "ec_point_formats", "supported_groups", "session_ticket", "alpn",
                       "encrypt_then_mac", "extended_master_secret", "signature_algorithms",
                       "supported_versions", "psk_key_exchange_modes", "key_share"),
    },
    "go": {
        "suites": (0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC009, 0xC013, 0xC00A, 0xC014, 0x009C,
                   0x009D, 0x002F, 0x0035, 0xC012, 0x000A, 0x1301, 0x1302, 0x1303),
        "groups": (0x001D, 0x0017, 0x0018, 0x0019),
        "sigalgs": (0x0804, 0x0403, 0x0807, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0503, 0x0603, 0x0201,
                    0x0203),
        "extensions": ("sni", "status_request", "supported_groups", "ec_point_formats", "signature_algorithms",
                       "renegotiation_info", "alpn", "sct", "supported_versions", "key_share"),
    },
}


def client_hello(rng: random.Random, server_name: str, *, profile: str = "openssl",
                 alpn: tuple[str, ...] = ("h2", "http/1.1")) -> tuple[bytes, bytes]:
    """A ClientHello record offering TLS 1.3 and 1.2 with SNI. Returns (record, client_random)."""
    p = CLIENT_PROFILES[profile]
    client_random = rng.randbytes(32)
    session_id = rng.randbytes(32)
    name = server_name.encode("ascii")
    bodies = {
        "sni": _ext(0x0000, _vec16(b"\x00" + _vec16(name))),
        "status_request": _ext(0x0005, b"\x01\x00\x00\x00\x00"),
        "supported_groups": _ext(0x000A, _vec16(_u16s(cast("tuple[int, ...]", p["groups"])))),
        "ec_point_formats": _ext(0x000B, _vec8(b"\x00\x01\x02" if profile == "openssl" else b"\x00")),
        "signature_algorithms": _ext(0x000D, _vec16(_u16s(cast("tuple[int, ...]", p["sigalgs"])))),
        "alpn": _ext(0x0010, _vec16(b"".join(_vec8(a.encode()) for a in alpn))),
        "sct": _ext(0x0012, b""),
        "encrypt_then_mac": _ext(0x0016, b""),
        "extended_master_secret": _ext(0x0017, b""),
        "session_ticket": _ext(0x0023, b""),
        "supported_versions": _ext(0x002B, _vec8(_u16s((0x0304, 0x0303)))),
        "psk_key_exchange_modes": _ext(0x002D, _vec8(b"\x01")),
        "key_share": _ext(0x0033, _vec16(struct.pack("!HH", 0x001D, 32) + rng.randbytes(32))),
        "renegotiation_info": _ext(0xFF01, b"\x00"),
    }
    extensions = b"".join(bodies[e] for e in cast("tuple[str, ...]", p["extensions"]))
    body = (
        b"\x03\x03" + client_random + _vec8(session_id) + _vec16(_u16s(cast("tuple[int, ...]", p["suites"]))) + b"\x01\x00" + _vec16(extensions)
    )
    return tls_record(CT_HANDSHAKE, _handshake(HS_CLIENT_HELLO, body), version=0x0301), client_random


def _server_hello_body(rng: random.Random, cipher: int, extensions: bytes) -> tuple[bytes, bytes]:
    server_random = rng.randbytes(32)
    body = b"\x03\x03" + server_random + _vec8(rng.randbytes(32)) + struct.pack("!H", cipher) + b"\x00" + _vec16(extensions)
    return _handshake(HS_SERVER_HELLO, body), server_random


@lru_cache(maxsize=64)
def _ed25519_key(label: str):  # noqa: ANN202 - cryptography type imported lazily
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"tapcase-scenario-key:" + label.encode()).digest())


def _name(common_name: str, organization: str | None = None):  # noqa: ANN202
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "US")]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


@lru_cache(maxsize=64)
def certificate_chain(server_name: str, issuer: str | None, not_before: int, not_after: int) -> tuple[bytes, ...]:
    """DER certificates for ``server_name``: signed by ``issuer`` (a CA certificate is appended), or
    self-signed when ``issuer`` is None. Deterministic (Ed25519, fixed dates and serials)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    leaf_key = _ed25519_key(server_name)
    start = datetime.fromtimestamp(not_before, tz=UTC)
    end = datetime.fromtimestamp(not_after, tz=UTC)

    def serial(label: str) -> int:
        return int.from_bytes(hashlib.sha256(b"serial:" + label.encode()).digest()[:16], "big") >> 1

    subject = _name(server_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .public_key(leaf_key.public_key())
        .serial_number(serial(server_name))
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(server_name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if issuer is None:
        leaf = builder.issuer_name(subject).sign(leaf_key, None)
        return (leaf.public_bytes(serialization.Encoding.DER),)
    ca_key = _ed25519_key("ca:" + issuer)
    ca_name = _name(issuer, "Example Trust Services")
    leaf = builder.issuer_name(ca_name).sign(ca_key, None)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(serial("ca:" + issuer))
        .not_valid_before(start - timedelta(days=365))
        .not_valid_after(end + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, None)
    )
    return leaf.public_bytes(serialization.Encoding.DER), ca.public_bytes(serialization.Encoding.DER)


def server_flight_tls12(rng: random.Random, server_name: str, client_random: bytes, chain: tuple[bytes, ...],
                        *, alpn: str | None = "http/1.1") -> bytes:
    """ServerHello, Certificate, ServerKeyExchange (X25519, Ed25519-signed), ServerHelloDone."""
    extensions = _ext(0xFF01, b"\x00") + _ext(0x000B, _vec8(b"\x00\x01\x02")) + _ext(0x0017, b"")
    if alpn:
        extensions += _ext(0x0010, _vec16(_vec8(alpn.encode())))
    hello, server_random = _server_hello_body(rng, 0xC02B, extensions)  # ECDHE-ECDSA-AES128-GCM-SHA256
    certificates = b"".join(len(der).to_bytes(3, "big") + der for der in chain)
    certificate = _handshake(HS_CERTIFICATE, len(certificates).to_bytes(3, "big") + certificates)
    params = struct.pack("!BHB", 3, 0x001D, 32) + rng.randbytes(32)
    signature = _ed25519_key(server_name).sign(client_random + server_random + params)
    key_exchange = _handshake(HS_SERVER_KEY_EXCHANGE, params + struct.pack("!H", 0x0807) + _vec16(signature))
    done = _handshake(HS_SERVER_HELLO_DONE, b"")
    return b"".join(tls_record(CT_HANDSHAKE, m) for m in (hello, certificate, key_exchange, done))


def client_finish_tls12(rng: random.Random) -> bytes:
    """ClientKeyExchange, ChangeCipherSpec, encrypted Finished."""
    key_exchange = _handshake(HS_CLIENT_KEY_EXCHANGE, _vec8(rng.randbytes(32)))
    return (
        tls_record(CT_HANDSHAKE, key_exchange)
        + tls_record(CT_CHANGE_CIPHER_SPEC, b"\x01")
        + tls_record(CT_HANDSHAKE, rng.randbytes(16 + GCM12_OVERHEAD))
    )


def server_finish_tls12(rng: random.Random) -> bytes:
    """NewSessionTicket-less ChangeCipherSpec and encrypted Finished."""
    return tls_record(CT_CHANGE_CIPHER_SPEC, b"\x01") + tls_record(CT_HANDSHAKE, rng.randbytes(16 + GCM12_OVERHEAD))


def server_flight_tls13(rng: random.Random) -> bytes:
    """ServerHello (TLS 1.3 via supported_versions), compatibility CCS, encrypted handshake."""
    extensions = _ext(0x002B, b"\x03\x04") + _ext(0x0033, struct.pack("!HH", 0x001D, 32) + rng.randbytes(32))
    hello, _ = _server_hello_body(rng, 0x1302, extensions)  # TLS_AES_256_GCM_SHA384
    encrypted = rng.randbytes(rng.randint(2400, 4600) + TLS13_OVERHEAD)
    return tls_record(CT_HANDSHAKE, hello) + tls_record(CT_CHANGE_CIPHER_SPEC, b"\x01") + tls_record(CT_APPLICATION_DATA, encrypted)


def client_finish_tls13(rng: random.Random) -> bytes:
    return tls_record(CT_CHANGE_CIPHER_SPEC, b"\x01") + tls_record(CT_APPLICATION_DATA, rng.randbytes(36 + TLS13_OVERHEAD))


def application_data(rng: random.Random, plaintext_bytes: int, *, tls13: bool) -> bytes:
    """Encrypted application data records carrying ``plaintext_bytes`` (opaque random ciphertext)."""
    overhead = TLS13_OVERHEAD if tls13 else GCM12_OVERHEAD
    out = bytearray()
    remaining = plaintext_bytes
    while remaining > 0:
        size = min(remaining, TLS_MAX_FRAGMENT)
        out += tls_record(CT_APPLICATION_DATA, rng.randbytes(size + overhead))
        remaining -= size
    return bytes(out)


def close_notify(rng: random.Random, *, tls13: bool) -> bytes:
    if tls13:
        return tls_record(CT_APPLICATION_DATA, rng.randbytes(2 + TLS13_OVERHEAD))
    return tls_record(CT_ALERT, rng.randbytes(2 + GCM12_OVERHEAD))


# ---------------------------------------------------------------------------------------------------
# HTTP/1.1
# ---------------------------------------------------------------------------------------------------


def http_request(method: str, uri: str, host: str, user_agent: str, headers: list[tuple[str, str]] | None = None,
                 body: bytes = b"") -> bytes:
    lines = [f"{method} {uri} HTTP/1.1", f"Host: {host}", f"User-Agent: {user_agent}"]
    lines += [f"{k}: {v}" for k, v in headers or []]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def http_response(status: int, reason: str, ts: float, body: bytes, headers: list[tuple[str, str]] | None = None,
                  server: str = "nginx") -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", f"Server: {server}", f"Date: {formatdate(ts, usegmt=True)}"]
    lines += [f"{k}: {v}" for k, v in headers or []]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# ---------------------------------------------------------------------------------------------------
# SSH (RFC 4253): banners, KEXINIT, curve25519 key exchange, then encrypted packets
# ---------------------------------------------------------------------------------------------------

SSH_MSG_KEXINIT, SSH_MSG_NEWKEYS, SSH_MSG_KEX_ECDH_INIT, SSH_MSG_KEX_ECDH_REPLY = 20, 21, 30, 31

SSH_ALGORITHMS = {
    "server": (
        "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
        "sntrup761x25519-sha512@openssh.com,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
        "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,kex-strict-s-v00@openssh.com",
        "rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519",
        "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
        "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
        "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,"
        "hmac-sha2-256,hmac-sha2-512,hmac-sha1",
        "none,zlib@openssh.com",
    ),
    "libssh2": (
        "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
        "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
        "diffie-hellman-group14-sha256,diffie-hellman-group14-sha1,ext-info-c",
        "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256,ssh-rsa",
        "aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes256-cbc,aes192-cbc,"
        "aes128-cbc,3des-cbc",
        "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,hmac-sha2-256,"
        "hmac-sha2-512,hmac-sha1",
        "none",
    ),
    "openssh": (
        "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,"
        "ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
        "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,ext-info-c,kex-strict-c-v00@openssh.com",
        "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ssh-ed25519,"
        "ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
        "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
        "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
        "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,"
        "hmac-sha2-256,hmac-sha2-512,hmac-sha1",
        "none,zlib@openssh.com,zlib",
    ),
}


def _ssh_string(data: bytes | str) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    return struct.pack("!I", len(raw)) + raw


def ssh_packet(rng: random.Random, payload: bytes, block: int = 8) -> bytes:
    """An unencrypted SSH binary packet (before NEWKEYS)."""
    padding = block - (5 + len(payload)) % block
    if padding < 4:
        padding += block
    return struct.pack("!IB", 1 + len(payload) + padding, padding) + payload + rng.randbytes(padding)


def ssh_kexinit(rng: random.Random, flavour: str) -> bytes:
    kex, hostkey, ciphers, macs, compression = SSH_ALGORITHMS[flavour]
    lists = [kex, hostkey, ciphers, ciphers, macs, macs, compression, compression, "", ""]
    payload = bytes([SSH_MSG_KEXINIT]) + rng.randbytes(16) + b"".join(_ssh_string(x) for x in lists) + b"\x00" + b"\0\0\0\0"
    return ssh_packet(rng, payload)


def ssh_ecdh_init(rng: random.Random) -> bytes:
    return ssh_packet(rng, bytes([SSH_MSG_KEX_ECDH_INIT]) + _ssh_string(rng.randbytes(32)))


def ssh_ecdh_reply_and_newkeys(rng: random.Random, host_label: str) -> bytes:
    key = _ed25519_key("ssh-host:" + host_label)
    from cryptography.hazmat.primitives import serialization

    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    host_key = _ssh_string("ssh-ed25519") + _ssh_string(public)
    server_ephemeral = rng.randbytes(32)
    signature = _ssh_string("ssh-ed25519") + _ssh_string(key.sign(rng.randbytes(32)))
    reply = bytes([SSH_MSG_KEX_ECDH_REPLY]) + _ssh_string(host_key) + _ssh_string(server_ephemeral) + _ssh_string(signature)
    return ssh_packet(rng, reply) + ssh_newkeys(rng)


def ssh_newkeys(rng: random.Random) -> bytes:
    return ssh_packet(rng, bytes([SSH_MSG_NEWKEYS]))


def ssh_encrypted(rng: random.Random, payload_len: int) -> bytes:
    """A chacha20-poly1305 packet: encrypted length, padded payload, 16-byte tag."""
    padding = 8 - (1 + payload_len) % 8
    if padding < 4:
        padding += 8
    return rng.randbytes(4 + 1 + payload_len + padding + 16)
