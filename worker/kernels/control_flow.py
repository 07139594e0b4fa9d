"""Control-flow kernels. worker/frames.py runs these ops itself (it routes Switch's outputs, picks Merge's live
input, moves values between frames and iterations); the compute functions here are what it calls for the
value, and what a plan without frames would run."""
from tfmini.worker.kernels import ANY_DEVICE, kernel


def _forward(node):
    return lambda x: x


for _op in ("Enter", "Exit", "NextIteration", "LoopCond"):
    kernel(_op, device_types=ANY_DEVICE)(_forward)
for _op in ("RefEnter", "RefExit", "RefNextIteration"):
    kernel(_op, ref_inputs=(0,), produces_ref=True, device_types=ANY_DEVICE)(_forward)


@kernel("Switch", num_outputs=2, device_types=ANY_DEVICE)
def _switch(node):
    return lambda data, pred: (data, pred)


kernel("RefSwitch", num_outputs=2, ref_inputs=(0,), produces_ref=True, device_types=ANY_DEVICE)(_switch)


@kernel("Merge", num_outputs=2, device_types=ANY_DEVICE)
def _merge(node):
    return lambda *inputs: (inputs[0], 0)


kernel("RefMerge", num_outputs=2, ref_inputs=(0,), produces_ref=True, device_types=ANY_DEVICE)(_merge)


@kernel("ControlTrigger", num_outputs=0, device_types=ANY_DEVICE)
def _control_trigger(node):
    return lambda: None
