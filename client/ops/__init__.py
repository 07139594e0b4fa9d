"""Op wrappers: each module registers its ops' shape rules and defines the tf.* functions."""
