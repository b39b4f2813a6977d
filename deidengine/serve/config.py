"""The gateway's configuration: a TOML file validated by pydantic models.

A bad file is refused before anything listens, with one ``FILE:LINE: where: what`` line per
problem, the way ``deid policy check`` reports a bad policy. tomllib gives no positions for a
valid document, so :func:`key_lines` reads the text once more for the line of every table and
key; a pydantic error's location is then mapped to the line of the deepest key it names (or
of its table, for a missing key).

Relative paths are read from the configuration file's directory. The format is documented,
with a complete example, in docs/gateway.md.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from deidengine.errors import DeidError, EngineCode

__all__ = [
    "ANY",
    "ConfigError",
    "Destination",
    "DestinationConfig",
    "GatewayConfig",
    "GatewaySettings",
    "ListenerConfig",
    "StowDestinationConfig",
    "TlsConfig",
    "key_lines",
    "load_config",
]

ANY: Final = "*"
"""In an allowlist: any calling AE title (the address allowlist still applies)."""

_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

Location = tuple[str | int, ...]


def _ae_title(value: str) -> str:
    """PS3.5 AE value representation: 1-16 characters of the default repertoire, no backslash,
    not only spaces."""
    if not value.strip() or len(value) > 16:
        raise ValueError("an AE title holds 1 to 16 characters, not only spaces")
    if any(not (0x20 <= ord(c) < 0x7F) or c == "\\" for c in value):
        raise ValueError("an AE title holds printable ASCII characters other than backslash")
    return value.strip()


AETitle = Annotated[str, AfterValidator(_ae_title)]
Port = Annotated[int, Field(ge=1, le=65535)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TlsConfig(_Model):
    """TLS for a listener (server side) or a destination (client side); PEM files."""

    certificate: Path | None = None
    private_key: Path | None = None
    #: Listener: client certificates are required and checked against these. Destination:
    #: the server's certificate is checked against these (else the system's).
    ca_certificates: Path | None = None
    #: Destination only: the name the server's certificate must carry (default: its host).
    server_name: str | None = None

    @model_validator(mode="after")
    def _pair(self) -> TlsConfig:
        if (self.certificate is None) != (self.private_key is None):
            raise ValueError("certificate and private_key go together")
        return self


class DestinationConfig(_Model):
    """Where a listener forwards what it de-identified: a Storage SCP."""

    kind: Literal["dimse"] = "dimse"
    ae_title: AETitle
    host: str
    port: Port
    #: Our AE title on the association (default: the listener's).
    calling_ae_title: AETitle | None = None
    tls: TlsConfig | None = None

    @property
    def label(self) -> str:
        """How logs and the audit name it."""
        return self.ae_title

    def describe(self) -> str:
        return f"{self.ae_title} at {self.host}:{self.port}"


class StowDestinationConfig(_Model):
    """Where a listener forwards what it de-identified: a DICOMweb STOW-RS service."""

    kind: Literal["stow-rs"]
    #: The service's base URL (``.../dicom-web``); instances are POSTed to ``<url>/studies``.
    url: str = Field(pattern=r"^https?://[^\s@/]+(/\S*)?$")
    #: For https: the CAs its certificate is checked against (default: the system's).
    ca_certificates: Path | None = None
    timeout_seconds: float = Field(default=60.0, gt=0)

    @property
    def label(self) -> str:
        return "stow-rs " + self.url.split("://", 1)[1].split("/", 1)[0]

    def describe(self) -> str:
        return f"STOW-RS at {self.url}"


def _destination_kind(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("kind", "dimse"))
    return str(getattr(value, "kind", "dimse"))


#: The destination kinds: a Storage SCP (the default) or a STOW-RS service.
Destination = Annotated[
    Annotated[DestinationConfig, Tag("dimse")] | Annotated[StowDestinationConfig, Tag("stow-rs")],
    Discriminator(_destination_kind),
]
_DESTINATION_TAGS: Final = frozenset({"dimse", "stow-rs"})


class ListenerConfig(_Model):
    """One Storage SCP: an AE title on a port, its policy, allowlist and destination."""

    name: str
    ae_title: AETitle
    port: Port
    bind: str = "127.0.0.1"
    policy: str
    #: Calling AE titles allowed to associate; ``["*"]`` for any.
    allowed_ae_titles: tuple[str, ...] = Field(min_length=1)
    #: Source addresses or networks (CIDR) allowed to associate.
    allowed_addresses: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    destination: Destination
    tls: TlsConfig | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("a listener name is letters, digits, '-' and '_' (it names folders)")
        return value

    @field_validator("bind")
    @classmethod
    def _bind(cls, value: str) -> str:
        ipaddress.ip_address(value)  # an address, not a name: what is bound is exact
        return value

    @field_validator("allowed_ae_titles")
    @classmethod
    def _titles(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v if v == ANY else _ae_title(v) for v in values)

    @field_validator("allowed_addresses")
    @classmethod
    def _addresses(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            ipaddress.ip_network(value, strict=False)
        return values

    @model_validator(mode="after")
    def _server_tls(self) -> ListenerConfig:
        if self.tls is not None and self.tls.certificate is None:
            raise ValueError("a listener's tls needs its certificate and private_key")
        return self

    def allows(self, ae_title: str, address: str) -> bool:
        """Whether a calling AE title from a source address may associate."""
        if ANY not in self.allowed_ae_titles and ae_title.strip() not in self.allowed_ae_titles:
            return False
        try:
            source = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(source in ipaddress.ip_network(n, strict=False) for n in self.allowed_addresses)


class GatewaySettings(_Model):
    """What all listeners share."""

    secret_file: Path
    #: Received instances wait here (fsynced) until de-identified: what was acknowledged.
    spool_dir: Path
    #: The queue database, the de-identified outbox and the audits (default: spool_dir).
    work_dir: Path | None = None
    #: Inputs that failed closed, beside a JSON reason (default: work_dir/quarantine).
    quarantine_dir: Path | None = None
    ocr_backend: str = "default"
    #: Worker processes for the engine; 0 runs it in a thread of the gateway's process.
    deidentify_processes: int = Field(default=0, ge=0, le=64)
    #: Seconds SIGTERM waits for in-flight de-identification and forwarding.
    drain_timeout: float = Field(default=30.0, ge=0)
    #: The longest pause between attempts while a destination refuses or is down.
    retry_max_seconds: float = Field(default=30.0, gt=0)
    #: An idle forwarding association is released after this many seconds.
    idle_release_seconds: float = Field(default=5.0, ge=0)
    log_level: str = Field(default="info", pattern="^(debug|info|warning|error)$")

    @property
    def work(self) -> Path:
        return self.work_dir or self.spool_dir

    @property
    def quarantine(self) -> Path:
        return self.quarantine_dir or self.work / "quarantine"

    @property
    def queue_path(self) -> Path:
        return self.work / "queue.sqlite"


class GatewayConfig(_Model):
    """The whole file: ``[gateway]`` and one ``[[listener]]`` table per listener."""

    gateway: GatewaySettings
    listener: tuple[ListenerConfig, ...] = ()

    @model_validator(mode="after")
    def _distinct(self) -> GatewayConfig:
        if not self.listener:
            raise ValueError("a gateway needs at least one [[listener]] table")
        names = [entry.name for entry in self.listener]
        if len(set(names)) != len(names):
            raise ValueError("listener names must differ (each names its own folders)")
        places = [(entry.bind, entry.port) for entry in self.listener]
        if len(set(places)) != len(places):
            raise ValueError("two listeners bind the same address and port")
        return self

    def listener_named(self, name: str) -> ListenerConfig:
        return next(entry for entry in self.listener if entry.name == name)


class ConfigError(DeidError):
    """The configuration cannot be used; ``lines`` holds one ``FILE:LINE: ...`` per problem."""

    code = EngineCode.INVALID_GATEWAY_CONFIGURATION

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = tuple(lines)


def _dotted_keys(text: str) -> list[str]:
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([A-Za-z0-9_-]+)', text)
    return [next(p for p in match if p) for match in parts]


def key_lines(text: str) -> dict[Location, int]:
    """The line of every table header and key of a TOML text, by its location in the parsed
    document (arrays of tables indexed, as pydantic reports them)."""
    lines: dict[Location, int] = {}
    counters: dict[Location, int] = {}
    table: Location = ()

    def resolve(parts: Sequence[str]) -> Location:
        path: list[str | int] = []
        for part in parts:
            path.append(part)
            if tuple(path) in counters:
                path.append(counters[tuple(path)])
        return tuple(path)

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[["):
            parts = _dotted_keys(line[2 : line.find("]]")])
            array = (*resolve(parts[:-1]), parts[-1])
            counters[array] = counters.get(array, -1) + 1
            table = (*array, counters[array])
            lines.setdefault(array, number)
            lines[table] = number
        elif line.startswith("["):
            table = resolve(_dotted_keys(line[1 : line.find("]")]))
            lines[table] = number
        elif "=" in line:
            lines[table + tuple(_dotted_keys(line.split("=", 1)[0]))] = number
    return lines


def _line_of(location: Location, lines: Mapping[Location, int]) -> int | None:
    for end in range(len(location), -1, -1):
        if location[:end] in lines:
            return lines[location[:end]]
    return None


def _resolve_paths(document: dict[str, Any], base: Path) -> None:
    """Relative paths in the file are relative to the file."""
    settings = document.get("gateway")
    if isinstance(settings, dict):
        for key in ("secret_file", "spool_dir", "work_dir", "quarantine_dir"):
            if isinstance(settings.get(key), str):
                settings[key] = str(base / settings[key])
    listeners = document.get("listener")
    for entry in listeners if isinstance(listeners, list) else []:
        for owner in (entry, entry.get("destination")) if isinstance(entry, dict) else ():
            tls = owner.get("tls") if isinstance(owner, dict) else None
            if isinstance(tls, dict):
                for key in ("certificate", "private_key", "ca_certificates"):
                    if isinstance(tls.get(key), str):
                        tls[key] = str(base / tls[key])
        stow = entry.get("destination") if isinstance(entry, dict) else None
        if isinstance(stow, dict) and isinstance(stow.get("ca_certificates"), str):
            stow["ca_certificates"] = str(base / stow["ca_certificates"])


def load_config(path: Path, overrides: Mapping[str, object] | None = None) -> GatewayConfig:
    """Read and validate the gateway configuration at ``path``.

    ``overrides`` replace keys of ``[gateway]`` (the command line's flags), after the file's
    relative paths are resolved.

    Raises:
        ConfigError: the file is missing, is not TOML, or does not validate.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([f"{path}: cannot read the configuration ({error})"]) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(error))
        where = f"{path}:{found.group(1)}" if found else str(path)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error))
        raise ConfigError([f"{where}: not valid TOML: {message}"]) from None
    _resolve_paths(document, path.resolve().parent)
    for key, value in (overrides or {}).items():
        if value is not None:
            document.setdefault("gateway", {})[key] = value
    try:
        return GatewayConfig.model_validate(document)
    except ValidationError as error:
        lines = key_lines(text)
        problems = []
        for item in error.errors():
            # The destination's kind tag is pydantic's, not a key of the file.
            location = tuple(
                part
                for index, part in enumerate(item["loc"])
                if not (
                    index and item["loc"][index - 1] == "destination" and part in _DESTINATION_TAGS
                )
            )
            line = _line_of(location, lines)
            where = f"{path}:{line}" if line is not None else str(path)
            dotted = ".".join(
                f"[{part}]" if isinstance(part, int) else str(part) for part in location
            ).replace(".[", "[")
            message = str(item["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {dotted or 'file'}: {message}")
        raise ConfigError(problems) from None
