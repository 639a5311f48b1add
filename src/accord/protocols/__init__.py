"""The agents' own protocols: MCP (stdio and streamable HTTP) and A2A.

Both are thin shells over the one service: they fix who is acting (the MCP server's ``--agent``
or the bearer token; over A2A the bearer token, which a message's named agent must match),
translate arguments, and hand back the service's answer. No decision is made here.

``accord.protocols.mcp.build_asgi(service, resolve_agent)`` and
``accord.protocols.a2a.routes(service, base_url, resolve_agent=...)`` are what ``accord serve``
mounts; the SDKs are imported only when those modules are.
"""
