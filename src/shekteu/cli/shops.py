"""`shekteu shops`, `shekteu warninglist` and `shekteu users`: thin commands over the shop library."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.table import Table

from shekteu.cli.common import JsonOpt, UserError, app, open_runtime
from shekteu.terminal import emit_json, out, safe

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")

shops_app = typer.Typer(
    no_args_is_help=True, help="Shops: indicators and items joined into the shops behind them."
)
warn_app = typer.Typer(no_args_is_help=True, help="Warninglist: platforms never blocked as a whole domain.")
users_app = typer.Typer(no_args_is_help=True, help="Users and their roles (four-eyes approval).")
app.add_typer(shops_app, name="shops")
app.add_typer(warn_app, name="warninglist")
app.add_typer(users_app, name="users")

ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (recorded in the audit log).")]
AsOpt = Annotated[str | None, typer.Option("--as", help="Acting user (default: the local account).")]


def _actor(name: str | None, session=None, action: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """The local operator, or the user named with --as — who must exist and may do ``action``."""
    from shekteu import audit
    from shekteu.users import authorize

    if name and session is not None and action:
        return authorize(session, name, action)
    return name or audit.current_actor()


def _errors():
    from shekteu.shops.edit import ShopError
    from shekteu.shops.warninglist import WarninglistError
    from shekteu.users import UserError as AccountError

    return (ShopError, WarninglistError, AccountError)


def _in_write(change: Callable[[Session], T]) -> T:
    """Run one change in a write transaction; the user's mistakes become one-line errors."""
    rt = open_runtime()
    try:
        with rt.db.write() as session:
            return change(session)
    except _errors() as exc:
        raise UserError(str(exc)) from None


@shops_app.command("list")
def shops_list(
    json_out: JsonOpt = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most shops shown, biggest first.")] = 50,
    min_score: Annotated[float, typer.Option("--min-score", help="Only shops scoring at least this.")] = 0.0,
) -> None:
    """List shops, biggest first (items, mirrors, tips, graffiti, reach)."""
    from shekteu.shops.query import list_shops

    rt = open_runtime()
    with rt.db.read() as session:
        rows = list_shops(session, limit=limit, min_score=min_score)
    if json_out:
        for row in rows:
            emit_json({k: row[k] for k in ("id", "name", "score", "items", "indicators")})
        return
    table = Table("id", "name", "score", "items", "mirrors", "indicators")
    for row in rows:
        shown = ", ".join(f"{i['type']}:{i['normalized']}" for i in row["indicators"][:6])
        more = len(row["indicators"]) - 6
        table.add_row(
            str(row["id"]),
            safe(row["name"], 40),
            f"{row['score']:.1f}",
            str(row["items"]),
            str(row["mirrors"]),
            safe(shown + (f" (+{more})" if more > 0 else ""), 100),
        )
    out.print(table)


@shops_app.command("show")
def shops_show(shop_id: Annotated[int, typer.Argument(help="Shop id.")], json_out: JsonOpt = False) -> None:
    """One shop in full: indicators, items, takedowns, merge suggestions."""
    from shekteu.shops.query import show_shop

    rt = open_runtime()
    try:
        with rt.db.read() as session:
            data = show_shop(session, shop_id)
    except _errors() as exc:
        raise UserError(str(exc)) from None
    if json_out:
        emit_json(data)
        return
    out.print(
        f"[bold]shop {data['id']}[/]: {safe(data['name'])}  score {data['score']:.1f}, {data['items']} items,"
        f" {data['mirrors']} mirrors, reach {data['reach']}"
    )
    if data["merged_from"]:
        out.print(f"merged from shops {', '.join(map(str, data['merged_from']))}")
    table = Table("indicator", "type", "mentions", "how", title="indicators")
    for i in data["indicators"]:
        table.add_row(safe(i["normalized"], 70), i["type"], str(i["mentions"]), i["how"])
    out.print(table)
    table = Table("item", "kind", "label", "date", "url", title="items")
    for i in data["item_list"][:50]:
        table.add_row(
            str(i["id"]),
            i["kind"],
            i["label"] or "-",
            (i["published_at"] or i["first_seen_at"])[:16],
            safe(i["url"], 70),
        )
    out.print(table)
    for t in data["takedowns"]:
        out.print(
            f"takedown {t['id']}: {t['target_type']} {safe(t['target'])} → {t['recipient']}: {t['state']}"
        )
    for s in data["suggestions"]:
        out.print(
            f"suggestion {s['id']}: same as shops {s['shops']}? ({s['kind']}, similarity {s['similarity']})"
        )


def _id_items(shop) -> tuple[int, int]:
    return shop.id, shop.items


@shops_app.command("merge")
def shops_merge(
    keep: Annotated[int, typer.Argument(help="Shop that stays.")],
    gone: Annotated[int, typer.Argument(help="Shop merged into it.")],
    reason: ReasonOpt,
    actor: AsOpt = None,
) -> None:
    """Merge shop B into shop A (audited)."""
    from shekteu.shops.edit import merge

    shop_id, items = _in_write(lambda s: _id_items(merge(s, keep, gone, actor=_actor(actor), reason=reason)))
    out.print(f"shop {gone} merged into shop {shop_id} ({items} items)")


@shops_app.command("split")
def shops_split(
    shop_id: Annotated[int, typer.Argument(help="Shop to split.")],
    indicator: Annotated[
        list[str],
        typer.Option(
            "--indicator", help="TYPE:VALUE or indicator id that moves to the new shop (repeatable)."
        ),
    ],
    reason: ReasonOpt,
    actor: AsOpt = None,
) -> None:
    """Move indicators (and the items only they tie in) to a new shop; the two stay apart."""
    from shekteu.shops.edit import split

    new_id, items = _in_write(
        lambda s: _id_items(split(s, shop_id, indicator, actor=_actor(actor), reason=reason))
    )
    out.print(f"new shop {new_id} split from shop {shop_id} ({items} items moved)")


@shops_app.command("suggestions")
def shops_suggestions(json_out: JsonOpt = False) -> None:
    """Open merge suggestions (near-duplicate texts, identifiers shared by separated shops)."""
    from shekteu.shops.query import open_suggestions

    rt = open_runtime()
    with rt.db.read() as session:
        rows = open_suggestions(session)
    for row in rows:
        if json_out:
            emit_json(row)
        else:
            out.print(
                f"{row['id']}: shops {row['shops'][0]} and {row['shops'][1]}: {row['kind']}, "
                f"similarity {row['similarity']}, {safe(row['evidence'])}"
            )


@shops_app.command("dismiss")
def shops_dismiss(
    suggestion: Annotated[int, typer.Argument(help="Suggestion id.")], reason: ReasonOpt, actor: AsOpt = None
) -> None:
    """Dismiss a merge suggestion (the shops are different)."""
    from shekteu.shops.edit import dismiss

    _in_write(lambda s: dismiss(s, suggestion, actor=_actor(actor), reason=reason))
    out.print(f"suggestion {suggestion} dismissed")


@warn_app.command("list")
def warninglist_list(json_out: JsonOpt = False) -> None:
    """Every warninglist entry."""
    from shekteu.shops.warninglist import entries

    rt = open_runtime()
    with rt.db.read() as session:
        rows = [
            {"list": e.list_name, "type": e.type, "value": e.value, "added_by": e.added_by}
            for e in entries(session)
        ]
    for row in rows:
        if json_out:
            emit_json(row)
        else:
            out.print(f"{row['list']}\t{row['type']}\t{safe(row['value'])}")


@warn_app.command("add")
def warninglist_add(
    value: Annotated[str, typer.Argument(help="Domain (covers subdomains) or handle.")],
    reason: ReasonOpt,
    kind: Annotated[
        str, typer.Option("--type", help="domain, telegram_username, telegram_bot, phone, email.")
    ] = "domain",
    list_name: Annotated[str, typer.Option("--list", help="Which list it belongs to.")] = "local",
    actor: AsOpt = None,
) -> None:
    """Add an entry: never proposed for whole-domain blocking, never joins shops."""
    from shekteu.shops import warninglist

    entry = _in_write(
        lambda s: warninglist.add(s, kind, value, list_name=list_name, actor=_actor(actor, s, "warninglist.edit"),
                                  reason=reason)
    )
    shown = f"{entry.type} {entry.value}"
    out.print(f"added {safe(shown)} to the warninglist")


@warn_app.command("remove")
def warninglist_remove(
    value: Annotated[str, typer.Argument()],
    reason: ReasonOpt,
    kind: Annotated[str, typer.Option("--type")] = "domain",
    actor: AsOpt = None,
) -> None:
    """Remove an entry."""
    from shekteu.shops import warninglist

    _in_write(lambda s: warninglist.remove(s, kind, value, actor=_actor(actor, s, "warninglist.edit"), reason=reason))
    out.print(f"removed {safe(value)} from the warninglist")


def _read_password() -> str:
    import sys

    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UserError(
            "no password on standard input (echo the password | shekteu users … --password-stdin)"
        )
    return password


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (a-z, 0-9, . _ -).")],
    role: Annotated[
        list[str], typer.Option("--role", help="analyst, approver, coordinator, admin, auditor.")
    ],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read a dashboard password (10+ characters) from stdin.")
    ] = False,
    actor: AsOpt = None,
) -> None:
    """Add a user with one or more roles (and a password for the dashboard)."""
    from shekteu.accounts import set_password
    from shekteu.users import add_user

    password = _read_password() if password_stdin else None

    def change(s: Session):  # type: ignore[no-untyped-def]
        user = add_user(s, name, role, actor=_actor(actor, s, "user.manage"))
        if password is not None:
            set_password(s, user.name, password, actor=_actor(actor, s, "user.manage"))
        return user

    user = _in_write(change)
    shown = f"{user.name} ({', '.join(user.roles)})"
    out.print(f"added user {shown}" + (" with a password" if password is not None else ""))


@users_app.command("password")
def users_password(
    name: Annotated[str, typer.Argument(help="User name.")],
    actor: AsOpt = None,
) -> None:
    """Set a user's dashboard password, read from stdin (ends their open sessions)."""
    from shekteu.accounts import set_password

    password = _read_password()
    _in_write(lambda s: set_password(s, name, password, actor=_actor(actor, s, "user.manage")))
    out.print(f"password set for {name}")


@users_app.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="The user the token acts as.")],
    label: Annotated[str, typer.Option("--label", help="What uses the token (audit log).")],
    actor: AsOpt = None,
) -> None:
    """Create an API token for an integration (printed once; send it as Authorization: Bearer …)."""
    from shekteu.accounts import create_token

    print(_in_write(lambda s: create_token(s, name, label, actor=_actor(actor, s, "user.manage"))))


@users_app.command("list")
def users_list(json_out: JsonOpt = False) -> None:
    """Users and roles."""
    from shekteu.users import list_users

    rt = open_runtime()
    with rt.db.read() as session:
        rows = [{"name": u.name, "roles": u.roles, "disabled": u.disabled} for u in list_users(session)]
    for row in rows:
        if json_out:
            emit_json(row)
        else:
            out.print(f"{row['name']}\t{', '.join(row['roles'])}" + ("\tdisabled" if row["disabled"] else ""))
