"""Realistic messages for driving the pages without a server (static preview tests)."""

from __future__ import annotations

from typing import Any

XSS = '<img src=x onerror="window.__xss=1">'
XSS_SCRIPT = "<script>window.__xss=1</script>"


def screen_pop(name: str = "Wang Fang", tier: str = "key") -> dict[str, Any]:
    """A screen-pop as PROTOCOL.md describes it, for a key-account customer."""
    return {
        "customer": {
            "id": 1042, "name": name, "tier": tier, "key_account": tier in ("key", "strategic"),
            "lifetime_value": 48200, "rfm": {"r": 5, "f": 5, "m": 4, "segment": "champion"},
            "lifecycle": "active", "loyalty_level": "gold", "loyalty_points": 12400,
            "phone_masked": "+86 138****0001", "email_masked": "w***g@example.com",
        },
        "orders": [
            {"id": 10023, "number": "10023", "placed_at": "2026-11-20T08:10:00Z", "total": 1299,
             "status": "shipped", "item_count": 2},
            {"id": 10017, "number": "10017", "placed_at": "2026-11-12T02:40:00Z", "total": 359,
             "status": "delivered", "item_count": 1},
            {"id": 9988, "number": "9988", "placed_at": "2026-10-30T11:00:00Z", "total": 4820,
             "status": "delivered", "item_count": 5},
        ],
        "tickets": [
            {"id": 882, "kind": "complaint", "subject": "Late delivery of order 10023",
             "status": "open", "sla_due_at": "2099-11-23T06:00:00Z"},
            {"id": 871, "kind": "service", "subject": "Change delivery address",
             "status": "pending", "sla_due_at": "2026-11-22T06:00:00Z"},
        ],
        "interactions": [
            {"id": 5521, "channel": "email", "started_at": "2026-11-20T03:00:00Z",
             "outcome": "answered", "disposition": "order_status", "agent": "Zhou Yi",
             "notes": "Asked for the tracking number; sent it."},
            {"id": 5107, "channel": "voice", "started_at": "2026-11-02T07:30:00Z",
             "outcome": "answered", "disposition": "resolved", "agent": "Li Na", "notes": ""},
            {"id": 4980, "channel": "chat", "started_at": "2026-10-28T12:12:00Z",
             "outcome": "abandoned", "disposition": None, "agent": None, "notes": None},
        ],
    }


def offer(contact_id: str = "c-1001", *, channel: str = "chat", name: str = "Wang Fang",
          tier: str = "key", first_message: str = "Hi, my parcel 10023 is late",
          expires_in_s: float = 20, seq: int = 1) -> dict[str, Any]:
    """An ``offer`` push."""
    return {
        "type": "offer", "seq": seq,
        "contact": {
            "id": contact_id, "channel": channel, "queue": "chat_sales", "priority": 0,
            "tier": tier, "waited_s": 42, "ivr_path": [],
            "first_message": first_message,
        },
        "screen_pop": screen_pop(name, tier),
        "expires_in_s": expires_in_s,
        "reason": {"strategy": "longest_idle", "key": [0, 1732350000.5, 17], "candidates": 3,
                   "relaxation_step": 0, "preferred_phase": False},
    }


def supervisor_snapshot() -> dict[str, Any]:
    """A ``snapshot`` push of /ws/supervisor with four queues and five agents."""
    return {
        "type": "snapshot",
        "queues": [
            {"name": "voice_vip", "channel": "voice", "waiting": 0, "longest_wait_s": 0,
             "sl_threshold_s": 20, "sl_target": 0.8, "service_level": 0.961,
             "service_level_served": 0.970, "asa_s": 4, "abandon_rate": 0.008,
             "agents": {"available": 2, "busy": 3, "not_ready": 1, "offline": 0},
             "required_agents": 5, "offered": 142, "answered": 139, "abandoned": 3},
            {"name": "voice_support", "channel": "voice", "waiting": 14, "longest_wait_s": 112,
             "sl_threshold_s": 20, "sl_target": 0.8, "service_level": 0.714,
             "service_level_served": 0.789, "asa_s": 38, "abandon_rate": 0.062,
             "agents": {"available": 0, "busy": 18, "not_ready": 2, "offline": 0},
             "required_agents": 24, "offered": 610, "answered": 561, "abandoned": 38},
            {"name": "chat_sales", "channel": "chat", "waiting": 3, "longest_wait_s": 20,
             "sl_threshold_s": 30, "sl_target": 0.8, "service_level": 0.91,
             "service_level_served": 0.925, "asa_s": 9, "abandon_rate": 0.02,
             "agents": {"available": 1, "busy": 10, "not_ready": 1, "offline": 0},
             "required_agents": None, "offered": 288, "answered": 280, "abandoned": 6},
            {"name": "email_support", "channel": "email", "waiting": 41, "longest_wait_s": 7800,
             "sl_threshold_s": 14400, "sl_target": 0.8, "service_level": None,
             "service_level_served": None, "asa_s": None, "abandon_rate": None,
             "agents": {"available": 0, "busy": 8, "not_ready": 0, "offline": 0},
             "required_agents": None, "offered": 95, "answered": 54, "abandoned": 0},
        ],
        "agents": [
            {"agent_id": "a-7012", "name": "Li Na", "state": "available", "reason": "",
             "since": "2026-11-23T10:11:00Z", "contacts": [{"id": "c-1", "channel": "chat"},
                                                          {"id": "c-2", "channel": "chat"}],
             "handled": 31, "aht_s": 302, "occupancy": 0.82, "queues": ["chat_sales"]},
            {"agent_id": "a-7013", "name": "Zhou Yi", "state": "not_ready", "reason": "lunch",
             "since": "2026-11-23T10:02:00Z", "contacts": [], "handled": 18, "aht_s": 370,
             "occupancy": 0.64, "queues": ["voice_support"]},
            {"agent_id": "a-7014", "name": "Chen Jie", "state": "available", "reason": "",
             "since": "2026-11-23T10:14:00Z", "contacts": [{"id": "c-3", "channel": "voice"}],
             "handled": 44, "aht_s": 251, "occupancy": 0.91, "queues": ["voice_vip"]},
            {"agent_id": "a-7015", "name": "Sun Mei", "state": "available", "reason": "",
             "since": "2026-11-23T10:15:30Z", "contacts": [], "handled": 27, "aht_s": 288,
             "occupancy": 0.77, "queues": ["voice_support", "voice_vip"]},
            {"agent_id": "a-7016", "name": XSS, "state": "offline", "reason": "",
             "since": "2026-11-23T08:00:00Z", "contacts": [], "handled": 0, "aht_s": None,
             "occupancy": None, "queues": []},
        ],
    }
