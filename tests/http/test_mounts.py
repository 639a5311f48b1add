"""`accord serve`'s one app carries the dashboard, MCP and A2A beside the API."""

from __future__ import annotations

from .live_server import Server


def test_the_root_leads_to_the_dashboard_which_asks_for_a_token(sqlite_server: Server) -> None:
    with sqlite_server.http() as http:
        root = http.get("/", follow_redirects=False)
        assert root.status_code in (302, 307) and root.headers["location"] == "/ui/"
        page = http.get("/ui/fleet", follow_redirects=False)
        assert page.status_code == 303 and "/ui/login" in page.headers["location"]
        assert "token" in http.get("/ui/", follow_redirects=True).text.lower()


def test_a_reviewer_token_opens_the_approvals_page(sqlite_server: Server) -> None:
    with sqlite_server.http("reviewer") as http:
        page = http.get("/ui/approvals")
        assert page.status_code == 200 and "Approvals" in page.text
    with sqlite_server.http("agent_a") as http:
        assert http.get("/ui/approvals").status_code == 403


def test_the_a2a_card_and_the_mcp_endpoint_are_served(sqlite_server: Server) -> None:
    with sqlite_server.http() as http:
        card = http.get("/.well-known/agent-card.json")
        assert card.status_code == 200 and card.json()["name"]
        assert http.post("/mcp/", json={}).status_code == 401  # per-agent bearer token


def test_mcp_and_a2a_refuse_a_people_token_with_403_and_no_token_with_401(
        sqlite_server: Server) -> None:
    rpc = {"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {}}
    for role in ("reviewer", "admin"):
        with sqlite_server.http(role) as http:
            mcp = http.post("/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
            assert mcp.status_code == 403 and "agent" in mcp.json()["detail"]
            a2a = http.post("/a2a", json=rpc)
            assert a2a.status_code == 403 and "agent" in a2a.json()["error"]["message"]
    with sqlite_server.http() as http:
        assert http.post("/a2a", json=rpc).status_code == 401
    with sqlite_server.http("agent_a") as http:
        r = http.post("/a2a", json=rpc, headers={"A2A-Version": "1.0"})
        assert r.status_code == 200 and r.json()["result"]["tasks"] == [], r.text
