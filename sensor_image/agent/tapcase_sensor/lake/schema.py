"""The one schema source of the curated data lake.

Every curated table is described here once: its columns (curated name, Athena/Glue type, and the
key the column comes from in the parsed log record) and its partition keys. Everything else is
generated from it:

* the Parquet files the sensor agent and ``tapcase analyze`` write (``curate.py``: pyarrow types);
* the Glue tables of ``template.yaml`` (``tapcase.lake_glue``: Hive type strings);
* the local DuckDB views over the curated Parquet and over the raw JSON logs (the CLI's
  ``tapcase.lake_views``: DuckDB is not on the sensor).

Naming rules (Athena cannot read dots and lower-cases names): Zeek's dotted keys are renamed with
underscores and lower-cased (``id.orig_h`` -> ``id_orig_h``, ``TTLs`` -> ``ttls``). Zeek ``time``
values are epoch seconds as ``double``; Suricata's ISO ``timestamp`` is kept and an epoch ``ts``
``double`` is added. Fields the schema does not know are kept, as a JSON object, in ``extra``.

Layout (S3 key relative to the evidence bucket; the same tree under ``<out>/`` locally; defined
in :mod:`tapcase_contract.layout`)::

    investigations/curated/<table>/investigation_id=<id>/part-00000.parquet
    investigations/curated/suricata_eve/investigation_id=<id>/event_type=<type>/part-00000.parquet

``investigation_id`` (and ``event_type``) are Hive-style partition directories, not columns of
the files; Athena projects them (``injected`` / ``enum``), DuckDB reads them from the path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tapcase_contract.layout import (
    EVENT_TYPE_PARTITION,
    INVESTIGATION_PARTITION,
    curated_partition,
    curated_table_prefix,
)

# ---------------------------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------------------------

EVENT_TYPE_OTHER = "other"

# Suricata event types with their own ``event_type=`` partition (Athena's enum projection only
# sees listed values). Anything else is written under ``event_type=other``.
SURICATA_EVENT_TYPES: tuple[str, ...] = (
    "alert",
    "anomaly",
    "dns",
    "fileinfo",
    "flow",
    "http",
    "tls",
    "ssh",
    "smtp",
    "netflow",
    "drop",
    "dhcp",
    "krb5",
    "smb",
    "nfs",
    "ftp",
    "ftp_data",
    "tftp",
    "rdp",
    "rfb",
    "sip",
    "snmp",
    "mqtt",
    "http2",
    "quic",
    "ike",
    "pgsql",
    "dnp3",
    "modbus",
    "bittorrent_dht",
    "frame",
    "arp",
    "stats",
    EVENT_TYPE_OTHER,
)


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column: ``name`` in the curated table, ``type`` as Athena/Glue (Hive DDL) spells it,
    ``source`` the key in a parsed record, ``zeek_type`` the Zeek type it came from (if any)."""

    name: str
    type: str
    source: str
    zeek_type: str | None = None

    @property
    def is_time(self) -> bool:
        """A Zeek ``time`` value (epoch seconds; ISO-8601 in some JSON logs)."""
        return self.zeek_type is not None and (self.zeek_type == "time" or self.zeek_type.endswith("[time]"))


@dataclass(frozen=True)
class Table:
    name: str
    kind: str  # "zeek" | "suricata"
    log_type: str  # Zeek's path (conn, dns, ...) or "eve"
    description: str
    columns: tuple[Column, ...]
    partition_keys: tuple[str, ...] = (INVESTIGATION_PARTITION,)
    _by_name: dict[str, Column] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"{self.name}: duplicate columns {dupes}")
        for c in self.columns:
            if not _NAME_RE.match(c.name):
                raise ValueError(f"{self.name}: bad column name {c.name!r}")
            parse_type(c.type)  # validates
        self._by_name.update({c.name: c for c in self.columns})

    def column(self, name: str) -> Column:
        return self._by_name[name]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def relative_dir(self, investigation_id: str, event_type: str | None = None) -> str:
        """Partition folder, relative to the bucket root / output directory."""
        if EVENT_TYPE_PARTITION in self.partition_keys:
            if event_type is None:
                raise ValueError(f"{self.name} is partitioned by event_type")
            return curated_partition(self.name, investigation_id, event_type)
        return curated_partition(self.name, investigation_id)

    def location_prefix(self) -> str:
        """Folder of every partition of the table, relative to the bucket root."""
        return curated_table_prefix(self.name)


_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def suricata_partition(event_type: object) -> str:
    """The ``event_type=`` partition of an EVE record."""
    return event_type if event_type in _SURICATA_EVENT_SET else EVENT_TYPE_OTHER


_SURICATA_EVENT_SET = frozenset(SURICATA_EVENT_TYPES) - {EVENT_TYPE_OTHER}


# ---------------------------------------------------------------------------------------------
# Hive type strings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeNode:
    """A parsed Hive type: ``kind`` is a primitive name, ``array``, ``map`` or ``struct``."""

    kind: str
    children: tuple[TypeNode, ...] = ()
    fields: tuple[str, ...] = ()  # struct field names, parallel to children


PRIMITIVES = ("string", "bigint", "double", "boolean")

_TYPE_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|<|>|,|:)")


def parse_type(text: str) -> TypeNode:
    """Parse ``array<struct<a:string,b:bigint>>`` and friends (the subset this lake uses)."""
    tokens = [m.group(1) for m in _TYPE_TOKEN.finditer(text)]
    if "".join(tokens) != re.sub(r"\s+", "", text):
        raise ValueError(f"bad type {text!r}")
    node, pos = _parse(tokens, 0, text)
    if pos != len(tokens):
        raise ValueError(f"bad type {text!r}: trailing {tokens[pos:]}")
    return node


def _expect(tokens: list[str], pos: int, tok: str, text: str) -> int:
    if pos >= len(tokens) or tokens[pos] != tok:
        raise ValueError(f"bad type {text!r}: expected {tok!r} at token {pos}")
    return pos + 1


def _parse(tokens: list[str], pos: int, text: str) -> tuple[TypeNode, int]:
    if pos >= len(tokens):
        raise ValueError(f"bad type {text!r}: unexpected end")
    head = tokens[pos].lower()
    pos += 1
    if head in PRIMITIVES:
        return TypeNode(head), pos
    if head == "array":
        pos = _expect(tokens, pos, "<", text)
        child, pos = _parse(tokens, pos, text)
        pos = _expect(tokens, pos, ">", text)
        return TypeNode("array", (child,)), pos
    if head == "map":
        pos = _expect(tokens, pos, "<", text)
        key, pos = _parse(tokens, pos, text)
        pos = _expect(tokens, pos, ",", text)
        value, pos = _parse(tokens, pos, text)
        pos = _expect(tokens, pos, ">", text)
        return TypeNode("map", (key, value)), pos
    if head == "struct":
        pos = _expect(tokens, pos, "<", text)
        names: list[str] = []
        children: list[TypeNode] = []
        while True:
            name = tokens[pos]
            if not _NAME_RE.match(name):
                raise ValueError(f"bad type {text!r}: bad field name {name!r}")
            pos = _expect(tokens, pos + 1, ":", text)
            child, pos = _parse(tokens, pos, text)
            names.append(name)
            children.append(child)
            if tokens[pos] == ",":
                pos += 1
                continue
            pos = _expect(tokens, pos, ">", text)
            return TypeNode("struct", tuple(children), tuple(names)), pos
    raise ValueError(f"bad type {text!r}: unknown type {head!r}")


# ---------------------------------------------------------------------------------------------
# Zeek
# ---------------------------------------------------------------------------------------------

_ZEEK_SCALAR = {
    "time": "double",
    "interval": "double",
    "double": "double",
    "count": "bigint",
    "int": "bigint",
    "port": "bigint",
    "counter": "bigint",
    "bool": "boolean",
    "string": "string",
    "addr": "string",
    "subnet": "string",
    "enum": "string",
    "pattern": "string",
}


def zeek_to_hive(zeek_type: str) -> str:
    """``count`` -> ``bigint``, ``set[addr]`` -> ``array<string>``, ``time`` -> ``double``..."""
    m = re.fullmatch(r"(set|vector)\[(\w+)\]", zeek_type)
    if m:
        return f"array<{_ZEEK_SCALAR[m.group(2)]}>"
    return _ZEEK_SCALAR[zeek_type]


def curated_name(source: str) -> str:
    """``id.orig_h`` -> ``id_orig_h``; ``TTLs`` -> ``ttls``."""
    return source.replace(".", "_").replace("-", "_").lower()


_ID_FIELDS = "id.orig_h:addr id.orig_p:port id.resp_h:addr id.resp_p:port"
_GEO = (
    "remote_location.country_code:string remote_location.region:string remote_location.city:string "
    "remote_location.latitude:double remote_location.longitude:double"
)

# Stock Zeek 6/7 fields (as in the #fields/#types headers), plus the fields the sensor's Zeek
# configuration or common packages add (community_id, ja3/ja3s, hassh, older-version fields).
ZEEK_FIELDS: dict[str, tuple[str, str]] = {
    "conn": (
        "Connections (one row per TCP/UDP/ICMP session).",
        f"ts:time uid:string {_ID_FIELDS} proto:enum service:string duration:interval "
        "orig_bytes:count resp_bytes:count conn_state:string local_orig:bool local_resp:bool "
        "missed_bytes:count history:string orig_pkts:count orig_ip_bytes:count resp_pkts:count "
        "resp_ip_bytes:count tunnel_parents:set[string] ip_proto:count orig_l2_addr:string "
        "resp_l2_addr:string vlan:int inner_vlan:int community_id:string",
    ),
    "dns": (
        "DNS queries and answers.",
        f"ts:time uid:string {_ID_FIELDS} proto:enum trans_id:count rtt:interval query:string "
        "qclass:count qclass_name:string qtype:count qtype_name:string rcode:count rcode_name:string "
        "AA:bool TC:bool RD:bool RA:bool Z:count answers:vector[string] TTLs:vector[interval] "
        "rejected:bool opcode:count opcode_name:string auth:set[string] addl:set[string]",
    ),
    "http": (
        "HTTP requests and replies.",
        f"ts:time uid:string {_ID_FIELDS} trans_depth:count method:string host:string uri:string "
        "referrer:string version:string user_agent:string origin:string request_body_len:count "
        "response_body_len:count status_code:count status_msg:string info_code:count info_msg:string "
        "tags:set[enum] username:string password:string proxied:set[string] orig_fuids:vector[string] "
        "orig_filenames:vector[string] orig_mime_types:vector[string] resp_fuids:vector[string] "
        "resp_filenames:vector[string] resp_mime_types:vector[string] client_header_names:vector[string] "
        "server_header_names:vector[string]",
    ),
    "ssl": (
        "TLS/SSL handshakes.",
        f"ts:time uid:string {_ID_FIELDS} version:string cipher:string curve:string server_name:string "
        "resumed:bool last_alert:string next_protocol:string established:bool ssl_history:string "
        "cert_chain_fps:vector[string] client_cert_chain_fps:vector[string] "
        "cert_chain_fuids:vector[string] client_cert_chain_fuids:vector[string] subject:string "
        "issuer:string client_subject:string client_issuer:string sni_matches_cert:bool "
        "validation_status:string ja3:string ja3s:string",
    ),
    "x509": (
        "X.509 certificates seen in TLS.",
        "ts:time fingerprint:string id:string certificate.version:count certificate.serial:string "
        "certificate.subject:string certificate.issuer:string certificate.not_valid_before:time "
        "certificate.not_valid_after:time certificate.key_alg:string certificate.sig_alg:string "
        "certificate.key_type:string certificate.key_length:count certificate.exponent:string "
        "certificate.curve:string san.dns:vector[string] san.uri:vector[string] "
        "san.email:vector[string] san.ip:vector[addr] basic_constraints.ca:bool "
        "basic_constraints.path_len:count host_cert:bool client_cert:bool",
    ),
    "files": (
        "Files transferred over any protocol, with hashes.",
        f"ts:time fuid:string uid:string {_ID_FIELDS} tx_hosts:set[addr] rx_hosts:set[addr] "
        "conn_uids:set[string] source:string depth:count analyzers:set[string] mime_type:string "
        "filename:string duration:interval local_orig:bool is_orig:bool seen_bytes:count "
        "total_bytes:count missing_bytes:count overflow_bytes:count timedout:bool parent_fuid:string "
        "md5:string sha1:string sha256:string extracted:string extracted_cutoff:bool "
        "extracted_size:count",
    ),
    "notice": (
        "Zeek notices.",
        f"ts:time uid:string {_ID_FIELDS} fuid:string file_mime_type:string file_desc:string "
        "proto:enum note:enum msg:string sub:string src:addr dst:addr p:port n:count "
        "peer_descr:string actions:set[enum] email_dest:set[string] suppress_for:interval "
        f"{_GEO}",
    ),
    "weird": (
        "Protocol anomalies Zeek saw.",
        f"ts:time uid:string {_ID_FIELDS} name:string addl:string notice:bool peer:string source:string",
    ),
    "ssh": (
        "SSH sessions.",
        f"ts:time uid:string {_ID_FIELDS} version:count auth_success:bool auth_attempts:count "
        "direction:enum client:string server:string cipher_alg:string mac_alg:string "
        "compression_alg:string kex_alg:string host_key_alg:string host_key:string "
        f"hassh:string hasshServer:string {_GEO}",
    ),
    "tunnel": (
        "Tunnels Zeek decapsulated (VXLAN, GRE, Teredo...).",
        f"ts:time uid:string {_ID_FIELDS} tunnel_type:enum action:enum",
    ),
    "dhcp": (
        "DHCP leases.",
        "ts:time uids:set[string] client_addr:addr server_addr:addr mac:string host_name:string "
        "client_fqdn:string domain:string requested_addr:addr assigned_addr:addr lease_time:interval "
        "client_message:string server_message:string msg_types:vector[string] duration:interval",
    ),
    "smtp": (
        "SMTP transactions.",
        f"ts:time uid:string {_ID_FIELDS} trans_depth:count helo:string mailfrom:string "
        "rcptto:set[string] date:string from:string to:set[string] cc:set[string] reply_to:string "
        "msg_id:string in_reply_to:string subject:string x_originating_ip:addr "
        "first_received:string second_received:string last_reply:string path:vector[addr] "
        "user_agent:string tls:bool fuids:vector[string] is_webmail:bool",
    ),
    "software": (
        "Software versions Zeek recognised on hosts.",
        "ts:time host:addr host_p:port software_type:enum name:string version.major:count "
        "version.minor:count version.minor2:count version.minor3:count version.addl:string "
        "unparsed_version:string",
    ),
    "dpd": (
        "Dynamic protocol detection failures.",
        f"ts:time uid:string {_ID_FIELDS} proto:enum analyzer:string failure_reason:string",
    ),
    "rdp": (
        "RDP sessions.",
        f"ts:time uid:string {_ID_FIELDS} cookie:string result:string security_protocol:string "
        "client_channels:vector[string] keyboard_layout:string client_build:string "
        "client_name:string client_dig_product_id:string desktop_width:count desktop_height:count "
        "requested_color_depth:string cert_type:string cert_count:count cert_permanent:bool "
        "encryption_level:string encryption_method:string",
    ),
}


def _zeek_table(log_type: str, description: str, spec: str) -> Table:
    columns = []
    for item in spec.split():
        source, zeek_type = item.rsplit(":", 1)
        columns.append(Column(curated_name(source), zeek_to_hive(zeek_type), source, zeek_type))
    columns.append(Column("extra", "string", "*"))
    return Table(
        name=f"zeek_{log_type}",
        kind="zeek",
        log_type=log_type,
        description=f"Zeek {log_type}.log: {description}",
        columns=tuple(columns),
    )


# ---------------------------------------------------------------------------------------------
# Suricata EVE
# ---------------------------------------------------------------------------------------------

_HASH = "struct<hash:string,string:string>"
_SSH_PEER = f"struct<proto_version:string,software_version:string,hassh:{_HASH}>"
_DNS_QUERY = "struct<rrname:string,rrtype:string>"
_DNS_RR = "struct<rrname:string,rrtype:string,ttl:bigint,rdata:string>"

# One struct per event type. DNS is the parser's normalised shape (Suricata 7 and 8 alike:
# ``type`` request/response, ``queries[]``, ``rrname``/``rrtype`` of the first query).
SURICATA_STRUCTS: dict[str, str] = {
    "alert": (
        "struct<action:string,gid:bigint,signature_id:bigint,rev:bigint,signature:string,"
        "category:string,severity:bigint,metadata:map<string,array<string>>>"
    ),
    "anomaly": "struct<type:string,event:string,layer:string,code:bigint,app_proto:string>",
    "dns": (
        "struct<version:bigint,type:string,id:bigint,tx_id:bigint,opcode:bigint,rcode:string,"
        f"flags:string,qr:boolean,aa:boolean,tc:boolean,rd:boolean,ra:boolean,z:boolean,"
        f"rrname:string,rrtype:string,queries:array<{_DNS_QUERY}>,answers:array<{_DNS_RR}>,"
        f"authorities:array<{_DNS_RR}>>"
    ),
    "tls": (
        "struct<subject:string,issuerdn:string,serial:string,fingerprint:string,sni:string,"
        f"version:string,notbefore:string,notafter:string,session_resumed:boolean,ja3:{_HASH},"
        f"ja3s:{_HASH},ja4:string,client_alpns:array<string>,server_alpns:array<string>>"
    ),
    "http": (
        "struct<hostname:string,http_port:bigint,url:string,http_user_agent:string,"
        "http_content_type:string,http_method:string,http_refer:string,protocol:string,"
        "status:bigint,redirect:string,length:bigint,xff:string>"
    ),
    "flow": (
        "struct<pkts_toserver:bigint,pkts_toclient:bigint,bytes_toserver:bigint,"
        "bytes_toclient:bigint,start:string,end:string,age:bigint,state:string,reason:string,"
        "alerted:boolean,action:string>"
    ),
    "fileinfo": (
        "struct<filename:string,magic:string,gaps:boolean,state:string,md5:string,sha1:string,"
        "sha256:string,stored:boolean,file_id:bigint,size:bigint,tx_id:bigint>"
    ),
    "ssh": f"struct<client:{_SSH_PEER},server:{_SSH_PEER}>",
}

_SURICATA_TOP = (
    ("ts", "double"),
    ("timestamp", "string"),
    ("flow_id", "bigint"),
    ("parent_id", "bigint"),
    ("pcap_cnt", "bigint"),
    ("in_iface", "string"),
    ("src_ip", "string"),
    ("src_port", "bigint"),
    ("dest_ip", "string"),
    ("dest_port", "bigint"),
    ("proto", "string"),
    ("icmp_type", "bigint"),
    ("icmp_code", "bigint"),
    ("app_proto", "string"),
    ("community_id", "string"),
    ("pkt_src", "string"),
    ("direction", "string"),
    ("tx_id", "bigint"),
    ("host", "string"),
    ("vlan", "array<bigint>"),
    (
        "tunnel",
        "struct<src_ip:string,src_port:bigint,dest_ip:string,dest_port:bigint,proto:string,"
        "depth:bigint,pcap_cnt:bigint,pkt_src:string>",
    ),
)


def _suricata_table() -> Table:
    columns = [Column(name, typ, name) for name, typ in _SURICATA_TOP]
    columns += [Column(name, typ, name) for name, typ in SURICATA_STRUCTS.items()]
    columns.append(Column("extra", "string", "*"))
    return Table(
        name="suricata_eve",
        kind="suricata",
        log_type="eve",
        description="Suricata EVE events (one struct per event type), partitioned by event_type.",
        columns=tuple(columns),
        partition_keys=(INVESTIGATION_PARTITION, EVENT_TYPE_PARTITION),
    )


# ---------------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------------

TABLES: dict[str, Table] = {
    **{f"zeek_{t}": _zeek_table(t, d, s) for t, (d, s) in ZEEK_FIELDS.items()},
    "suricata_eve": _suricata_table(),
}

ZEEK_TABLE_BY_LOG_TYPE: dict[str, Table] = {t.log_type: t for t in TABLES.values() if t.kind == "zeek"}
SURICATA_TABLE = TABLES["suricata_eve"]


def table_for_zeek_log(log_type: str) -> Table | None:
    """The curated table of a Zeek log type, or ``None`` when the lake does not curate it."""
    return ZEEK_TABLE_BY_LOG_TYPE.get(log_type)


def partition_types(table: Table) -> dict[str, str]:
    return {key: "string" for key in table.partition_keys}


def query_schema() -> dict[str, dict[str, str]]:
    """``{table: {column: hive type}}`` including partition columns (for SQL type annotation)."""
    out: dict[str, dict[str, str]] = {}
    for table in TABLES.values():
        cols = {c.name: c.type for c in table.columns}
        cols.update(partition_types(table))
        out[table.name] = cols
    return out
