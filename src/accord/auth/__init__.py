"""Who may call: principals, bearer tokens and which protocol each agent speaks. No transport
here (the HTTP shell reads the header, the dashboard its cookie), so `accord token create`
writes its one row without loading a web framework."""

from accord.auth._principal import REVIEWERS, ROLES, Principal, Role
from accord.auth._tokens import CACHE_SECONDS, Tokens, create_token, hash_token, revoke_token
from accord.auth._usage import Usage

__all__ = ["CACHE_SECONDS", "REVIEWERS", "ROLES", "Principal", "Role", "Tokens", "Usage",
           "create_token", "hash_token", "revoke_token"]
