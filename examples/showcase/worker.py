#!/usr/bin/python3
"""The showcase's background worker (seed 002's Celery tasks).

Takes jobs from the Redis list the server pushes them to, runs them with the
seed's delays and texts, and sends each result as a `job_result` event to
the channel name of the client that asked, through the wschannels bindings
(`SystemConsumer.send_event_sync` in the seed).

    REDIS_URL=redis://localhost:6379 worker.py [--config showcase.json]

Stops cleanly on SIGINT or SIGTERM (after the job it is running).
"""
import argparse
import json
import os
import signal
import sys
import time

import redis

try:
    import wschannels
except ImportError:  # not installed: the build tree's bindings
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "..", "build", "bindings"))
    import wschannels

JOB_LIST = "showcase:jobs"  # examples/showcase/job_queue.hpp


def translate_text(content):
    time.sleep(2)
    translations = {
        "hello": "hola",
        "world": "mundo",
        "good morning": "buenos días",
        "thank you": "gracias",
    }
    translated = translations.get(content.lower(), f"[TRANSLATED: {content}]")
    return f"🌐 Translated: '{content}' → '{translated}'"


def analyze_text(content):
    time.sleep(3)
    word_count = len(content.split())
    char_count = len(content)
    vowel_count = sum(1 for char in content.lower() if char in "aeiou")
    consonant_count = sum(1 for char in content.lower() if char.isalpha() and char not in "aeiou")
    return (
        f"📊 Analysis of '{content}':\n"
        f"• Characters: {char_count}\n"
        f"• Words: {word_count}\n"
        f"• Vowels: {vowel_count}\n"
        f"• Consonants: {consonant_count}"
    )


def generate_response(content):
    time.sleep(4)
    lower = content.lower()
    if "weather" in lower:
        response = "The weather is looking great today! Perfect for a walk outside."
    elif "food" in lower or "eat" in lower:
        response = "I'd recommend trying that new restaurant downtown. Their pasta is excellent!"
    elif "help" in lower:
        response = "I'm here to help! Feel free to ask me anything you'd like to know."
    else:
        response = (f"That's an interesting point about '{content}'. Let me think about that... "
                    "Based on my analysis, I would suggest exploring this topic further through "
                    "research and practical application.")
    return f"🤖 AI Response to '{content}':\n{response}"


def process_default(content):
    time.sleep(1)
    return f"✅ Processed: {content.upper()}"


TASKS = {
    "translate": translate_text,
    "analyze": analyze_text,
    "generate": generate_response,
    "default": process_default,
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=os.path.join(here, "showcase.json"))
    args = parser.parse_args()

    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    url = os.environ.get("REDIS_URL", "redis://localhost:6379")
    jobs = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    with wschannels.load_config(args.config) as cfg:
        system = cfg.consumer("system")
        print(f"🔄 Worker waiting for jobs on {JOB_LIST}", flush=True)
        while not stopping:
            try:
                item = jobs.brpop(JOB_LIST, timeout=1)
            except redis.ConnectionError as e:
                print(f"❌ Redis: {e}; retrying", file=sys.stderr, flush=True)
                time.sleep(1)
                continue
            if item is None:
                continue
            job = json.loads(item[1])
            task = TASKS.get(job.get("task_type"), TASKS["default"])
            print(f"⚙️  {job['job_id']}: {job.get('task_type')}", flush=True)
            try:
                result = task(job.get("content", ""))
            except Exception as e:  # a failing job still answers its client
                result = f"❌ Job {job['job_id']} failed: {e}"
            try:
                system.send_event_sync({"action": "job_result", "payload": result},
                                       job["channel_name"])
            except wschannels.Error as e:
                print(f"❌ Error sending result to client: {e}", file=sys.stderr, flush=True)
    print("👋 Worker stopped", flush=True)


if __name__ == "__main__":
    main()
