"""A bank account as a GenServer, with deferred replies.

A withdrawal larger than the balance is not refused: the caller waits
(``NOREPLY``) until deposits cover it, and is answered then with
``ta.reply``. Meanwhile other clients are served as usual.

    python examples/bank.py
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

import structlog

import threadactors as ta


class Account(ta.GenServer):
    def init(self, balance: int = 0) -> None:
        self.balance = balance
        self.waiting: deque[tuple[ta.Caller, int]] = deque()

    def handle_call(self, request: Any, caller: ta.Caller) -> Any:
        match request:
            case ("deposit", int(amount)) if amount > 0:
                self.balance += amount
                self._serve_waiting()
                return self.balance
            case ("withdraw", int(amount)) if amount > 0:
                if amount <= self.balance and not self.waiting:
                    self.balance -= amount
                    return ("ok", self.balance)
                self.waiting.append((caller, amount))
                return ta.NOREPLY  # answered later, when the money is there
            case "balance":
                return self.balance
            case "waiting":
                return len(self.waiting)
        raise ValueError(f"bad request {request!r}")

    def _serve_waiting(self) -> None:
        while self.waiting and self.waiting[0][1] <= self.balance:
            caller, amount = self.waiting.popleft()
            self.balance -= amount
            ta.reply(caller, ("ok", self.balance))

    def terminate(self, reason: Any) -> None:
        print(f"account closed ({reason}), final balance {self.balance}")


def customer(name: str, amount: int, report_to: ta.Pid) -> None:
    result = ta.call("account", ("withdraw", amount), timeout=10)
    ta.send(report_to, (name, amount, result))


def wait_for_waiting(count: int) -> None:
    """Until ``count`` withdrawals are parked in the account."""
    while ta.call("account", "waiting") < count:
        ta.receive(timeout=0.01, default=None)


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    Account.start(100, name="account")
    me = ta.self()
    print("balance:", ta.call("account", "balance"))
    ta.spawn(customer, "alice", 80, me)
    print("alice withdrew:", ta.receive(("alice", int, tuple), timeout=10)[2])
    ta.spawn(customer, "bob", 50, me)  # only 20 left: bob waits
    wait_for_waiting(1)
    ta.spawn(customer, "carol", 30, me)  # queued behind bob
    wait_for_waiting(2)
    print("bob and carol are waiting; balance:", ta.call("account", "balance"))
    print("deposit 40 -> balance", ta.call("account", ("deposit", 40)))
    print("bob withdrew:", ta.receive(("bob", int, tuple), timeout=10)[2])
    print("deposit 100 -> balance", ta.call("account", ("deposit", 100)))
    print("carol withdrew:", ta.receive(("carol", int, tuple), timeout=10)[2])
    ta.stop("account")
    ta.shutdown()


if __name__ == "__main__":
    main()
