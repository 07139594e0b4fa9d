"""tf.summary"""
