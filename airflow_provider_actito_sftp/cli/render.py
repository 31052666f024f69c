"""Human text for the CLI's results. Each function renders the very data ``--json`` prints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_actito_sftp.connection.schema import CHOICE_LABELS


def created(data: Mapping[str, Any]) -> str:
    """``connection create``: the pinned host key and the public key to install.

    :param data: :meth:`management.Created.as_dict`: ``conn_id``, ``host_key_fingerprint`` and ``ssh_key``
        (``public_key``, ``fingerprint``; None with password authentication).
    """
    lines = [f"Created connection {data['conn_id']!r}; pinned host key {data['host_key_fingerprint']}."]
    if data.get("ssh_key"):
        lines += [
            "Install this public key in the server's authorized_keys:",
            data["ssh_key"]["public_key"],
            f"(fingerprint {data['ssh_key']['fingerprint']})",
        ]
    return "\n".join(lines)


def description(view: Mapping[str, Any]) -> str:
    """``connection show``: a connection's description (``management.describe``).

    :param view: the description.
    """
    lines = [
        f"{view['conn_id']}  ({view['display_name']}, entity {view['entity']})",
        f"  server:      {view['username']}@{view['host']}:{view['port']} ({auth_label(view['auth_type'])})",
        f"  host key:    {', '.join(view['host_key'] or []) or 'NOT PINNED'}",
        f"  stored in:   {view['stored_in']}" + ("" if view.get("id") is None else f" (id {view['id']})"),
    ]
    if view["ssh_key"]:
        lines.append(f"  SSH key:     {view['ssh_key']['fingerprint']}")
    if view["ssh_pending_key"]:
        lines.append("  SSH key:     a rotated key is pending activation")
    lines.append("  locations:   " + (", ".join(f"{k}={v}" for k, v in view["locations"].items()) or "none"))
    lines.append(f"  inbound:     PGP {'required' if view['inbound_pgp_required'] else 'optional'}")
    lines += [f"               key {pgp_key(key)}" for key in view["inbound_pgp_keys"]]
    lock = f"lock {view['outbound_lock_suffix']}" if view["outbound_lock"] else "no lock"
    lines.append(f"  outbound:    {lock}, PGP {'on' if view['outbound_pgp'] else 'off'}")
    partner = view["partner_pgp_public_key"]
    if partner:
        lines.append(f"               partner key {partner.get('fingerprint') or partner.get('error')}")
    lines.append(f"  advanced:    {_advanced(view)}")
    if view.get("legacy_algorithms"):
        weaker = ", ".join(view["legacy_algorithms"])
        lines.append(f"  weaker:      {weaker} accepted from this server (legacy_algorithms)")
    lines += [f"  WARNING:     {warning}" for warning in view["warnings"]]
    return "\n".join(lines)


def auth_label(auth_type: str) -> str:
    """The authentication as users read it: ``SSH key authentication``, ``password authentication``.

    :param auth_type: the ``auth_type`` value (``ssh_key``, ``password``), as JSON output keeps it.
    """
    return f"{CHOICE_LABELS.get(auth_type, auth_type)} authentication"


def _advanced(view: Mapping[str, Any]) -> str:
    return (
        f"connect timeout {view['connect_timeout']} s, keepalive {view['keepalive_interval']} s, "
        f"{view['transfer_concurrency']} transfers at once, compression {'on' if view['compression'] else 'off'}, "
        f"ciphers {','.join(view['ciphers'])}"
    )


def fields(data: Mapping[str, Any]) -> str:
    """``policy``: one ``name: value`` line per field.

    :param data: field name -> value.
    """
    return "\n".join(f"{name}: {value}" for name, value in data.items())


def ssh_key(data: Mapping[str, Any]) -> str:
    """``ssh-key generate``: the authorized_keys line and its fingerprint.

    :param data: ``public_key`` and ``fingerprint``.
    """
    return f"{data['public_key']}\n# fingerprint {data['fingerprint']}"


def ssh_public_keys(data: Mapping[str, Any]) -> str:
    """``ssh-key public``: the active key's line, then the pending key's if a rotation is under way.

    :param data: ``public_key`` and ``pending`` (None or a dict with ``public_key``).
    """
    return str(data["public_key"]) + (f"\n{data['pending']['public_key']}" if data["pending"] else "")


def rotation(conn_id: str, data: Mapping[str, Any]) -> str:
    """``ssh-key rotate``: what to do next.

    :param conn_id: the connection id.
    :param data: ``state`` (pending or active), ``public_key`` and ``fingerprint``.
    """
    if data["state"] == "pending":
        return (
            "New key pending. Add this line to the server's authorized_keys, then run "
            f"`actito-sftp ssh-key rotate {conn_id}` again to activate it:\n{data['public_key']}"
        )
    return f"Activated {data['fingerprint']}; the old key is no longer used and can be removed from the server."


def pgp_key(info: Mapping[str, Any]) -> str:
    """One PGP key on one line: fingerprint, algorithm, creation and expiry dates.

    :param info: a key description (``PgpKeyInfo.as_dict()``).
    """
    expires = info["expires"][:10] if info["expires"] else "never"
    return f"{info['fingerprint']}  {info['algorithm']}  created {info['created'][:10]}  expires {expires}"


def pgp_keys(infos: list[Mapping[str, Any]], prefix: str = "", empty: str = "none") -> str:
    """Several PGP keys, one per line.

    :param infos: key descriptions.
    :param prefix: put before each line.
    :param empty: the text when there is no key.
    """
    return "\n".join(f"{prefix}{pgp_key(info)}" for info in infos) or empty


def locations(data: Mapping[str, str]) -> str:
    """``location list``: ``name<TAB>path`` lines.

    :param data: location name -> folder.
    """
    return "\n".join(f"{name}\t{path}" for name, path in data.items()) or "none"


def metrics(data: Mapping[str, Any]) -> str:
    """``metrics``: the totals, then one line per day.

    :param data: an overview (``Overview.as_dict()``).
    """
    rate = "-" if data["success_rate"] is None else f"{data['success_rate'] * 100:.1f} %"
    by_type = data["by_type_status"]
    lines = [
        f"Transfers of {data['conn_id'] or 'all connections'}"
        + (f" (entity {data['entity']})" if data["entity"] else "")
        + f", {data['since']} to {data['until'][:10]}",
        f"  total requests  {data['total_requests']}",
        f"  success rate    {rate}",
        f"  downloads       {data['downloads']} ({by_type['download']['succeeded']} ok, "
        f"{by_type['download']['failed']} failed)",
        f"  uploads         {data['uploads']} ({by_type['upload']['succeeded']} ok, "
        f"{by_type['upload']['failed']} failed)",
        f"  data down / up  {byte_count(data['bytes_down'])} / {byte_count(data['bytes_up'])}",
        "",
        f"  {'day':<10}  {'requests':>8}  {'ok':>5}  {'failed':>6}  {'down':>10}  {'up':>10}",
    ]
    for point in data["per_day"]:
        lines.append(
            f"  {point['day']:<10}  {point['requests']:>8}  {point['succeeded']:>5}  {point['failed']:>6}  "
            f"{byte_count(point['bytes_down']):>10}  {byte_count(point['bytes_up']):>10}"
        )
    return "\n".join(lines)


def byte_count(count: int) -> str:
    """A byte count in B, KB, MB, GB or TB (powers of 1000).

    :param count: bytes.
    """
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
