"""Index arithmetic that shape inference and kernels share: reduction axes and TF's strided-slice encoding."""
import builtins


def normalize_axes(axes, rank, error):
    """The distinct axes of `axes` (ints; negative ones count from the end), sorted, for a tensor of `rank`.
    `error(axis)` is the exception raised for an axis out of range."""
    for a in axes:
        if not -rank <= a < max(rank, 1):
            raise error(a)
    return tuple(sorted({a % rank for a in axes})) if rank else ()


def slice_spec(begin, end, strides, begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask):
    """TF's StridedSlice encoding turned back into a numpy index tuple."""
    index = []
    for i in builtins.range(len(begin)):
        bit = 1 << i
        if ellipsis_mask & bit:
            index.append(Ellipsis)
        elif new_axis_mask & bit:
            index.append(None)
        elif shrink_axis_mask & bit:
            index.append(int(begin[i]))
        else:
            index.append(slice(None if begin_mask & bit else int(begin[i]),
                               None if end_mask & bit else int(end[i]), int(strides[i])))
    return tuple(index)
