"""A partner agency's consumer: follow Msafiri's stream and print incidents.

Needs only nats-py (`pip install nats-py`), nothing from Msafiri. A durable
consumer remembers what this agency has acknowledged, so a restart carries
on where it stopped; every message is acked after it is handled (print it,
or write it to your own system), so nothing is lost if this script dies.

    python consumer_example.py --url nats://127.0.0.1:4222
    python consumer_example.py --once      # print what is there, then exit

The payload is the envelope documented in docs/schemas/envelope.v1.json;
`data` for IncidentReported is docs/schemas/incidents.IncidentReported.v1.json.
Names, phone numbers and free-text descriptions are never published.
"""

from __future__ import annotations

import argparse
import asyncio
import json

import nats


async def follow(args: argparse.Namespace) -> None:
    # Bounded connect: fail in seconds, not after minutes of retries.
    client = await asyncio.wait_for(
        nats.connect(args.url, connect_timeout=3, max_reconnect_attempts=1), 10
    )
    client.options["max_reconnect_attempts"] = -1  # once connected, ride out restarts
    js = client.jetstream()
    subject = f"{args.prefix}.incidents.IncidentReported"
    subscription = await js.pull_subscribe(subject, durable=args.durable, stream=args.stream)
    try:
        while True:
            try:
                messages = await subscription.fetch(100, timeout=args.wait)
            # nats-py raises its own TimeoutError, or a bare asyncio one when the
            # wait ran out before its second pull request (seen under load);
            # both are the builtin TimeoutError, and mean "nothing new within --wait".
            except TimeoutError:
                if args.once:
                    return
                continue
            for message in messages:
                event = json.loads(message.data)
                data = event["data"]
                print(
                    f"{event['occurred_at'][:10]}  {data['country']}  {data['severity']:<8} "
                    f"{data['category']:<40} incident {event['aggregate_id']} "
                    f"(migrant {data['migrant_id']}, position {event['position']})",
                    flush=True,
                )
                await message.ack()
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="nats://127.0.0.1:4222")
    parser.add_argument("--stream", default="MSAFIRI")
    parser.add_argument("--prefix", default="msafiri")
    parser.add_argument("--durable", default="partner-agency-incidents")
    parser.add_argument("--wait", type=float, default=2.0, help="seconds per fetch")
    parser.add_argument("--once", action="store_true", help="exit when caught up")
    asyncio.run(follow(parser.parse_args()))


if __name__ == "__main__":
    main()
