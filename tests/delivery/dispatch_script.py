"""One dispatcher replica as its own process: ``python dispatch_script.py STORE POLICY PORT``.
Sends until the outbox has nothing live left, then exits 0."""

from __future__ import annotations

import sys
import time

from accord import Accord
from accord.delivery import Dispatcher, SmtpSender


def main() -> None:
    store, policy, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    acc = Accord.open(store, policy=policy)
    sender = SmtpSender("127.0.0.1", port, sender="news@accord.example", domain="accord.example",
                        security="none")
    d = Dispatcher(acc, {"email": sender}, lease=2.0, batch=20)
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < 5.0:  # leased rows of a dead peer come due in 2 s
        if d.run_once().total:
            idle_since = time.monotonic()
        else:
            time.sleep(0.05)
    d.close()
    acc.close()


if __name__ == "__main__":
    main()
