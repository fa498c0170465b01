"""wschannels-send: send an event (or a message) to a consumer's groups, a
group, or a channel name, from shell scripts and cron.

    wschannels-send --config app.json --consumer system \\
        '{"action":"system_notification","payload":"..."}' [--repeat 3 --interval 2]

Exit status: 0 when every send was accepted by the layer; 1 when one was
refused (channel full, Redis unreachable, unknown consumer...); 2 for bad
arguments. The reason goes to stderr."""
import argparse
import json
import sys
import time

from . import Error, load_config


def main(argv=None):
    p = argparse.ArgumentParser(prog="wschannels-send", description=__doc__.split("\n\n")[0])
    p.add_argument("event", help="the event as JSON, with an \"action\"")
    p.add_argument("--config", required=True, help="the servers' JSON config file")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--consumer", help="send through this consumer's layer (default: to its groups)")
    who.add_argument("--layer", help="send through this layer alias")
    p.add_argument("--group", action="append", default=[], help="a group (repeatable)")
    p.add_argument("--channel", help="a channel name (one client)")
    p.add_argument("--message", action="store_true",
                   help="relay as a message to the clients (no event handler runs)")
    p.add_argument("--repeat", type=int, default=1, help="send N times (default 1)")
    p.add_argument("--interval", type=float, default=0.0, help="seconds between sends")
    args = p.parse_args(argv)
    try:
        event = json.loads(args.event)
    except ValueError as e:
        p.error(f"the event is not JSON: {e}")
    if args.repeat < 1 or args.interval < 0:
        p.error("--repeat must be at least 1 and --interval not negative")
    if args.channel and args.group:
        p.error("give --channel or --group, not both")
    if args.layer and not (args.channel or args.group):
        p.error("with --layer, give --group or --channel")
    try:
        cfg = load_config(args.config)
    except (OSError, Error) as e:
        print(f"wschannels-send: {e}", file=sys.stderr)
        return 1
    try:
        if args.consumer:
            consumer = cfg.consumer(args.consumer)
            layer = cfg.layer(consumer.layer_alias)
            groups = args.group or consumer.groups
        else:
            layer, groups = cfg.layer(args.layer), args.group
        if not args.channel and not groups:
            print(f"wschannels-send: consumer {args.consumer!r} has no groups: give --group "
                  "or --channel", file=sys.stderr)
            return 2
        for i in range(args.repeat):
            if i:
                time.sleep(args.interval)
            if args.channel:
                layer.send_sync(args.channel, event)
            for g in groups:
                if args.message:
                    layer.group_send_message_sync(g, event)
                else:
                    layer.group_send_sync(g, event)
        return 0
    except (Error, TypeError, ValueError) as e:
        print(f"wschannels-send: {e}", file=sys.stderr)
        return 1
    finally:
        cfg.close()


if __name__ == "__main__":
    sys.exit(main())
