"""tf.initializers: TF 1.x's initializer classes and the variable-initializer ops under their short names."""
from tfmini.init_ops import (Constant as constant, GlorotNormal as glorot_normal,  # noqa: F401
                             GlorotUniform as glorot_uniform, Ones as ones, Orthogonal as orthogonal,
                             RandomNormal as random_normal, RandomUniform as random_uniform,
                             TruncatedNormal as truncated_normal, UniformUnitScaling as uniform_unit_scaling,
                             VarianceScaling as variance_scaling, Zeros as zeros, he_normal, he_uniform,
                             lecun_normal, lecun_uniform)
from tfmini.variables import (global_variables_initializer as global_variables,  # noqa: F401
                              local_variables_initializer as local_variables, variables_initializer as variables)
