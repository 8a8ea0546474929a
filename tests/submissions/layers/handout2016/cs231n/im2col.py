"""A stand-in for a course's handout module (CS231n 2016's cs231n/im2col.py): course code a submission
imports, which the rubric's support provides beside it."""
import numpy as np


def get_im2col_indices(x_shape, field_height, field_width, padding=1, stride=1):
    raise NotImplementedError("not used by the graded layers")
