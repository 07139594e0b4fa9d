"""tf.train"""
