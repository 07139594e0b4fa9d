"""ParseTensor and SerializeTensor pass no gradient, as TF's parsing_grad.py declares (ParseExampleV2 has none
registered there either, nor ParseSequenceExampleV2, so a gradient through it fails as in TF)."""
from tfmini.gradients import NotDifferentiable

NotDifferentiable("ParseTensor")
NotDifferentiable("SerializeTensor")
