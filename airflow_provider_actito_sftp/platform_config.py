"""The provider's options in Airflow's configuration (section ``[actito_sftp]``), each declared once.

Platform teams set them like any Airflow option, in ``airflow.cfg`` or as environment variables
(``AIRFLOW__ACTITO_SFTP__ALLOWED_TARGETS``); ``airflow config list`` shows them with their defaults, which
:func:`~airflow_provider_actito_sftp.get_provider_info.get_provider_info` derives from :data:`OPTIONS`. This
module stays import-light: Airflow reads the declarations while it configures itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SECTION = "actito_sftp"


@dataclass(frozen=True)
class Option:
    """One option of ``[actito_sftp]``.

    :param name: its key in the section.
    :param description: what it does (``airflow config list``, the README).
    :param default: its value when not set, as text.
    :param example: a value to show.
    :param kind: ``string`` or ``integer``.
    """

    name: str
    description: str
    default: str
    example: str
    kind: str = "string"

    def as_provider_config(self) -> dict[str, Any]:
        """The option as a provider declares it for Airflow (``get_provider_info()["config"]``)."""
        return {
            "description": self.description,
            "version_added": "0.1.0",
            "type": self.kind,
            "example": self.example,
            "default": self.default,
        }


OPTIONS: tuple[Option, ...] = (
    Option(
        "allowed_targets",
        "The partner servers this provider may connect to, from the API server (host-key fetch, Test, location "
        "checks), the actito-sftp CLI and tasks alike: comma-separated entries, each a host name or pattern "
        "(`sftp.acme.example`, `*.partner.example`) or an address block (`203.0.113.0/24`, `[2001:db8::]/32`), "
        "optionally with ports (`:22`, `:2200-2299`; default 22). Empty (the default): any server. Connections to "
        "a target not listed are refused before anything is sent, all with the same message.",
        "",
        "*.partner.example:22, 203.0.113.0/24:22-2222",
    ),
    Option(
        "interactive_timeout",
        "Seconds a call of the Actito SFTP page may spend on a partner's server (host-key fetch, Test, location "
        "check, SSH key activation), whatever the connection's own connect_timeout.",
        "15",
        "15",
        "integer",
    ),
    Option(
        "interactive_calls",
        "Calls of the Actito SFTP page that may be connected to partners' servers at once, per API server "
        "process; more are refused at once (HTTP 429), so Airflow's own endpoints always keep their threads.",
        "8",
        "8",
        "integer",
    ),
    Option(
        "interactive_calls_per_user",
        "Calls of the Actito SFTP page that one user may have connected to partners' servers at once.",
        "2",
        "2",
        "integer",
    ),
)
BY_NAME = {option.name: option for option in OPTIONS}


def provider_config() -> dict[str, Any]:
    """The ``config`` entry of the provider's metadata: the section and its options with their defaults."""
    return {
        SECTION: {
            "description": "Options of the Actito SFTP provider.",
            "options": {option.name: option.as_provider_config() for option in OPTIONS},
        }
    }


def option_text(name: str) -> str:
    """The option's value from Airflow's configuration (its declared default when unset or outside Airflow).

    :param name: the option's key in ``[actito_sftp]``.
    """
    default = BY_NAME[name].default
    try:
        from airflow.configuration import conf
    except ImportError:
        return default
    return str(conf.get(SECTION, name, fallback=default) or default)


def option_int(name: str, minimum: int = 1) -> int:
    """An integer option.

    :param name: the option's key in ``[actito_sftp]``.
    :param minimum: the smallest value that makes sense.
    :raises PlatformConfigError: the value is not a whole number of at least ``minimum``.
    """
    from airflow_provider_actito_sftp.exceptions import PlatformConfigError

    text = option_text(name).strip()
    if not text.isdigit() or int(text) < minimum:
        raise PlatformConfigError(f"[{SECTION}] {name}: expected a whole number of at least {minimum}, got {text!r}")
    return int(text)


def markdown_table() -> str:
    """The README's table of options (a test keeps the README equal to it)."""
    rows = ["| Option | Default | What it does |", "|---|---|---|"]
    for option in OPTIONS:
        default = f"`{option.default}`" if option.default else "empty: any server"
        rows.append(f"| `{option.name}` | {default} | {option.description} |")
    return "\n".join(rows)
