"""Signed bearer tokens (JWT, HS256) with PyJWT."""

from tenant_adapters.jwt.tokens import JwtTokens, parse_jwt_secrets

__all__ = ["JwtTokens", "parse_jwt_secrets"]
