"""Signed bearer tokens (JWT, HS256) with PyJWT."""

from adapters.jwt.tokens import JwtTokens

__all__ = ["JwtTokens"]
