#!/usr/bin/python3
"""Sends messages to the showcase's WebSocket clients from outside the
server (seed 000's external_sender.py): five examples, each through the
channel layer of the consumer it targets.

    REDIS_URL=redis://localhost:6379 external_sender.py [--config showcase.json]
"""
import argparse
import asyncio
import os
import sys

try:
    import wschannels
except ImportError:  # not installed: the build tree's bindings
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "..", "build", "bindings"))
    import wschannels

HERE = os.path.dirname(os.path.abspath(__file__))


def system_notify(text):
    return {"action": "system_notify", "payload": text}


async def send_chat_message(cfg):
    """Send a message to the chat room using the chat layer."""
    await cfg.consumer("chat").broadcast_event(
        system_notify("🔔 System announcement: Welcome to the chat!"))
    print("✅ Chat message sent!")


async def send_reliable_message(cfg):
    """Send a message using the queue-based layer for guaranteed delivery."""
    await cfg.consumer("reliable_chat").broadcast_event(
        system_notify("🔒 Important: System maintenance scheduled for tonight"))
    print("✅ Reliable message sent!")


async def send_notification(cfg):
    """Send a notification using the notifications layer."""
    await cfg.consumer("notifications").broadcast_event(
        system_notify("🚨 Alert: High CPU usage detected on server"))
    print("✅ Notification sent!")


async def send_analytics_event(cfg):
    """Send analytics events using the analytics layer."""
    events = [
        "user_login:john_doe",
        "page_view:/dashboard",
        "button_click:export_data",
        "session_duration:1234",
        "error:api_timeout",
    ]
    for event in events:
        await cfg.consumer("analytics").broadcast_event(system_notify(event))
        await asyncio.sleep(0.1)
    print(f"✅ Sent {len(events)} analytics events!")


async def periodic_announcements(cfg):
    """Send periodic announcements to different channels."""
    print("⏰ Starting periodic announcements...")
    for i in range(3):
        if i % 2 == 0:
            message = f"⏰ Hourly chat announcement #{i+1}"
            await cfg.consumer("chat").broadcast_event(system_notify(message))
        else:
            message = f"🔔 System status update #{i+1}"
            await cfg.consumer("notifications").broadcast_event(
                {"action": "system_periodic_notify", "payload": message})
        print(f"✅ Sent announcement #{i+1}")
        await asyncio.sleep(1)
    print("✅ Periodic announcements complete!")


async def main(config):
    """Run all external messaging examples."""
    print("=== External Messaging with Centralized Layers ===\n")
    examples = [
        ("Chat Message", send_chat_message),
        ("Reliable Message", send_reliable_message),
        ("Notification", send_notification),
        ("Analytics Events", send_analytics_event),
        ("Periodic Announcements", periodic_announcements),
    ]
    failed = 0
    with wschannels.load_config(config) as cfg:
        for name, func in examples:
            print(f"🎯 Running: {name}")
            try:
                await func(cfg)
            except wschannels.Error as e:
                failed += 1
                print(f"❌ Error in {name}: {e}")
            print()
            await asyncio.sleep(0.5)
    print("=== All Examples Complete! ===")
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=os.path.join(HERE, "showcase.json"))
    raise SystemExit(asyncio.run(main(parser.parse_args().config)))
