"""tf.math: element-wise math and reductions (TF 1.x's tf.math names), with top_k and the scans."""
from tfmini.ops.math_ops import (abs, acos, add, add_n, argmax, argmin, asin, atan, atan2, ceil, cos,  # noqa: F401,A004
                                 cosh, divide, equal, erf, erfc, exp, expm1, floor, floordiv, floormod, greater,
                                 greater_equal, is_finite, is_inf, is_nan, less, less_equal, log, log1p,
                                 logical_and, logical_not, logical_or, maximum, minimum, multiply, negative,
                                 not_equal, pow, reciprocal, reduce_all, reduce_any, reduce_max, reduce_mean,
                                 reduce_min, reduce_prod, reduce_sum, rint, round, rsqrt, sigmoid, sign, sin, sinh,
                                 sqrt, square, squared_difference, subtract, tan, tanh, truediv)
from tfmini.ops.math_utils import cumprod, cumsum, top_k  # noqa: F401
