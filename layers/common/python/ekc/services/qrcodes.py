"""The invoice's two QR codes for an account: the Viber deep link and the web sign-in link.

Two kinds of tokens are made here (ekc/tokens.py):
- **printed** ones (`invoice_links`, the print run): the account's token generation, no link;
  the web one expires like an invoice does, the Viber one never (revoked by raising the generation);
- **handed out** ones (`account_qr`, the cabinet's QR images for a linked person): also tied to that
  person's link, so they die when the person unlinks, and valid `cabinet_qr_token_days` at most.
An invoice-QR session gets no QR codes at all: it must not mint tokens that outlive it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import quote

from ekc import clock
from ekc.config import link_settings
from ekc.domain.identity import Caller, PersonCaller, SystemCaller
from ekc.exceptions import Forbidden, NotFound
from ekc.services import access
from ekc.storage import get_stores
from ekc.storage.ports import Stores
from ekc.tokens import Purpose, link_id, make_token, web_token_expiry


class QrKind(StrEnum):
    """Which of the invoice's codes."""

    VIBER = "viber"  # bottom right: "внести через Viber"
    WEB = "web"  # bottom left: "внести на сайт"


@dataclass(frozen=True, slots=True)
class InvoiceLinks:
    """What the print run puts on one invoice."""

    viber: str
    web: str


def _viber_url(token: str) -> str:
    return f"viber://pa?chatURI={quote(link_settings().viber_chat_uri)}&context={token}"


def _web_url(token: str) -> str:
    # The token travels in the fragment, so it never reaches a server's access log.
    return f"{link_settings().public_base_url}/#/qr/{token}"


def _token(
    purpose: Purpose, number: str, generation: int, expires: datetime | None, link: bytes | None = None
) -> str:
    secret = link_settings().token_signing_key.get_secret_value()
    return make_token(secret, purpose, number, expires, generation=generation, link=link)


def invoice_links(number: str, generation: int, now: datetime) -> InvoiceLinks:
    """The print run: both links of an account's invoice, under the account's token generation
    (`Accounts.token_generations`); under an older one they would be dead on arrival."""
    expires = web_token_expiry(now, link_settings().web_qr_token_days)
    return InvoiceLinks(
        viber=_viber_url(_token(Purpose.VIBER_LINK, number, generation, None)),
        web=_web_url(_token(Purpose.WEB_SIGN_IN, number, generation, expires)),
    )


def viber_link(number: str, now: datetime | None = None, *, generation: int = 0) -> str:
    """viber://pa?chatURI=...&context=<token>: a printed Viber link, under `generation` (a wrong one only
    makes a dead code: the print run passes each account's, docs/runbook.md for one account)."""
    return invoice_links(number, generation, now or clock.now()).viber


def web_link(number: str, now: datetime | None = None, *, generation: int = 0) -> str:
    """<site>/#/qr/<token>: a printed web sign-in link, under `generation` (see `viber_link`)."""
    return invoice_links(number, generation, now or clock.now()).web


def render(data: str, image_format: str) -> tuple[bytes, str]:
    """The QR image as SVG or PNG bytes, with its content type."""
    import qrcode  # imported on use: only this route needs it
    import qrcode.image.svg

    if image_format == "svg":
        image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, border=2)
        return image.to_string(encoding="unicode").encode(), "image/svg+xml"
    if image_format == "png":
        from qrcode.image.pure import PyPNGImage

        buffer = io.BytesIO()
        qrcode.make(data, image_factory=PyPNGImage, box_size=8, border=2).save(buffer)
        return buffer.getvalue(), "image/png"
    raise NotFound()


def account_link(
    caller: Caller,
    number: str,
    kind: QrKind,
    *,
    stores: Stores | None = None,
    now: datetime | None = None,
) -> str:
    """The link an account's QR code encodes, for a person linked to it: 1 Query.

    The token is the person's own: it names their link and lasts `cabinet_qr_token_days`. An
    invoice-QR session (or a phone caller) gets none: a borrowed phone must not become lasting access.
    """
    if not isinstance(caller, PersonCaller | SystemCaller):
        raise Forbidden("scope")
    now = now or clock.now()
    bundle = access.load_for(caller, number, stores or get_stores())
    if isinstance(caller, SystemCaller):
        links = invoice_links(number, bundle.token_generation, now)
        return links.viber if kind is QrKind.VIBER else links.web
    link = link_id(caller.person_id, bundle.linked_since[caller.person_id])
    expires = now + timedelta(days=link_settings().cabinet_qr_token_days)
    generation = bundle.token_generation
    if kind is QrKind.VIBER:
        return _viber_url(_token(Purpose.VIBER_LINK, number, generation, expires, link))
    return _web_url(_token(Purpose.WEB_SIGN_IN, number, generation, expires, link))


def account_qr(
    caller: Caller,
    number: str,
    kind: QrKind,
    image_format: str,
    *,
    stores: Stores | None = None,
    now: datetime | None = None,
) -> tuple[bytes, str]:
    """An account's QR code (`account_link`, drawn) for a person linked to it: 1 Query."""
    return render(account_link(caller, number, kind, stores=stores, now=now), image_format)
