"""The dead tensor: what the untaken side of a Switch carries (control flow, worker/frames.py).

Where a dead value must be stored or sent (a rendezvous, a RecvTensor answer: `is_dead`), it is `DEAD`."""


class Dead:
    __slots__ = ()

    def __repr__(self):
        return "DEAD"


DEAD = Dead()
