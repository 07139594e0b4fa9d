"""tf.layers (TF 1.x): dense, conv2d, pooling, dropout, flatten, batch_normalization, as functions and classes.

Each layer with variables lives in a variable scope named after it (`dense`, `dense_1`, ... when unnamed) and
creates them with tf.get_variable (`dense/kernel`, `dense/bias`, `batch_normalization/moving_mean`, ...); its
ops are named as TF's (`dense/MatMul`, `dense/BiasAdd`). Batch normalization's moving-average updates go to
tf.GraphKeys.UPDATE_OPS, as in TF 1.x.
"""
import contextlib

import numpy as np

from tfmini import init_ops, variable_scope as vs
from tfmini.core import dtypes
from tfmini.graph import GraphKeys, Tensor, get_default_graph
from tfmini.ops import array_ops, math_ops, nn_impl, nn_ops
from tfmini.ops.core import constant_value, convert_to_tensor
from tfmini.train.moving_averages import assign_moving_average


def _static_bool(value):
    """A Python bool for a bool or constant tensor `training`, else None (a tensor known only when run)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, Tensor):
        known = constant_value(value)
        return None if known is None else bool(known)
    return bool(value)


def _pair(value, what):
    if isinstance(value, int):
        return (value, value)
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"The `{what}` argument must be a tuple of 2 integers. Received: {value}")
    return value


class Layer:
    """What every tf.layers class shares: its variable scope (made once, on the first call), weights, updates."""

    _base_name = "layer"

    def __init__(self, trainable=True, name=None, dtype=None, _reuse=None, _scope=None, **kwargs):
        self.trainable, self._given_name, self._reuse = trainable, name, _reuse
        self.dtype = None if dtype is None else dtypes.as_dtype(dtype)
        self._scope, self._name_scope, self.built = None, None, False
        self.updates, self.losses, self._weights = [], [], []

    @property
    def name(self):
        return self._scope.name.rsplit("/", 1)[-1] if self._scope is not None else (self._given_name or
                                                                                    self._base_name)

    @property
    def variables(self):
        return list(self._weights)

    weights = variables

    @property
    def trainable_variables(self):
        return [w for w in self._weights if w.trainable]

    trainable_weights = trainable_variables

    @property
    def non_trainable_variables(self):
        return [w for w in self._weights if not w.trainable]

    non_trainable_weights = non_trainable_variables

    @contextlib.contextmanager
    def _enter_scope(self):
        graph = get_default_graph()
        if self._scope is None:
            with vs.variable_scope(self._given_name, default_name=self._base_name, reuse=self._reuse) as scope:
                self._scope, self._name_scope = scope, graph.get_name_scope() + "/"
                yield
            return
        # Calling the layer again: its own variables (reused) and its first name scope, as TF re-enters both.
        stack = vs._stack()
        stack.append(vs.VariableScope(self._scope.name, reuse=True, initializer=self._scope.initializer))
        try:
            with graph.name_scope(self._name_scope):
                yield
        finally:
            stack.pop()

    def add_weight(self, name, shape, dtype=None, initializer=None, regularizer=None, trainable=True,
                   constraint=None):
        var = vs.get_variable(name, shape=shape, dtype=dtype or self.dtype or dtypes.float32,
                              initializer=initializer, regularizer=regularizer,
                              trainable=trainable and self.trainable)
        if var not in self._weights:
            self._weights.append(var)
        return var

    def add_update(self, updates):
        updates = updates if isinstance(updates, (list, tuple)) else [updates]
        self.updates.extend(updates)
        for u in updates:
            get_default_graph().add_to_collection(GraphKeys.UPDATE_OPS, u)

    def build(self, input_shape):
        self.built = True

    def call(self, inputs, **kwargs):
        return inputs

    def __call__(self, inputs, *args, **kwargs):
        with self._enter_scope():
            inputs = convert_to_tensor(inputs)
            if self.dtype is None:  # TF: a layer takes the dtype of its first inputs
                self.dtype = inputs.dtype.base_dtype
            if not self.built:
                self.build(inputs.shape)
                self.built = True
            return self.call(inputs, *args, **kwargs)

    apply = __call__


def _activate(activation, outputs):
    return activation(outputs) if activation is not None else outputs


class Dense(Layer):
    _base_name = "dense"

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer=None,
                 bias_initializer=init_ops.Zeros(), kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, trainable=True,
                 name=None, **kwargs):
        self._kernel_name = kwargs.pop("_kernel_name", "kernel")
        self._bias_name = kwargs.pop("_bias_name", "bias")
        self._normalizer = kwargs.pop("_normalizer", (None, None))
        self._base_name = kwargs.pop("_base_name", self._base_name)
        super().__init__(trainable=trainable, name=name, **kwargs)
        self.units, self.activation, self.use_bias = int(units), activation, use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.activity_regularizer = activity_regularizer

    def build(self, input_shape):
        if input_shape.ndims is None or input_shape[-1] is None:
            raise ValueError("The last dimension of the inputs to `Dense` should be defined. Found `None`.")
        self.kernel = self.add_weight(self._kernel_name, [input_shape[-1], self.units],
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(self._bias_name, [self.units], initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer)
        self.built = True

    def call(self, inputs):
        rank = inputs.shape.ndims
        if rank is not None and rank > 2:  # TF uses tensordot; a reshape to 2-D computes the same
            flat = array_ops.reshape(inputs, [-1, inputs.shape[-1]])
            outputs = math_ops.matmul(flat, self.kernel)
            shape = array_ops.concat([array_ops.shape(inputs)[:-1], [self.units]], 0)
            outputs = array_ops.reshape(outputs, shape)
            outputs.set_shape(inputs.shape.as_list()[:-1] + [self.units])
        else:
            outputs = math_ops.matmul(inputs, self.kernel)
        normalizer_fn, normalizer_params = self._normalizer
        if normalizer_fn is not None:
            outputs = normalizer_fn(outputs, **(normalizer_params or {}))
        if self.bias is not None:
            outputs = nn_ops.bias_add(outputs, self.bias)
        return _activate(self.activation, outputs)


def dense(inputs, units, activation=None, use_bias=True, kernel_initializer=None, bias_initializer=init_ops.Zeros(),
          kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
          bias_constraint=None, trainable=True, name=None, reuse=None, **kwargs):
    layer = Dense(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                  bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                  bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer, trainable=trainable,
                  name=name, _reuse=reuse, **kwargs)
    return layer(inputs)


class Dropout(Layer):
    _base_name = "dropout"

    def __init__(self, rate=0.5, noise_shape=None, seed=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed

    def _enter_scope(self):  # no variables: just a (unique) name scope
        return get_default_graph().name_scope(self._given_name or self._base_name)

    def call(self, inputs, training=False):
        known = _static_bool(training)
        if known is False:
            return array_ops.identity(inputs)
        if known is True:
            return nn_ops.dropout(inputs, noise_shape=self.noise_shape, seed=self.seed, rate=self.rate)
        # A `training` tensor: TF takes a cond; a keep probability of 1 when not training gives the same values.
        rate = math_ops.multiply(math_ops.cast(training, inputs.dtype), self.rate, name="rate")
        return nn_ops.dropout(inputs, noise_shape=self.noise_shape, seed=self.seed, rate=rate)


def dropout(inputs, rate=0.5, noise_shape=None, seed=None, training=False, name=None):
    return Dropout(rate, noise_shape=noise_shape, seed=seed, name=name)(inputs, training=training)


class Flatten(Layer):
    _base_name = "flatten"

    def __init__(self, data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)

    def _enter_scope(self):
        return get_default_graph().name_scope(self._given_name or self._base_name)

    def call(self, inputs):
        dims = inputs.shape.as_list() if inputs.shape.ndims is not None else None
        if dims is not None and all(d is not None for d in dims[1:]):
            return array_ops.reshape(inputs, [-1, int(np.prod(dims[1:]))])
        return array_ops.reshape(inputs, array_ops.stack([array_ops.shape(inputs)[0], -1]))


def flatten(inputs, name=None, data_format="channels_last"):
    return Flatten(data_format=data_format, name=name)(inputs)


def _data_format(data_format):
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"The `data_format` argument must be one of \"channels_first\", \"channels_last\". "
                         f"Received: {data_format}")
    return "NHWC" if data_format == "channels_last" else "NCHW"


def _padding(padding):
    padding = padding.upper()
    if padding not in ("VALID", "SAME"):
        raise ValueError(f"The `padding` argument must be a string: \"valid\" or \"same\". Received: {padding}")
    return padding


def _spatial(values, data_format):
    """[1, h, w, 1] (NHWC) or [1, 1, h, w] (NCHW), as tf.nn's ksize/strides/dilations."""
    return [1] + list(values) + [1] if data_format == "NHWC" else [1, 1] + list(values)


class Conv2D(Layer):
    _base_name = "conv2d"

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer=None,
                 bias_initializer=init_ops.Zeros(), kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, trainable=True, name=None,
                 **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        self.filters, self.kernel_size = int(filters), _pair(kernel_size, "kernel_size")
        self.strides, self.dilation_rate = _pair(strides, "strides"), _pair(dilation_rate, "dilation_rate")
        self.padding, self.data_format = _padding(padding), _data_format(data_format)
        self.activation, self.use_bias = activation, use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer

    def build(self, input_shape):
        channel_axis = -1 if self.data_format == "NHWC" else 1
        if input_shape.ndims != 4 or input_shape[channel_axis] is None:
            raise ValueError("The channel dimension of the inputs should be defined. Found `None`.")
        self.kernel = self.add_weight("kernel", list(self.kernel_size) + [input_shape[channel_axis], self.filters],
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", [self.filters], initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer) if self.use_bias else None
        self.built = True

    def call(self, inputs):
        from tfmini.ops.conv_ops import conv2d as nn_conv2d
        outputs = nn_conv2d(inputs, self.kernel, strides=_spatial(self.strides, self.data_format),
                            padding=self.padding, data_format=self.data_format,
                            dilations=_spatial(self.dilation_rate, self.data_format), name="Conv2D")
        if self.bias is not None:
            if self.data_format == "NHWC":
                outputs = nn_ops.bias_add(outputs, self.bias)
            else:  # tfmini's BiasAdd is NHWC only: the bias broadcast along axis 1 instead
                outputs = math_ops.add(outputs, array_ops.reshape(self.bias, [1, self.filters, 1, 1]),
                                       name="BiasAdd")
        return _activate(self.activation, outputs)


def conv2d(inputs, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
           dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer=None,
           bias_initializer=init_ops.Zeros(), kernel_regularizer=None, bias_regularizer=None,
           activity_regularizer=None, kernel_constraint=None, bias_constraint=None, trainable=True, name=None,
           reuse=None):
    layer = Conv2D(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                   dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                   kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer, trainable=trainable,
                   name=name, _reuse=reuse)
    return layer(inputs)


class _Pooling2D(Layer):
    _op = None

    def __init__(self, pool_size, strides, padding="valid", data_format="channels_last", name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.pool_size, self.strides = _pair(pool_size, "pool_size"), _pair(strides, "strides")
        self.padding, self.data_format = _padding(padding), _data_format(data_format)

    def _enter_scope(self):
        return get_default_graph().name_scope(self._given_name or self._base_name)

    def call(self, inputs):
        from tfmini.ops import conv_ops
        pool = getattr(conv_ops, self._op)
        return pool(inputs, ksize=_spatial(self.pool_size, self.data_format),
                    strides=_spatial(self.strides, self.data_format), padding=self.padding,
                    data_format=self.data_format)


class MaxPooling2D(_Pooling2D):
    _base_name, _op = "max_pooling2d", "max_pool"


class AveragePooling2D(_Pooling2D):
    _base_name, _op = "average_pooling2d", "avg_pool"


def max_pooling2d(inputs, pool_size, strides, padding="valid", data_format="channels_last", name=None):
    return MaxPooling2D(pool_size, strides, padding=padding, data_format=data_format, name=name)(inputs)


def average_pooling2d(inputs, pool_size, strides, padding="valid", data_format="channels_last", name=None):
    return AveragePooling2D(pool_size, strides, padding=padding, data_format=data_format, name=name)(inputs)


class BatchNormalization(Layer):
    """Normalizes by the batch's moments when training (updating moving_mean/moving_variance through
    UPDATE_OPS), by the moving averages otherwise. Always the non-fused form (see docs/api.md)."""

    _base_name = "batch_normalization"

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer=init_ops.Zeros(), gamma_initializer=init_ops.Ones(),
                 moving_mean_initializer=init_ops.Zeros(), moving_variance_initializer=init_ops.Ones(),
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 renorm=False, renorm_clipping=None, renorm_momentum=0.99, fused=None, trainable=True,
                 virtual_batch_size=None, adjustment=None, name=None, **kwargs):
        if renorm or virtual_batch_size is not None or adjustment is not None:
            raise NotImplementedError("tfmini's batch_normalization has no renorm, virtual_batch_size or adjustment")
        super().__init__(trainable=trainable, name=name, **kwargs)
        self.axis, self.momentum, self.epsilon = axis, momentum, epsilon
        self.center, self.scale = center, scale
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer

    def build(self, input_shape):
        ndims = input_shape.ndims
        if ndims is None:
            raise ValueError(f"Input has undefined rank: {input_shape}")
        axis = self.axis if isinstance(self.axis, int) else self.axis[0]
        if isinstance(self.axis, (list, tuple)) and len(self.axis) != 1:
            raise NotImplementedError("tfmini's batch_normalization normalizes over one axis")
        self._axis = axis % ndims
        if not 0 <= self._axis < ndims or input_shape[self._axis] is None:
            raise ValueError(f"Invalid axis {self.axis} or undefined dimension for input shape {input_shape}")
        param = [input_shape[self._axis]]
        dtype = self.dtype or dtypes.float32
        self.gamma = self.add_weight("gamma", param, dtype, self.gamma_initializer, self.gamma_regularizer) \
            if self.scale else None
        self.beta = self.add_weight("beta", param, dtype, self.beta_initializer, self.beta_regularizer) \
            if self.center else None
        self.moving_mean = self.add_weight("moving_mean", param, dtype, self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", param, dtype, self.moving_variance_initializer,
                                               trainable=False)
        self.built = True

    def call(self, inputs, training=False):
        ndims = inputs.shape.ndims
        reduction_axes = [i for i in range(ndims) if i != self._axis]
        if self._axis != ndims - 1:  # parameters [C] broadcast along the normalized axis
            shape = [1] * ndims
            shape[self._axis] = inputs.shape[self._axis]
            broadcast = lambda v: None if v is None else array_ops.reshape(v, shape)  # noqa: E731
        else:
            broadcast = lambda v: v  # noqa: E731
        offset, scale = broadcast(self.beta), broadcast(self.gamma)
        known = _static_bool(training)
        if known is False:
            mean, variance = self.moving_mean, self.moving_variance
        else:
            mean, variance = nn_impl.moments(inputs, reduction_axes, keep_dims=False)
            if known is None:  # a tensor: TF takes a cond; blending by 0/1 gives the same values
                t = math_ops.cast(training, mean.dtype)
                mean = t * mean + (1 - t) * self.moving_mean.value()
                variance = t * variance + (1 - t) * self.moving_variance.value()
                momentum = 1 - (1 - self.momentum) * t
            else:
                momentum = self.momentum
            self.add_update([assign_moving_average(self.moving_mean, mean, momentum, zero_debias=False),
                             assign_moving_average(self.moving_variance, variance, momentum, zero_debias=False)])
        return nn_impl.batch_normalization(inputs, broadcast(mean), broadcast(variance), offset, scale, self.epsilon)


def batch_normalization(inputs, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                        beta_initializer=init_ops.Zeros(), gamma_initializer=init_ops.Ones(),
                        moving_mean_initializer=init_ops.Zeros(), moving_variance_initializer=init_ops.Ones(),
                        beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                        training=False, trainable=True, name=None, reuse=None, renorm=False, renorm_clipping=None,
                        renorm_momentum=0.99, fused=None, virtual_batch_size=None, adjustment=None):
    layer = BatchNormalization(axis=axis, momentum=momentum, epsilon=epsilon, center=center, scale=scale,
                               beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
                               moving_mean_initializer=moving_mean_initializer,
                               moving_variance_initializer=moving_variance_initializer,
                               beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                               renorm=renorm, fused=fused, trainable=trainable, virtual_batch_size=virtual_batch_size,
                               adjustment=adjustment, name=name, _reuse=reuse)
    return layer(inputs, training=training)


# TF's class aliases
BatchNorm = BatchNormalization
MaxPool2D = MaxPooling2D
AveragePool2D = AvgPool2D = AveragePooling2D
Convolution2D = Conv2D
