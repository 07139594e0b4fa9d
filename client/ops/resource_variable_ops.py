"""Resource-variable ops, as TensorFlow 2 writes them for tf.compat.v1 graphs.

A `VarHandleOp` outputs a handle (DT_RESOURCE); the other ops read or write the
variable through it. Every op taking a handle is placed with the variable.
"""
from tfmini import dtypes, op_registry
from tfmini.ops.core import constant_value  # noqa: F401 - keeps the op registry import order obvious
from tfmini.tensor_shape import TensorShape


def _handle_shape(handle):
    op = handle.op
    if op.type == "VarHandleOp":
        return TensorShape(op.get_attr("shape"))
    return TensorShape(None)


op_registry.register("VarHandleOp", lambda op: [(dtypes.resource, TensorShape([]))], stateful=True)
op_registry.register("ReadVariableOp", lambda op: [(op.get_attr("dtype"), _handle_shape(op.inputs[0]))],
                     ref_inputs=(0,), stateful=True)
op_registry.register("VarIsInitializedOp", lambda op: [(dtypes.bool, TensorShape([]))], ref_inputs=(0,),
                     stateful=True)
op_registry.register(["AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp", "DestroyResourceOp"],
                     lambda op: [], ref_inputs=(0,), stateful=True)
op_registry.register(["ResourceApplyGradientDescent", "ResourceApplyMomentum", "ResourceApplyAdam",
                      "ResourceApplyAdagrad", "ResourceApplyRMSProp"], lambda op: [], ref_inputs=(0,), stateful=True)
