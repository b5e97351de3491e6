"""``onemap token rotate | revoke`` and ``onemap user password | revoke-tokens``; every one is audited.

Registered onto the ``token`` and ``user`` command groups of :mod:`api.cli` by
:func:`add_account_commands`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from api.audit_cli import record, with_conn
from api.settings import load_settings
from layers.credentials import revoke_all_sessions, revoke_key_by_prefix, rotate_key
from layers.errors import LayerError
from layers.passwords import PasswordPolicy, password_problem
from layers.principals import ROLES


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def checked_password(name: str, password: str) -> str:
    """``password`` if the policy (``ONEMAP_PASSWORD_MIN_LENGTH``, common list, not the name) allows it."""
    policy = PasswordPolicy(min_length=load_settings().api.password_min_length)
    problem = password_problem(password, name=name, policy=policy)
    if problem is not None:
        _fail(f"password refused: {problem}")
    return password


def checked_roles(roles: list[str], department: str | None) -> None:
    """Refuse unknown roles, a handler without a department, and a department that does not exist."""
    from cases.codes import departments

    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        _fail(f"unknown role(s) {', '.join(unknown)}; known: {', '.join(ROLES)}")
    if "handler" in roles and not department:
        _fail("a handler needs --department (its 处置部门 code; see GET /cases/departments)")
    if department is not None and department not in departments():
        _fail(f"unknown department {department!r}; known: {', '.join(departments())}")


def _key_prefix(value: str) -> str:
    # Accept the prefix (as `onemap audit search` shows it: key:<prefix>) or a whole key.
    text = value.removeprefix("key:")
    return text[3:].split("_", 1)[0] if text.startswith("om_") else text


def add_account_commands(token_app: typer.Typer, user_app: typer.Typer) -> None:
    """Add the rotation and revocation commands to the ``token`` and ``user`` groups."""

    @token_app.command("rotate")
    def token_rotate(
        key: Annotated[str, typer.Option(help="The key's prefix (om_<prefix>_…), or the whole key")],
        grace_hours: Annotated[float, typer.Option(help="How long the old key keeps working")] = 24.0,
    ) -> None:
        """Issue a new key for the same system; the old key works for the grace period, then is refused."""
        prefix = _key_prefix(key)

        async def go(conn: Any) -> Any:
            rotation = await rotate_key(conn, prefix=prefix, grace=dt.timedelta(hours=grace_hours))
            await record(conn, "admin.key_rotated", detail={
                "principal": rotation.principal, "old_key": prefix, "new_key": rotation.new_key.split("_")[1],
                "old_valid_until": rotation.old_valid_until.isoformat()})
            return rotation

        try:
            rotation = with_conn(go)
        except LayerError as exc:
            _fail(str(exc))
            return
        typer.echo(rotation.new_key)
        typer.echo(f"old key om_{prefix}_… of {rotation.principal} works until "
                   f"{rotation.old_valid_until:%Y-%m-%d %H:%M:%S} UTC", err=True)

    @token_app.command("revoke")
    def token_revoke(key: Annotated[str, typer.Option(help="The key's prefix, or the whole key")]) -> None:
        """Revoke an API key at once."""
        prefix = _key_prefix(key)

        async def go(conn: Any) -> str:
            owner = await revoke_key_by_prefix(conn, prefix)
            await record(conn, "admin.key_revoked", detail={"principal": owner, "key": prefix})
            return owner

        try:
            owner = with_conn(go)
        except LayerError as exc:
            _fail(str(exc))
            return
        typer.echo(f"revoked key om_{prefix}_… of {owner}")

    @user_app.command("password")
    def user_password(
        name: Annotated[str, typer.Option(help="Sign-in name")],
        password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    ) -> None:
        """Change a person's password (policy-checked); their signed-in sessions end."""
        from layers.principals import set_password

        checked_password(name, password)

        async def go(conn: Any) -> bool:
            changed = await set_password(conn, name=name, password=password)
            if changed:
                await revoke_all_sessions(conn, name)
                await record(conn, "admin.password_changed", detail={"principal": name})
            return changed

        if not with_conn(go):
            _fail(f"there is no user {name!r}", code=1)
        typer.echo(f"password of {name} changed; their sessions were revoked")

    @user_app.command("revoke-tokens")
    def user_revoke_tokens(name: Annotated[str, typer.Option(help="Sign-in name")]) -> None:
        """Revoke every session token (JWT) the user holds; they must sign in again."""

        async def go(conn: Any) -> bool:
            done = await revoke_all_sessions(conn, name)
            if done:
                await record(conn, "admin.sessions_revoked", detail={"principal": name})
            return done

        if not with_conn(go):
            _fail(f"there is no principal {name!r}", code=1)
        typer.echo(f"every session token of {name} is revoked")
