"""Sign-up, login and logout: the only console pages open without a session."""

from __future__ import annotations

from fastapi import Request, Response

from afo_gateway.console.forms import posted, text
from afo_gateway.console.rendering import render
from afo_gateway.console.routing import console_router, redirect
from afo_gateway.console.session import check_form_origin, safe_next
from afo_gateway.domain.errors import ApiProblem
from afo_gateway.entrypoints.http.dependencies import SESSION_COOKIE, client_address, gateway, set_session_cookie

router = console_router()


@router.get("/signup")
async def signup_page(request: Request) -> Response:
    return render(request, "signup.html", form={})


@router.post("/signup")
async def signup(request: Request) -> Response:
    await check_form_origin(request, None)
    gw = gateway(request)
    form = await posted(request)
    fields = {name: text(form, name, max_length=256) for name in ("company", "email", "password", "timezone")}
    try:
        await gw.throttle.signup(client_address(request), fields["email"])
        if not fields["company"]:
            raise ApiProblem("a company name is needed")
        done = await gw.accounts.signup(fields["email"], fields["password"], fields["company"],
                                        fields["timezone"] or "UTC")
        _, token = await gw.accounts.login(fields["email"], fields["password"])
    except ApiProblem as problem:
        fields.pop("password")
        return render(request, "signup.html", problem.status, form=fields, error=problem.detail)
    page = render(request, "welcome.html", tenant=done.tenant, secret=done.secret)
    return set_session_cookie(request, page, token)


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=safe_next(next), email="")


@router.post("/login")
async def login(request: Request) -> Response:
    await check_form_origin(request, None)
    gw = gateway(request)
    form = await posted(request)
    email, password = text(form, "email", max_length=254), text(form, "password", max_length=256)
    target = safe_next(text(form, "next", max_length=2000))
    try:
        await gw.throttle.login(client_address(request), email)
        _, token = await gw.accounts.login(email, password)
    except ApiProblem as problem:
        return render(request, "login.html", problem.status, next=target, email=email, error=problem.detail)
    return set_session_cookie(request, redirect(request, target), token)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await check_form_origin(request, None)
    if token := request.cookies.get(SESSION_COOKIE):
        await gateway(request).accounts.logout(token)
    response = redirect(request, "/console/login")
    response.delete_cookie(SESSION_COOKIE)
    return response
