"""tf.metrics (TF 1.x's metrics_impl): streaming metrics returning (value_tensor, update_op), with their state in
local variables (LOCAL_VARIABLES and METRIC_VARIABLES, e.g. `accuracy/total`, `accuracy/count`), so that
tf.local_variables_initializer() resets them."""
from tfmini.core import dtypes
from tfmini.graph import GraphKeys, get_default_graph
from tfmini.ops import array_ops, math_ops, state_ops
from tfmini.ops.core import convert_to_tensor
from tfmini.variable_scope import variable_scope
from tfmini.variables import Variable


def metric_variable(shape, dtype, validate_shape=True, name=None):
    """A zero-initialized local variable holding a metric's running state."""
    return Variable(lambda: array_ops.zeros(shape, dtype), trainable=False,
                    collections=[GraphKeys.LOCAL_VARIABLES, GraphKeys.METRIC_VARIABLES],
                    validate_shape=validate_shape, name=name)


def _collect(collections, value):
    if collections:
        get_default_graph().add_to_collections(collections, value)


def _squeeze_last(t):
    return array_ops.squeeze(t, [-1])


def _remove_squeezable_dimensions(predictions, labels, weights):
    """TF's static squeezing: predictions/labels one rank apart lose a trailing 1; weights follow predictions."""
    predictions = convert_to_tensor(predictions)
    if labels is not None:
        labels = convert_to_tensor(labels)
        pr, lr = predictions.shape.ndims, labels.shape.ndims
        if pr is not None and lr is not None:
            if pr - lr == 1 and predictions.shape[-1] in (1, None):
                predictions = _squeeze_last(predictions)
            elif pr - lr == -1 and labels.shape[-1] in (1, None):
                labels = _squeeze_last(labels)
        predictions.shape.assert_is_compatible_with(labels.shape)
    if weights is None:
        return predictions, labels, None
    weights = convert_to_tensor(weights)
    wr, pr = weights.shape.ndims, predictions.shape.ndims
    if wr not in (None, 0) and pr is not None:
        if wr - pr == 1:
            weights = _squeeze_last(weights)
        elif pr - wr == 1:
            weights = array_ops.expand_dims(weights, [-1])
    return predictions, labels, weights


def _broadcast_weights(weights, values):
    weights = math_ops.cast(weights, dtypes.float32)
    if weights.shape.is_fully_defined() and values.shape.is_fully_defined() \
            and weights.shape.is_compatible_with(values.shape):
        return weights
    with get_default_graph().name_scope("broadcast_weights") as scope:
        return math_ops.multiply(weights, array_ops.ones_like(values), name=scope)


def mean(values, weights=None, metrics_collections=None, updates_collections=None, name=None):
    """The running (weighted) mean of `values`: total / count."""
    with variable_scope(name, default_name="mean"):
        values = math_ops.cast(values, dtypes.float32)
        total = metric_variable([], dtypes.float32, name="total")
        count = metric_variable([], dtypes.float32, name="count")
        if weights is None:
            num_values = math_ops.cast(array_ops.size(values), dtypes.float32)
        else:
            values, _, weights = _remove_squeezable_dimensions(values, None, weights)
            weights = _broadcast_weights(weights, values)
            values = math_ops.multiply(values, weights)
            num_values = math_ops.reduce_sum(weights)
        update_total = state_ops.assign_add(total, math_ops.reduce_sum(values))
        with get_default_graph().control_dependencies([values.op]):
            update_count = state_ops.assign_add(count, num_values)
        value = math_ops.div_no_nan(total.value(), math_ops.maximum(count.value(), 0), name="value")
        update_op = math_ops.div_no_nan(update_total, math_ops.maximum(update_count, 0), name="update_op")
        _collect(metrics_collections, value)
        _collect(updates_collections, update_op)
        return value, update_op


def accuracy(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
    """How often predictions equal labels: the running mean of equal(predictions, labels)."""
    predictions, labels, weights = _remove_squeezable_dimensions(predictions, labels, weights)
    if labels.dtype.base_dtype != predictions.dtype.base_dtype:
        predictions = math_ops.cast(predictions, labels.dtype.base_dtype)
    is_correct = math_ops.cast(math_ops.equal(predictions, labels), dtypes.float32)
    return mean(is_correct, weights, metrics_collections, updates_collections, name or "accuracy")


def mean_squared_error(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                       name=None):
    predictions, labels, weights = _remove_squeezable_dimensions(predictions, labels, weights)
    squared_error = math_ops.squared_difference(labels, predictions)
    return mean(squared_error, weights, metrics_collections, updates_collections, name or "mean_squared_error")


def mean_absolute_error(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                        name=None):
    predictions, labels, weights = _remove_squeezable_dimensions(predictions, labels, weights)
    absolute_errors = math_ops.abs(predictions - labels)
    return mean(absolute_errors, weights, metrics_collections, updates_collections, name or "mean_absolute_error")


def root_mean_squared_error(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                            name=None):
    predictions, labels, weights = _remove_squeezable_dimensions(predictions, labels, weights)
    mse, update_mse = mean_squared_error(labels, predictions, weights, None, None,
                                         name or "root_mean_squared_error")
    rmse, update_rmse = math_ops.sqrt(mse), math_ops.sqrt(update_mse)
    _collect(metrics_collections, rmse)
    _collect(updates_collections, update_rmse)
    return rmse, update_rmse


# -- counts of a condition, precision and recall -------------------------------------------------------------
def _as_bools(labels, predictions, weights):
    return _remove_squeezable_dimensions(math_ops.cast(predictions, dtypes.bool), math_ops.cast(labels, dtypes.bool),
                                         weights)


def _count_condition(values, weights, metrics_collections, updates_collections):
    count = metric_variable([], dtypes.float32, name="count")
    values = math_ops.cast(values, dtypes.float32)
    if weights is not None:
        values = math_ops.multiply(values, math_ops.cast(weights, dtypes.float32))
    value = array_ops.identity(count.value())
    update_op = state_ops.assign_add(count, math_ops.reduce_sum(values))
    _collect(metrics_collections, value)
    _collect(updates_collections, update_op)
    return value, update_op


def _condition_metric(default_name, label_is, prediction_is):
    def metric(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
        with variable_scope(name, default_name=default_name):
            predictions, labels, weights = _as_bools(labels, predictions, weights)
            condition = math_ops.logical_and(math_ops.equal(labels, label_is),
                                             math_ops.equal(predictions, prediction_is))
            return _count_condition(condition, weights, metrics_collections, updates_collections)
    metric.__name__ = default_name
    return metric


true_positives = _condition_metric("true_positives", True, True)
false_positives = _condition_metric("false_positives", False, True)
false_negatives = _condition_metric("false_negatives", True, False)
true_negatives = _condition_metric("true_negatives", False, False)


def _ratio_metric(default_name, other):
    """precision (tp / (tp + fp)) and recall (tp / (tp + fn)); 0 while nothing has been counted."""
    def metric(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
        with variable_scope(name, default_name=default_name):
            predictions, labels, weights = _as_bools(labels, predictions, weights)
            tp, update_tp = true_positives(labels, predictions, weights)
            o, update_o = other(labels, predictions, weights)

            def ratio(tp, o, name):
                return math_ops.where(math_ops.greater(tp + o, 0), math_ops.truediv(tp, tp + o), 0.0, name=name)
            value = ratio(tp, o, "value")
            update_op = ratio(update_tp, update_o, "update_op")
            _collect(metrics_collections, value)
            _collect(updates_collections, update_op)
            return value, update_op
    metric.__name__ = default_name
    return metric


precision = _ratio_metric("precision", false_positives)
recall = _ratio_metric("recall", false_negatives)


# -- AUC ------------------------------------------------------------------------------------------------------
def _confusion_matrix_at_thresholds(labels, predictions, thresholds, weights):
    """Counts of tp, fn, tn, fp at each threshold (prediction > threshold is positive), TF's variable names."""
    predictions, labels, weights = _remove_squeezable_dimensions(math_ops.cast(predictions, dtypes.float32),
                                                                 math_ops.cast(labels, dtypes.bool), weights)
    n = len(thresholds)
    predictions_2d = array_ops.reshape(predictions, [-1, 1])
    labels_2d = array_ops.reshape(math_ops.cast(labels, dtypes.bool), [1, -1])
    num_predictions = predictions_2d.shape[0]
    if num_predictions is None:
        num_predictions = array_ops.shape(predictions_2d)[0]
    thresh_tiled = array_ops.tile(array_ops.expand_dims(convert_to_tensor(thresholds, dtype=dtypes.float32), [1]),
                                  array_ops.stack([1, num_predictions]))
    pred_is_pos = math_ops.greater(array_ops.tile(array_ops.transpose(predictions_2d), [n, 1]), thresh_tiled)
    pred_is_neg = math_ops.logical_not(pred_is_pos)
    label_is_pos = array_ops.tile(labels_2d, [n, 1])
    label_is_neg = math_ops.logical_not(label_is_pos)
    weights_tiled = None
    if weights is not None:
        weights = _broadcast_weights(weights, predictions)
        weights_tiled = array_ops.tile(array_ops.reshape(weights, [1, -1]), [n, 1])
    values, updates = {}, {}
    for key, name, label_mask, pred_mask in (("tp", "true_positives", label_is_pos, pred_is_pos),
                                             ("fn", "false_negatives", label_is_pos, pred_is_neg),
                                             ("tn", "true_negatives", label_is_neg, pred_is_neg),
                                             ("fp", "false_positives", label_is_neg, pred_is_pos)):
        var = metric_variable([n], dtypes.float32, name=name)
        hits = math_ops.cast(math_ops.logical_and(label_mask, pred_mask), dtypes.float32)
        if weights_tiled is not None:
            hits = hits * weights_tiled
        updates[key] = state_ops.assign_add(var, math_ops.reduce_sum(hits, 1))
        values[key] = var.value()
    return values, updates


def auc(labels, predictions, weights=None, num_thresholds=200, metrics_collections=None, updates_collections=None,
        curve="ROC", name=None, summation_method="trapezoidal", thresholds=None):
    """The area under the ROC (or PR) curve, by TF's thresholded trapezoid over `num_thresholds` thresholds."""
    with variable_scope(name, default_name="auc"):
        if curve not in ("ROC", "PR"):
            raise ValueError(f"Curve must be either ROC or PR. Curve {curve} is unknown.")
        if summation_method not in ("trapezoidal", "minoring", "majoring"):
            raise ValueError(f"Invalid summation_method: {summation_method} (tfmini has 'trapezoidal', "
                             f"'minoring' and 'majoring')")
        kepsilon = 1e-7
        if thresholds is not None:
            thresholds = sorted(thresholds)
            num_thresholds = len(thresholds) + 2
        else:
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        thresholds = [0.0 - kepsilon] + thresholds + [1.0 + kepsilon]
        values, updates = _confusion_matrix_at_thresholds(labels, predictions, thresholds, weights)
        epsilon = 1.0e-6

        def compute_auc(tp, fn, tn, fp, name):
            rec = math_ops.truediv(tp + epsilon, tp + fn + epsilon)
            if curve == "ROC":
                x, y = math_ops.truediv(fp, fp + tn + epsilon), rec
            else:
                x, y = rec, math_ops.truediv(tp + epsilon, tp + fp + epsilon)
            k = num_thresholds - 1
            if summation_method == "trapezoidal":
                height = (y[:k] + y[1:]) / 2.
            else:
                height = (math_ops.minimum if summation_method == "minoring" else math_ops.maximum)(y[:k], y[1:])
            return math_ops.reduce_sum(math_ops.multiply(x[:k] - x[1:], height), name=name)

        value = compute_auc(values["tp"], values["fn"], values["tn"], values["fp"], "value")
        update_op = compute_auc(updates["tp"], updates["fn"], updates["tn"], updates["fp"], "update_op")
        _collect(metrics_collections, value)
        _collect(updates_collections, update_op)
        return value, update_op
