"""The invoice's two QR codes for an account: the Viber deep link and the web sign-in link."""

from __future__ import annotations

import io
from datetime import datetime
from enum import StrEnum
from urllib.parse import quote

from ekc import clock
from ekc.config import link_settings
from ekc.domain.identity import Caller
from ekc.exceptions import NotFound
from ekc.services import access
from ekc.storage import get_stores
from ekc.storage.ports import Stores
from ekc.tokens import Purpose, make_token, web_token_expiry


class QrKind(StrEnum):
    """Which of the invoice's codes."""

    VIBER = "viber"  # bottom right: "внести через Viber"
    WEB = "web"  # bottom left: "внести на сайт"


def viber_link(number: str, now: datetime | None = None) -> str:
    """viber://pa?chatURI=...&context=<token>: opens the public account and links the account."""
    settings = link_settings()
    token = make_token(settings.token_signing_key.get_secret_value(), Purpose.VIBER_LINK, number)
    return f"viber://pa?chatURI={quote(settings.viber_chat_uri)}&context={token}"


def web_link(number: str, now: datetime | None = None) -> str:
    """<site>/#/qr/<token>: lands on the account's readings page; expires like an invoice does."""
    settings = link_settings()
    expires = web_token_expiry(now or clock.now(), settings.web_qr_token_days)
    token = make_token(settings.token_signing_key.get_secret_value(), Purpose.WEB_SIGN_IN, number, expires)
    # The token travels in the fragment, so it never reaches a server's access log.
    return f"{settings.public_base_url}/#/qr/{token}"


def link_for(number: str, kind: QrKind, now: datetime | None = None) -> str:
    """The link a QR code of this kind carries."""
    return viber_link(number, now) if kind is QrKind.VIBER else web_link(number, now)


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


def account_qr(
    caller: Caller, number: str, kind: QrKind, image_format: str, *, stores: Stores | None = None
) -> tuple[bytes, str]:
    """An account's QR code for someone allowed to see the account: 1 Query."""
    access.load_for(caller, number, stores or get_stores())
    return render(link_for(number, kind), image_format)
