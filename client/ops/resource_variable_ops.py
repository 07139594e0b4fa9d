"""Resource-variable ops, as TensorFlow 2 writes them for tf.compat.v1 graphs.

A `VarHandleOp` outputs a handle (DT_RESOURCE); the other ops read or write the
variable through it. Every op taking a handle is placed with the variable.
"""
from tfmini.core import dtypes, op_registry
from tfmini.core.op_registry import APPLY_SLOTS
from tfmini.core.tensor_shape import TensorShape



def _handle_shape(handle):
    op = handle.op
    if op.type == "VarHandleOp":
        return TensorShape(op.get_attr("shape"))
    return TensorShape(None)


op_registry.register("VarHandleOp", lambda op: [(dtypes.resource, TensorShape([]))])
op_registry.register("ReadVariableOp", lambda op: [(op.get_attr("dtype"), _handle_shape(op.inputs[0]))])
op_registry.register("VarIsInitializedOp", lambda op: [(dtypes.bool, TensorShape([]))])
op_registry.register(["AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp", "DestroyResourceOp"],
                     lambda op: [])
op_registry.register([f"ResourceApply{name}" for name in APPLY_SLOTS], lambda op: [])
