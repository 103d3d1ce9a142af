"""Signed bearer tokens (JWT, HS256) with PyJWT."""

from tenant_adapters.jwt.tokens import JwtTokens

__all__ = ["JwtTokens"]
