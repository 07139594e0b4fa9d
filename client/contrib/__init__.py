"""tf.contrib, as far as users' TF 1.x code still reaches for it: `tf.contrib.layers` (thin aliases of core
tfmini functions). Nothing else of contrib exists in tfmini."""
from tfmini.contrib import layers  # noqa: F401
from tfmini.contrib import rnn  # noqa: F401,E402  (tf.contrib.rnn: the RNN cells, static_rnn)
