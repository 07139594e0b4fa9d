"""_Send / _Recv: the only kernels that cross partitions. They speak rendezvous keys.

A `_Send` parks its tensor in the step's rendezvous. A `_Recv` takes it from
there when the sender is in this task (or the client fed it), else pulls it
from the sending task with RecvTensor. On a pair the master marked to push
(PUSH_ATTR), the `_Send` pushes its tensor to the receiving task instead, and
the `_Recv` waits for it in its own step's rendezvous.
"""
from tfmini.core.device import DeviceSpec
from tfmini.core.names import make_key
from tfmini.core.partition import PUSH_ATTR, SENT_FIRST_ATTR
from tfmini.worker import devices
from tfmini.worker.kernels import ANY_DEVICE, kernel



def rendezvous_key(attrs):
    """The rendezvous key of a _Send/_Recv node, from its decoded attrs."""
    return make_key(attrs["send_device"].decode(), attrs.get("send_device_incarnation", 0) & (2**64 - 1),
                    attrs["recv_device"].decode(), attrs["tensor_name"].decode())




def sent_first(attrs):
    """True on a pushed _Recv whose sender waits for no other task's tensor before sending it."""
    return bool(attrs.get(SENT_FIRST_ATTR, False))


def _push_peer(attrs, device_attr, task_name):
    if not attrs.get(PUSH_ATTR, False) or attrs.get("client_terminated", False):
        return None
    peer = DeviceSpec.from_string(attrs[device_attr].decode()).task_name
    return peer if peer != task_name else None


def pushed_from(attrs, task_name):
    """The task a _Recv node (its decoded attrs) waits for a push from, or None when it does not."""
    return _push_peer(attrs, "send_device", task_name)


def pushed_to(attrs, task_name):
    """The task a _Send node (its decoded attrs) pushes its tensor to, or None when it does not push."""
    return _push_peer(attrs, "recv_device", task_name)


@kernel("_Send", "_HostSend", num_outputs=0, device_types=ANY_DEVICE, takes_step=True)
def _send(node):
    key = rendezvous_key(node.attrs)
    recv_task = pushed_to(node.attrs, node.env.task_name)
    if recv_task is not None:
        return lambda step, x: step.push(recv_task, key, x)
    return lambda step, x: step.rendezvous.send(key, x)


@kernel("_Recv", "_HostRecv", device_types=ANY_DEVICE, takes_step=True)
def _recv(node):
    key = rendezvous_key(node.attrs)
    send_device = node.attrs["send_device"].decode()
    send_task = DeviceSpec.from_string(send_device).task_name
    if pushed_from(node.attrs, node.env.task_name):
        receive = lambda step: step.recv_pushed(send_task, key)  # noqa: E731
    elif node.attrs.get("client_terminated", False) or send_task == node.env.task_name:
        receive = lambda step: step.recv_local(key)  # noqa: E731
    else:
        receive = lambda step: step.recv_remote(send_task, key)  # noqa: E731
    worker = node.env.worker
    here = worker.local_devices.get(node.device)
    if here is None or send_device == node.device:
        return receive
    copies = worker.copies  # from another device: the one place an array moves to this device's memory
    return lambda step: devices.to_device(receive(step), here, copies, send_device)
