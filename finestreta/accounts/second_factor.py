"""The platform administrators' second factor: TOTP (RFC 6238) with django-otp."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg
from django.http import HttpRequest
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from finestreta.accounts.models import User


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def pending_device(user: User) -> TOTPDevice:
    """The device being set up (created once; its secret is shown until it is confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def secret_base32(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def qr_code_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// URI as an SVG QR code, served inline as an image (CSP allows data: images)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def verify(request: HttpRequest, *, user: User, token: str) -> bool:
    """Check a code against the confirmed device, or confirm the pending one; on success the
    session counts as verified, under a new session key (ASVS 3.2.1: the key that existed
    before the second factor never carries a fully signed-in session)."""
    token = "".join(token.split())
    device = confirmed_device(user)
    if device is None:
        device = pending_device(user)
        if not device.verify_token(token):
            return False
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    elif not device.verify_token(token):
        return False
    otp_login(request, device)
    request.session.cycle_key()  # the staff session record follows (accounts.session_store)
    return True
