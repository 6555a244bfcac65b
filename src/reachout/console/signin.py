"""Sign-in and sign-out."""
from __future__ import annotations

from starlette.responses import Response

from reachout.console.app import PREFIX, Context


def show(ctx: Context) -> Response:
    if ctx.session.user:
        return ctx.redirect(_next(ctx))
    return ctx.render("signin.html", next=_next(ctx))


def submit(ctx: Context) -> Response:
    account, throttle = ctx.console.sessions.account, ctx.console.throttle
    user = ctx.value("user")
    address = ctx.request.client.host if ctx.request.client else ""
    # A form shown again with its problem answers 200: browsers log 4xx documents as load errors.
    wait = throttle.wait(address)
    if wait > 0:
        return ctx.render("signin.html", next=_next(ctx), user_given=user,
                          error=f"Too many wrong passwords from this address: try again in {int(wait // 60) + 1} min.")
    if not account.accepts(user, (ctx.form or {}).get("password", [""])[0]):
        throttle.failed(address)
        return ctx.render("signin.html", next=_next(ctx), user_given=user,
                          error="The user name or password is not right.")
    ctx.console.sessions.sign_in(ctx.session, user)
    return ctx.redirect(_next(ctx))


def sign_out(ctx: Context) -> Response:
    ctx.console.sessions.sign_out(ctx.session)
    return ctx.redirect(f"{PREFIX}/signin")


def _next(ctx: Context) -> str:
    # Only a path of the console itself: never an open redirect to another site.
    target = ctx.value("next")
    return target if target.startswith(PREFIX + "/") and not target.startswith("//") else f"{PREFIX}/campaigns"


ROUTES = [
    ("/signin", show, ["GET"], True),
    ("/signin", submit, ["POST"], True),
    ("/signout", sign_out, ["POST"], False),
]
